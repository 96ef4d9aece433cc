"""Payment requests, their snapshot of the route, approval tasks and attachments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, BigId, UTCDateTime, utcnow


class PaymentRequest(Base):
    __tablename__ = "payment_requests"
    __table_args__ = (
        Index("ix_pr_status_pay_by", "status", "pay_by", "id"),
        # One legal entity's requests of a status over a pay-by period, with what the totals sum:
        # a deep filtered page sorted by amount, and the registry's totals, are read from the index,
        # not from ~200,000 rows. Widening ix_pr_status_pay_by instead made SQLite drop the
        # id-order scan of the default views (benchmarks/README.md).
        Index("ix_pr_entity_status_pay_by", "legal_entity_id", "status", "pay_by", "currency", "amount", "kind"),
        Index("ix_pr_pay_by", "pay_by", "id"),
        Index("ix_pr_inn", "contractor_inn", "id"),
        # The changed-bank-details check at submit: this contractor's last payment.
        Index("ix_pr_inn_kpp_paid", "contractor_inn", "contractor_kpp", "paid_at", "id"),
        Index("ix_pr_initiator", "initiator_id", "id"),
        Index("ix_pr_department", "department_id", "id"),
        Index("ix_pr_legal_entity", "legal_entity_id", "status", "id"),
        Index("ix_pr_amount", "amount", "id"),
        Index("ix_pr_invoice", "contractor_inn", "invoice_number"),
        Index("ix_pr_kind", "kind", "status", "id"),
        Index("ix_pr_approved_at", "approved_at"),  # analytics: approvals of a period
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    # payment: a payment request; contract: a contract approval (its details in ``contracts``).
    kind: Mapped[str] = mapped_column(String(10), default="payment")
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # Position (1-based) of the active stage while pending; the stage that returned it when returned.
    current_stage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    round: Mapped[int] = mapped_column(Integer, default=0)  # a new round of stages starts the route over
    # Hash of amount, currency and requisites at the last submit: a change restarts the route.
    material_fingerprint: Mapped[str] = mapped_column(String(64), default="")

    legal_entity_id: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"))
    request_type_id: Mapped[int] = mapped_column(ForeignKey("request_types.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), nullable=True)
    expense_item_id: Mapped[int | None] = mapped_column(ForeignKey("expense_items.id"), nullable=True)
    initiator_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))

    subject: Mapped[str] = mapped_column(String(500))  # what we pay for
    counterparty_id: Mapped[int | None] = mapped_column(ForeignKey("counterparties.id"), nullable=True)
    contractor_name: Mapped[str] = mapped_column(String(300))
    # Lower-cased in Python: SQLite's lower() folds only ASCII, so Cyrillic names need this.
    contractor_name_lc: Mapped[str] = mapped_column(String(300), default="")
    contractor_inn: Mapped[str] = mapped_column(String(12))
    contractor_kpp: Mapped[str] = mapped_column(String(9), default="")
    bank_name: Mapped[str] = mapped_column(String(300), default="")
    bik: Mapped[str] = mapped_column(String(9), default="")
    account: Mapped[str] = mapped_column(String(20), default="")
    corr_account: Mapped[str] = mapped_column(String(20), default="")
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units (kopecks)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    pay_by: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(210))  # bank orders cap the purpose at 210 chars
    invoice_number: Mapped[str] = mapped_column(String(100), default="")
    invoice_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    is_prepayment: Mapped[bool] = mapped_column(Boolean, default=False)
    bitrix24_deal_id: Mapped[str | None] = mapped_column(String(50), nullable=True)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    paid_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Lower-cased number, subject, purpose, contractor and INN for full-text search.
    search_text: Mapped[str] = mapped_column(Text, default="")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    stages: Mapped[list[RequestStage]] = relationship(
        back_populates="request", order_by="(RequestStage.round, RequestStage.position)",
        cascade="all, delete-orphan",
    )

    __mapper_args__ = {"version_id_col": version}


class RequestStage(Base):
    """A stage of the route as resolved at submit: a snapshot, so editing a route never
    changes a request already on its way."""

    __tablename__ = "request_stages"
    __table_args__ = (
        Index("ix_request_stages_request", "request_id", "round", "position"),
        Index("ix_request_stages_finished", "finished_at"),  # analytics: stages decided in a period
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_requests.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(10))
    required_count: Mapped[int] = mapped_column(Integer, default=1)
    sla_hours: Mapped[int] = mapped_column(Integer, default=24)
    # waiting | active | approved | rejected | returned | void
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(String(300), default="")  # why the stage is on the route

    request: Mapped[PaymentRequest] = relationship(back_populates="stages")
    tasks: Mapped[list[ApprovalTask]] = relationship(
        back_populates="stage", order_by="ApprovalTask.id", cascade="all, delete-orphan", lazy="selectin"
    )


class ApprovalTask(Base):
    """One approver's part in one stage."""

    __tablename__ = "approval_tasks"
    __table_args__ = (
        # Covering indexes for "what was I asked about" (visibility) and the inbox.
        Index("ix_tasks_assignee", "assignee_id", "status", "request_id"),
        Index("ix_tasks_approver", "approver_id", "status", "request_id"),
        Index("ix_tasks_request", "request_id"),
        Index("ix_tasks_stage", "stage_id"),
        # The scheduler's every-minute look at what waits: pending tasks are few among millions.
        Index("ix_tasks_status", "status", "stage_id"),
        Index("ix_tasks_decided", "decided_at"),  # analytics: decisions of a period
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("request_stages.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_requests.id", ondelete="CASCADE"))
    approver_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    # The deputy when the approver had delegated on the day the task was made.
    assignee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|approved|rejected|returned|void
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    stage: Mapped[RequestStage] = relationship(back_populates="tasks")


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_request", "request_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_requests.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # invoice | payment_order | closing | contract | other
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a contract file's version, 1, 2, …
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NumberCounter(Base):
    """The last human-readable number issued per legal entity and year."""

    __tablename__ = "number_counters"

    legal_entity_id: Mapped[int] = mapped_column(ForeignKey("legal_entities.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
