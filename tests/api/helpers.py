"""Tokens and small builders for API tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from backend.db import Database
from backend.models import Employee
from backend.requisites import make_valid_account, make_valid_inn10, make_valid_inn12
from backend.services.tokens import create_token

SBER_BIK = "044525225"
SBER_CORR = "30101810400000000225"


def moscow_today() -> date:
    """Today where the test employees live (the default time zone), not where the tests run."""
    return datetime.now(ZoneInfo("Europe/Moscow")).date()


def inn10(n: int) -> str:
    return make_valid_inn10(f"77{n:07d}")


def inn12(n: int) -> str:
    return make_valid_inn12(f"77{n:08d}")


def bad_inn10(n: int) -> str:
    good = inn10(n)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


def account(n: int) -> str:
    return make_valid_account(SBER_BIK, "40702810", serial=n)


async def _token(db: Database, *, role: str, employee_id: int | None = None, name: str = "test") -> dict[str, str]:
    async with db.session() as session:
        _, secret = await create_token(session, name=name, role=role, employee_id=employee_id)
        await session.commit()
    return {"Authorization": f"Bearer {secret}"}


async def admin_headers(db: Database) -> dict[str, str]:
    """An admin token that is nobody in particular (like one made by `viza token create`)."""
    return await _token(db, role="admin", name="admin")


async def employee_headers(db: Database, employee_id: int, role: str = "manager") -> dict[str, str]:
    """A token acting as the employee (their own roles plus ``role``)."""
    return await _token(db, role=role, employee_id=employee_id, name=f"employee {employee_id}")


async def add_employee(db: Database, full_name: str = "Иванов Иван", **values: Any) -> int:
    async with db.session() as session:
        employee = Employee(full_name=full_name, roles=values.pop("roles", ["manager"]), **values)
        session.add(employee)
        await session.commit()
        return employee.id


def errors_of(response: httpx.Response) -> set[tuple[str, str | None]]:
    """(code, field) of every error in the body: one error, or several under "errors"."""
    body = response.json()
    items = body.get("errors") or [body]
    return {(e["code"], e.get("field")) for e in items}
