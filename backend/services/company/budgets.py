"""Monthly budgets of a department, per expense item or overall."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, InvalidInput
from backend.models import Budget, Department, ExpenseItem
from backend.money import check_currency, format_amount, parse_amount
from backend.services.company.common import Errors, flush_unique, missing_fields
from backend.services.records import get_or_not_found

ON_EXCEED = ("block", "route")


class BudgetFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    department_id: int | None = None
    expense_item_id: int | None = Field(default=None, description="null: the budget covers every item")
    month: date | str | None = Field(default=None, description='"2026-03", "03.2026" or any date of the month')
    amount: Decimal | str | None = Field(default=None, description='Rubles and kopecks, e.g. "500000.00"')
    currency: str | None = None
    on_exceed: str | None = Field(default=None, description="block | route (an extra approval stage)")


_MONTH_ISO = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")
_MONTH_RU = re.compile(r"(?:(\d{1,2})\.)?(\d{1,2})\.(\d{4})")


def parse_month(value: date | str, *, field: str = "month") -> date:
    """'2026-03', '2026-03-15', '03.2026', '15.03.2026' or a date → the 1st of that month."""
    if isinstance(value, date):
        return value.replace(day=1)
    raw = str(value).strip()
    try:
        if found := _MONTH_ISO.fullmatch(raw):
            year, month, day = found.group(1), found.group(2), found.group(3) or "1"
        elif found := _MONTH_RU.fullmatch(raw):
            day, month, year = found.group(1) or "1", found.group(2), found.group(3)
        else:
            raise ValueError(raw)
        parsed = date(int(year), int(month), int(day))
    except ValueError:
        raise InvalidInput("budget.month_format", field=field, value=raw) from None
    if not 2000 <= parsed.year <= 2100:
        raise InvalidInput("budget.month_format", field=field, value=raw)
    return parsed.replace(day=1)


BUDGET_REQUIRED = ("department_id", "month", "amount")


async def create_budget(session: AsyncSession, fields: BudgetFields) -> Budget:
    budget = Budget(currency="RUB", on_exceed="route", expense_item_key=0)
    await _apply_budget(session, budget, fields.model_dump(exclude_unset=True), creating=True)
    session.add(budget)
    await flush_unique(session)
    return budget


async def update_budget(session: AsyncSession, budget_id: int, fields: BudgetFields) -> Budget:
    budget = await get_budget(session, budget_id)
    await _apply_budget(session, budget, fields.model_dump(exclude_unset=True), creating=False)
    await flush_unique(session)
    return budget


async def _apply_budget(session: AsyncSession, budget: Budget, given: dict[str, Any], *, creating: bool) -> None:
    errors = Errors()
    for error in missing_fields(given, BUDGET_REQUIRED, ("currency", "on_exceed"), creating=creating):
        errors.add(error)
    present = {k: v for k, v in given.items() if v is not None}
    values: dict[str, Any] = {}
    if "department_id" in present:
        if await session.get(Department, present["department_id"]) is None:
            errors.add(InvalidInput("reference.unknown", field="department_id", id=present["department_id"]))
        else:
            values["department_id"] = present["department_id"]
    if "expense_item_id" in given:
        item_id = given["expense_item_id"]
        if item_id is not None and await session.get(ExpenseItem, item_id) is None:
            errors.add(InvalidInput("reference.unknown", field="expense_item_id", id=item_id))
        else:
            values["expense_item_id"] = item_id
            values["expense_item_key"] = item_id or 0
    if "month" in present:
        values["month"] = errors.attempt(lambda: parse_month(present["month"]))
    if "amount" in present:
        values["amount"] = errors.attempt(lambda: parse_amount(present["amount"]))
    if "currency" in present:
        values["currency"] = errors.attempt(lambda: check_currency(present["currency"]))
    if "on_exceed" in present:
        if present["on_exceed"] in ON_EXCEED:
            values["on_exceed"] = present["on_exceed"]
        else:
            errors.add(InvalidInput("budget.on_exceed", field="on_exceed", allowed=", ".join(ON_EXCEED)))
    errors.raise_if_any()

    def final(key: str) -> Any:
        return values[key] if key in values else getattr(budget, key)

    taken = await session.scalar(select(Budget.id).where(
        Budget.department_id == final("department_id"), Budget.expense_item_key == final("expense_item_key"),
        Budget.month == final("month"), Budget.currency == final("currency"),
        *([Budget.id != budget.id] if budget.id is not None else []),
    ))
    if taken is not None:
        raise Conflict("budget.duplicate", field="month", id=taken, month=final("month").strftime("%m.%Y"))
    for key, value in values.items():
        setattr(budget, key, value)


async def get_budget(session: AsyncSession, budget_id: int) -> Budget:
    return await get_or_not_found(session, Budget, budget_id, "budget.not_found")


async def list_budgets(session: AsyncSession, *, department_id: int | None = None,
                       month: date | str | None = None) -> list[Budget]:
    query = select(Budget).order_by(Budget.month.desc(), Budget.department_id, Budget.expense_item_key, Budget.id)
    if department_id is not None:
        query = query.where(Budget.department_id == department_id)
    if month is not None:
        query = query.where(Budget.month == parse_month(month))
    return list(await session.scalars(query))


def budget_view(budget: Budget) -> dict[str, Any]:
    return {"id": budget.id, "department_id": budget.department_id, "expense_item_id": budget.expense_item_id,
            "month": budget.month, "amount": format_amount(budget.amount), "amount_minor": budget.amount,
            "currency": budget.currency, "on_exceed": budget.on_exceed}
