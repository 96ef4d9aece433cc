"""Employees: roles, managers, time zones and deactivation."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import DomainError, InvalidInput
from backend.models import ROLES, Delegation, Department, Employee
from backend.services.company.common import (
    DEFAULT_TIMEZONE, MANAGERS_LOCK, Errors, active_employee, flush_unique, lock_hierarchy, missing_fields,
    email_address, name_matches, text,
)
from backend.services.delegation_handover import hand_over
from backend.services.records import get_or_not_found
from backend.workflows.actors import Actor

LANGUAGES = ("ru", "en")


class EmployeeFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: str | None = None
    department_id: int | None = None
    position: str | None = None
    roles: list[str] | None = Field(default=None, description=" | ".join(ROLES))
    manager_id: int | None = Field(default=None, description="Explicit manager; else the department head")
    email: str | None = None
    timezone: str | None = Field(default=None, description="IANA zone, e.g. Europe/Moscow")
    language: str | None = Field(default=None, description="ru | en")
    active: bool | None = None




def _timezone(value: str) -> str:
    zone = (value or "").strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("employee.timezone", field="timezone", value=zone) from None
    return zone


def _email(value: str) -> str | None:
    return email_address(value, "employee.email")


def _roles(value: list[str]) -> list[str]:
    roles = [r.strip().lower() for r in value]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput("employee.role_unknown", field="roles", roles=", ".join(unknown),
                           allowed=", ".join(ROLES))
    return list(dict.fromkeys(roles))


async def create_employee(session: AsyncSession, fields: EmployeeFields) -> Employee:
    employee = Employee(roles=[], timezone=DEFAULT_TIMEZONE, language="ru", active=True, position="")
    await _apply_employee(session, employee, fields.model_dump(exclude_unset=True), creating=True)
    session.add(employee)
    await flush_unique(session)
    return employee


async def update_employee(session: AsyncSession, employee_id: int, fields: EmployeeFields) -> Employee:
    given = fields.model_dump(exclude_unset=True)
    if given.get("manager_id") is not None:
        await lock_hierarchy(session, MANAGERS_LOCK)  # before walking the chain
    employee = await get_employee(session, employee_id)
    await _apply_employee(session, employee, given, creating=False)
    await flush_unique(session)
    return employee


async def deactivate_employee(session: AsyncSession, employee_id: int) -> Employee:
    """Employees are never deleted: their requests and decisions keep pointing at them."""
    return await update_employee(session, employee_id, EmployeeFields(active=False))


async def _apply_employee(session: AsyncSession, employee: Employee, given: dict[str, Any],
                          *, creating: bool) -> None:
    errors = Errors()
    for error in missing_fields(given, ("full_name",), ("roles", "timezone", "language", "active", "position"),
                          creating=creating):
        errors.add(error)
    present = {k: v for k, v in given.items() if v is not None}
    values: dict[str, Any] = {}
    if "full_name" in present:
        values["full_name"] = errors.attempt(lambda: text(present["full_name"], "full_name", 200))
    if "position" in present:
        values["position"] = errors.attempt(lambda: text(present["position"], "position", 200, required=False))
    if "roles" in present:
        values["roles"] = errors.attempt(lambda: _roles(present["roles"]))
    if "email" in given:
        values["email"] = errors.attempt(lambda: _email(given["email"])) if given["email"] is not None else None
    if "timezone" in present:
        values["timezone"] = errors.attempt(lambda: _timezone(present["timezone"]))
    if "language" in present:
        if present["language"] in LANGUAGES:
            values["language"] = present["language"]
        else:
            errors.add(InvalidInput("employee.language", field="language", allowed=", ".join(LANGUAGES)))
    if "active" in present:
        values["active"] = present["active"]
    if "department_id" in given:
        if given["department_id"] is not None and await session.get(Department, given["department_id"]) is None:
            errors.add(InvalidInput("reference.unknown", field="department_id", id=given["department_id"]))
        values["department_id"] = given["department_id"]
    if "manager_id" in given:
        manager_id = given["manager_id"]
        if manager_id is not None:
            try:
                await active_employee(session, manager_id, "manager_id")
                if not creating:
                    await _check_manager_chain(session, employee.id, manager_id)
            except DomainError as error:
                errors.add(error)
        values["manager_id"] = manager_id
    errors.raise_if_any()
    if values.get("active") is False and employee.active and employee.id is not None:
        # Nobody's approvals should go to someone who has left.
        open_ones = await session.scalars(select(Delegation).where(
            Delegation.deputy_id == employee.id, Delegation.cancelled_at.is_(None)))
        away = []
        for delegation in open_ones:
            delegation.cancelled_at = utcnow()
            away.append(delegation.employee_id)
        if away:  # their waiting approvals go back to the people they stood in for, now
            await session.flush()
            await hand_over(session, Actor.system(), approver_ids=away)
    for key, value in values.items():
        setattr(employee, key, value)


async def _check_manager_chain(session: AsyncSession, employee_id: int, manager_id: int) -> None:
    """Refuse a manager who is the employee, or reports to them somewhere up the chain."""
    seen: set[int] = set()
    current: int | None = manager_id
    while current is not None and current not in seen:
        if current == employee_id:
            raise InvalidInput("employee.manager_cycle", field="manager_id", id=manager_id)
        seen.add(current)
        current = await session.scalar(select(Employee.manager_id).where(Employee.id == current))


async def get_employee(session: AsyncSession, employee_id: int) -> Employee:
    return await get_or_not_found(session, Employee, employee_id, "employee.not_found")


async def list_employees(session: AsyncSession, *, department_id: int | None = None, q: str | None = None,
                         include_inactive: bool = False) -> list[Employee]:
    query = select(Employee).order_by(Employee.full_name, Employee.id)
    if not include_inactive:
        query = query.where(Employee.active.is_(True))
    if department_id is not None:
        query = query.where(Employee.department_id == department_id)
    if q and q.strip():
        query = query.where(name_matches(Employee.full_name, q))
    return list(await session.scalars(query))


def employee_view(employee: Employee, *, private: bool = True) -> dict[str, Any]:
    """The employee; ``private`` adds what only admins need (e-mail, Telegram binding)."""
    data = {
        "id": employee.id, "full_name": employee.full_name, "department_id": employee.department_id,
        "position": employee.position, "roles": list(employee.roles or []), "manager_id": employee.manager_id,
        "timezone": employee.timezone, "language": employee.language, "active": employee.active,
    }
    if private:
        data.update(email=employee.email, telegram_username=employee.telegram_username,
                    telegram_linked=employee.telegram_user_id is not None, created_at=employee.created_at)
    return data
