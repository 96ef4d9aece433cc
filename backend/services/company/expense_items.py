"""Expense items: the catalogue requests are charged to."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict
from backend.models import ExpenseItem
from backend.services.company.common import Errors, flush_unique, missing_fields, text
from backend.services.records import get_or_not_found


class ExpenseItemFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str | None = None
    name: str | None = None
    active: bool | None = None


async def create_expense_item(session: AsyncSession, fields: ExpenseItemFields) -> ExpenseItem:
    item = ExpenseItem(active=True)
    await _apply_expense_item(session, item, fields.model_dump(exclude_unset=True), creating=True)
    session.add(item)
    await flush_unique(session)
    return item


async def update_expense_item(session: AsyncSession, item_id: int, fields: ExpenseItemFields) -> ExpenseItem:
    item = await get_expense_item(session, item_id)
    await _apply_expense_item(session, item, fields.model_dump(exclude_unset=True), creating=False)
    await flush_unique(session)
    return item


async def _apply_expense_item(session: AsyncSession, item: ExpenseItem, given: dict[str, Any],
                              *, creating: bool) -> None:
    errors = Errors()
    for error in missing_fields(given, ("code", "name"), ("active",), creating=creating):
        errors.add(error)
    values: dict[str, Any] = {}
    if given.get("code") is not None:
        values["code"] = errors.attempt(lambda: text(given["code"], "code", 50))
    if given.get("name") is not None:
        values["name"] = errors.attempt(lambda: text(given["name"], "name", 200))
    if given.get("active") is not None:
        values["active"] = given["active"]
    if values.get("code") and values["code"] != item.code:
        taken = await session.scalar(select(ExpenseItem.id).where(ExpenseItem.code == values["code"]))
        if taken is not None:
            errors.add(Conflict("expense_item.code_taken", field="code", id=taken))
    errors.raise_if_any()
    for key, value in values.items():
        setattr(item, key, value)


async def get_expense_item(session: AsyncSession, item_id: int) -> ExpenseItem:
    return await get_or_not_found(session, ExpenseItem, item_id, "expense_item.not_found")


async def list_expense_items(session: AsyncSession, *, include_inactive: bool = False) -> list[ExpenseItem]:
    query = select(ExpenseItem).order_by(ExpenseItem.code)
    if not include_inactive:
        query = query.where(ExpenseItem.active.is_(True))
    return list(await session.scalars(query))


def expense_item_view(item: ExpenseItem) -> dict[str, Any]:
    return {"id": item.id, "code": item.code, "name": item.name, "active": item.active}
