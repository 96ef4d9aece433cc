"""The outbox as a work queue: follow-up work written in the transaction of a change, then
delivered by workers (Telegram, e-mail, later Bitrix24 and 1C) that may crash at any moment.

* **Enqueue** is idempotent: every row has a ``dedup_key``; writing the same key twice keeps
  the first (a scheduled reminder computed again after a restart is not queued again).
* **Claim** gives a worker a lease on due rows. Another worker — or the same service after a
  restart — takes a row over only once the lease has run out, so replicas never send a row
  twice while both are alive. On PostgreSQL the claim reads its candidates ``FOR UPDATE SKIP
  LOCKED``, so replicas claiming at the same moment take different rows instead of contending
  for the same ones; the lease (not the row lock, which ends with the claim's transaction) is
  what keeps a row a worker's while it sends, and frees it if the worker dies.
* **Order**: rows of a topic sharing an ``ordering_key`` go one at a time, in id order. ``strict`` topics
  (sync calls: an update must not overtake the create) also wait behind an earlier row that
  is backing off; notices only wait behind one that is due or being sent.
* **Outcome**: ``done`` (sent or skipped), ``retry`` (exponential backoff with jitter, failed
  after ``max_attempts``), ``fail`` at once (nothing will change by retrying), ``defer``
  (not now, e.g. quiet hours; no attempt is counted). Failed rows stay for admins to read
  and retry (``backend/services/outbox_admin.py``).

What a crash can and cannot do: a worker that dies after the receiving system accepted a
message but before ``done`` committed leaves a row whose lease runs out; it is delivered
again. Telegram and SMTP accept no idempotency key, so that single in-flight message may
arrive twice — never lost. A graceful stop waits for in-flight sends, so a restart
duplicates nothing. ``progress`` keeps multi-part deliveries from repeating their sent parts.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, event, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.db import Database, utcnow
from backend.models import OutboxMessage
from backend.observability.metrics import OUTBOX_SETTLED

MAX_BACKOFF_SECONDS = 3600
# 2 s, 4 s, … then hourly: about six hours of trying before a row is marked failed, so an
# outage of Telegram or the mail server for hours loses nothing.
MAX_ATTEMPTS = 16


async def enqueue(session: AsyncSession, topic: str, dedup_key: str, payload: dict[str, Any], *,
                  ordering_key: str | None = None, not_before: datetime | None = None) -> bool:
    """Queue work in the caller's transaction; False when a row with this key exists already."""
    values = dict(topic=topic, dedup_key=dedup_key, payload=payload, ordering_key=ordering_key,
                  status="pending", attempts=0, next_attempt_at=not_before or utcnow(), last_error="",
                  created_at=utcnow(), progress={})
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["dedup_key"])
    result = await session.execute(statement)
    if result.rowcount:
        note_written(session, topic)
    return bool(result.rowcount)


async def requeue(session: AsyncSession, *conditions: Any, note: str) -> int:
    """Make the rows matching ``conditions`` pending again from scratch (attempts 0, due now), in
    the caller's transaction; returns how many."""
    for topic in (await session.scalars(select(OutboxMessage.topic).where(*conditions).distinct())).all():
        note_written(session, topic)  # so the workers of those topics are woken by the commit
    result = await session.execute(
        update(OutboxMessage).where(*conditions)
        .values(status="pending", attempts=0, next_attempt_at=utcnow(), claimed_by=None, claimed_until=None,
                last_error=note[:1000]))
    return result.rowcount


# --- waking the workers when a transaction with outbox rows commits ---------------------------

_listeners: weakref.WeakSet[OutboxSignal] = weakref.WeakSet()


class OutboxSignal:
    """Wakes one worker when rows of its topics are committed in this process (the poll
    interval covers rows written by other processes)."""

    def __init__(self, topics: Iterable[str]) -> None:
        self.topics = frozenset(topics)
        self.event = asyncio.Event()
        _listeners.add(self)

    def set(self) -> None:
        self.event.set()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.event.wait(), timeout=timeout)
        except TimeoutError:
            pass
        self.event.clear()


def note_written(session: AsyncSession | Session, topic: str) -> None:
    """Rows of ``topic`` became due in this transaction (rows added as objects are noted by
    themselves; a bulk UPDATE that makes rows pending again says so here)."""
    session.info.setdefault("outbox_topics", set()).add(topic)


@event.listens_for(Session, "before_flush")
def _note_added_rows(session: Session, _context, _instances) -> None:
    for row in session.new:
        if isinstance(row, OutboxMessage):
            note_written(session, row.topic)


@event.listens_for(Session, "after_commit")
def _wake_consumers(session: Session) -> None:
    topics = session.info.pop("outbox_topics", None)
    if not topics:
        return
    for listener in list(_listeners):
        if listener.topics & topics:
            listener.set()


@event.listens_for(Session, "after_rollback")
def _forget_written(session: Session) -> None:
    session.info.pop("outbox_topics", None)


# --- claiming and finishing ------------------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    id: int
    topic: str
    dedup_key: str
    payload: dict[str, Any]
    attempts: int
    progress: dict[str, Any]


class OutboxQueue:
    def __init__(self, db: Database, topics: Iterable[str], *, worker: str, lease: timedelta = timedelta(minutes=2),
                 max_attempts: int = MAX_ATTEMPTS, strict_order: bool = False) -> None:
        self.db = db
        self.topics = tuple(topics)
        self.worker = worker
        self.lease = lease
        self.max_attempts = max_attempts
        self.strict_order = strict_order

    def _available(self, now: datetime):
        row = OutboxMessage
        return and_(row.status == "pending", or_(row.claimed_until.is_(None), row.claimed_until < now))

    async def claim(self, limit: int, *, now: datetime | None = None) -> list[Claimed]:
        """Lease up to ``limit`` due rows, oldest first, at most one per ordering key."""
        now = now or utcnow()
        # The head of each ordering key: its oldest row that holds the rest back. Order is kept
        # within a topic (an e-mail about a request does not wait for its card refreshes).
        # One grouped pass over the pending rows, rather than asking for each candidate whether an
        # earlier row holds it back: with a backlog of n notices to one person that was n lookups
        # of up to n rows each (110 ms a claim at 1,000, benchmarks/replicas.py).
        holding = [OutboxMessage.status == "pending", OutboxMessage.topic.in_(self.topics),
                   OutboxMessage.ordering_key.is_not(None)]
        if not self.strict_order:  # a row backing off or deferred does not hold the rest back
            holding.append(or_(OutboxMessage.next_attempt_at <= now, OutboxMessage.claimed_until >= now))
        heads = (select(func.min(OutboxMessage.id)).where(*holding)
                 .group_by(OutboxMessage.topic, OutboxMessage.ordering_key))
        due = (select(OutboxMessage.id)
               .where(OutboxMessage.topic.in_(self.topics), self._available(now), OutboxMessage.next_attempt_at <= now,
                      or_(OutboxMessage.ordering_key.is_(None), OutboxMessage.id.in_(heads)))
               .order_by(OutboxMessage.id).limit(limit))
        if self.db.dialect == "postgresql":
            # Replicas claiming at once each get other rows, instead of all reading the same
            # oldest rows and all but one finding them taken at the UPDATE.
            due = due.with_for_update(skip_locked=True, of=OutboxMessage)
        async with self.db.one_writer(), self.db.session() as session:
            candidates = (await session.scalars(due)).all()
            if not candidates:
                return []
            rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(candidates))
                                          .order_by(OutboxMessage.id))).all()
            chosen, keys = [], set()
            for row in rows:  # heads are one per ordering key; a guard all the same
                if row.ordering_key is not None:
                    if row.ordering_key in keys:
                        continue
                    keys.add(row.ordering_key)
                chosen.append(row.id)
                if len(chosen) == limit:
                    break
            won = set((await session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(chosen), self._available(now))
                .values(claimed_by=self.worker, claimed_until=now + self.lease)
                .returning(OutboxMessage.id)
            )).all())
            await session.commit()
            return [Claimed(r.id, r.topic, r.dedup_key, dict(r.payload), r.attempts, dict(r.progress or {}))
                    for r in rows if r.id in won]

    async def reclaim_own(self) -> int:
        """At start: rows this worker (same name) had leased in an earlier life are free again at
        once, instead of after the lease. What it was sending when it died is sent again."""
        async with self.db.one_writer(), self.db.session() as session:
            result = await session.execute(update(OutboxMessage)
                                           .where(OutboxMessage.claimed_by == self.worker,
                                                  OutboxMessage.topic.in_(self.topics))
                                           .values(claimed_by=None, claimed_until=None))
            await session.commit()
            return result.rowcount

    async def _finish(self, message_id: int, outcome: str | None, **values: Any) -> None:
        """Settle a row still ours; ``outcome`` (sent, skipped, retry, failed, deferred) is counted
        for /metrics, None for a row given back untouched."""
        async with self.db.one_writer(), self.db.session() as session:
            topic = await session.scalar(update(OutboxMessage)
                                         .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == self.worker)
                                         .values(claimed_by=None, claimed_until=None, **values)
                                         .returning(OutboxMessage.topic))
            await session.commit()
        if topic is not None and outcome is not None:
            OUTBOX_SETTLED.labels(topic, outcome).inc()

    async def extend(self, message_id: int) -> bool:
        """Renew the lease of a row still being worked on (a long wait under flood control);
        False when it is no longer ours."""
        async with self.db.one_writer(), self.db.session() as session:
            result = await session.execute(update(OutboxMessage)
                                           .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == self.worker)
                                           .values(claimed_until=utcnow() + self.lease))
            await session.commit()
            return bool(result.rowcount)

    async def progress_of(self, message_id: int) -> dict[str, Any]:
        async with self.db.session() as session:
            return dict(await session.scalar(select(OutboxMessage.progress).where(OutboxMessage.id == message_id)) or {})

    async def save_progress(self, message_id: int, progress: dict[str, Any]) -> None:
        async with self.db.one_writer(), self.db.session() as session:
            await session.execute(update(OutboxMessage)
                                  .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == self.worker)
                                  .values(progress=progress))
            await session.commit()

    async def done(self, message_id: int, *, status: str = "sent", note: str = "") -> None:
        await self._finish(message_id, status, status=status, last_error=note, sent_at=utcnow())

    async def fail(self, message_id: int, error: str, *, attempts: int) -> None:
        await self._finish(message_id, "failed", status="failed", last_error=error[:1000], attempts=attempts + 1)

    async def retry(self, message_id: int, error: str, *, attempts: int) -> str:
        """Back off exponentially with jitter; "failed" once ``max_attempts`` is reached."""
        attempts += 1
        if attempts >= self.max_attempts:
            await self._finish(message_id, "failed", status="failed", last_error=error[:1000], attempts=attempts)
            return "failed"
        delay = backoff_seconds(attempts)
        await self._finish(message_id, "retry", last_error=error[:1000], attempts=attempts,
                           next_attempt_at=utcnow() + timedelta(seconds=delay))
        return "pending"

    async def defer(self, message_id: int, until: datetime, reason: str = "") -> None:
        """Not now (quiet hours, a 429's retry_after): no attempt is counted."""
        await self._finish(message_id, "deferred", next_attempt_at=until, last_error=reason)

    async def release(self, message_id: int) -> None:
        """Give the row back untouched (a graceful stop before it was sent)."""
        await self._finish(message_id, None)


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter between half and one and a half times the step."""
    return min(MAX_BACKOFF_SECONDS, 2 ** attempts) * (0.5 + random.random())
