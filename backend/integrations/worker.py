"""The worker that carries out one external system's outbox rows (``bitrix24``, ``onec``).

Rows of one entity (``ordering_key``: a request, a deal, a contractor) go strictly in order: a
row backing off holds the later ones back, so an update never overtakes the create it needs.

Failures are told apart by whom they are about:

* **The system** is unavailable (no connection, 5xx, the portal's limits, the webhook revoked):
  nothing is counted against the rows — they wait, and the worker pauses, backing off up to
  five minutes, then tries one batch again. An outage of hours loses nothing, and the rows go
  in order once it is back. Admins see the reason on the pending rows and, for access trouble,
  get a notice once a day.
* **The row** was refused (a field the other side does not accept): ``failed`` at once with the
  other side's words, for admins to read and retry once fixed (``/api/v1/outbox``).
* Anything else — a bug, a lost database connection — is retried with backoff, then ``failed``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database, utcnow
from backend.observability.metrics import SYNC_FAILURES
from backend.outbox import Claimed, OutboxQueue
from backend.outbox_worker import OutboxWorker
from backend.services.transactions import in_transaction

log = logging.getLogger("viza.sync")

SYNC_MAX_ATTEMPTS = 24  # row-level trouble: about 20 hours of hourly retries before "failed"
MAX_PAUSE = 300.0


class Unavailable(Exception):
    """The other system as a whole cannot take work now; ``access`` when an admin must act."""

    def __init__(self, message: str, *, access: bool = False) -> None:
        super().__init__(message)
        self.access = access


class Refused(Exception):
    """The other system refused this row; trying again as it is will not help."""


@dataclass
class Done:
    note: str = ""
    status: str = "sent"  # sent | skipped


class RowContext:
    """What a row handler works with: the row, its saved progress, and the database."""

    def __init__(self, worker: SyncWorker, row: Claimed, runner: Runner) -> None:
        self.worker = worker
        self.row = row
        self.runner = runner  # the Bitrix24 side sends its commands through it (a shared batch)
        self.payload = row.payload
        self.progress: dict[str, Any] = dict(row.progress)

    async def save(self, **progress: Any) -> None:
        """Remember what this row has done, so a retry does not do it again."""
        self.progress.update(progress)
        await self.worker.queue.save_progress(self.row.id, self.progress)

    async def read(self, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with self.worker.db.session() as session:
            return await work(session)

    async def write(self, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        return await in_transaction(self.worker.db, work)


RowHandler = Callable[[RowContext], Awaitable[Done | None]]


class Runner(Protocol):
    async def run(self, handlers: Sequence[Awaitable[Any]]) -> list[Any]:
        """Run a pass's row handlers to the end; their results or exceptions, in order."""


class OneByOne:
    """Handlers in turn; once the system is found unavailable the rest are not started."""

    async def run(self, handlers: Sequence[Awaitable[Any]]) -> list[Any]:
        results: list[Any] = []
        for handler in handlers:
            if results and isinstance(results[-1], Unavailable):
                handler.close()  # type: ignore[attr-defined] — a coroutine never started
                results.append(results[-1])
                continue
            try:
                results.append(await handler)
            except Exception as error:  # noqa: BLE001 — settled by the worker per row
                results.append(error)
        return results


class SyncWorker(OutboxWorker):
    def __init__(self, db: Database, topic: str, handle: Callable[[RowContext], Awaitable[Done | None]], *,
                 instance: str, runner: Callable[[], Runner] = OneByOne, batch: int = 50,
                 poll: float = 5.0, on_access_error: Callable[[str], Awaitable[None]] | None = None) -> None:
        super().__init__([topic], poll=poll)
        self.name = f"{topic} sync"
        self.db = db
        self.topic = topic
        self.handle = handle
        self.batch = batch
        self.make_runner = runner
        self.on_access_error = on_access_error
        self.queue = OutboxQueue(db, [topic], worker=f"{topic}-{instance}", lease=timedelta(minutes=10),
                                        max_attempts=SYNC_MAX_ATTEMPTS, strict_order=True)
        self.paused_until: datetime | None = None
        self._outage = 0  # consecutive passes the system was unavailable

    async def started(self) -> None:
        await self.queue.reclaim_own()

    def wait_seconds(self, handled: int) -> float | None:
        if self.paused_until is not None:
            return max(0.0, (self.paused_until - utcnow()).total_seconds())
        return None if handled else self.poll

    async def run_due(self) -> int:
        """One pass: claim due rows and carry them out; how many were settled."""
        if self.paused_until is not None and utcnow() < self.paused_until:
            return 0
        rows = await self.queue.claim(self.batch)
        if not rows:
            return 0
        runner = self.make_runner()
        contexts = [RowContext(self, row, runner) for row in rows]
        results = await runner.run([self.handle(c) for c in contexts])
        unavailable = next((r for r in results if isinstance(r, Unavailable)), None)
        if unavailable is not None:
            await self._pause(unavailable)
        else:
            self._outage = 0
            self.paused_until = None
        for context, result in zip(contexts, results, strict=True):
            await self._settle(context.row, result)
        return len(rows)

    async def _settle(self, row: Claimed, result: Any) -> None:
        if isinstance(result, Done) or result is None:
            result = result or Done()
            await self.queue.done(row.id, status=result.status, note=result.note)
        elif isinstance(result, Unavailable):  # not the row's fault: no attempt is counted
            await self.queue.defer(row.id, self.paused_until or utcnow(), str(result)[:1000])
        elif isinstance(result, Refused):
            log.warning("%s row %s refused: %s", self.topic, row.id, result)
            SYNC_FAILURES.labels(self.topic).inc()
            await self.queue.fail(row.id, str(result), attempts=row.attempts)
        else:
            log.warning("%s row %s: %s: %s", self.topic, row.id, type(result).__name__, result,
                        exc_info=result if not isinstance(result, (ConnectionError, TimeoutError)) else None)
            SYNC_FAILURES.labels(self.topic).inc()
            await self.queue.retry(row.id, f"{type(result).__name__}: {result}", attempts=row.attempts)

    async def _pause(self, error: Unavailable) -> None:
        self._outage += 1
        pause = min(MAX_PAUSE, 2.0 ** self._outage) * (0.75 + random.random() / 2)
        self.paused_until = utcnow() + timedelta(seconds=pause)
        log.warning("%s unavailable (%s); pausing %.0f s", self.topic, error, pause)
        if error.access and self.on_access_error is not None:
            try:
                await self.on_access_error(str(error))
            except Exception:  # noqa: BLE001 — telling admins must not stop the sync
                log.exception("could not tell admins about %s access trouble", self.topic)
