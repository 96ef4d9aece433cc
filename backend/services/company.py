"""The company model: legal entities, departments, employees, expense items, budgets, delegations.

Admins keep these through the API; the bot and the routing read them. Every use case takes
a session, validates the whole input at once (one error is raised as itself, several
together as ``ValidationFailed``) and turns a unique-key clash into ``Conflict`` naming the
field, never an ``IntegrityError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select, text as sql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, ValidationFailed
from backend.models import (
    ROLES, TAX_REGIMES, BankAccount, Budget, Delegation, Department, Employee, ExpenseItem, LegalEntity,
)
from backend.money import check_currency, format_amount, parse_amount
from backend.requisites import (
    validate_bik, validate_correspondent_account, validate_inn, validate_kpp, validate_settlement_account,
)
from backend.workflows.actors import Actor

LANGUAGES = ("ru", "en")
ON_EXCEED = ("block", "route")
DEFAULT_TIMEZONE = "Europe/Moscow"


# --- shared plumbing ---------------------------------------------------------------------------


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


async def _active_employee(session: AsyncSession, employee_id: int, field: str) -> Employee:
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


def _today(actor: Actor | None) -> date:
    zone = ZoneInfo(actor.timezone if actor else DEFAULT_TIMEZONE)
    return utcnow().astimezone(zone).date()


# --- legal entities ----------------------------------------------------------------------------


class BankAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    bank_name: str = ""
    bik: str = Field(description="9 digits, e.g. 044525225")
    account: str = Field(description="Settlement account, 20 digits, checked against the BIK")
    corr_account: str = ""
    is_default: bool = False


class LegalEntityFields(BaseModel):
    """A legal entity (payer) as an admin types it; every field optional for a partial edit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = None
    short_code: str | None = Field(default=None, description="1–10 letters or digits; prefix of request numbers")
    inn: str | None = None
    kpp: str | None = None
    tax_regime: str | None = Field(default=None, description=" | ".join(TAX_REGIMES))
    usn_income_limit: Decimal | str | None = Field(
        default=None, description="Yearly USN income limit in rubles, overriding the default")
    regions: list[str] | None = None
    active: bool | None = None
    bank_accounts: list[BankAccountIn] | None = Field(
        default=None, description="The whole list; accounts are matched by number, others removed")


LEGAL_ENTITY_REQUIRED = ("name", "short_code", "inn")
_SHORT_CODE = re.compile(r"[0-9A-ZА-ЯЁ]{1,10}")


def _short_code(value: str) -> str:
    code = text(value, "short_code", 10).upper()
    if not _SHORT_CODE.fullmatch(code):
        raise InvalidInput("legal_entity.short_code_format", field="short_code")
    return code


def _given(fields: LegalEntityFields) -> dict[str, Any]:
    given = fields.model_dump(exclude_unset=True)
    if "bank_accounts" in given:
        given["bank_accounts"] = fields.bank_accounts  # the models, with their defaults
    return given


async def create_legal_entity(session: AsyncSession, fields: LegalEntityFields) -> LegalEntity:
    given = _given(fields)
    entity = LegalEntity(regions=[], active=True, tax_regime="osn", kpp="")
    await _apply_legal_entity(session, entity, given, creating=True)
    session.add(entity)
    await flush_unique(session)
    return entity


async def update_legal_entity(session: AsyncSession, entity_id: int, fields: LegalEntityFields) -> LegalEntity:
    entity = await get_legal_entity(session, entity_id)
    await _apply_legal_entity(session, entity, _given(fields), creating=False)
    await flush_unique(session)
    return entity


async def _apply_legal_entity(session: AsyncSession, entity: LegalEntity, given: dict[str, Any],
                              *, creating: bool) -> None:
    errors = Errors()
    for error in missing_fields(given, LEGAL_ENTITY_REQUIRED, ("tax_regime", "active"), creating=creating):
        errors.add(error)
    present = {k: v for k, v in given.items() if v is not None}
    values: dict[str, Any] = {}
    if "name" in present:
        values["name"] = errors.attempt(lambda: text(present["name"], "name", 300))
    if "short_code" in present:
        values["short_code"] = errors.attempt(lambda: _short_code(present["short_code"]))
    if "inn" in present:
        values["inn"] = errors.attempt(lambda: validate_inn(present["inn"]))
    if "kpp" in given or "inn" in present:
        inn = values.get("inn") or entity.inn
        kpp = given["kpp"] if "kpp" in given else entity.kpp
        values["kpp"] = errors.attempt(lambda: validate_kpp(kpp, inn=inn)) or ""
    if "tax_regime" in present:
        if present["tax_regime"] in TAX_REGIMES:
            values["tax_regime"] = present["tax_regime"]
        else:
            errors.add(InvalidInput("legal_entity.tax_regime", field="tax_regime", allowed=", ".join(TAX_REGIMES)))
    if "usn_income_limit" in given:
        limit = given["usn_income_limit"]
        values["usn_income_limit"] = None if limit in (None, "") else errors.attempt(
            lambda: parse_amount(limit, field="usn_income_limit"))
    if "regions" in given:
        regions = [r.strip() for r in given["regions"] or [] if r and r.strip()]
        if any(len(r) > 100 for r in regions):
            errors.add(InvalidInput("field.too_long", field="regions", max=100))
        values["regions"] = list(dict.fromkeys(regions))
    if "active" in present:
        values["active"] = present["active"]
    accounts = None
    if "bank_accounts" in given:
        accounts = _check_bank_accounts(given["bank_accounts"] or [], errors)
    errors.raise_if_any()

    if values.get("inn") and values["inn"] != entity.inn:
        taken = await session.scalar(select(LegalEntity.id).where(LegalEntity.inn == values["inn"]))
        if taken is not None:
            errors.add(Conflict("legal_entity.inn_taken", field="inn", id=taken))
    if values.get("short_code") and values["short_code"] != entity.short_code:
        taken = await session.scalar(select(LegalEntity.id).where(LegalEntity.short_code == values["short_code"]))
        if taken is not None:
            errors.add(Conflict("legal_entity.short_code_taken", field="short_code", id=taken))
    if errors:
        raise errors.items[0]  # a clash is a 409: the first one is enough to act on
    for key, value in values.items():
        setattr(entity, key, value)
    if accounts is not None:
        _replace_bank_accounts(entity, accounts)


def _check_bank_accounts(items: list[BankAccountIn], errors: Errors) -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        found = Errors()
        prefix = f"bank_accounts.{index}"
        bik = found.attempt(lambda: validate_bik(item.bik))
        account = corr = None
        if bik is not None:
            account = found.attempt(lambda: validate_settlement_account(item.account, bik))
            corr = found.attempt(lambda: validate_correspondent_account(item.corr_account, bik))
        name = found.attempt(lambda: text(item.bank_name, "bank_name", 300, required=False))
        for error in found.items:
            error.field = f"{prefix}.{error.field}"
            errors.add(error)
        if account is not None and account in seen:
            errors.add(InvalidInput("bank_account.duplicate", field=f"{prefix}.account"))
        if not found.items:
            seen.add(account)
            checked.append({"bank_name": name, "bik": bik, "account": account, "corr_account": corr or "",
                            "is_default": item.is_default})
    if sum(1 for item in items if item.is_default) > 1:
        errors.add(InvalidInput("bank_account.several_defaults", field="bank_accounts"))
    if checked and not any(a["is_default"] for a in checked):
        checked[0]["is_default"] = True  # one account is always the default
    return checked


def _replace_bank_accounts(entity: LegalEntity, accounts: list[dict[str, Any]]) -> None:
    """Keep the rows of accounts still listed (their ids stay), drop the others, add the new."""
    existing = {a.account: a for a in entity.bank_accounts}
    kept: list[BankAccount] = []
    for data in accounts:
        row = existing.pop(data["account"], None)
        if row is None:
            row = BankAccount(**data)
        else:
            for key, value in data.items():
                setattr(row, key, value)
        kept.append(row)
    entity.bank_accounts = kept


async def get_legal_entity(session: AsyncSession, entity_id: int) -> LegalEntity:
    entity = await session.get(LegalEntity, entity_id)
    if entity is None:
        raise NotFound("legal_entity.not_found", id=entity_id)
    return entity


async def list_legal_entities(session: AsyncSession, *, include_inactive: bool = False) -> list[LegalEntity]:
    query = select(LegalEntity).order_by(LegalEntity.name, LegalEntity.id)
    if not include_inactive:
        query = query.where(LegalEntity.active.is_(True))
    return list(await session.scalars(query))


def bank_account_view(account: BankAccount) -> dict[str, Any]:
    return {"id": account.id, "bank_name": account.bank_name, "bik": account.bik, "account": account.account,
            "corr_account": account.corr_account, "is_default": account.is_default}


def legal_entity_view(entity: LegalEntity) -> dict[str, Any]:
    limit = entity.usn_income_limit
    return {
        "id": entity.id, "name": entity.name, "short_code": entity.short_code, "inn": entity.inn,
        "kpp": entity.kpp, "tax_regime": entity.tax_regime,
        "usn_income_limit": format_amount(limit) if limit is not None else None,
        "regions": list(entity.regions or []), "active": entity.active, "created_at": entity.created_at,
        "bank_accounts": [bank_account_view(a) for a in entity.bank_accounts],
    }


# --- departments -------------------------------------------------------------------------------


class DepartmentFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = None
    code: str | None = Field(default=None, description="Optional unique code, used by route rules (head_of)")
    parent_id: int | None = Field(default=None, description="null for a top-level department; a change moves the subtree")
    head_id: int | None = None
    deputy_id: int | None = None


async def create_department(session: AsyncSession, fields: DepartmentFields) -> Department:
    given = fields.model_dump(exclude_unset=True)
    if given.get("parent_id") is not None:
        await lock_hierarchy(session, TREE_LOCK)
    department = Department()
    parent = await _apply_department(session, department, given, creating=True)
    session.add(department)
    await flush_unique(session)  # the id is part of the path
    department.path = f"{parent.path if parent else '/'}{department.id}/"
    await session.flush()
    return department


async def update_department(session: AsyncSession, department_id: int, fields: DepartmentFields) -> Department:
    given = fields.model_dump(exclude_unset=True)
    if "parent_id" in given:
        await lock_hierarchy(session, TREE_LOCK)  # before reading any path
    department = await get_department(session, department_id)
    moving = "parent_id" in given and given["parent_id"] != department.parent_id
    parent = await _apply_department(session, department, given, creating=False)
    if moving:
        await _move_subtree(session, department, parent)
    await flush_unique(session)
    return department


async def _apply_department(session: AsyncSession, department: Department, given: dict[str, Any],
                            *, creating: bool) -> Department | None:
    """Check and set the fields; returns the (new) parent, whose path the caller needs."""
    errors = Errors()
    for error in missing_fields(given, ("name",), creating=creating):
        errors.add(error)
    values: dict[str, Any] = {}
    if given.get("name") is not None:
        values["name"] = errors.attempt(lambda: text(given["name"], "name", 200))
    if "code" in given:
        values["code"] = errors.attempt(lambda: text(given["code"], "code", 50, required=False)) or None
    parent = None
    if given.get("parent_id") is not None:
        parent = await session.get(Department, given["parent_id"])
        if parent is None:
            errors.add(InvalidInput("reference.unknown", field="parent_id", id=given["parent_id"]))
        elif not creating and parent.path.startswith(department.path):
            errors.add(InvalidInput("department.cycle", field="parent_id", id=parent.id, name=parent.name))
    for key in ("head_id", "deputy_id"):
        if given.get(key) is not None:
            try:
                await _active_employee(session, given[key], key)
            except DomainError as error:
                errors.add(error)
        if key in given:
            values[key] = given[key]
    if values.get("code") and values["code"] != department.code:
        taken = await session.scalar(select(Department.id).where(Department.code == values["code"]))
        if taken is not None:
            errors.add(Conflict("department.code_taken", field="code", id=taken))
    errors.raise_if_any()
    if "parent_id" in given:
        values["parent_id"] = parent.id if parent else None
    for key, value in values.items():
        setattr(department, key, value)
    return parent


async def _move_subtree(session: AsyncSession, department: Department, parent: Department | None) -> None:
    """Give the department and everything under it the paths of their new place."""
    old = department.path
    new = f"{parent.path if parent else '/'}{department.id}/"
    # The paths hold only digits and slashes, so the prefix needs no LIKE escaping.
    subtree = (await session.scalars(select(Department).where(Department.path.like(old + "%")))).all()
    for row in subtree:
        row.path = new + row.path[len(old):]


async def get_department(session: AsyncSession, department_id: int) -> Department:
    department = await session.get(Department, department_id)
    if department is None:
        raise NotFound("department.not_found", id=department_id)
    return department


async def list_departments(session: AsyncSession, *, parent_id: int | None = None) -> list[Department]:
    query = select(Department).order_by(Department.path)
    if parent_id is not None:
        query = query.where(Department.parent_id == parent_id)
    return list(await session.scalars(query))


def department_view(department: Department) -> dict[str, Any]:
    return {"id": department.id, "name": department.name, "code": department.code,
            "parent_id": department.parent_id, "head_id": department.head_id,
            "deputy_id": department.deputy_id, "path": department.path}


async def department_tree(session: AsyncSession) -> list[dict[str, Any]]:
    """Every department nested under its parent, children sorted by name."""
    rows = list(await session.scalars(select(Department)))
    nodes = {d.id: {**department_view(d), "children": []} for d in rows}
    roots: list[dict[str, Any]] = []
    for department in rows:
        node = nodes[department.id]
        parent = nodes.get(department.parent_id) if department.parent_id else None
        (parent["children"] if parent else roots).append(node)

    def order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items.sort(key=lambda n: (n["name"].lower(), n["id"]))
        for item in items:
            order(item["children"])
        return items

    return order(roots)


# --- employees ---------------------------------------------------------------------------------


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


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _timezone(value: str) -> str:
    zone = (value or "").strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("employee.timezone", field="timezone", value=zone) from None
    return zone


def _email(value: str) -> str | None:
    email = text(value, "email", 200, required=False)
    if email and not _EMAIL.fullmatch(email):
        raise InvalidInput("employee.email", field="email")
    return email or None


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
                await _active_employee(session, manager_id, "manager_id")
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
        for delegation in open_ones:
            delegation.cancelled_at = utcnow()
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
    employee = await session.get(Employee, employee_id)
    if employee is None:
        raise NotFound("employee.not_found", id=employee_id)
    return employee


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


def name_matches(column, q: str):
    """Case-insensitive substring match that also works for Cyrillic on SQLite (whose
    lower() knows only ASCII) and on PostgreSQL with a C locale: try the usual spellings."""
    q = q.strip()
    variants = dict.fromkeys((q, q.lower(), q.upper(), q.capitalize(), q.title()))
    return or_(*(column.icontains(v, autoescape=True) for v in variants))


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


# --- expense items -----------------------------------------------------------------------------


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
    item = await session.get(ExpenseItem, item_id)
    if item is None:
        raise NotFound("expense_item.not_found", id=item_id)
    return item


async def list_expense_items(session: AsyncSession, *, include_inactive: bool = False) -> list[ExpenseItem]:
    query = select(ExpenseItem).order_by(ExpenseItem.code)
    if not include_inactive:
        query = query.where(ExpenseItem.active.is_(True))
    return list(await session.scalars(query))


def expense_item_view(item: ExpenseItem) -> dict[str, Any]:
    return {"id": item.id, "code": item.code, "name": item.name, "active": item.active}


# --- budgets -----------------------------------------------------------------------------------


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
    budget = await session.get(Budget, budget_id)
    if budget is None:
        raise NotFound("budget.not_found", id=budget_id)
    return budget


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


# --- delegations -------------------------------------------------------------------------------


class DelegationFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: int | None = Field(default=None, description="Who is away; yourself when omitted")
    deputy_id: int | None = None
    starts_on: date | None = None
    ends_on: date | None = Field(default=None, description="Last day away (inclusive)")


async def create_delegation(session: AsyncSession, actor: Actor, fields: DelegationFields) -> Delegation:
    given = fields.model_dump(exclude_unset=True)
    if given.get("employee_id") is None:
        given["employee_id"] = actor.employee_id
    _check_delegation_actor(actor, given["employee_id"])
    delegation = Delegation()
    await _apply_delegation(session, actor, delegation, given, creating=True)
    session.add(delegation)
    await session.flush()
    return delegation


async def update_delegation(session: AsyncSession, actor: Actor, delegation_id: int,
                            fields: DelegationFields) -> Delegation:
    delegation = await get_delegation(session, actor, delegation_id)
    _check_delegation_actor(actor, delegation.employee_id)
    given = fields.model_dump(exclude_unset=True)
    if "employee_id" in given and given["employee_id"] != delegation.employee_id:
        raise InvalidInput("delegation.employee_fixed", field="employee_id")
    if delegation.cancelled_at is not None:
        raise InvalidInput("delegation.cancelled", id=delegation.id)
    await _apply_delegation(session, actor, delegation, given, creating=False)
    await session.flush()
    return delegation


async def cancel_delegation(session: AsyncSession, actor: Actor, delegation_id: int) -> Delegation:
    """Cancel; cancelling again changes nothing."""
    delegation = await get_delegation(session, actor, delegation_id)
    _check_delegation_actor(actor, delegation.employee_id)
    if delegation.cancelled_at is None:
        delegation.cancelled_at = utcnow()
        await session.flush()
    return delegation


def _check_delegation_actor(actor: Actor, employee_id: int | None) -> None:
    if actor.is_admin:
        if employee_id is None:
            raise InvalidInput("field.required", field="employee_id")
        return
    if actor.employee_id is None or employee_id != actor.employee_id:
        raise Forbidden("delegation.not_yours", field="employee_id")


async def _apply_delegation(session: AsyncSession, actor: Actor, delegation: Delegation, given: dict[str, Any],
                            *, creating: bool) -> None:
    errors = Errors()
    for error in missing_fields(given, ("deputy_id", "starts_on", "ends_on"), creating=creating):
        errors.add(error)
    errors.raise_if_any()
    employee_id = given.get("employee_id", delegation.employee_id)
    deputy_id = given.get("deputy_id", delegation.deputy_id)
    starts_on = given.get("starts_on", delegation.starts_on)
    ends_on = given.get("ends_on", delegation.ends_on)
    if creating:
        employee = await session.get(Employee, employee_id)
        if employee is None:
            errors.add(InvalidInput("reference.unknown", field="employee_id", id=employee_id))
    if "deputy_id" in given:
        if deputy_id == employee_id:
            errors.add(InvalidInput("delegation.self", field="deputy_id"))
        else:
            try:
                await _active_employee(session, deputy_id, "deputy_id")
            except DomainError as error:
                errors.add(error)
    if ends_on < starts_on:
        errors.add(InvalidInput("delegation.dates", field="ends_on", starts_on=starts_on.strftime("%d.%m.%Y")))
    elif ("ends_on" in given or creating) and ends_on < _today(actor):
        errors.add(InvalidInput("delegation.past", field="ends_on"))
    errors.raise_if_any()
    overlapping = await session.scalar(select(Delegation.id).where(
        Delegation.employee_id == employee_id, Delegation.cancelled_at.is_(None),
        Delegation.starts_on <= ends_on, Delegation.ends_on >= starts_on,
        *([Delegation.id != delegation.id] if delegation.id is not None else []),
    ).order_by(Delegation.id).limit(1))
    if overlapping is not None:
        raise Conflict("delegation.overlap", field="starts_on", id=overlapping)
    delegation.employee_id, delegation.deputy_id = employee_id, deputy_id
    delegation.starts_on, delegation.ends_on = starts_on, ends_on


async def get_delegation(session: AsyncSession, actor: Actor, delegation_id: int) -> Delegation:
    """The delegation, if the actor is an admin, the one away or the deputy; otherwise not found."""
    delegation = await session.get(Delegation, delegation_id)
    if delegation is None or not (
        actor.is_admin or actor.employee_id in (delegation.employee_id, delegation.deputy_id)
    ):
        raise NotFound("delegation.not_found", id=delegation_id)
    return delegation


async def list_delegations(session: AsyncSession, actor: Actor, *, employee_id: int | None = None,
                           include_cancelled: bool = False, include_past: bool = False) -> list[Delegation]:
    query = select(Delegation).order_by(Delegation.starts_on.desc(), Delegation.id.desc())
    if not actor.is_admin:
        me = actor.employee_id
        if me is None:
            return []
        query = query.where(or_(Delegation.employee_id == me, Delegation.deputy_id == me))
    if employee_id is not None:
        query = query.where(Delegation.employee_id == employee_id)
    if not include_cancelled:
        query = query.where(Delegation.cancelled_at.is_(None))
    if not include_past:
        query = query.where(Delegation.ends_on >= _today(actor))
    return list(await session.scalars(query))


def delegation_view(delegation: Delegation) -> dict[str, Any]:
    return {"id": delegation.id, "employee_id": delegation.employee_id, "deputy_id": delegation.deputy_id,
            "starts_on": delegation.starts_on, "ends_on": delegation.ends_on,
            "created_at": delegation.created_at, "cancelled_at": delegation.cancelled_at,
            "cancelled": delegation.cancelled_at is not None}
