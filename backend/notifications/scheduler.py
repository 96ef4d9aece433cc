"""Running the scheduled jobs: APScheduler 3 calls ``run_once`` every
``scheduler_interval_seconds``, and once right at start, so what fell due while the service was
down is done once when it is back. Each job runs in its own transaction; one that fails is
logged and the others go on.

Several replicas each tick, and each tick runs on one of them (``ticks.py``: a lease on the
loop's row); the jobs' dedup keys would make a second run of any notice a no-op anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from backend.db import Database, utcnow
from backend.notifications.jobs import JOBS, Job
from backend.notifications.ticks import claim_tick, finish_tick
from backend.services.transactions import in_transaction
from backend.settings import Settings

log = logging.getLogger("viza.scheduler")
LOOP = "notifications"  # the loop's row in scheduler_runs
# APScheduler logs every run at INFO ("Running job…", once a minute); our own log says what a run did.
logging.getLogger("apscheduler").setLevel(logging.WARNING)


class NotificationScheduler:
    def __init__(self, db: Database, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.jobs: dict[str, Job] = dict(JOBS)
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._running = asyncio.Lock()  # one run at a time in this process

    def register(self, name: str, job: Job, *, first: bool = False) -> None:
        """Add a job (``async def job(session, now, settings) -> int``); a name already taken is
        replaced. ``first`` runs it before the others on each tick."""
        self.jobs.pop(name, None)
        self.jobs = {name: job, **self.jobs} if first else {**self.jobs, name: job}

    def start(self) -> None:
        """Start ticking; call from inside the running event loop."""
        interval = self.settings.scheduler_interval_seconds
        self._scheduler.add_job(
            self.tick, IntervalTrigger(seconds=interval, timezone=UTC), id=LOOP,
            next_run_time=datetime.now(UTC), coalesce=True, max_instances=1, misfire_grace_time=interval,
            replace_existing=True,
        )
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop ticking, letting a run in progress finish its transactions."""
        if not self._scheduler.running:
            return
        self._scheduler.pause()
        async with self._running:
            self._scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn

    async def tick(self) -> dict[str, int] | None:
        """One tick of the loop: run the jobs if no other replica runs this tick; None if one does."""
        interval = timedelta(seconds=self.settings.scheduler_interval_seconds)
        lease = max(2 * interval, timedelta(minutes=2))
        holder = self.settings.instance_name
        try:
            tick = await claim_tick(self.db, LOOP, holder, self.clock(), interval, lease)
        except Exception:  # noqa: BLE001 — the database is away: the next tick tries again
            log.exception("could not claim the scheduler's tick")
            return None
        if tick is None:
            return None
        try:
            return await self.run_once(tick.started_at)
        finally:
            try:
                await finish_tick(self.db, tick, holder, self.clock())
            except Exception:  # noqa: BLE001 — the lease runs out by itself
                log.exception("could not record the end of the scheduler's tick")

    async def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """Run every registered job at ``now`` (the clock's time by default); returns what each
        queued, leaving out the jobs that failed."""
        now = now or self.clock()
        done: dict[str, int] = {}
        async with self._running:
            for name, job in list(self.jobs.items()):
                try:
                    done[name] = await in_transaction(
                        self.db, lambda session, job=job: job(session, now, self.settings))
                except Exception:  # noqa: BLE001 — one broken job must not stop the others
                    log.exception("scheduled job %s failed at %s", name, now.isoformat())
                    continue
                if done[name]:
                    log.info("scheduled job %s: %s", name, done[name])
        return done
