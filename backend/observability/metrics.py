"""Prometheus metrics: what happened in this process (counters) and the shared state read from
the database at scrape time (gauges).

* Counters and histograms live in a dedicated ``REGISTRY``, not prometheus_client's global one:
  tests build many apps in one process, and nothing else in the process registers here.
  Every replica counts its own work; sum them across replicas.
* The gauges about the outbox and the scheduled loops describe the database every replica
  shares, so each replica exports the same values: aggregate them with ``max``, not ``sum``.
  They are computed on each scrape (``render``) into a throwaway collector, so two scrapes at
  once never see each other's half-set values and a topic that emptied does not linger.
* Approval decisions are counted when their transaction commits (``note_decision``), so a
  decision rolled back by a concurrent one is not counted, and its retry is counted once.
* Outbox outcomes are counted where rows are settled, in ``backend.outbox.OutboxQueue``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import case, event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.db import Database, utcnow
from backend.models import OutboxMessage, SchedulerRun

log = logging.getLogger("viza.metrics")

# A ``*_created`` series per labelled counter doubles the scrape for no use on our dashboards.
disable_created_metrics()

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "viza_http_requests", "HTTP requests answered, by route template (never the raw path).",
    ["method", "route", "status"], registry=REGISTRY)
HTTP_DURATION = Histogram(
    "viza_http_request_duration_seconds", "Time from the request to the end of its response body.",
    ["method", "route"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
DECISIONS = Counter(
    "viza_decisions", "Approval decisions committed (approve, reject, return).", ["action"], registry=REGISTRY)
TELEGRAM_CALLS = Counter(
    "viza_telegram_calls", "Bot API calls as sent over HTTP, each retry counted; outcome ok | retry_after | error.",
    ["method", "outcome"], registry=REGISTRY)
TELEGRAM_SENDS = Counter(
    "viza_telegram_sends", "Messages the bot put into chats (sendMessage, sendDocument, …; an album counts each).",
    registry=REGISTRY)
OUTBOX_SETTLED = Counter(
    "viza_outbox_settled", "Outbox rows settled by this process's workers; "
    "outcome sent | skipped | retry | failed | deferred.", ["topic", "outcome"], registry=REGISTRY)
SYNC_FAILURES = Counter(
    "viza_sync_failures", "Bitrix24 / 1C rows whose call failed (refused, or an error retried later); "
    "an outage of the whole system shows as outbox rows deferred instead.", ["system"], registry=REGISTRY)

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_method_label(method: str) -> str:
    """A client can send any token as a method; only the known ones become label values."""
    return method if method in HTTP_METHODS else "other"


# --- approval decisions, counted when they commit --------------------------------------------------

_DECISIONS_KEY = "viza_metrics_decisions"


def note_decision(session: AsyncSession | Session, action: str) -> None:
    """An approval decision was made in this transaction; counted if and when it commits.

    Like ``backend.outbox.note_written``, this lives on the session for the whole transaction:
    a decision inside a savepoint that is rolled back while the transaction commits would still be
    counted (the engine takes no savepoints around a transition)."""
    session.info.setdefault(_DECISIONS_KEY, []).append(action)


@event.listens_for(Session, "after_commit")
def _count_committed_decisions(session: Session) -> None:
    for action in session.info.pop(_DECISIONS_KEY, ()):
        DECISIONS.labels(action).inc()


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_decisions(session: Session) -> None:
    session.info.pop(_DECISIONS_KEY, None)


# --- outbox outcomes ---------------------------------------------------------------------------------

# --- gauges read from the database at scrape time -------------------------------------------------

# Distinct topics by a loose index scan (one index seek per topic on ix_outbox_due, whose first
# column is the topic) instead of a scan of every row ever sent; the same SQL runs on SQLite.
_TOPICS = text("""
    WITH RECURSIVE topics(topic) AS (
        SELECT min(topic) FROM outbox
        UNION ALL
        SELECT (SELECT min(o.topic) FROM outbox o WHERE o.topic > topics.topic) FROM topics WHERE topic IS NOT NULL
    )
    SELECT topic FROM topics WHERE topic IS NOT NULL
""")
WAITING_STATUSES = ("pending", "failed")


@dataclass(frozen=True)
class OutboxCount:
    topic: str
    status: str
    rows: int
    oldest_due: datetime | None  # pending rows only: the earliest next_attempt_at that is <= now


@dataclass(frozen=True)
class DatabaseState:
    now: datetime
    outbox: list[OutboxCount]
    loops: list[SchedulerRun]


async def read_database_state(db: Database, now: datetime | None = None) -> DatabaseState:
    """The outbox's waiting rows per topic and status, and the scheduled loops' last ticks.

    With the topics known, the count reads only the index entries of pending and failed rows
    (``topic IN … AND status IN …`` on ix_outbox_due), not the sent rows kept for the retention
    period."""
    now = now or utcnow()
    row = OutboxMessage
    async with db.session() as session:
        topics = list((await session.scalars(_TOPICS)).all())
        counts = []
        if topics:
            due = case((row.next_attempt_at <= now, row.next_attempt_at))
            counts = (await session.execute(
                select(row.topic, row.status, func.count(), func.min(due))
                .where(row.topic.in_(topics), row.status.in_(WAITING_STATUSES))
                .group_by(row.topic, row.status)
            )).all()
        loops = list((await session.scalars(select(SchedulerRun).order_by(SchedulerRun.name))).all())
    return DatabaseState(
        now=now,
        outbox=[OutboxCount(topic, status, rows, oldest if status == "pending" else None)
                for topic, status, rows, oldest in counts],
        loops=loops,
    )


def scheduler_lag(loop: SchedulerRun, now: datetime, interval: float) -> float | None:
    """How late the loop runs, in seconds; None before its first tick.

    The last tick's start minus its due time, while the next tick is not overdue. Once the next
    tick (due ``interval`` after the last) has not started ``grace`` after it was due, the loop is
    stuck or nobody runs it: then how long that next tick has been waiting, growing with the
    clock, so an alert fires even though no replica writes the table any more."""
    if loop.last_due_at is None:
        return None
    next_due = loop.last_due_at + timedelta(seconds=interval)
    grace = timedelta(seconds=min(interval, 5.0))  # the moment between a tick's due time and its start
    if now > next_due + grace:
        return (now - next_due).total_seconds()
    if loop.last_started_at is not None:  # a timer may start a tick a little before it is due: no lag
        return max(0.0, (loop.last_started_at - loop.last_due_at).total_seconds())
    return max(0.0, (now - loop.last_due_at).total_seconds())  # due, not started yet


class DatabaseGauges:
    """The database's state as gauge families, for one scrape."""

    def __init__(self, state: DatabaseState | None, *, scheduler_interval: float) -> None:
        self.state = state
        self.scheduler_interval = scheduler_interval

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("viza_metrics_database_up",
                               "1 when this scrape could read the database gauges below, 0 when it could not.")
        up.add_metric([], 1.0 if self.state is not None else 0.0)
        yield up
        if self.state is None:
            return
        yield from self._outbox(self.state)
        yield from self._loops(self.state)

    def _outbox(self, state: DatabaseState) -> Iterable[Metric]:
        depth = GaugeMetricFamily("viza_outbox_depth", "Outbox rows waiting (pending) or given up (failed), "
                                  "the same on every replica.", labels=["topic", "status"])
        age = GaugeMetricFamily("viza_outbox_oldest_pending_age_seconds",
                                "How long the longest-waiting due pending row of the topic has been due (0: none).",
                                labels=["topic"])
        ages: dict[str, float] = {}
        for count in state.outbox:
            depth.add_metric([count.topic, count.status], float(count.rows))
            if count.status == "pending":
                waited = (state.now - count.oldest_due).total_seconds() if count.oldest_due is not None else 0.0
                ages[count.topic] = max(0.0, waited)
        for topic, waited in sorted(ages.items()):
            age.add_metric([topic], waited)
        return depth, age

    def _loops(self, state: DatabaseState) -> Iterable[Metric]:
        lag = GaugeMetricFamily("viza_scheduler_lag_seconds",
                                "How late the scheduled loop's ticks start; grows while the next tick is overdue.",
                                labels=["name"])
        last = GaugeMetricFamily("viza_scheduler_last_run_timestamp_seconds",
                                 "When the loop's last tick finished (Unix time).", labels=["name"])
        for loop in state.loops:
            value = scheduler_lag(loop, state.now, self.scheduler_interval)
            if value is not None:
                lag.add_metric([loop.name], value)
            if loop.last_finished_at is not None:
                last.add_metric([loop.name], loop.last_finished_at.timestamp())
        return lag, last


DATABASE_TIMEOUT = 5.0


async def render(db: Database, *, scheduler_interval: float, timeout: float = DATABASE_TIMEOUT) -> bytes:
    """The exposition text: this process's counters, then the database gauges read now.

    A database that fails or hangs costs the gauges of this scrape (``viza_metrics_database_up 0``),
    never the counters, and never a scrape that outlives Prometheus's timeout."""
    try:
        state = await asyncio.wait_for(read_database_state(db), timeout=timeout)
    except Exception as error:  # noqa: BLE001 — reported in the scrape itself
        log.warning("metrics: could not read the database: %s: %s", type(error).__name__, error)
        state = None
    return generate_latest(REGISTRY) + generate_latest(DatabaseGauges(state, scheduler_interval=scheduler_interval))
