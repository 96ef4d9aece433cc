"""What the integrations remember about the other side: which Bitrix24 company, smart-process
item or 1C document stands for which of our records, and the deals whose stages we guard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, UTCDateTime, utcnow


class ExternalLink(Base):
    """One of our records ↔ its twin in an external system, e.g. (bitrix24, company, "7") → "1043".

    ``local_key`` is a string so that records keyed by INN + KPP (a company in 1C) fit too.
    Written once the twin is known, so a retried sync updates the twin instead of creating a second."""

    __tablename__ = "external_links"
    __table_args__ = (UniqueConstraint("system", "kind", "local_key", name="uq_external_link"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    system: Mapped[str] = mapped_column(String(20))  # bitrix24 | onec
    kind: Mapped[str] = mapped_column(String(30))  # company | item | payment_order | counterparty | ...
    local_key: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. the twin's state as last written
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Bitrix24Deal(Base):
    """A deal on the portal as far as our stage gates care: the last stage we saw it pass
    (where a forbidden move is sent back to) and the accountant's two confirmations (seed 000):
    the contract approved, and the closing documents and full payment received."""

    __tablename__ = "bitrix24_deals"

    deal_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    stage_id: Mapped[str] = mapped_column(String(50), default="")
    contract_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    contract_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    closing_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closing_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
