"""Print forms made from the registry: a contract approval's contract, and the invoices we issue
to clients (numbered per legal entity and year, checked against the USN limit), each in PDF and DOCX."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents.numbers import take_number
from backend.integrations.outbox_rows import deal_documents_row
from backend.outbox import enqueue
from backend.documents.print_forms import (
    ContractDocument, InvoiceDocument, Line, Party, contract_context, invoice_context, prepayment_split, render_docx,
    render_pdf,
)
from backend.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from backend.models import Contract, LegalEntity, OutgoingInvoice, PaymentRequest
from backend.requisites import validate_inn, validate_kpp
from backend.services.attachments import FileStore
from backend.services.catalogue import LineIn, check_lines, lines_total, vat_total
from backend.services.company.common import Errors, text
from backend.services.contracts import get_contract
from backend.services.print_templates import template_source
from backend.services.usn import check_usn_limit
from backend.settings import Settings
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import Status

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PAY_WITHIN_DAYS = 5
PREPAY_PERCENT = 70  # the 70/30 scheme (seed 001)


@dataclass
class PrintedFile:
    filename: str
    content_type: str
    content: bytes


# --- parties and lines ------------------------------------------------------------------------

def supplier_party(entity: LegalEntity) -> Party:
    """Our legal entity as the documents print it, with its default bank account; one without an
    address or a bank account cannot be printed, and the admin is told what to fill in."""
    account = next((a for a in entity.bank_accounts if a.is_default), entity.bank_accounts[0] if entity.bank_accounts else None)
    if account is None or not (entity.address or "").strip():
        raise InvalidInput("print_form.entity_incomplete", field="legal_entity_id", entity=entity.name, id=entity.id)
    return Party(name=entity.name, inn=entity.inn, kpp=entity.kpp or "", ogrn=entity.ogrn or "",
                 address=entity.address or "", bank_name=account.bank_name if account else "",
                 bik=account.bik if account else "", account=account.account if account else "",
                 corr_account=account.corr_account if account else "", signatory=entity.director or "",
                 accountant=entity.chief_accountant or "")


def print_lines(lines: list[dict[str, Any]]) -> tuple[Line, ...]:
    return tuple(Line(name=line["name"], quantity=Decimal(str(line["quantity"])), unit=line.get("unit") or "шт",
                      price=int(line["price"]), vat_rate=line.get("vat_rate"), code=line.get("code") or "")
                 for line in lines)


def city_of(address: str) -> str:
    """"Москва" out of "123456, г. Москва, ул. …" (the templates print "г. " themselves); the first
    part that is not a postcode when there is no "г."."""
    parts = [p.strip() for p in (address or "").split(",") if p.strip()]
    for part in parts:
        if part.startswith(("г.", "г ")):
            return part[2:].strip()
    return next((p for p in parts if not p.isdigit()), "")


FORMATS = ("pdf", "docx")


async def _render(kind: str, context: dict[str, Any], session: AsyncSession, store: FileStore, *, legal_entity_id: int,
                  client_type: str, region: str, template_id: int | None, stem: str,
                  formats: tuple[str, ...]) -> list[PrintedFile]:
    """The document in each of ``formats`` (pdf from the HTML template, docx from the DOCX one), in that order."""
    printed = []
    for fmt in formats:
        source, _ = await template_source(session, store, kind, "html" if fmt == "pdf" else "docx",
                                          legal_entity_id=legal_entity_id, client_type=client_type, region=region,
                                          template_id=template_id)
        if fmt == "pdf":
            printed.append(PrintedFile(f"{stem}.pdf", PDF, await asyncio.to_thread(render_pdf, source.decode("utf-8"),
                                                                                   context)))
        else:
            printed.append(PrintedFile(f"{stem}.docx", DOCX, await asyncio.to_thread(render_docx, source, context)))
    return printed


def _safe_stem(text_: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text_)[:80]


# --- contracts --------------------------------------------------------------------------------

async def contract_document(session: AsyncSession, request: PaymentRequest) -> ContractDocument:
    contract = await session.get(Contract, request.id)
    entity = await session.get(LegalEntity, request.legal_entity_id)
    client = Party(name=request.contractor_name, inn=request.contractor_inn or "", kpp=request.contractor_kpp or "",
                   address=contract.client_address or "", bank_name=request.bank_name or "", bik=request.bik or "",
                   account=request.account or "", corr_account=request.corr_account or "",
                   signatory=contract.client_signatory or "", passport=contract.client_passport or "")
    signed = request.approved_at.date() if request.approved_at else date.today()
    return ContractDocument(
        number=contract.number or "б/н", date=contract.valid_from or signed, city=city_of(entity.address),
        supplier=supplier_party(entity), client=client, client_type=contract.client_type, subject=request.subject,
        lines=print_lines(contract.lines), amount=request.amount, payment_terms=contract.payment_terms,
        valid_until=contract.valid_until,
    )


async def contract_files(session: AsyncSession, store: FileStore, actor: Actor, contract_id: int, *,
                         formats: tuple[str, ...] = FORMATS) -> list[PrintedFile]:
    """The contract's print form (PDF and DOCX, or those asked) from its template, for anyone who sees it."""
    request = await get_contract(session, actor, contract_id)
    contract = await session.get(Contract, request.id)
    context = contract_context(await contract_document(session, request))
    return await _render("contract", context, session, store, legal_entity_id=request.legal_entity_id,
                         client_type=contract.client_type, region=contract.region, template_id=contract.template_id,
                         stem=_safe_stem(f"Договор_{contract.number or request.number}"), formats=formats)


# --- outgoing invoices ------------------------------------------------------------------------

class InvoiceFields(BaseModel):
    """An invoice to a client: under an approved contract (its client, lines and terms), or on its own."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    contract_id: int | None = Field(default=None, description="An approved contract: its client, lines and terms")
    legal_entity_id: int | None = Field(default=None, description="Our legal entity; the contract's when omitted")
    client_name: str | None = None
    client_inn: str | None = None
    client_kpp: str | None = None
    client_address: str | None = None
    lines: list[LineIn] | None = Field(default=None, description="The contract's lines when omitted")
    part: Literal["full", "prepayment", "final"] = Field(
        default="full", description="prepayment: 70 % of a 70/30 contract; final: the 30 % left after it")
    pay_until: date | None = None
    bitrix24_deal_id: str | None = Field(default=None, pattern=r"^\d{1,18}$")


async def issue_invoice(session: AsyncSession, settings: Settings, actor: Actor,
                        fields: InvoiceFields) -> OutgoingInvoice:
    """Number and keep an invoice; refused, with the numbers, when the entity is on the USN and
    this invoice would take the year's income past its limit."""
    if not actor.has("manager", "accountant", "admin"):
        raise Forbidden("invoice.not_allowed")
    errors = Errors()
    contract = request = None
    if fields.contract_id is not None:
        request = await get_contract(session, actor, fields.contract_id)
        contract = await session.get(Contract, request.id)
        if request.status != Status.APPROVED.value:
            raise InvalidInput("invoice.contract_not_approved", field="contract_id", number=request.number)
    entity_id = fields.legal_entity_id or (request.legal_entity_id if request else None)
    entity = await session.get(LegalEntity, entity_id) if entity_id else None
    if entity is None or not entity.active:
        raise InvalidInput("field.required" if entity_id is None else "reference.unknown", field="legal_entity_id",
                           id=entity_id)
    if request is not None and entity.id != request.legal_entity_id:
        errors.add(InvalidInput("invoice.other_entity", field="legal_entity_id"))
    client = _client(fields, request, contract, errors)
    lines = await _invoice_lines(session, fields, request, contract, entity, errors)
    if fields.part != "full" and (contract is None or contract.payment_terms != "prepay_70_30"):
        errors.add(InvalidInput("invoice.no_prepayment_terms", field="part"))
    elif fields.part != "full":
        issued = set(await session.scalars(select(OutgoingInvoice.part).where(
            OutgoingInvoice.contract_id == request.id, OutgoingInvoice.status == "issued")))
        if fields.part in issued:
            errors.add(InvalidInput("invoice.part_issued", field="part"))
        elif fields.part == "final" and "prepayment" not in issued:
            errors.add(InvalidInput("invoice.final_before_prepayment", field="part"))
    today = actor.today()
    if fields.pay_until is not None and fields.pay_until < today:
        errors.add(InvalidInput("invoice.pay_until_past", field="pay_until"))
    errors.raise_if_any()
    total = lines_total(lines)
    first, rest = prepayment_split(total, PREPAY_PERCENT)
    percent, due = {"full": (100, total), "prepayment": (PREPAY_PERCENT, first),
                    "final": (100 - PREPAY_PERCENT, rest)}[fields.part]
    if due <= 0:
        raise InvalidInput("invoice.nothing_due", field="part")
    # One invoice of an entity at a time past this point, so two cannot both fit under the limit.
    await session.execute(select(LegalEntity.id).where(LegalEntity.id == entity.id).with_for_update())
    await check_usn_limit(session, settings, entity, today.year, due)
    number = await take_number(session, entity, "invoice", today.year, state="confirmed")
    invoice = OutgoingInvoice(
        legal_entity_id=entity.id, number=number.text, year=today.year, issued_on=today,
        pay_until=fields.pay_until or today + timedelta(days=PAY_WITHIN_DAYS),
        counterparty_id=request.counterparty_id if request else None, contract_id=request.id if request else None,
        bitrix24_deal_id=fields.bitrix24_deal_id or (request.bitrix24_deal_id if request else None),
        lines=lines, total=total, amount_due=due, vat_total=vat_total(lines), prepayment_percent=percent,
        part=fields.part,
        created_by_id=actor.employee_id, **client,
    )
    session.add(invoice)
    await session.flush()
    return invoice


def _client(fields: InvoiceFields, request: PaymentRequest | None, contract: Contract | None,
            errors: Errors) -> dict[str, Any]:
    if request is not None and fields.client_name is None:
        return {"client_name": request.contractor_name, "client_inn": request.contractor_inn or "",
                "client_kpp": request.contractor_kpp or "", "client_address": contract.client_address or ""}
    name = errors.attempt(lambda: text(fields.client_name, "client_name", 300)) or ""
    inn = errors.attempt(lambda: validate_inn(fields.client_inn)) if fields.client_inn else ""
    if fields.client_inn is None:
        errors.add(InvalidInput("field.required", field="client_inn"))
    kpp = errors.attempt(lambda: validate_kpp(fields.client_kpp)) if fields.client_kpp else ""
    address = errors.attempt(lambda: text(fields.client_address, "client_address", 500, required=False)) or ""
    for error in errors.items:
        if error.field in ("inn", "kpp"):
            error.field = f"client_{error.field}"
    return {"client_name": name, "client_inn": inn or "", "client_kpp": kpp or "", "client_address": address}


async def _invoice_lines(session: AsyncSession, fields: InvoiceFields, request: PaymentRequest | None,
                         contract: Contract | None, entity: LegalEntity, errors: Errors) -> list[dict[str, Any]]:
    if fields.lines is not None:
        try:
            return await check_lines(session, fields.lines, legal_entity=entity)
        except DomainError as error:
            errors.add(error)
            return []
    if contract is not None and contract.lines:
        return contract.lines
    if request is not None and request.amount > 0:
        # A contract without lines: one line, its subject, its price (VAT as the entity charges it).
        checked = await check_lines(session, [LineIn(name=request.subject[:300], quantity="1", unit="усл",
                                                     price=str(Decimal(request.amount) / 100))], legal_entity=entity)
        return checked
    errors.add(InvalidInput("field.required", field="lines"))
    return []


async def get_invoice(session: AsyncSession, actor: Actor, invoice_id: int) -> OutgoingInvoice:
    """Accounting sees every invoice; others the ones they issued or made under a contract they see."""
    invoice = await session.get(OutgoingInvoice, invoice_id)
    if invoice is None:
        raise NotFound("invoice.not_found", id=invoice_id)
    if actor.has("accountant", "admin") or invoice.created_by_id == actor.employee_id:
        return invoice
    if invoice.contract_id is not None:
        try:
            await get_contract(session, actor, invoice.contract_id)
            return invoice
        except NotFound:
            pass
    raise NotFound("invoice.not_found", id=invoice_id)


async def list_invoices(session: AsyncSession, actor: Actor, *, legal_entity_id: int | None = None,
                        year: int | None = None, contract_id: int | None = None) -> list[OutgoingInvoice]:
    query = select(OutgoingInvoice).order_by(OutgoingInvoice.id.desc()).limit(500)
    if not actor.has("accountant", "admin"):
        query = query.where(OutgoingInvoice.created_by_id == actor.employee_id)
    for column, value in ((OutgoingInvoice.legal_entity_id, legal_entity_id), (OutgoingInvoice.year, year),
                          (OutgoingInvoice.contract_id, contract_id)):
        if value is not None:
            query = query.where(column == value)
    return list(await session.scalars(query))


async def cancel_invoice(session: AsyncSession, actor: Actor, invoice_id: int) -> OutgoingInvoice:
    """A cancelled invoice keeps its number (the series has no gaps) and stops counting as income."""
    invoice = await get_invoice(session, actor, invoice_id)
    if invoice.status == "cancelled":
        raise Conflict("invoice.already_cancelled", number=invoice.number)
    invoice.status = "cancelled"
    await session.flush()
    return invoice


def invoice_view(invoice: OutgoingInvoice) -> dict[str, Any]:
    return {"id": invoice.id, "number": invoice.number, "legal_entity_id": invoice.legal_entity_id,
            "issued_on": invoice.issued_on, "pay_until": invoice.pay_until, "client_name": invoice.client_name,
            "client_inn": invoice.client_inn, "client_kpp": invoice.client_kpp, "contract_id": invoice.contract_id,
            "bitrix24_deal_id": invoice.bitrix24_deal_id, "lines": invoice.lines, "total": invoice.total,
            "amount_due": invoice.amount_due, "vat_total": invoice.vat_total,
            "prepayment_percent": invoice.prepayment_percent, "part": invoice.part, "status": invoice.status}


async def invoice_document(session: AsyncSession, invoice: OutgoingInvoice) -> tuple[InvoiceDocument, str, str]:
    """The invoice as a document, with the client type and region its template is chosen by."""
    entity = await session.get(LegalEntity, invoice.legal_entity_id)
    basis, client_type, region = "", "company", ""
    if invoice.contract_id is not None:
        contract = await session.get(Contract, invoice.contract_id)
        if contract is not None:
            signed = contract.valid_from or (await session.get(PaymentRequest, invoice.contract_id)).approved_at.date()
            basis = f"Договор № {contract.number} от {signed.strftime('%d.%m.%Y')}"
            client_type, region = contract.client_type, contract.region
    document = InvoiceDocument(
        number=invoice.number, date=invoice.issued_on, supplier=supplier_party(entity),
        buyer=Party(name=invoice.client_name, inn=invoice.client_inn, kpp=invoice.client_kpp,
                    address=invoice.client_address),
        lines=print_lines(invoice.lines), basis=basis, pay_until=invoice.pay_until,
        prepayment_percent=PREPAY_PERCENT if invoice.part == "prepayment" else 100,
        settles_prepayment=PREPAY_PERCENT if invoice.part == "final" else 0,
    )
    return document, client_type, region


async def invoice_files(session: AsyncSession, store: FileStore, actor: Actor, invoice_id: int, *,
                        formats: tuple[str, ...] = FORMATS) -> list[PrintedFile]:
    invoice = await get_invoice(session, actor, invoice_id)
    document, client_type, region = await invoice_document(session, invoice)
    return await _render("invoice", invoice_context(document), session, store, legal_entity_id=invoice.legal_entity_id,
                         client_type=client_type, region=region, template_id=None,
                         stem=_safe_stem(f"Счёт_{invoice.number}"), formats=formats)


# --- from a Bitrix24 deal (the bot's "make contract / make invoice") ------------------------------

async def deal_contract(session: AsyncSession, actor: Actor, deal_id: str, *, approved: bool) -> PaymentRequest | None:
    """The deal's newest contract approval the actor sees: approved only, or any still alive."""
    statuses = ("approved",) if approved else ("draft", "pending", "returned", "approved")
    rows = await session.scalars(select(PaymentRequest).join(Contract, Contract.request_id == PaymentRequest.id).where(
        Contract.bitrix24_deal_id == deal_id, PaymentRequest.status.in_(statuses)).order_by(PaymentRequest.id.desc()))
    for request in rows:
        try:
            return await get_contract(session, actor, request.id)
        except NotFound:
            continue
    return None


async def deal_contract_files(session: AsyncSession, store: FileStore, actor: Actor, deal_id: str) -> list[PrintedFile]:
    request = await deal_contract(session, actor, deal_id, approved=False)
    if request is None:
        raise InvalidInput("deal.no_contract", field="deal_id", deal_id=deal_id)
    printed = await contract_files(session, store, actor, request.id)
    contract = await session.get(Contract, request.id)
    await _to_the_deal(session, store, deal_id, f"📄 Договор {contract.number or request.number} — {request.contractor_name}",
                       printed)
    return printed


async def _to_the_deal(session: AsyncSession, store: FileStore, deal_id: str, title: str,
                       printed: list[PrintedFile]) -> None:
    """Keep the files and queue them for the deal's timeline in Bitrix24 (sent when it is connected)."""
    files = [{"filename": p.filename, "sha256": store.put(p.content)} for p in printed]
    row = deal_documents_row(deal_id, title, files)
    await enqueue(session, row.topic, row.dedup_key, row.payload, ordering_key=row.ordering_key)


async def deal_invoice(session: AsyncSession, store: FileStore, settings: Settings, actor: Actor,
                       deal_id: str) -> tuple[OutgoingInvoice, bool, list[PrintedFile]]:
    """The next invoice under the deal's approved contract: the whole sum, or for a 70/30 contract
    the 70 % prepayment and then the 30 % final one; once all are issued, the last again.
    Returns (invoice, newly issued, files)."""
    request = await deal_contract(session, actor, deal_id, approved=True)
    if request is None:
        raise InvalidInput("deal.no_approved_contract", field="deal_id", deal_id=deal_id)
    contract = await session.get(Contract, request.id)
    issued = {i.part: i for i in await session.scalars(select(OutgoingInvoice).where(
        OutgoingInvoice.contract_id == request.id, OutgoingInvoice.status == "issued"))}
    parts = ("prepayment", "final") if contract.payment_terms == "prepay_70_30" else ("full",)
    part = next((p for p in parts if p not in issued), None)
    if part is None:
        invoice = issued[parts[-1]]
        return invoice, False, await invoice_files(session, store, actor, invoice.id)
    invoice = await issue_invoice(session, settings, actor, InvoiceFields(
        contract_id=request.id, part=part, bitrix24_deal_id=deal_id))
    printed = await invoice_files(session, store, actor, invoice.id)
    await _to_the_deal(session, store, deal_id, f"🧾 Счёт № {invoice.number} — {invoice.client_name}", printed)
    return invoice, True, printed
