"""An inline month calendar for picking a date (pay-by, payment date)."""

from __future__ import annotations

import calendar
from datetime import date

from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.keyboards.callbacks import CalendarCb, CancelCb
from bot.texts import Texts

NOOP = CalendarCb(act="noop", value="").pack()


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def month_keyboard(t: Texts, year: int, month: int, *, earliest: date | None = None,
                   latest: date | None = None) -> InlineKeyboardMarkup:
    """Days outside [earliest, latest] are shown as dots and cannot be picked."""
    rows = [[InlineKeyboardButton(text=f"{t.month_name(month)} {year}", callback_data=NOOP)]]
    rows.append([InlineKeyboardButton(text=d, callback_data=NOOP) for d in t.weekdays()])
    for week in calendar.Calendar(firstweekday=0).monthdayscalendar(year, month):
        row = []
        for day in week:
            if day == 0:
                row.append(InlineKeyboardButton(text=" ", callback_data=NOOP))
                continue
            value = date(year, month, day)
            if (earliest and value < earliest) or (latest and value > latest):
                row.append(InlineKeyboardButton(text="·", callback_data=NOOP))
            else:
                row.append(InlineKeyboardButton(text=str(day), callback_data=CalendarCb(
                    act="day", value=value.strftime("%Y%m%d")).pack()))
        rows.append(row)
    back, forward = _shift(year, month, -1), _shift(year, month, 1)
    nav = []
    if earliest is None or (back[0], back[1]) >= (earliest.year, earliest.month):
        nav.append(InlineKeyboardButton(text="‹", callback_data=CalendarCb(act="nav", value=f"{back[0]}{back[1]:02d}").pack()))
    if latest is None or (forward[0], forward[1]) <= (latest.year, latest.month):
        nav.append(InlineKeyboardButton(text="›", callback_data=CalendarCb(act="nav", value=f"{forward[0]}{forward[1]:02d}").pack()))
    if nav:
        rows.append(nav)
    rows.append([InlineKeyboardButton(text=t("btn.cancel"), callback_data=CancelCb().pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def parse_month(value: str) -> tuple[int, int] | None:
    if len(value) != 6 or not value.isdigit():
        return None
    year, month = int(value[:4]), int(value[4:])
    return (year, month) if 1 <= month <= 12 and 2000 <= year <= 2100 else None


def parse_day(value: str) -> date | None:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8])) if len(value) == 8 else None
    except ValueError:
        return None


def parse_typed_date(text: str, today: date) -> date | None:
    """A date typed by hand: 28.11.2026, 28.11.26, 28.11 (this year), or 2026-11-28."""
    text = text.strip()
    try:
        if "-" in text:
            return date.fromisoformat(text)
        parts = [p for p in text.replace("/", ".").split(".") if p]
        if len(parts) == 2:
            return date(today.year, int(parts[1]), int(parts[0]))
        if len(parts) == 3:
            year = int(parts[2])
            return date(year + 2000 if year < 100 else year, int(parts[1]), int(parts[0]))
    except ValueError:
        return None
    return None


async def calendar_tap(query: CallbackQuery, callback_data: CalendarCb, t: Texts, *, earliest: date | None,
                       latest: date | None) -> date | None:
    """Handle a tap on the calendar: turn the month (answered here), or return the day picked
    (the caller answers, after checking it)."""
    if callback_data.act == "day" and (day := parse_day(callback_data.value)) is not None:
        return day
    await query.answer()
    if callback_data.act == "nav" and (month := parse_month(callback_data.value)):
        await query.message.edit_reply_markup(reply_markup=month_keyboard(t, *month, earliest=earliest, latest=latest))
    return None
