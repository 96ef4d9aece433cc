"""The append-only history of a request, and the outbox of follow-up work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, UTCDateTime, utcnow


class HistoryEvent(Base):
    __tablename__ = "history_events"
    __table_args__ = (Index("ix_history_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_requests.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    stage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    round: Mapped[int] = mapped_column(Integer, default=0)
    comment: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@event.listens_for(HistoryEvent, "before_update")
@event.listens_for(HistoryEvent, "before_delete")
def _history_is_append_only(_mapper, _connection, _target) -> None:
    # The migration also installs database triggers; this catches it earlier, in Python.
    raise RuntimeError("history events are append-only")


class OutboxMessage(Base):
    """Work to do after a change commits (a notification, a sync), written in its transaction."""

    __tablename__ = "outbox"
    # Each consumer asks for its own topic: rows of a topic nobody consumes yet (sync, until the
    # integrations exist) must not slow the others' polling down.
    __table_args__ = (
        Index("ix_outbox_due", "topic", "status", "next_attempt_at"),
        # "Is an earlier row of this entity still waiting?" — what keeps one person's notices,
        # or one deal's sync calls, in order.
        Index("ix_outbox_ordering", "ordering_key", "status", "id"),
        # The claim reads pending rows oldest first; sent rows stay for weeks and would be walked
        # past on the primary key every claim without this.
        Index("ix_outbox_pending", "id", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(50))  # notify | sync.bitrix24 | sync.onec ...
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending | sent | failed | skipped (nothing to deliver to, e.g. no Telegram bound)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # Rows with the same key are delivered in id order (one person's chat, one deal in Bitrix24).
    ordering_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # A worker's lease on the row: another worker (or this one after a restart) takes it over
    # only once the lease has run out.
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # How far a delivery of several parts got (e.g. the invoice file went, the card did not yet).
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
