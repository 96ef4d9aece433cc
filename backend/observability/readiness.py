"""Readiness: may the load balancer send this replica traffic now?

Each check runs with its own timeout, all at once, so a Redis or database that hangs makes
``/readyz`` answer 503 within ``CHECK_TIMEOUT`` seconds instead of hanging the probe.

The outbox check looks only at the topics this process delivers without strict order (Telegram
notices and cards, e-mail): a due row waiting there long means its workers are stuck or far
behind. Rows of a topic nobody here consumes (the bot is off, an integration is not configured)
wait by design, and so do Bitrix24 / 1C rows held in order behind a row backing off or during an
outage of that system; counting them would take every replica out of the balancer for
something that more traffic neither causes nor cures. ``viza_outbox_oldest_pending_age_seconds``
shows every topic, for alerts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import func, select, text, union_all

from backend.db import Database, utcnow
from backend.models import OutboxMessage
from backend.outbox import OutboxQueue

CHECK_TIMEOUT = 2.0
ERROR_LENGTH = 200


class NotReady(Exception):
    """A check failed; the message says why, for the probe's answer."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, ("detail" if self.ok else "error"): self.detail}


async def run_check(name: str, check: Callable[[], Awaitable[str]], timeout: float = CHECK_TIMEOUT) -> CheckResult:
    try:
        detail = await asyncio.wait_for(check(), timeout=timeout)
    except TimeoutError:
        return CheckResult(name, False, f"no answer within {timeout:g} s")
    except NotReady as error:
        return CheckResult(name, False, str(error)[:ERROR_LENGTH])
    except Exception as error:  # noqa: BLE001 — the answer itself is the report
        return CheckResult(name, False, f"{type(error).__name__}: {error}"[:ERROR_LENGTH])
    return CheckResult(name, True, detail)


async def database_answers(db: Database) -> str:
    async with db.session() as session:
        await session.execute(text("SELECT 1"))
    return db.dialect


async def redis_answers(app: FastAPI, url: str) -> str:
    """PING through the app's client; an app not started through its lifespan (tests, tools) has
    none, and asks through a client of its own for this probe."""
    client = getattr(app.state, "redis", None)
    if client is not None:
        answered = await client.ping()
    else:
        from backend.redis_client import connect

        client = connect(url)
        try:
            answered = await client.ping()
        finally:
            await client.aclose()
    if not answered:
        raise NotReady("Redis did not answer PING")
    return "PONG"


def delivered_topics(app: FastAPI) -> frozenset[str]:
    """The outbox topics this process works off in any order: the queues of the bot's delivery
    and of the background workers that are not strictly ordered."""
    workers = list(getattr(getattr(app.state, "background", None), "workers", None) or ())
    workers.append(getattr(getattr(app.state, "bot", None), "delivery", None))
    queues = [getattr(worker, "queue", None) for worker in workers]
    return frozenset(topic for queue in queues if isinstance(queue, OutboxQueue) and not queue.strict_order
                     for topic in queue.topics)


async def oldest_due_pending(db: Database, topics: frozenset[str], now: datetime) -> datetime | None:
    """The earliest due time among pending rows of ``topics`` that are due.

    One ``min`` per topic, each the first entry of ix_outbox_due (topic, status, next_attempt_at)
    for that topic, so a backlog of a million rows costs a probe no more than an empty outbox."""
    row = OutboxMessage
    per_topic = union_all(*(
        select(func.min(row.next_attempt_at).label("due"))
        .where(row.topic == topic, row.status == "pending", row.next_attempt_at <= now)
        for topic in sorted(topics))).subquery()
    async with db.session() as session:
        return await session.scalar(select(func.min(per_topic.c.due)))


async def outbox_keeps_up(db: Database, topics: frozenset[str], max_age: float) -> str:
    if not topics:
        return "no outbox topics delivered here"
    now = utcnow()
    oldest = await oldest_due_pending(db, topics, now)
    waited = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    if waited > max_age:
        raise NotReady(f"the oldest due outbox row of {', '.join(sorted(topics))} has waited {waited:.0f} s "
                       f"(limit {max_age:g} s)")
    return f"oldest due row waited {waited:.0f} s"


async def readiness(app: FastAPI) -> tuple[bool, dict[str, CheckResult]]:
    """Run every check; (all passed, result per check)."""
    settings = app.state.settings
    db: Database = app.state.db
    checks: dict[str, Callable[[], Awaitable[str]]] = {"database": lambda: database_answers(db)}
    redis_url = settings.redis_url
    if redis_url:
        checks["redis"] = lambda: redis_answers(app, redis_url)
    max_age = settings.ready_outbox_age_seconds
    if max_age:  # 0 (when settings allow it): the outbox does not decide readiness
        topics = delivered_topics(app)
        checks["outbox"] = lambda: outbox_keeps_up(db, topics, max_age)
    results = await asyncio.gather(*(run_check(name, check) for name, check in checks.items()))
    return all(r.ok for r in results), {r.name: r for r in results}
