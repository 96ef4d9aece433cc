"""Tokens and small builders for API tests."""

from __future__ import annotations

from typing import Any

import httpx

from backend.db import Database
from backend.models import Employee
from backend.requisites import make_valid_inn12
from backend.services.tokens import create_token
from tests.factories import SBER_BIK, SBER_CORR, account, inn, today  # noqa: F401  (re-exported)

moscow_today = today  # the name the company tests use
inn10 = inn


def inn12(n: int) -> str:
    return make_valid_inn12(f"77{n:08d}")


def bad_inn10(n: int) -> str:
    good = inn10(n)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


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
