"""Taps on a request card: approve, reject (with a reason), return (with what to fix), comment,
add an approver, show the files; and ``/r<id>`` to open any card one may see.

Every tap carries the request version the card showed. The core refuses a decision on a
version that has moved on, so a tap on an old card, a second tap, or a tap by someone who is
no longer the approver changes nothing; the card is then redrawn to what is true now.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.errors import Conflict, DomainError
from backend.services import payment_requests as service
from backend.services.attachments import FileStore, list_attachments
from backend.services.core import Core
from backend.workflows.engine import Outcome
from backend.workflows.lifecycle import Action
from bot.card_messages import edit_card, record_card, send_card, show_card
from bot.cards import load_card
from bot.keyboards.callbacks import ApproverCb, CancelCb, RequestCb
from bot.keyboards.common import cancel_row, colleagues_named, person_label
from bot.states import Decision
from bot.texts import Texts

router = Router(name="decisions")

NEEDS_WORDS = {"rj": Action.REJECT, "rt": Action.RETURN, "cm": Action.COMMENT}
DONE_KEY = {Action.APPROVE: "done.approve", Action.REJECT: "done.reject", Action.RETURN: "done.return",
            Action.COMMENT: "done.comment", Action.ADD_APPROVER: "done.add_approver",
            Action.CLOSE: "done.close", Action.SUBMIT: "done.submit",
            Action.CANCEL: "done.cancel"}


async def decide(bot: Bot, db: Database, core: Core, t: Texts, request_id: int, version: int, action: Action,
                 *, chat_id: int, message_id: int | None, comment: str = "", done: str | None = None,
                 then: Callable[[AsyncSession, Outcome], Awaitable[object]] | None = None, **data) -> str:
    """Take ``action`` on the request, redraw the card it came from, and say what happened
    (``done``, or the action's usual words).

    The decision, ``then`` (more work that belongs with it, such as attaching the payment
    order), the card's new content and the record of what the card will show are one
    transaction; the card is edited right after it for the person who tapped, and every other
    card follows through the outbox.
    """
    async def work(session):
        outcome = await service.act(session, core.actor, request_id, action, comment=comment,
                                    expected_version=version, **data)
        if then is not None and outcome.changed:
            await then(session, outcome)
        card = await load_card(session, core.actor, request_id, t)
        edit = message_id is not None and await record_card(
            session, chat_id=chat_id, message_id=message_id, card=card, employee_id=core.actor.employee_id)
        return outcome.changed, card, edit

    try:
        changed, card, edit = await core.run(work)
    except Conflict as error:
        if error.code != "request.stale_version":
            raise
        card = await core.run(lambda s: load_card(s, core.actor, request_id, t))
        if message_id is not None:
            await edit_card(bot, db, chat_id, message_id, card, employee_id=core.actor.employee_id)
        return t("card.stale")
    if edit:
        await show_card(bot, db, chat_id, message_id, card)
    return (done or t(DONE_KEY[action])) if changed else t("done.already")


@router.callback_query(RequestCb.filter(F.act.in_({"ap", "cl", "sb", "cn"})))
async def one_tap(query: CallbackQuery, callback_data: RequestCb, bot: Bot, db: Database, core: Core, t: Texts) -> None:
    action = {"ap": Action.APPROVE, "cl": Action.CLOSE, "sb": Action.SUBMIT, "cn": Action.CANCEL}[callback_data.act]
    answer = await decide(bot, db, core, t, callback_data.id, callback_data.v, action,
                          chat_id=query.message.chat.id, message_id=query.message.message_id)
    await query.answer(answer)


@router.callback_query(RequestCb.filter(F.act.in_(set(NEEDS_WORDS))))
async def ask_words(query: CallbackQuery, callback_data: RequestCb, state: FSMContext, core: Core, t: Texts) -> None:
    action = NEEDS_WORDS[callback_data.act]
    await core.run(lambda s: service.get_visible(s, core.actor, callback_data.id))  # not theirs: refused here
    await state.set_state(Decision.comment)
    await state.set_data({"action": action.value, "id": callback_data.id, "v": callback_data.v,
                          "chat": query.message.chat.id, "message": query.message.message_id})
    await query.answer()
    await query.message.answer(t(f"ask.{action.value}"), reply_markup=InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=t("btn.cancel"), callback_data=CancelCb(what="decision").pack())]]))


@router.message(Decision.comment, F.text, ~F.text.startswith("/"))
async def got_words(message: Message, state: FSMContext, bot: Bot, db: Database, core: Core, t: Texts) -> None:
    data = await state.get_data()
    answer = await decide(bot, db, core, t, data["id"], data["v"], Action(data["action"]),
                          chat_id=data["chat"], message_id=data["message"], comment=message.text)
    await state.clear()
    await message.answer(answer)


@router.message(Decision.comment)
async def words_expected(message: Message, t: Texts) -> None:
    await message.answer(t("ask.need_words"))


@router.callback_query(RequestCb.filter(F.act == "aa"))
async def ask_approver(query: CallbackQuery, callback_data: RequestCb, state: FSMContext, core: Core, t: Texts) -> None:
    await core.run(lambda s: service.get_visible(s, core.actor, callback_data.id))
    await state.set_state(Decision.approver)
    await state.set_data({"id": callback_data.id, "v": callback_data.v,
                          "chat": query.message.chat.id, "message": query.message.message_id})
    await query.answer()
    await query.message.answer(t("ask.approver"), reply_markup=InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=t("btn.cancel"), callback_data=CancelCb(what="decision").pack())]]))


@router.message(Decision.approver, F.text, ~F.text.startswith("/"))
async def find_approver(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    data = await state.get_data()
    found = await colleagues_named(core, message.text)
    if not found:
        await message.answer(t("ask.approver_none"))
        return
    rows = [[InlineKeyboardButton(text=person_label(e), callback_data=ApproverCb(id=data["id"], v=data["v"], emp=e.id).pack())]
            for e in found]
    rows.append(cancel_row(t, "decision"))
    await message.answer(t("ask.approver_pick"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


@router.callback_query(ApproverCb.filter())
async def add_approver(query: CallbackQuery, callback_data: ApproverCb, state: FSMContext, bot: Bot, db: Database,
                       core: Core, t: Texts) -> None:
    data = await state.get_data()
    card_message = data.get("message") if data.get("id") == callback_data.id else None
    answer = await decide(bot, db, core, t, callback_data.id, callback_data.v, Action.ADD_APPROVER,
                          chat_id=query.message.chat.id, message_id=card_message, employee_id=callback_data.emp)
    await state.clear()
    await query.answer(answer)
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(answer)


@router.callback_query(RequestCb.filter(F.act == "fl"))
async def send_files(query: CallbackQuery, callback_data: RequestCb, bot: Bot, core: Core, store: FileStore,
                     t: Texts) -> None:
    async def files(session):
        request = await service.get_visible(session, core.actor, callback_data.id)
        return request.number, await list_attachments(session, callback_data.id)

    number, attachments = await core.run(files)  # not theirs to see: refused before the query is answered
    await query.answer()
    for attachment in attachments:
        caption = (t("file.contract_of", number=number, version=attachment.version) if attachment.version
                   else t(f"file.{attachment.kind}"))
        await bot.send_document(query.message.chat.id, BufferedInputFile(store.read(attachment.sha256),
                                                                         filename=attachment.filename),
                                caption=caption)


@router.message(F.text.regexp(r"^/r(\d+)(@\w+)?$").as_("match"))
async def open_card(message: Message, match, bot: Bot, db: Database, core: Core, t: Texts) -> None:
    request_id = int(match.group(1))
    try:
        card = await core.run(lambda s: load_card(s, core.actor, request_id, t))
    except DomainError as error:
        await message.answer(t.error(error))
        return
    await send_card(bot, db, core.actor.employee_id, message.chat.id, card)
