"""Contract approvals: a manager sends a contract for a client (and maybe a Bitrix24 deal), the
contract route approves it, a returned contract comes back as a new version.

A contract approval is a registry item of kind "contract" (a ``payment_requests`` row: the client
is its contractor, the price its amount, the approve-by date its pay-by date) plus a ``contracts``
row with what only a contract has. Every change still goes through ``workflows.engine.transition``;
the bot and the API call these functions.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, InvalidInput, NotFound, ValidationFailed
from backend.models import (
    Attachment, Contract, DocumentTemplate, Employee, HistoryEvent, LegalEntity, PaymentRequest, RequestType,
)
from backend.money import check_currency, parse_amount
from backend.requisites import validate_requisites
from backend.services.attachments import FileStore, attach
from backend.services.catalogue import LineIn, check_lines, line_input, lines_total
from backend.services.company.common import Errors, text
from backend.services.numbering import next_request_number
from backend.services.payment_requests import (
    find_counterparty, get_visible, initiator_of, refresh_search_fields, remember_counterparty,
)
from backend.workflows.actors import Actor
from backend.workflows.engine import Outcome, transition
from backend.workflows.lifecycle import EDITABLE, Action, Kind, Status
from backend.workflows.visibility import can_see

APPROVE_WITHIN_DAYS = 2  # the default approve-by date: the accountant's usual turnaround


def year_bounds(year: int) -> tuple[date, date]:
    """An annual contract's validity: the whole calendar year."""
    return date(year, 1, 1), date(year, 12, 31)


class ContractFields(BaseModel):
    """A contract approval as a manager types it; every field optional for a partial edit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    request_type_id: int | None = Field(default=None, description="The contract route; the first active one if omitted")
    legal_entity_id: int | None = Field(default=None, description="Our legal entity, the contract's party")
    client_type: Literal["company", "individual"] | None = None
    client_name: str | None = None
    client_inn: str | None = Field(default=None, description="Required for a company; optional for an individual")
    client_kpp: str | None = None
    client_address: str | None = None
    client_signatory: str | None = Field(default=None, description="Who signs for the client, e.g. «директора Петрова П. П.»")
    client_passport: str | None = Field(default=None, description="An individual's passport, as printed")
    bank_name: str | None = None
    bik: str | None = None
    account: str | None = None
    corr_account: str | None = None
    region: str | None = Field(default=None, description="Region code of the office, e.g. \"77\"")
    subject: str | None = Field(default=None, description="The contract's subject")
    amount: Decimal | str | None = Field(default=None, description="The price in rubles; the lines' total when lines are given")
    currency: str | None = None
    approve_by: date | None = Field(default=None, description="Approve by this date (default: in two days)")
    bitrix24_deal_id: str | None = Field(default=None, pattern=r"^\d{1,18}$")
    payment_terms: Literal["full", "prepay_70_30"] | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    annual: bool | None = Field(default=None, description="Keep it in the annual contracts store to reuse")
    lines: list[LineIn] | None = None
    template_id: int | None = None


REQUIRED = ("legal_entity_id", "client_name", "subject")
CONTRACT_COLUMNS = ("client_type", "client_address", "client_signatory", "client_passport", "region",
                    "payment_terms", "valid_from", "valid_until", "annual", "lines", "template_id")
TEXT_LIMITS = {"client_name": 300, "client_address": 500, "client_signatory": 300, "client_passport": 300,
               "subject": 500, "region": 10, "bank_name": 300}


async def create_contract(session: AsyncSession, store: FileStore, actor: Actor, fields: ContractFields, *,
                          file: tuple[str, bytes] | None = None, max_bytes: int = 20 * 1024 * 1024,
                          based_on_id: int | None = None) -> PaymentRequest:
    """A new contract approval (a draft) by ``actor``, with the contract file as version 1 when given."""
    initiator = await initiator_of(session, actor)
    given = fields.model_dump(exclude_unset=True, exclude_none=True)
    missing = [InvalidInput("field.required", field=f) for f in REQUIRED if f not in given]
    if missing:
        raise ValidationFailed(missing)
    given.setdefault("client_type", "company")
    given.setdefault("payment_terms", "full")
    given.setdefault("currency", "RUB")
    given.setdefault("approve_by", actor.today() + timedelta(days=APPROVE_WITHIN_DAYS))
    if "request_type_id" not in given:
        given["request_type_id"] = await default_route(session)
    item, contract = await _clean(session, actor, given, current=None)
    item.setdefault("contractor_inn", "")  # an individual client may have none
    legal_entity = await session.get(LegalEntity, item["legal_entity_id"])
    request = PaymentRequest(
        kind=Kind.CONTRACT.value, number=await next_request_number(session, legal_entity, actor.today().year),
        initiator_id=initiator.id, department_id=initiator.department_id, status=Status.DRAFT.value,
        purpose="", **item,
    )
    request.amount = request.amount if request.amount is not None else 0
    refresh_search_fields(request)
    session.add(request)
    await session.flush()
    session.add(Contract(request_id=request.id, legal_entity_id=request.legal_entity_id,
                         client_inn=request.contractor_inn, bitrix24_deal_id=request.bitrix24_deal_id,
                         based_on_id=based_on_id, **contract))
    await session.flush()
    await transition(session, request, Action.CREATE, actor)
    if file is not None:
        await attach(session, store, actor, request, kind="contract", filename=file[0], content=file[1],
                     max_bytes=max_bytes)
    return request


async def update_contract(session: AsyncSession, actor: Actor, request_id: int, fields: ContractFields, *,
                          expected_version: int | None = None) -> Outcome:
    """Edit a draft or returned contract approval (its initiator), or correct one on its way (admin)."""
    request = await get_contract(session, actor, request_id)
    contract = await session.get(Contract, request.id)
    given = fields.model_dump(exclude_unset=True)
    cleared = [k for k in REQUIRED + ("client_type", "payment_terms", "approve_by") if k in given and given[k] is None]
    if cleared:
        raise ValidationFailed([InvalidInput("field.required", field=k) for k in cleared])
    typed = {k: v for k, v in given.items() if v is not None}
    # Cleared requisites are checked as empty, not as they were: a new INN without a KPP is not
    # judged against the old KPP.
    typed |= {k: "" for k in ("client_kpp", "bik", "account", "corr_account") if k in given and given[k] is None}
    item, columns = await _clean(session, actor, typed, current=request)
    if "amount" in given and given["amount"] is None and "lines" not in typed:
        item["amount"] = 0  # a frame contract: no sum
    for key in ("client_inn", "client_kpp", "bik", "account", "corr_account", "bank_name", "bitrix24_deal_id",
                "client_address", "client_signatory", "client_passport", "region", "valid_from", "valid_until",
                "template_id"):
        if key in given and given[key] is None:
            target = item if key in ITEM_NAMES else columns
            target[ITEM_NAMES.get(key, key)] = None if key in NULLABLE else ""
    changes = {k: (getattr(request, k), v) for k, v in item.items() if getattr(request, k) != v}
    changes |= {f"contract.{k}": (getattr(contract, k), v) for k, v in columns.items() if getattr(contract, k) != v}
    if not changes:
        return Outcome(request=request, changed=False)
    if Status(request.status) not in EDITABLE and not actor.is_admin:
        raise InvalidInput("request.not_editable", status=request.status)
    for key, value in item.items():
        setattr(request, key, value)
    for key, value in columns.items():
        setattr(contract, key, value)
    contract.client_inn = request.contractor_inn
    contract.bitrix24_deal_id = request.bitrix24_deal_id
    refresh_search_fields(request)
    return await transition(session, request, Action.UPDATE, actor, expected_version=expected_version,
                            data={"changes": changes})


async def upload_version(session: AsyncSession, store: FileStore, actor: Actor, request_id: int, *,
                         filename: str, content: bytes, max_bytes: int) -> Attachment:
    """The next version of the contract text; earlier versions and their remarks stay in the history."""
    request = await get_contract(session, actor, request_id)
    return await attach(session, store, actor, request, kind="contract", filename=filename, content=content,
                        max_bytes=max_bytes)


async def check_submittable(session: AsyncSession, actor: Actor, request: PaymentRequest) -> None:
    """Nothing half-done goes to the accountant: the contract file, the client and a date ahead."""
    errors = Errors()
    contract = await session.get(Contract, request.id)
    if not await latest_version(session, request.id):
        errors.add(InvalidInput("contract.file_required", field="file"))
    if contract.client_type == "company" and not request.contractor_inn:
        errors.add(InvalidInput("contract.company_inn_required", field="client_inn"))
    if request.pay_by < actor.today():
        errors.add(InvalidInput("contract.approve_by_past", field="approve_by"))
    if contract.lines and lines_total(contract.lines) != request.amount:
        errors.add(InvalidInput("contract.amount_not_lines_total", field="amount"))
    errors.raise_if_any()


# --- reading ----------------------------------------------------------------------------------

async def get_contract(session: AsyncSession, actor: Actor, request_id: int) -> PaymentRequest:
    try:
        request = await get_visible(session, actor, request_id)
    except NotFound:
        raise NotFound("contract.not_found", id=request_id) from None
    if request.kind != Kind.CONTRACT.value:
        raise NotFound("contract.not_found", id=request_id)
    return request


async def latest_version(session: AsyncSession, request_id: int) -> Attachment | None:
    return await session.scalar(select(Attachment).where(
        Attachment.request_id == request_id, Attachment.kind == "contract").order_by(Attachment.version.desc()).limit(1))


async def contract_view(session: AsyncSession, request: PaymentRequest) -> dict[str, Any]:
    """The contract's own fields and its versions, each with the remarks made while it was current."""
    contract = await session.get(Contract, request.id)
    versions = list(await session.scalars(select(Attachment).where(
        Attachment.request_id == request.id, Attachment.kind == "contract").order_by(Attachment.version)))
    events = list(await session.scalars(select(HistoryEvent).where(HistoryEvent.request_id == request.id)
                                        .order_by(HistoryEvent.id)))
    people = {e.actor_id for e in events if e.actor_id} | {v.uploaded_by_id for v in versions if v.uploaded_by_id}
    names = dict((await session.execute(select(Employee.id, Employee.full_name).where(
        Employee.id.in_(people)))).all())
    remarks: dict[int, list[dict[str, Any]]] = {}
    current = 0
    for event in events:
        attached = (event.details or {}).get("attachment") or {}
        if event.action == "attach" and attached.get("version"):
            current = attached["version"]
        elif event.comment and event.action in ("return", "reject", "comment", "approve"):
            remarks.setdefault(current, []).append({
                "at": event.at, "action": event.action, "by": names.get(event.actor_id, event.actor_label),
                "comment": event.comment})
    return {
        "client_type": contract.client_type, "client_address": contract.client_address,
        "client_signatory": contract.client_signatory, "client_passport": contract.client_passport,
        "region": contract.region, "payment_terms": contract.payment_terms, "valid_from": contract.valid_from,
        "valid_until": contract.valid_until, "annual": contract.annual, "lines": contract.lines,
        "template_id": contract.template_id, "based_on_id": contract.based_on_id,
        "contract_number": contract.number, "number_state": contract.number_state,
        "versions": [{"version": v.version, "attachment_id": v.id, "filename": v.filename, "size": v.size,
                      "uploaded_at": v.uploaded_at, "uploaded_by": names.get(v.uploaded_by_id),
                      "remarks": remarks.get(v.version, [])} for v in versions],
    }


async def contracts_of_deal(session: AsyncSession, actor: Actor, deal_id: str) -> dict[str, Any]:
    """The contract status of a Bitrix24 deal, for the stage gate: approved when one of its
    contracts is approved (the gate's condition), with each contract the caller may see."""
    rows = (await session.execute(
        select(PaymentRequest, Contract.number).join(Contract, Contract.request_id == PaymentRequest.id)
        .where(Contract.bitrix24_deal_id == deal_id).order_by(PaymentRequest.id))).all()
    approved = any(r.status == Status.APPROVED.value for r, _ in rows)
    contracts = [{"id": r.id, "number": r.number, "status": r.status, "contract_number": number,
                  "client": r.contractor_name, "amount": r.amount}
                 for r, number in rows if await can_see(session, actor, r)]
    status = "approved" if approved else (max((r.status for r, _ in rows), key=STATUS_RANK.get) if rows else "none")
    return {"deal_id": deal_id, "contract_status": status, "contract_approved": approved, "contracts": contracts}


# How far along a deal's contracts got, for the deal's one status word.
STATUS_RANK = {"cancelled": 0, "rejected": 1, "draft": 2, "returned": 3, "pending": 4, "approved": 5,
               "paid": 5, "closed": 5}


# --- the annual contracts store (seed 001) ------------------------------------------------------

async def annual_contracts(session: AsyncSession, actor: Actor, *, legal_entity_id: int | None = None,
                           q: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Approved contracts kept to reuse, newest first: by client name or INN, per legal entity."""
    query = (select(PaymentRequest, Contract).join(Contract, Contract.request_id == PaymentRequest.id)
             .where(Contract.annual.is_(True), PaymentRequest.status == Status.APPROVED.value))
    if legal_entity_id is not None:
        query = query.where(Contract.legal_entity_id == legal_entity_id)
    if q and q.strip():
        words = q.strip().lower()
        digits = "".join(ch for ch in words if ch.isdigit())
        # By name, or by INN when digits were typed (else every client without an INN would match "").
        by_inn = [PaymentRequest.contractor_inn == digits] if digits else []
        query = query.where(or_(PaymentRequest.contractor_name_lc.contains(words), *by_inn))
    rows = (await session.execute(query.order_by(Contract.valid_until.desc().nulls_last(), PaymentRequest.id.desc())
                                  .limit(min(limit, 200)))).all()
    result = []
    for request, contract in rows:
        # Whoever makes contracts may reuse any in the store; others see what they were asked about.
        if actor.has("manager", "accountant", "admin") or await can_see(session, actor, request):
            result.append({"id": request.id, "number": request.number, "contract_number": contract.number,
                           "client": request.contractor_name, "client_inn": request.contractor_inn,
                           "legal_entity_id": contract.legal_entity_id, "valid_from": contract.valid_from,
                           "valid_until": contract.valid_until, "amount": request.amount,
                           "payment_terms": contract.payment_terms, "subject": request.subject})
    return result


async def renew_contract(session: AsyncSession, store: FileStore, actor: Actor, contract_id: int, *, year: int,
                         file: tuple[str, bytes] | None = None, max_bytes: int = 20 * 1024 * 1024) -> PaymentRequest:
    """A new year's contract made from one in the store: the same client, subject, lines and terms,
    valid for the whole ``year``, as a draft of ``actor`` to check and submit. Its text is ``file``
    when given, else its print form (DOCX, from the contract template) as version 1."""
    source = await _annual_source(session, actor, contract_id)
    request, contract = source
    if year < actor.today().year or year > actor.today().year + 1:
        raise InvalidInput("contract.renew_year", field="year", min=actor.today().year, max=actor.today().year + 1)
    taken = await session.scalar(select(func.count()).select_from(Contract).join(
        PaymentRequest, PaymentRequest.id == Contract.request_id).where(
        Contract.based_on_id == request.id, Contract.valid_from == date(year, 1, 1),
        PaymentRequest.status.notin_(("cancelled", "rejected"))))
    if taken:
        raise Conflict("contract.already_renewed", field="year", year=year)
    fields = ContractFields(
        legal_entity_id=request.legal_entity_id, client_type=contract.client_type, client_name=request.contractor_name,
        client_inn=request.contractor_inn or None, client_kpp=request.contractor_kpp or None,
        client_address=contract.client_address or None, client_signatory=contract.client_signatory or None,
        client_passport=contract.client_passport or None, bank_name=request.bank_name or None,
        bik=request.bik or None, account=request.account or None, corr_account=request.corr_account or None,
        region=contract.region or None, subject=request.subject, currency=request.currency,
        payment_terms=contract.payment_terms, valid_from=year_bounds(year)[0], valid_until=year_bounds(year)[1],
        annual=True, template_id=contract.template_id, bitrix24_deal_id=None,
        amount=None if contract.lines else str(Decimal(request.amount) / 100),
        lines=[line_input(line) for line in contract.lines] or None,
    )
    renewed = await create_contract(session, store, actor, fields, file=file, max_bytes=max_bytes,
                                    based_on_id=request.id)
    if file is None:
        # Print forms are built from contracts, so that module imports this one, not the other way.
        from backend.services.print_documents import contract_files

        [printed] = await contract_files(session, store, actor, renewed.id, formats=("docx",))
        await attach(session, store, actor, renewed, kind="contract", filename=printed.filename,
                     content=printed.content, max_bytes=max_bytes)
    return renewed


async def _annual_source(session: AsyncSession, actor: Actor, contract_id: int) -> tuple[PaymentRequest, Contract]:
    request = await session.get(PaymentRequest, contract_id)
    contract = await session.get(Contract, contract_id) if request is not None else None
    if contract is None or request.kind != Kind.CONTRACT.value:
        raise NotFound("contract.not_found", id=contract_id)
    if not (contract.annual and request.status == Status.APPROVED.value):
        raise InvalidInput("contract.not_in_store", field="contract_id")
    return request, contract


# --- validation -------------------------------------------------------------------------------

ITEM_NAMES = {"client_name": "contractor_name", "client_inn": "contractor_inn", "client_kpp": "contractor_kpp",
              "bik": "bik", "account": "account", "corr_account": "corr_account", "bank_name": "bank_name",
              "bitrix24_deal_id": "bitrix24_deal_id"}
NULLABLE = {"bitrix24_deal_id", "valid_from", "valid_until", "template_id"}


async def default_route(session: AsyncSession) -> int:
    found = await session.scalar(select(RequestType.id).where(
        RequestType.kind == Kind.CONTRACT.value, RequestType.active.is_(True)).order_by(RequestType.id).limit(1))
    if found is None:
        raise InvalidInput("contract.no_route", field="request_type_id")
    return found


async def _clean(session: AsyncSession, actor: Actor, given: dict[str, Any],
                 current: PaymentRequest | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate and normalise the given fields into the item's columns and the contract's,
    reporting every bad field at once."""
    errors = Errors()
    item: dict[str, Any] = {}
    columns: dict[str, Any] = {}
    contract = await session.get(Contract, current.id) if current is not None else None
    for key, limit in TEXT_LIMITS.items():
        if key in given:
            value = errors.attempt(lambda key=key, limit=limit: text(given[key], key, limit,
                                                                     required=key in REQUIRED))
            (item if key in ITEM_NAMES or key == "subject" else columns)[ITEM_NAMES.get(key, key)] = value or ""
    for key in ("client_type", "payment_terms", "valid_from", "valid_until", "annual"):
        if key in given:
            columns[key] = given[key]
    if "currency" in given:
        item["currency"] = errors.attempt(lambda: check_currency(given["currency"]))
    if "approve_by" in given:
        if given["approve_by"] < actor.today():
            errors.add(InvalidInput("contract.approve_by_past", field="approve_by"))
        item["pay_by"] = given["approve_by"]
    if "bitrix24_deal_id" in given:
        item["bitrix24_deal_id"] = given["bitrix24_deal_id"]
    valid_from = columns.get("valid_from", contract.valid_from if contract else None)
    valid_until = columns.get("valid_until", contract.valid_until if contract else None)
    if valid_from and valid_until and valid_until < valid_from:
        errors.add(InvalidInput("contract.valid_until_before_from", field="valid_until"))
    for key, model, code in (("legal_entity_id", LegalEntity, "reference.unknown"),
                             ("request_type_id", RequestType, "reference.unknown"),
                             ("template_id", DocumentTemplate, "reference.unknown")):
        if key in given:
            row = await session.get(model, given[key])
            if row is None or getattr(row, "active", True) is False:
                errors.add(InvalidInput(code, field=key, id=given[key]))
            elif key == "request_type_id" and row.kind != Kind.CONTRACT.value:
                errors.add(InvalidInput("contract.not_a_contract_route", field=key))
            elif key == "template_id" and row.kind != "contract":
                errors.add(InvalidInput("contract.not_a_contract_template", field=key))
            else:
                (columns if key == "template_id" else item)[key] = row.id
    legal_entity_id = item.get("legal_entity_id", current.legal_entity_id if current else None)
    legal_entity = await session.get(LegalEntity, legal_entity_id) if legal_entity_id else None
    if given.get("lines") == [] and current is not None:
        columns["lines"] = []  # an edit back to a plain amount
        if "amount" in given:
            item["amount"] = errors.attempt(lambda: parse_amount(given["amount"]))
    elif "lines" in given and legal_entity is not None:
        template_id = columns.get("template_id", contract.template_id if contract else None)
        template = await session.get(DocumentTemplate, template_id) if template_id else None
        typed = [LineIn.model_validate(line) if isinstance(line, dict) else line for line in given["lines"]]
        lines = await errors.attempt_async(check_lines(
            session, typed, legal_entity=legal_entity,
            allowed_groups=template.allowed_groups if template else []))
        if lines is not None:
            columns["lines"] = lines
            item["amount"] = lines_total(lines)
            if "amount" in given and parse_or_none(given["amount"]) not in (None, item["amount"]):
                errors.add(InvalidInput("contract.amount_not_lines_total", field="amount"))
    elif "amount" in given:
        item["amount"] = errors.attempt(lambda: parse_amount(given["amount"]))
    await _clean_client(session, given, item, columns, contract, current, errors)
    errors.raise_if_any()
    return item, columns


def parse_or_none(value: Any) -> int | None:
    try:
        return parse_amount(value)
    except InvalidInput:
        return None



async def _clean_client(session: AsyncSession, given: dict[str, Any], item: dict[str, Any], columns: dict[str, Any],
                        contract: Contract | None, current: PaymentRequest | None, errors: Errors) -> None:
    """The client's INN (a company must have one), KPP and bank details, checked with the real
    algorithms; a company client is remembered as a counterparty once per INN + KPP."""
    keys = ("client_inn", "client_kpp", "bik", "account", "corr_account")
    if not any(k in given for k in keys + ("client_type",)):
        return
    client_type = columns.get("client_type", contract.client_type if contract else "company")

    def pick(key: str) -> str:
        if key in given:
            return given[key] or ""
        return (getattr(current, ITEM_NAMES[key]) or "") if current is not None else ""

    inn = pick("client_inn")
    if not inn:
        if client_type == "company" and "client_inn" in given:
            errors.add(InvalidInput("contract.company_inn_required", field="client_inn"))
        return
    try:
        checked = validate_requisites(inn=inn, kpp=pick("client_kpp") or None, bik=pick("bik") or None,
                                      account=pick("account") or None, corr_account=pick("corr_account") or None,
                                      require_bank=False)
    except ValidationFailed as failed:
        renamed = {"inn": "client_inn", "kpp": "client_kpp"}
        for error in failed.errors:
            error.field = renamed.get(error.field, error.field)
            errors.add(error)
        return
    item.update(contractor_inn=checked.inn, contractor_kpp=checked.kpp or "", bik=checked.bik or "",
                account=checked.account or "", corr_account=checked.corr_account or "")
    name = item.get("contractor_name") or (current.contractor_name if current is not None else "")
    if client_type == "company" and name:
        known = await find_counterparty(session, checked.inn, checked.kpp or "")
        counterparty = known or await remember_counterparty(session, {
            "contractor_name": name, "contractor_inn": checked.inn, "contractor_kpp": checked.kpp or "",
            "bik": checked.bik or "", "account": checked.account or "", "corr_account": checked.corr_account or "",
            "bank_name": item.get("bank_name", "")})
        item["counterparty_id"] = counterparty.id
