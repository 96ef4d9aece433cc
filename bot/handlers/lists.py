"""Lists with page buttons: /my (own requests), /inbox (what waits for me, with approving several at
once), /pay (approved requests by pay-by date, for accountants)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import select

from backend.db import Database
from backend.errors import DomainError
from backend.models import PaymentRequest
from backend.services import payment_requests as service
from backend.services.core import Core
from backend.services.worklists import Page, own_requests, payment_queue, waiting_for
from backend.workflows.lifecycle import Action
from bot.handlers.bank_files import export_button
from bot.keyboards.callbacks import InboxCb, PageCb
from bot.texts import Texts

router = Router(name="lists")
PERIODS = ("today", "week", "overdue", "all")


def _line(t: Texts, request: PaymentRequest, *, status: bool) -> str:
    number = f"📄 {request.number}" if request.kind == "contract" else request.number  # a contract approval
    parts = [f"/r{request.id}", number, t.money(request.amount, request.currency),
             request.contractor_name, t("list.pay_by", day=t.day(request.pay_by))]
    if status:
        parts.append(t.status(request.status, request.kind))
    return " · ".join(parts)


def _pager(name: str, page: Page) -> list[InlineKeyboardButton]:
    row = []
    if page.page > 0:
        row.append(InlineKeyboardButton(text="«", callback_data=PageCb(list=name, page=page.page - 1).pack()))
    if page.pages > 1:
        row.append(InlineKeyboardButton(text=f"{page.page + 1}/{page.pages}",
                                        callback_data=PageCb(list=name, page=page.page).pack()))
    if page.page + 1 < page.pages:
        row.append(InlineKeyboardButton(text="»", callback_data=PageCb(list=name, page=page.page + 1).pack()))
    return row


async def _show(target: Message, t: Texts, text: str, rows: list[list[InlineKeyboardButton]], *, edit: bool) -> None:
    markup = InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r]) if any(rows) else None
    if edit:
        await target.edit_text(text, reply_markup=markup)
    else:
        await target.answer(text, reply_markup=markup)


# --- /my ---------------------------------------------------------------------------------------

async def render_my(core: Core, t: Texts, page_number: int) -> tuple[str, list]:
    page = await core.run(lambda s: own_requests(s, core.actor, page=page_number))
    if not page.total:
        return t("my.empty"), []
    lines = [t("my.title", total=page.total)] + [_line(t, r, status=True) for r in page.items]
    return "\n".join(lines), [_pager("my", page)]


@router.message(Command("my"))
async def my_command(message: Message, core: Core, t: Texts) -> None:
    text, rows = await render_my(core, t, 0)
    await _show(message, t, text, rows, edit=False)


# --- /pay --------------------------------------------------------------------------------------

async def render_queue(core: Core, t: Texts, period: str, page_number: int) -> tuple[str, list]:
    page = await core.run(lambda s: payment_queue(s, core.actor, period, page=page_number))
    tabs = [InlineKeyboardButton(text=("• " if p == period else "") + t(f"pay.{p}"),
                                 callback_data=PageCb(list=f"pay-{p}", page=0).pack()) for p in PERIODS]
    lines = [t("pay.title", period=t(f"pay.{period}"), total=page.total)]
    lines += [_line(t, r, status=False) for r in page.items] or [t("pay.empty")]
    return "\n".join(lines), [tabs, _pager(f"pay-{period}", page),
                             [export_button(t, period)] if page.total else []]


@router.message(Command("pay"))
async def pay_command(message: Message, core: Core, t: Texts) -> None:
    text, rows = await render_queue(core, t, "today", 0)
    await _show(message, t, text, rows, edit=False)


# --- /inbox and approving several at once ---------------------------------------------------------

async def render_inbox(core: Core, t: Texts, page_number: int, selected: dict[str, int]) -> tuple[str, list]:
    page = await core.run(lambda s: waiting_for(s, core.actor, page=page_number))
    if not page.total:
        return t("inbox.empty"), []
    lines = [t("inbox.title", total=page.total)] + [_line(t, r, status=False) for r in page.items]
    rows = [[InlineKeyboardButton(text=("☑ " if str(r.id) in selected else "☐ ") + f"{r.number} · "
                                  + t.money(r.amount, r.currency),
                                  callback_data=InboxCb(act="tog", id=r.id, page=page.page).pack())]
            for r in page.items]
    rows.append(_pager("inbox", page))
    if selected:
        rows.append([InlineKeyboardButton(text=t("inbox.approve_selected", count=len(selected)),
                                          callback_data=InboxCb(act="ask", page=page.page).pack()),
                     InlineKeyboardButton(text=t("inbox.clear"), callback_data=InboxCb(act="clear", page=page.page).pack())])
    return "\n".join(lines), rows


@router.message(Command("inbox"))
async def inbox_command(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    await state.update_data({"inbox": {}})
    text, rows = await render_inbox(core, t, 0, {})
    await _show(message, t, text, rows, edit=False)


@router.callback_query(InboxCb.filter(F.act.in_({"tog", "clear"})))
async def inbox_select(query: CallbackQuery, callback_data: InboxCb, state: FSMContext, core: Core, t: Texts) -> None:
    selected: dict[str, int] = dict((await state.get_data()).get("inbox") or {})
    if callback_data.act == "clear":
        selected = {}
    elif str(callback_data.id) in selected:
        selected.pop(str(callback_data.id))
    else:
        # Remember the version seen now: if the request changes before the confirmation, it is not approved.
        request = await core.run(lambda s: service.get_visible(s, core.actor, callback_data.id))
        selected[str(callback_data.id)] = request.version
    await state.update_data({"inbox": selected})
    text, rows = await render_inbox(core, t, callback_data.page, selected)
    await query.answer()
    await _show(query.message, t, text, rows, edit=True)


@router.callback_query(InboxCb.filter(F.act == "ask"))
async def inbox_confirm(query: CallbackQuery, callback_data: InboxCb, state: FSMContext, core: Core, t: Texts) -> None:
    selected: dict[str, int] = (await state.get_data()).get("inbox") or {}
    if not selected:
        await query.answer(t("inbox.nothing_selected"))
        return

    async def load(session):
        return [await service.get_visible(session, core.actor, int(i)) for i in selected]

    chosen = await core.run(load)
    totals: dict[str, int] = {}
    for r in chosen:
        totals[r.currency] = totals.get(r.currency, 0) + r.amount
    lines = [t("inbox.confirm", count=len(chosen), total=", ".join(t.money(v, c) for c, v in totals.items()))]
    lines += [f"• {r.number} · {t.money(r.amount, r.currency)} · {r.contractor_name}" for r in chosen]
    await query.answer()
    await query.message.answer("\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("inbox.yes"), callback_data=InboxCb(act="yes").pack()),
        InlineKeyboardButton(text=t("btn.cancel"), callback_data=InboxCb(act="clear", page=callback_data.page).pack()),
    ]]))


@router.callback_query(InboxCb.filter(F.act == "yes"))
async def inbox_approve(query: CallbackQuery, state: FSMContext, bot: Bot, db: Database, core: Core, t: Texts) -> None:
    """Each selected request is approved on its own (its own transaction and history event), so one
    that changed meanwhile is reported and the rest still go through."""
    selected: dict[str, int] = (await state.get_data()).get("inbox") or {}
    await state.update_data({"inbox": {}})
    await query.answer()
    if not selected:
        await query.message.edit_reply_markup(reply_markup=None)
        return
    numbers = dict((await core.run(lambda s: s.execute(
        select(PaymentRequest.id, PaymentRequest.number).where(PaymentRequest.id.in_([int(i) for i in selected])))
    )).all())
    report = []
    for request_id, version in selected.items():
        label = numbers.get(int(request_id), f"#{request_id}")
        try:
            outcome = await core.run(lambda s, rid=int(request_id), v=version: service.act(
                s, core.actor, rid, Action.APPROVE, expected_version=v))
            report.append(f"✅ {label}" if outcome.changed else f"▫️ {label}: {t('done.already')}")
        except DomainError as error:
            report.append(f"⚠️ {label}: {t.error(error)}")
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(t("inbox.done") + "\n" + "\n".join(report))


# --- page buttons --------------------------------------------------------------------------------

@router.callback_query(PageCb.filter())
async def turn_page(query: CallbackQuery, callback_data: PageCb, state: FSMContext, core: Core, t: Texts) -> None:
    name = callback_data.list
    if name == "my":
        text, rows = await render_my(core, t, callback_data.page)
    elif name == "inbox":
        selected = (await state.get_data()).get("inbox") or {}
        text, rows = await render_inbox(core, t, callback_data.page, selected)
    elif name.startswith("pay-") and name[4:] in PERIODS:
        text, rows = await render_queue(core, t, name[4:], callback_data.page)
    else:
        await query.answer(t("button.unknown"))
        return
    await query.answer()
    if query.message.text == text:
        return  # the same page again: Telegram would refuse an identical edit
    await _show(query.message, t, text, rows, edit=True)
