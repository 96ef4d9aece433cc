"""The accountant's part of a card: Mark paid (payment date, optional payment order file).
Closing documents received is a one-tap action in decisions.py."""

from __future__ import annotations

import io
from datetime import date, timedelta

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from backend.db import Database
from backend.errors import InvalidInput
from backend.services import payment_requests as service
from backend.services.attachments import FileStore, attach, check_file, clean_filename
from backend.services.core import Core
from backend.settings import Settings
from backend.workflows.lifecycle import Action
from bot.card_messages import edit_card
from bot.cards import load_card
from bot.keyboards.calendar import month_keyboard, parse_day, parse_month, parse_typed_date
from bot.keyboards.callbacks import CalendarCb, CancelCb, PickCb, RequestCb
from bot.states import Payment
from bot.texts import Texts

router = Router(name="accounting")
LOOKBACK_DAYS = 92  # a payment is recorded within a quarter of being made


@router.callback_query(RequestCb.filter(F.act == "pd"))
async def ask_date(query: CallbackQuery, callback_data: RequestCb, state: FSMContext, core: Core, t: Texts) -> None:
    await core.run(lambda s: service.get_visible(s, core.actor, callback_data.id))
    today = core.actor.today()
    await state.set_state(Payment.date)
    await state.set_data({"id": callback_data.id, "v": callback_data.v, "chat": query.message.chat.id,
                          "message": query.message.message_id})
    await query.answer()
    markup = month_keyboard(t, today.year, today.month, earliest=today - timedelta(days=LOOKBACK_DAYS), latest=today)
    markup.inline_keyboard.insert(0, [InlineKeyboardButton(
        text=t("btn.paid_today"), callback_data=CalendarCb(act="day", value=today.strftime("%Y%m%d")).pack())])
    await query.message.answer(t("pay.ask_date"), reply_markup=markup)


@router.callback_query(Payment.date, CalendarCb.filter())
async def date_tap(query: CallbackQuery, callback_data: CalendarCb, state: FSMContext, core: Core, t: Texts) -> None:
    today = core.actor.today()
    if callback_data.act == "nav" and (month := parse_month(callback_data.value)):
        markup = month_keyboard(t, *month, earliest=today - timedelta(days=LOOKBACK_DAYS), latest=today)
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=markup)
        return
    if callback_data.act != "day" or (day := parse_day(callback_data.value)) is None:
        await query.answer()
        return
    await query.answer()
    await query.message.edit_text(f"{t('pay.ask_date')}\n→ {t.day(day)}")
    await _ask_order(query.message, state, t, day)


@router.message(Payment.date, F.text, ~F.text.startswith("/"))
async def date_typed(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    day = parse_typed_date(message.text, core.actor.today())
    if day is None:
        raise InvalidInput("date.format", field="paid_on")
    await _ask_order(message, state, t, day)


async def _ask_order(message: Message, state: FSMContext, t: Texts, day: date) -> None:
    await state.update_data({"paid_on": day.isoformat()})
    await state.set_state(Payment.order)
    await message.answer(t("pay.ask_order"), reply_markup=InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=t("btn.no_order"), callback_data=PickCb(step="noorder", value="1").pack())],
        [InlineKeyboardButton(text=t("btn.cancel"), callback_data=CancelCb(what="payment").pack())],
    ]))


@router.callback_query(Payment.order, PickCb.filter(F.step == "noorder"))
async def without_order(query: CallbackQuery, state: FSMContext, bot: Bot, db: Database, core: Core, t: Texts,
                        settings: Settings, store: FileStore) -> None:
    await query.answer()
    await _mark_paid(query.message, state, bot, db, core, t, settings, store, order=None)


@router.message(Payment.order, F.document | F.photo)
async def with_order(message: Message, state: FSMContext, bot: Bot, db: Database, core: Core, t: Texts,
                     settings: Settings, store: FileStore) -> None:
    max_bytes = settings.max_upload_mb * 1024 * 1024
    if message.document is not None:
        file_id, size = message.document.file_id, message.document.file_size or 0
        filename = clean_filename(message.document.file_name or "payment-order")
    else:
        file_id, size, filename = message.photo[-1].file_id, message.photo[-1].file_size or 0, "payment-order.jpg"
    if size > max_bytes:
        raise InvalidInput("attachment.too_large", field="file", max_mb=settings.max_upload_mb)
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    check_file(buffer.getvalue(), filename, max_bytes)
    await _mark_paid(message, state, bot, db, core, t, settings, store, order=(filename, buffer.getvalue()))


@router.message(Payment.order)
async def order_expected(message: Message, t: Texts) -> None:
    await message.answer(t("pay.need_order"))


async def _mark_paid(message: Message, state: FSMContext, bot: Bot, db: Database, core: Core, t: Texts,
                     settings: Settings, store: FileStore, *, order: tuple[str, bytes] | None) -> None:
    data = await state.get_data()
    paid_on = date.fromisoformat(data["paid_on"])

    async def work(session):
        outcome = await service.act(session, core.actor, data["id"], Action.MARK_PAID, expected_version=data["v"],
                                    paid_on=paid_on)
        if order is not None and outcome.changed:
            await attach(session, store, core.actor, outcome.request, kind="payment_order", filename=order[0],
                         content=order[1], max_bytes=settings.max_upload_mb * 1024 * 1024)
        return outcome.changed, await load_card(session, core.actor, data["id"], t)

    changed, card = await core.run(work)
    await state.clear()
    await edit_card(bot, db, data["chat"], data["message"], card, employee_id=core.actor.employee_id)
    await message.answer(t("done.mark_paid", day=t.day(paid_on)) if changed else t("done.already"))
