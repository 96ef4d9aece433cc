"""The accountant's part of a card: Mark paid (payment date, optional payment order file).
Closing documents received is a one-tap action in decisions.py."""

from __future__ import annotations

from datetime import date, timedelta

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from backend.db import Database
from backend.errors import InvalidInput
from backend.services import payment_requests as service
from backend.services.attachments import FileStore, attach
from backend.services.core import Core
from backend.settings import Settings
from backend.workflows.lifecycle import Action
from bot.handlers.decisions import decide
from bot.keyboards.calendar import calendar_tap, month_keyboard, parse_typed_date
from bot.keyboards.callbacks import CalendarCb, CancelCb, PickCb, RequestCb
from bot.states import Payment
from bot.texts import Texts
from bot.uploads import received_file

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
    day = await calendar_tap(query, callback_data, t, earliest=today - timedelta(days=LOOKBACK_DAYS), latest=today)
    if day is None:
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
    order = await received_file(message, bot, settings, document_name="payment-order",
                                photo_name="payment-order.jpg")
    await _mark_paid(message, state, bot, db, core, t, settings, store, order=order)


@router.message(Payment.order)
async def order_expected(message: Message, t: Texts) -> None:
    await message.answer(t("pay.need_order"))


async def _mark_paid(message: Message, state: FSMContext, bot: Bot, db: Database, core: Core, t: Texts,
                     settings: Settings, store: FileStore, *, order: tuple[str, bytes] | None) -> None:
    data = await state.get_data()
    paid_on = date.fromisoformat(data["paid_on"])

    async def attach_order(session, outcome) -> None:
        await attach(session, store, core.actor, outcome.request, kind="payment_order", filename=order[0],
                     content=order[1], max_bytes=settings.max_upload_mb * 1024 * 1024)

    answer = await decide(bot, db, core, t, data["id"], data["v"], Action.MARK_PAID, chat_id=data["chat"],
                          message_id=data["message"], paid_on=paid_on, then=attach_order if order else None,
                          done=t("done.mark_paid", day=t.day(paid_on)))
    await state.clear()
    await message.answer(answer)
