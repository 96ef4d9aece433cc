"""Notifications: what is queued for whom, and when it may be delivered.

The engine and the scheduled jobs queue notices here, as outbox rows of topic ``notify``
(one per recipient, kept in order per recipient); the bot's delivery worker renders and
sends them. E-mail to contractors goes the same way under topic ``email``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import OutboxMessage
from backend.outbox import enqueue

NOTIFY = "notify"
EMAIL = "email"


def recipient_order(recipient_id: int) -> str:
    return f"employee:{recipient_id}"


def notice_row(recipient_id: int, kind: str, *, dedup_key: str, request_id: int | None = None,
               history_id: int | None = None, urgent: bool = False, data: dict[str, Any] | None = None) -> OutboxMessage:
    """A notice as an ORM row, for code that adds rows in bulk (the engine)."""
    return OutboxMessage(topic=NOTIFY, dedup_key=dedup_key, ordering_key=recipient_order(recipient_id),
                         payload=_payload(recipient_id, kind, request_id, history_id, urgent, data), progress={})


async def queue_notice(session: AsyncSession, recipient_id: int, kind: str, *, dedup_key: str,
                       request_id: int | None = None, history_id: int | None = None, urgent: bool = False,
                       data: dict[str, Any] | None = None, not_before: datetime | None = None) -> bool:
    """Queue one notice in the caller's transaction; False when ``dedup_key`` was queued before."""
    return await enqueue(session, NOTIFY, dedup_key, _payload(recipient_id, kind, request_id, history_id, urgent, data),
                         ordering_key=recipient_order(recipient_id), not_before=not_before)


def _payload(recipient_id: int, kind: str, request_id: int | None, history_id: int | None, urgent: bool,
             data: dict[str, Any] | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"event": kind, "recipient_id": recipient_id, "urgent": urgent}
    if request_id is not None:
        payload["request_id"] = request_id
    if history_id is not None:
        payload["history_id"] = history_id
    if data:
        payload["data"] = data
    return payload
