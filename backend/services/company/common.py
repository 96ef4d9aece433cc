"""Shared plumbing of the company use cases: input checks, unique clashes, locks, dates."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, text as sql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import Conflict, DomainError, InvalidInput, ValidationFailed
from backend.models import Employee
from backend.workflows.actors import Actor

DEFAULT_TIMEZONE = "Europe/Moscow"


class Errors:
    """Collects the field errors of one input, so a form can show them all together."""

    def __init__(self) -> None:
        self.items: list[DomainError] = []

    def add(self, error: DomainError) -> None:
        if isinstance(error, ValidationFailed):
            self.items.extend(error.errors)
        else:
            self.items.append(error)

    def attempt(self, check: Callable[[], Any]) -> Any:
        """The result of ``check``, or None after recording the error it raised."""
        try:
            return check()
        except DomainError as error:
            self.add(error)
            return None

    async def attempt_async(self, check: Awaitable[Any]) -> Any:
        """The result of an awaited check, or None after recording the error it raised."""
        try:
            return await check
        except DomainError as error:
            self.add(error)
            return None

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if len(self.items) == 1:
            raise self.items[0]
        if self.items:
            raise ValidationFailed(self.items)


def text(value: Any, field: str, limit: int, *, required: bool = True) -> str:
    """Stripped text within ``limit`` characters; empty only when not ``required``."""
    result = "" if value is None else str(value).strip()
    if required and not result:
        raise InvalidInput("field.required", field=field)
    if len(result) > limit:
        raise InvalidInput("field.too_long", field=field, max=limit)
    return result


def missing_fields(given: dict[str, Any], required: tuple[str, ...], not_null: tuple[str, ...] = (),
             *, creating: bool) -> list[DomainError]:
    """field.required for what a create lacks, and for any of these an edit tries to clear."""
    return [
        InvalidInput("field.required", field=name)
        for name in dict.fromkeys(required + not_null)
        if (name in given and given[name] is None) or (creating and name in required and name not in given)
    ]


# Unique keys of the tables, by the names the naming convention gives them (backend/db.py).
UNIQUE_KEYS: dict[str, tuple[str, str]] = {
    "uq_legal_entities_inn": ("legal_entity.inn_taken", "inn"),
    "uq_legal_entities_short_code": ("legal_entity.short_code_taken", "short_code"),
    "uq_legal_entity_bank_accounts_legal_entity_id_account": ("bank_account.duplicate", "bank_accounts"),
    "uq_departments_code": ("department.code_taken", "code"),
    "uq_expense_items_code": ("expense_item.code_taken", "code"),
    "uq_budgets_department_id_expense_item_key_month_currency": ("budget.duplicate", "month"),
    "uq_counterparties_inn_kpp": ("counterparty.duplicate", "inn"),
}
_PG_UNIQUE = re.compile(r'unique constraint "([^"]+)"')
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w., ]+)")


def unique_key_of(error: IntegrityError) -> str | None:
    """The name of the unique constraint an IntegrityError broke, on PostgreSQL and SQLite."""
    message = str(error.orig)
    if found := _PG_UNIQUE.search(message):
        return found.group(1)
    if found := _SQLITE_UNIQUE.search(message):
        columns = [c.strip() for c in found.group(1).split(",")]
        table = columns[0].split(".")[0]
        return f"uq_{table}_" + "_".join(c.split(".", 1)[1] for c in columns)
    return None


async def flush_unique(session: AsyncSession) -> None:
    """Flush; a unique clash (two people creating the same thing at once) becomes Conflict."""
    try:
        await session.flush()
    except IntegrityError as error:
        known = UNIQUE_KEYS.get(unique_key_of(error) or "")
        if known is None:
            raise
        raise Conflict(known[0], field=known[1]) from error


async def active_employee(session: AsyncSession, employee_id: int, field: str) -> Employee:
    employee = await session.get(Employee, employee_id)
    if employee is None:
        raise InvalidInput("reference.unknown", field=field, id=employee_id)
    if not employee.active:
        raise InvalidInput("employee.inactive", field=field, id=employee_id, name=employee.full_name)
    return employee


# Keys of transaction-scoped PostgreSQL advisory locks: "VIZADEPT", "VIZAMGRS".
TREE_LOCK = 0x56495A4144455054
MANAGERS_LOCK = 0x56495A414D475253


async def lock_hierarchy(session: AsyncSession, key: int) -> None:
    """Serialise changes of a hierarchy on PostgreSQL, so two concurrent moves cannot build on
    each other's stale paths (or make a cycle together). SQLite has one writer at a time and
    serves one process, which leaves only a tiny window there."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def today(actor: Actor | None) -> date:
    zone = ZoneInfo(actor.timezone if actor else DEFAULT_TIMEZONE)
    return utcnow().astimezone(zone).date()


def name_matches(column, q: str):
    """Case-insensitive substring match that also works for Cyrillic on SQLite (whose
    lower() knows only ASCII) and on PostgreSQL with a C locale: try the usual spellings."""
    q = q.strip()
    variants = dict.fromkeys((q, q.lower(), q.upper(), q.capitalize(), q.title()))
    return or_(*(column.icontains(v, autoescape=True) for v in variants))


# An address with something before and after "@" and a dot in the domain: what mail to a
# person or a contractor needs; anything stricter refuses real addresses.
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def email_address(value: Any, code: str) -> str | None:
    """An optional e-mail field: None when empty, ``InvalidInput(code)`` when not an address."""
    email = text(value, "email", 200, required=False)
    if email and not EMAIL_PATTERN.fullmatch(email):
        raise InvalidInput(code, field="email")
    return email or None
