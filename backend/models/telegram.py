"""What the Telegram front door keeps: invites, dialog state, and the cards it has sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, UTCDateTime, utcnow


class Invite(Base):
    """A one-time code an admin gives an employee; ``/start <code>`` binds their Telegram account."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex; the code itself is never stored
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BotState(Base):
    """aiogram's finite-state-machine storage: a half-filled dialog survives a restart."""

    __tablename__ = "bot_states"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BotCard(Base):
    """A message about a request the bot sent to someone, kept so it can be edited when the
    request changes (every approver's card shows the outcome; old buttons disappear)."""

    __tablename__ = "bot_cards"
    __table_args__ = (
        Index("ix_bot_cards_request_live", "request_id", "live"),
        UniqueConstraint("chat_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_requests.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(Integer)
    live: Mapped[bool] = mapped_column(Boolean, default=True)  # still follows the request
    rendered: Mapped[str] = mapped_column(Text, default="")  # what it shows now; an identical edit is skipped
    # The newest history event of the request when it was drawn: a refresh for that event or an
    # older one has nothing to change.
    seen_event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
