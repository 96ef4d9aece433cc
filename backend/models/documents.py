"""Contracts (the second kind of registry item), document numbers, print-form templates,
the 1C goods catalogue and the invoices we issue to clients."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, UTCDateTime, utcnow

CLIENT_TYPES = ("company", "individual")
PAYMENT_TERMS = ("full", "prepay_70_30")


class Contract(Base):
    """What a contract approval holds beyond a registry item (``payment_requests`` row of kind
    "contract": the client is its contractor, the amount its price, the subject its subject)."""

    __tablename__ = "contracts"
    __table_args__ = (
        # The annual contracts store: a client's contracts, newest first.
        Index("ix_contracts_client", "legal_entity_id", "client_inn", "valid_until"),
        Index("ix_contracts_deal", "bitrix24_deal_id"),
    )

    request_id: Mapped[int] = mapped_column(ForeignKey("payment_requests.id", ondelete="CASCADE"), primary_key=True)
    legal_entity_id: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"))
    client_type: Mapped[str] = mapped_column(String(12), default="company")
    client_inn: Mapped[str] = mapped_column(String(12), default="")
    client_address: Mapped[str] = mapped_column(String(500), default="")
    client_signatory: Mapped[str] = mapped_column(String(300), default="")
    client_passport: Mapped[str] = mapped_column(String(300), default="")
    region: Mapped[str] = mapped_column(String(10), default="")
    bitrix24_deal_id: Mapped[str | None] = mapped_column(String(50), nullable=True)
    payment_terms: Mapped[str] = mapped_column(String(15), default="full")
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    annual: Mapped[bool] = mapped_column(Boolean, default=False)  # kept in the store to be reused
    # [{"catalogue_item_id", "name", "code", "unit", "quantity" (str), "price" (kopecks), "vat_rate"}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("document_templates.id"), nullable=True)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("payment_requests.id"), nullable=True)
    number: Mapped[str | None] = mapped_column(String(60), nullable=True)
    number_state: Mapped[str] = mapped_column(String(10), default="none")  # none | reserved | confirmed
    signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class DocumentNumber(Base):
    """One number of a legal entity's yearly series (contracts, outgoing invoices).

    Numbers are never lost: a reserved number that is given up (the contract rejected or
    cancelled) is ``released`` and the next reservation takes the lowest released one first,
    so the series has no gaps; the unique key means no number is ever issued twice."""

    __tablename__ = "document_numbers"
    __table_args__ = (
        UniqueConstraint("legal_entity_id", "series", "year", "value", name="uq_document_number"),
        Index("ix_document_numbers_free", "legal_entity_id", "series", "year", "state", "value"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    legal_entity_id: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"))
    series: Mapped[str] = mapped_column(String(20))  # contract | invoice
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(10))  # reserved | confirmed | released
    request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_requests.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DocumentTemplate(Base):
    """A print form uploaded by an admin; the most specific active one wins (legal entity,
    then client type, then region), and the built-in defaults stand behind them all."""

    __tablename__ = "document_templates"
    __table_args__ = (Index("ix_document_templates_pick", "kind", "fmt", "active"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # invoice | contract
    fmt: Mapped[str] = mapped_column(String(5))  # html (rendered to PDF) | docx
    legal_entity_id: Mapped[int | None] = mapped_column(ForeignKey("legal_entities.id"), nullable=True)
    client_type: Mapped[str] = mapped_column(String(12), default="")  # "" = any
    region: Mapped[str] = mapped_column(String(10), default="")  # "" = any
    # Catalogue folders (1C group codes) whose goods may be on documents of this form; [] = any.
    allowed_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogueItem(Base):
    """A good or service of 1C's ``Catalog_Номенклатура``, as last read."""

    __tablename__ = "catalogue_items"
    __table_args__ = (Index("ix_catalogue_items_name", "name_lc"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    onec_ref: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(20), default="")
    name: Mapped[str] = mapped_column(String(300))
    name_lc: Mapped[str] = mapped_column(String(300), default="")
    full_name: Mapped[str] = mapped_column(String(1000), default="")
    article: Mapped[str] = mapped_column(String(50), default="")
    unit: Mapped[str] = mapped_column(String(20), default="шт")
    is_service: Mapped[bool] = mapped_column(Boolean, default=False)
    vat_rate: Mapped[int | None] = mapped_column(Integer, nullable=True)  # percent; None = без НДС
    price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # kopecks, when 1C has one
    group_code: Mapped[str] = mapped_column(String(20), default="")  # the folder's code
    group_name: Mapped[str] = mapped_column(String(300), default="")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OutgoingInvoice(Base):
    """An invoice we issue to a client (счёт на оплату), counted against the USN income limit."""

    __tablename__ = "outgoing_invoices"
    __table_args__ = (
        UniqueConstraint("legal_entity_id", "number", name="uq_outgoing_invoice_number"),
        Index("ix_outgoing_invoices_year", "legal_entity_id", "year", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    legal_entity_id: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"))
    number: Mapped[str] = mapped_column(String(60))
    year: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    pay_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    counterparty_id: Mapped[int | None] = mapped_column(ForeignKey("counterparties.id"), nullable=True)
    client_name: Mapped[str] = mapped_column(String(300))
    client_inn: Mapped[str] = mapped_column(String(12), default="")
    client_kpp: Mapped[str] = mapped_column(String(9), default="")
    client_address: Mapped[str] = mapped_column(String(500), default="")
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("payment_requests.id"), nullable=True)
    bitrix24_deal_id: Mapped[str | None] = mapped_column(String(50), nullable=True)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(BigInteger)  # kopecks, the whole
    amount_due: Mapped[int] = mapped_column(BigInteger)  # this invoice's part (70 % of a 70/30 contract)
    vat_total: Mapped[int] = mapped_column(BigInteger, default=0)
    prepayment_percent: Mapped[int] = mapped_column(Integer, default=100)
    # full | prepayment (the 70 % of a 70/30 contract) | final (the 30 % left after the prepayment)
    part: Mapped[str] = mapped_column(String(12), default="full")
    status: Mapped[str] = mapped_column(String(10), default="issued")  # issued | cancelled
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
