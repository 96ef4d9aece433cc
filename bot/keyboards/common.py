"""Pieces several dialogs share: the Cancel row and picking a colleague by part of a name."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton

from backend.models import Employee
from backend.services.company.employees import list_employees
from backend.services.core import Core
from bot.keyboards.callbacks import CancelCb
from bot.texts import Texts

PEOPLE_SHOWN = 8


def cancel_row(t: Texts, what: str = "dialog") -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=t("btn.cancel"), callback_data=CancelCb(what=what).pack())]


async def colleagues_named(core: Core, text: str) -> list[Employee]:
    """Colleagues whose name holds ``text``, the asker left out; the first few."""
    found = await core.run(lambda s: list_employees(s, q=text.strip()))
    return [e for e in found if e.id != core.actor.employee_id][:PEOPLE_SHOWN]


def person_label(employee: Employee) -> str:
    return f"{employee.full_name}{' · ' + employee.position if employee.position else ''}"
