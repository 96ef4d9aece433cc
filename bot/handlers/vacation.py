"""/vacation: hand one's approvals to a deputy for a few days, see what is planned, cancel it.

The dialog asks the first and last day (calendar or typed), then the deputy by part of a name,
and shows a summary to confirm. Each answer is checked by the core's own delegation rules as
soon as it can be (dates and overlaps after the last day, the deputy when picked), and the
confirmation goes through the same use case as ``POST /api/v1/delegations``, which also hands
over what already waits.
"""

from __future__ import annotations

from datetime import date, timedelta

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy import select

from backend.errors import InvalidInput
from backend.models import Employee
from backend.services.company.delegations import (
    DelegationFields,
    cancel_delegation,
    check_own_deputy,
    check_own_period,
    create_delegation,
    list_delegations,
)
from backend.services.core import Core
from bot.keyboards.calendar import calendar_tap, month_keyboard, parse_typed_date
from bot.keyboards.callbacks import CalendarCb
from bot.keyboards.common import cancel_row, colleagues_named, person_label
from bot.texts import Texts

router = Router(name="vacation")
HORIZON = timedelta(days=366)  # a delegation is planned at most a year ahead in the calendar


class Vacation(StatesGroup):
    starts_on = State()
    ends_on = State()
    deputy = State()
    confirm = State()


class VacationCb(CallbackData, prefix="vac"):
    """``new`` starts the dialog, ``cancel`` ends delegation ``id``, ``deputy`` picks employee ``id``,
    ``ok`` confirms."""

    act: str
    id: int = 0


def _button(text: str, act: str, id: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=VacationCb(act=act, id=id).pack())


def _bounds(today: date, starts_on: date | None = None) -> dict[str, date]:
    """The days a calendar offers, from today for the first day or from the first day (not
    before today) for the last, up to ``HORIZON`` ahead: ``earliest`` and ``latest``."""
    first = starts_on or today
    return {"earliest": max(today, first), "latest": first + HORIZON}


# --- the list ------------------------------------------------------------------------------------

async def render_list(core: Core, t: Texts) -> tuple[str, InlineKeyboardMarkup]:
    """The person's own delegations, current and planned, each with Cancel; and whom they stand in for."""
    me = core.actor.employee_id

    async def load(session):
        delegations = sorted(await list_delegations(session, core.actor), key=lambda d: (d.starts_on, d.id))
        ids = {d.employee_id for d in delegations} | {d.deputy_id for d in delegations}
        names = dict((await session.execute(select(Employee.id, Employee.full_name).where(Employee.id.in_(ids)))).all())
        return delegations, names

    delegations, names = await core.run(load)
    today = core.actor.today()
    mine = [d for d in delegations if d.employee_id == me]
    covering = [d for d in delegations if d.deputy_id == me]
    lines = [t("vacation.title")]
    for d in mine:
        key = "vacation.row_now" if d.starts_on <= today else "vacation.row"
        lines.append(t(key, starts=t.day(d.starts_on), ends=t.day(d.ends_on), deputy=names.get(d.deputy_id, "—")))
    if not mine:
        lines.append(t("vacation.none"))
    if covering:
        lines += ["", t("vacation.covering")] + [
            t("vacation.covering_row", employee=names.get(d.employee_id, "—"), starts=t.day(d.starts_on),
              ends=t.day(d.ends_on)) for d in covering]
    lines += ["", t("vacation.hint")]
    rows = [[_button(t("btn.vacation_cancel", starts=t.day(d.starts_on), ends=t.day(d.ends_on)), "cancel", d.id)]
            for d in mine]
    rows.append([_button(t("btn.vacation_new"), "new")])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


@router.message(Command("vacation"))
async def show_list(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    if (await state.get_state() or "").startswith(Vacation.__name__):
        await state.clear()  # asked again in the middle: start over from the list
    text, markup = await render_list(core, t)
    await message.answer(text, reply_markup=markup)


@router.callback_query(VacationCb.filter(F.act == "cancel"))
async def cancel_one(query: CallbackQuery, callback_data: VacationCb, core: Core, t: Texts) -> None:
    await core.call(cancel_delegation, core.actor, callback_data.id)
    await query.answer(t("vacation.cancelled"))
    text, markup = await render_list(core, t)
    await query.message.edit_text(text, reply_markup=markup)
    await query.message.answer(t("vacation.cancelled"))


# --- a new one: dates ----------------------------------------------------------------------------

@router.callback_query(VacationCb.filter(F.act == "new"))
async def ask_start(query: CallbackQuery, state: FSMContext, core: Core, t: Texts) -> None:
    await state.clear()
    await state.set_state(Vacation.starts_on)
    await query.answer()
    today = core.actor.today()
    calendar = await query.message.answer(t("vacation.ask_start"), reply_markup=month_keyboard(
        t, today.year, today.month, **_bounds(today)))
    await state.update_data({"calendar": calendar.message_id})


async def _start_chosen(message: Message, state: FSMContext, core: Core, t: Texts, day: date) -> None:
    await state.update_data({"starts_on": day.isoformat()})
    await state.set_state(Vacation.ends_on)
    calendar = await message.answer(t("vacation.ask_end"), reply_markup=month_keyboard(
        t, day.year, day.month, **_bounds(core.actor.today(), day)))
    await state.update_data({"calendar": calendar.message_id})  # taps on the first calendar are old now


async def _end_chosen(message: Message, state: FSMContext, core: Core, t: Texts, day: date) -> None:
    starts_on = date.fromisoformat((await state.get_data())["starts_on"])
    await core.run(lambda s: check_own_period(s, core.actor, starts_on, day))  # refused: asked again
    await state.update_data({"ends_on": day.isoformat()})
    await state.set_state(Vacation.deputy)
    await message.answer(t("vacation.ask_deputy"), reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row(t)]))


@router.callback_query(StateFilter(Vacation.starts_on, Vacation.ends_on), CalendarCb.filter())
async def day_tapped(query: CallbackQuery, callback_data: CalendarCb, state: FSMContext, core: Core,
                     t: Texts) -> None:
    data = await state.get_data()
    if query.message.message_id != data.get("calendar"):
        await query.answer(t("button.old"))
        return
    starting = await state.get_state() == Vacation.starts_on.state
    starts_on = None if starting else date.fromisoformat(data["starts_on"])
    day = await calendar_tap(query, callback_data, t, **_bounds(core.actor.today(), starts_on))  # as shown
    if day is None:
        return
    await (_start_chosen if starting else _end_chosen)(query.message, state, core, t, day)
    await query.answer()
    await query.message.edit_text(f"{t('vacation.ask_start' if starting else 'vacation.ask_end')}\n→ {t.day(day)}")


@router.message(StateFilter(Vacation.starts_on, Vacation.ends_on), F.text, ~F.text.startswith("/"))
async def day_typed(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    starting = await state.get_state() == Vacation.starts_on.state
    day = parse_typed_date(message.text, core.actor.today())
    if day is None:
        raise InvalidInput("date.format", field="starts_on" if starting else "ends_on")
    await (_start_chosen if starting else _end_chosen)(message, state, core, t, day)


# --- a new one: the deputy and the summary -------------------------------------------------------

@router.message(Vacation.deputy, F.text, ~F.text.startswith("/"))
async def find_deputy(message: Message, core: Core, t: Texts) -> None:
    found = await colleagues_named(core, message.text)
    if not found:
        await message.answer(t("vacation.deputy_none"))
        return
    rows = [[_button(person_label(e), "deputy", e.id)] for e in found]
    await message.answer(t("vacation.deputy_pick"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows + [cancel_row(t)]))


@router.callback_query(Vacation.deputy, VacationCb.filter(F.act == "deputy"))
async def deputy_picked(query: CallbackQuery, callback_data: VacationCb, state: FSMContext, core: Core,
                        t: Texts) -> None:
    deputy = await core.run(lambda s: check_own_deputy(s, core.actor, callback_data.id))
    await state.update_data({"deputy_id": deputy.id, "deputy": deputy.full_name})
    await state.set_state(Vacation.confirm)
    data = await state.get_data()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(
        t("vacation.summary", **_period(t, data), deputy=deputy.full_name),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_button(t("btn.vacation_confirm"), "ok")], cancel_row(t)]))


@router.callback_query(Vacation.confirm, VacationCb.filter(F.act == "ok"))
async def confirm(query: CallbackQuery, state: FSMContext, core: Core, t: Texts) -> None:
    data = await state.get_data()
    fields = DelegationFields(deputy_id=data["deputy_id"], starts_on=date.fromisoformat(data["starts_on"]),
                              ends_on=date.fromisoformat(data["ends_on"]))
    await core.call(create_delegation, core.actor, fields)  # a refusal keeps the summary (DomainErrors)
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(t("vacation.created", **_period(t, data), deputy=data["deputy"]))


def _period(t: Texts, data: dict) -> dict[str, str]:
    return {"starts": t.day(date.fromisoformat(data["starts_on"])), "ends": t.day(date.fromisoformat(data["ends_on"]))}


@router.message(StateFilter(Vacation.starts_on, Vacation.ends_on, Vacation.deputy), ~F.text)
async def need_text(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_text"))


@router.message(Vacation.confirm, ~F.text.startswith("/"))
async def need_button(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_button"))
