"""Payment request use cases: create, edit, submit, decide, pay, close, cancel.

The bot and the API call these functions; every change ends in ``workflows.engine.transition``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import DomainError, InvalidInput, NotFound, ValidationFailed
from backend.integrations.outbox_rows import queue_counterparty
from backend.models import (
    Counterparty, Department, Employee, ExpenseItem, HistoryEvent, LegalEntity, PaymentRequest, RequestType,
)
from backend.money import check_currency, parse_amount
from backend.requisites import validate_requisites
from backend.services.numbering import next_request_number
from backend.workflows.actors import Actor
from backend.workflows.engine import Outcome, transition
from backend.workflows.lifecycle import EDITABLE, Action, Status
from backend.workflows.visibility import can_see

FIELD_LIMITS = {"subject": 500, "purpose": 210, "contractor_name": 300, "invoice_number": 100, "bank_name": 300}


class PaymentRequestFields(BaseModel):
    """The fields of a request as typed by a person; every one optional for a partial edit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    request_type_id: int | None = None
    legal_entity_id: int | None = None
    department_id: int | None = None
    expense_item_id: int | None = None
    subject: str | None = Field(default=None, description="What we pay for")
    contractor_name: str | None = None
    contractor_inn: str | None = None
    contractor_kpp: str | None = None
    bank_name: str | None = None
    bik: str | None = None
    account: str | None = None
    corr_account: str | None = None
    amount: Decimal | str | None = Field(default=None, description="Rubles and kopecks, e.g. \"125000.50\"")
    currency: str | None = None
    pay_by: date | None = None
    purpose: str | None = Field(default=None, description="Payment purpose as in the bank order (≤ 210)")
    invoice_number: str | None = None
    invoice_date: date | None = None
    is_prepayment: bool | None = None
    bitrix24_deal_id: str | None = None


REQUIRED_ON_CREATE = ("request_type_id", "legal_entity_id", "subject", "contractor_inn", "amount", "pay_by", "purpose")


async def create_request(session: AsyncSession, actor: Actor, fields: PaymentRequestFields) -> PaymentRequest:
    """A new draft by ``actor``; a known INN fills the contractor's name and bank details."""
    initiator = await initiator_of(session, actor)
    given = fields.model_dump(exclude_unset=True, exclude_none=True)
    missing = [InvalidInput("field.required", field=f) for f in REQUIRED_ON_CREATE if f not in given]
    if missing:
        raise ValidationFailed(missing)
    if initiator.department_id is not None:  # a person outside every department files without one
        given.setdefault("department_id", initiator.department_id)
    given.setdefault("currency", "RUB")
    values = await _clean(session, actor, given, current=None)
    legal_entity = await session.get(LegalEntity, values["legal_entity_id"])
    request = PaymentRequest(
        number=await next_request_number(session, legal_entity, actor.today().year),
        initiator_id=initiator.id, status=Status.DRAFT.value, **values,
    )
    refresh_search_fields(request)
    session.add(request)
    await session.flush()
    await transition(session, request, Action.CREATE, actor)
    return request


async def update_request(session: AsyncSession, actor: Actor, request_id: int, fields: PaymentRequestFields,
                         *, expected_version: int | None = None) -> Outcome:
    """Edit a draft or returned request (its initiator), or correct one on its way (admin)."""
    request = await get_visible(session, actor, request_id)
    given = fields.model_dump(exclude_unset=True)
    if any(given.get(f) is None for f in REQUIRED_ON_CREATE if f in given):
        raise ValidationFailed([InvalidInput("field.required", field=f)
                                for f in REQUIRED_ON_CREATE if f in given and given[f] is None])
    values = await _clean(session, actor, {k: v for k, v in given.items() if v is not None}, current=request)
    values.update({k: _empty(k) for k, v in given.items() if v is None})
    changes = {k: (getattr(request, k), v) for k, v in values.items() if getattr(request, k) != v}
    if not changes:
        return Outcome(request=request, changed=False)
    # Check the transition before touching the row, so a refused edit changes nothing.
    if Status(request.status) not in EDITABLE and not actor.is_admin:
        raise InvalidInput("request.not_editable", status=request.status)
    for key, (_, new) in changes.items():
        setattr(request, key, new)
    refresh_search_fields(request)
    return await transition(session, request, Action.UPDATE, actor, expected_version=expected_version,
                            data={"changes": changes})


async def act(session: AsyncSession, actor: Actor, request_id: int, action: Action, *, comment: str = "",
              expected_version: int | None = None, **data: Any) -> Outcome:
    """Submit, approve, reject, return, comment, add an approver, mark paid, close or cancel."""
    request = await get_visible(session, actor, request_id)
    if action == Action.SUBMIT and request.kind == "contract":
        from backend.services.contracts import check_submittable  # contracts build on this module

        await check_submittable(session, actor, request)
    elif action == Action.SUBMIT:
        await _check_submittable(session, actor, request)
    return await transition(session, request, action, actor, comment=comment,
                            expected_version=expected_version, data=data)


async def get_visible(session: AsyncSession, actor: Actor, request_id: int) -> PaymentRequest:
    """The request, if ``actor`` may see it; otherwise not found (never its data)."""
    request = await session.get(PaymentRequest, request_id)
    if request is None or not await can_see(session, actor, request):
        raise NotFound("request.not_found", id=request_id)
    return request


async def history(session: AsyncSession, actor: Actor, request_id: int) -> list[HistoryEvent]:
    await get_visible(session, actor, request_id)
    rows = await session.scalars(
        select(HistoryEvent).where(HistoryEvent.request_id == request_id).order_by(HistoryEvent.id)
    )
    return list(rows)


def refresh_search_fields(request: PaymentRequest) -> None:
    request.search_text = search_text(request)
    request.contractor_name_lc = request.contractor_name.lower()


def search_text(request: PaymentRequest) -> str:
    parts = (request.number, request.subject, request.purpose, request.contractor_name,
             request.contractor_inn, request.invoice_number)
    # Hyphens become spaces: PostgreSQL's parser reads "МГ-26-00042" as a word and two negative numbers.
    return " ".join(p for p in parts if p).lower().replace("-", " ")


# --- validation -------------------------------------------------------------------------------

async def initiator_of(session: AsyncSession, actor: Actor) -> Employee:
    employee = await session.get(Employee, actor.employee_id) if actor.employee_id else None
    if employee is None or not employee.active:
        raise InvalidInput("request.actor_not_employee")
    return employee


def check_text(key: str, value: Any, *, required: bool | None = None) -> str:
    """A text field trimmed, no longer than its limit; subject and purpose may not be blank
    (a blank contractor name is filled from a known INN, so it is required only when asked)."""
    text = str(value).strip()
    if (required if required is not None else key in ("subject", "purpose")) and not text:
        raise InvalidInput("field.required", field=key)
    if len(text) > FIELD_LIMITS[key]:
        raise InvalidInput("field.too_long", field=key, max=FIELD_LIMITS[key])
    return text


def check_pay_by(pay_by: date, today: date) -> date:
    """A pay-by date is today or later, and within a year."""
    if pay_by < today:
        raise InvalidInput("pay_by.past", field="pay_by")
    if (pay_by - today).days > 366:
        raise InvalidInput("pay_by.too_far", field="pay_by")
    return pay_by


def _empty(key: str) -> Any:
    return None if key in ("department_id", "expense_item_id", "invoice_date", "bitrix24_deal_id") else ""


async def _clean(session: AsyncSession, actor: Actor, given: dict[str, Any],
                 current: PaymentRequest | None) -> dict[str, Any]:
    """Validate and normalise the given fields, reporting every bad field at once."""
    errors: list[DomainError] = []
    values: dict[str, Any] = {}

    def attempt(key: str, check) -> None:
        try:
            values[key] = check()
        except ValidationFailed as failed:
            errors.extend(failed.errors)
        except DomainError as error:
            errors.append(error)

    for key in FIELD_LIMITS:
        if key in given:
            attempt(key, lambda key=key: check_text(key, given[key]))
    if "amount" in given:
        attempt("amount", lambda: parse_amount(given["amount"]))
    if "currency" in given:
        attempt("currency", lambda: check_currency(given["currency"]))
    if "pay_by" in given:
        attempt("pay_by", lambda: check_pay_by(given["pay_by"], actor.today()))
    for key in ("invoice_date", "is_prepayment", "bitrix24_deal_id"):
        if key in given:
            values[key] = given[key]
    if values.get("invoice_date") and values["invoice_date"] > actor.today():
        errors.append(InvalidInput("invoice_date.future", field="invoice_date"))
    await _check_references(session, given, values, errors)
    if any(k in given for k in ("contractor_inn", "contractor_kpp", "bik", "account", "corr_account")):
        await _clean_requisites(session, given, values, errors, current)
    if errors:
        raise ValidationFailed(errors)
    return values


REFERENCES = (
    ("request_type_id", RequestType), ("legal_entity_id", LegalEntity),
    ("department_id", Department), ("expense_item_id", ExpenseItem),
)


async def _check_references(session: AsyncSession, given: dict[str, Any], values: dict[str, Any],
                            errors: list[DomainError]) -> None:
    for key, model in REFERENCES:
        if key not in given:
            continue
        row = await session.get(model, given[key])
        if row is None or getattr(row, "active", True) is False:
            errors.append(InvalidInput("reference.unknown", field=key, id=given[key]))
        else:
            values[key] = row.id


async def _clean_requisites(session: AsyncSession, given: dict[str, Any], values: dict[str, Any],
                            errors: list[DomainError], current: PaymentRequest | None) -> None:
    def pick(key: str) -> str:
        if key in given:
            return given[key] or ""
        return (getattr(current, key) or "") if current is not None else ""

    inn = pick("contractor_inn")
    kpp = pick("contractor_kpp")
    known = await find_counterparty(session, inn, kpp) if inn else None
    bank_given = any(given.get(k) for k in ("bik", "account", "corr_account"))
    if known is not None and not bank_given and (current is None or "contractor_inn" in given):
        # Autofill (seed 004: too many fields): a known contractor brings its requisites.
        bik, account, corr, bank = known.bik, known.account, known.corr_account, known.bank_name
    else:
        bik, account, corr, bank = pick("bik"), pick("account"), pick("corr_account"), pick("bank_name")
    try:
        checked = validate_requisites(inn=inn, kpp=kpp or None, bik=bik, account=account, corr_account=corr or None)
    except ValidationFailed as failed:
        errors.extend(_as_contractor_fields(failed.errors))
        return
    name = values.get("contractor_name") or (current.contractor_name if current is not None else "")
    if known is not None and not values.get("contractor_name") and (current is None or "contractor_inn" in given):
        name = known.name
    if not name:
        errors.append(InvalidInput("field.required", field="contractor_name"))
        return
    values.update(
        contractor_inn=checked.inn, contractor_kpp=checked.kpp or "", bik=checked.bik or "",
        account=checked.account or "", corr_account=checked.corr_account or "",
        bank_name=values.get("bank_name") or bank or "", contractor_name=name,
    )
    counterparty = known or await remember_counterparty(session, values)
    values["counterparty_id"] = counterparty.id


def _as_contractor_fields(errors: list[DomainError]) -> list[DomainError]:
    """Requisite errors name the request's fields (contractor_inn, not inn)."""
    renamed = {"inn": "contractor_inn", "kpp": "contractor_kpp"}
    for error in errors:
        error.field = renamed.get(error.field, error.field)
    return errors


async def find_counterparty(session: AsyncSession, inn: str, kpp: str = "") -> Counterparty | None:
    digits = "".join(ch for ch in inn if ch.isdigit())
    rows = (await session.scalars(select(Counterparty).where(Counterparty.inn == digits).order_by(Counterparty.id))).all()
    if not rows:
        return None
    exact = [c for c in rows if c.kpp == (kpp or "").upper()]
    return exact[0] if exact else (rows[0] if not kpp else None)


async def remember_counterparty(session: AsyncSession, values: dict[str, Any]) -> Counterparty:
    """Keep a new contractor once per INN + KPP, even when two people add it at the same moment."""
    counterparty = Counterparty(
        name=values["contractor_name"], inn=values["contractor_inn"], kpp=values["contractor_kpp"],
        bik=values["bik"], account=values["account"], corr_account=values["corr_account"],
        bank_name=values.get("bank_name", ""),
    )
    try:
        async with session.begin_nested():
            session.add(counterparty)
    except IntegrityError:
        existing = await find_counterparty(session, values["contractor_inn"], values["contractor_kpp"])
        if existing is None:
            raise
        return existing
    await queue_counterparty(session, counterparty)
    return counterparty


async def _check_submittable(session: AsyncSession, actor: Actor, request: PaymentRequest) -> None:
    """Nothing half-done is submitted: every required field present and still valid."""
    errors: list[DomainError] = []
    for key in ("subject", "purpose", "contractor_inn", "contractor_name", "bik", "account"):
        if not getattr(request, key):
            errors.append(InvalidInput("field.required", field=key))
    today = actor.today()
    if request.pay_by < today:
        errors.append(InvalidInput("pay_by.past", field="pay_by"))
    if errors:
        raise ValidationFailed(errors)
