"""What admins see of the outbox: deliveries that failed (with the last error), and a retry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, InvalidInput, NotFound
from backend.models import OutboxMessage
from backend.outbox import requeue
from backend.workflows.actors import Actor

STATUSES = ("pending", "sent", "failed", "skipped")
MAX_PAGE = 200


async def list_outbox(session: AsyncSession, actor: Actor, *, status: str | None = "failed", topic: str | None = None,
                      before_id: int | None = None, limit: int = 50) -> list[OutboxMessage]:
    """Newest first; page on with ``before_id`` (the last id of the previous page)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput("outbox.status", field="status", allowed=", ".join(STATUSES))
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("field.range", field="limit", min=1, max=MAX_PAGE)
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if topic:
        query = query.where(OutboxMessage.topic == topic)
    if before_id is not None:
        query = query.where(OutboxMessage.id < before_id)
    return list((await session.scalars(query)).all())


async def outbox_counts(session: AsyncSession, actor: Actor) -> dict[str, dict[str, int]]:
    rows = (await session.execute(select(OutboxMessage.topic, OutboxMessage.status, func.count())
                                  .group_by(OutboxMessage.topic, OutboxMessage.status))).all()
    counts: dict[str, dict[str, int]] = {}
    for topic, status, count in rows:
        counts.setdefault(topic, {})[status] = count
    return counts


async def retry_outbox(session: AsyncSession, actor: Actor, message_id: int) -> OutboxMessage:
    """Send a failed row again from scratch (e.g. after the person unblocked the bot)."""
    row = await session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound("outbox.not_found", id=message_id)
    if row.status != "failed":
        raise Conflict("outbox.not_failed", id=message_id, status=row.status)
    await requeue(session, OutboxMessage.id == message_id, note=f"retried by {actor.label}; before: {row.last_error}")
    await session.refresh(row)
    return row


async def retry_failed(session: AsyncSession, actor: Actor, *, topic: str | None = None) -> int:
    """Every failed row (of a topic) again, e.g. after an outage outlasted the retries; returns how many."""
    conditions = [OutboxMessage.status == "failed"] + ([OutboxMessage.topic == topic] if topic else [])
    return await requeue(session, *conditions, note=f"retried by {actor.label}")


def outbox_view(row: OutboxMessage) -> dict[str, Any]:
    return {
        "id": row.id, "topic": row.topic, "status": row.status, "dedup_key": row.dedup_key, "payload": row.payload,
        "ordering_key": row.ordering_key, "attempts": row.attempts, "last_error": row.last_error,
        "next_attempt_at": row.next_attempt_at, "created_at": row.created_at, "sent_at": row.sent_at,
        "progress": row.progress,
    }
