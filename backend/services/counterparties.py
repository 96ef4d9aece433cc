"""Counterparties (contractors), kept once per INN + KPP (seed 000: duplicates break the 1C sync).

A known INN fills in the rest of a form (seed 004: too many fields) — see :func:`lookup_by_inn`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, Forbidden
from backend.models import Counterparty
from backend.requisites import normalize_digits, validate_inn, validate_requisites
from backend.integrations.outbox_rows import queue_counterparty
from backend.services.company import Errors, flush_unique, missing_fields, name_matches, text
from backend.services.company.common import email_address
from backend.services.payment_requests import find_counterparty
from backend.workflows.actors import Actor
from backend.services.records import get_or_not_found

# Who may correct a contractor's requisites once it exists (anyone may add a new one).
EDITORS = ("admin", "accountant")


class CounterpartyFields(BaseModel):
    """A contractor as typed by a person; every field optional for a partial edit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = None
    inn: str | None = Field(default=None, description="10 digits (company) or 12 (sole trader)")
    kpp: str | None = Field(default=None, description="Empty for sole traders")
    bank_name: str | None = None
    bik: str | None = None
    account: str | None = Field(default=None, description="Settlement account, checked against the BIK")
    corr_account: str | None = None
    email: str | None = None
    phone: str | None = None


REQUISITES = ("inn", "kpp", "bik", "account", "corr_account")


def _email(value: Any) -> str | None:
    return email_address(value, "email.format")  # the payment notice goes here


async def create_counterparty(session: AsyncSession, fields: CounterpartyFields) -> Counterparty:
    counterparty = Counterparty(kpp="", bank_name="", bik="", account="", corr_account="")
    await _apply(session, counterparty, fields.model_dump(exclude_unset=True), creating=True)
    session.add(counterparty)
    await flush_unique(session)
    await queue_counterparty(session, counterparty)
    return counterparty


async def update_counterparty(session: AsyncSession, actor: Actor, counterparty_id: int,
                              fields: CounterpartyFields) -> Counterparty:
    if not actor.has(*EDITORS):
        raise Forbidden("counterparty.edit_forbidden")
    counterparty = await get_counterparty(session, counterparty_id)
    await _apply(session, counterparty, fields.model_dump(exclude_unset=True), creating=False)
    await flush_unique(session)
    await queue_counterparty(session, counterparty)
    return counterparty


async def _apply(session: AsyncSession, counterparty: Counterparty, given: dict[str, Any],
                 *, creating: bool) -> None:
    errors = Errors()
    for error in missing_fields(given, ("name", "inn"), creating=creating):
        errors.add(error)
    values: dict[str, Any] = {}
    if given.get("name") is not None:
        values["name"] = errors.attempt(lambda: text(given["name"], "name", 300))
    if "bank_name" in given:
        values["bank_name"] = errors.attempt(lambda: text(given["bank_name"], "bank_name", 300, required=False))
    if "email" in given:
        values["email"] = errors.attempt(lambda: _email(given["email"]))
    if "phone" in given:
        values["phone"] = errors.attempt(lambda: text(given["phone"], "phone", 50, required=False)) or None
    if any(k in given for k in REQUISITES) and given.get("inn", ...) is not None:
        def pick(key: str) -> str:
            return (given[key] or "") if key in given else (getattr(counterparty, key) or "")

        # Bank details are optional, but all or nothing: a BIK without an account is a mistake.
        checked = errors.attempt(lambda: validate_requisites(
            inn=pick("inn"), kpp=pick("kpp"), bik=pick("bik"), account=pick("account"),
            corr_account=pick("corr_account"), require_bank=False))
        if checked is not None:
            values.update(inn=checked.inn, kpp=checked.kpp or "", bik=checked.bik or "",
                          account=checked.account or "", corr_account=checked.corr_account or "")
    errors.raise_if_any()
    if "inn" in values and (values["inn"], values["kpp"]) != (counterparty.inn, counterparty.kpp):
        existing = await find_counterparty(session, values["inn"], values["kpp"])
        if existing is not None and existing.kpp == values["kpp"] and existing.id != counterparty.id:
            raise Conflict("counterparty.duplicate", field="inn", id=existing.id, name=existing.name)
    for key, value in values.items():
        setattr(counterparty, key, value)


async def get_counterparty(session: AsyncSession, counterparty_id: int) -> Counterparty:
    return await get_or_not_found(session, Counterparty, counterparty_id, "counterparty.not_found")


async def list_counterparties(session: AsyncSession, *, q: str | None = None, limit: int = 50,
                              offset: int = 0) -> list[Counterparty]:
    """Sorted by name; ``q`` matches the name (any case) or the beginning of the INN."""
    query = select(Counterparty).order_by(Counterparty.name, Counterparty.id)
    if q and q.strip():
        clauses = [name_matches(Counterparty.name, q)]
        digits = normalize_digits(q)
        if digits.isascii() and digits.isdigit():
            clauses.append(Counterparty.inn.startswith(digits))
        query = query.where(or_(*clauses))
    return list(await session.scalars(query.limit(limit).offset(offset)))


async def lookup_by_inn(session: AsyncSession, inn: str) -> list[Counterparty]:
    """Every known counterparty with this INN (one per KPP), most recently updated first."""
    digits = validate_inn(inn)
    rows = await session.scalars(
        select(Counterparty).where(Counterparty.inn == digits)
        .order_by(Counterparty.updated_at.desc(), Counterparty.id.desc())
    )
    return list(rows)


def counterparty_view(counterparty: Counterparty) -> dict[str, Any]:
    return {
        "id": counterparty.id, "name": counterparty.name, "inn": counterparty.inn, "kpp": counterparty.kpp,
        "bank_name": counterparty.bank_name, "bik": counterparty.bik, "account": counterparty.account,
        "corr_account": counterparty.corr_account, "email": counterparty.email, "phone": counterparty.phone,
        # 1C takes only counterparties with complete requisites (seed 000).
        "complete": bool(counterparty.bik and counterparty.account),
        "created_at": counterparty.created_at, "updated_at": counterparty.updated_at,
    }
