"""The scheduler: every job in its own transaction, errors contained, once-only after a downtime,
and APScheduler really ticking."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from backend.models import OutboxMessage
from backend.notifications import queue_notice
from backend.notifications.jobs import JOBS
from backend.notifications.scheduler import NotificationScheduler
from tests.factories import setup_company
from tests.notifications.test_jobs import approved, msk, pending, set_person

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def keys(db) -> set[str]:
    async with db.session() as session:
        return set(await session.scalars(select(OutboxMessage.dedup_key)))


async def test_each_job_has_its_own_transaction_and_a_failure_stops_no_other(db, settings, caplog):
    scheduler = NotificationScheduler(db, settings)

    async def broken(session, now, settings):
        await queue_notice(session, 1, "test", dedup_key="broken")
        raise RuntimeError("boom")

    async def working(session, now, settings):
        return int(await queue_notice(session, 1, "test", dedup_key=f"working:{now.isoformat()}"))

    scheduler.register("broken", broken)
    scheduler.register("working", working)
    with caplog.at_level(logging.ERROR, logger="viza.scheduler"):
        done = await scheduler.run_once(NOW)
    assert done == {**{name: 0 for name in JOBS}, "working": 1}
    assert await keys(db) == {f"working:{NOW.isoformat()}"}  # the broken job's row was rolled back
    assert "broken" in caplog.text and "boom" in caplog.text


async def test_run_once_asks_the_clock_for_now(db, settings):
    seen: list[datetime] = []

    async def record(session, now, settings):
        seen.append(now)
        return 0

    scheduler = NotificationScheduler(db, settings, clock=lambda: NOW)
    scheduler.jobs = {"record": record}
    await scheduler.run_once()
    await scheduler.run_once(NOW + timedelta(hours=1))
    assert seen == [NOW, NOW + timedelta(hours=1)]


async def test_after_a_downtime_what_fell_due_is_queued_once(db, settings):
    company = await setup_company(db)
    for n, who in enumerate(("north_head", "accountant"), start=1):
        await set_person(db, company, who, telegram_user_id=2000 + n)
    await pending(db, company, started=msk(2, 12))  # reminder due Tuesday 11:00, escalation Wednesday 10:00
    await approved(db, company, date(2026, 3, 4))  # next working day Tuesday, due Wednesday, overdue Thursday
    scheduler = NotificationScheduler(db, settings)

    # The service was down from Monday morning until Thursday 11:00.
    back = msk(5, 11)
    assert await scheduler.run_once(back) == {
        "sla_reminders": 1, "escalations": 2, "pay_reminders": 2, "digests": 2, "purge_outbox": 0}
    queued = await keys(db)
    moment = back
    while moment < msk(5, 18):  # the rest of the day, and the same minute once more
        assert set((await scheduler.run_once(moment)).values()) == {0}, moment
        moment += timedelta(minutes=7)
    assert await keys(db) == queued
    # The day's pay reminders are Thursday's only: nothing for the days missed.
    assert {k for k in queued if k.startswith("pay_")} == {
        f"pay_overdue:{company.people[who].id}:2026-03-05" for who in ("accountant", "accountant2")}


async def test_apscheduler_runs_the_jobs_at_start_and_then_on_its_interval(db, settings):
    calls: list[float] = []
    two = asyncio.Event()

    async def record(session, now, settings):
        calls.append(asyncio.get_running_loop().time())
        if len(calls) >= 2:
            two.set()
        return 0

    scheduler = NotificationScheduler(db, settings.model_copy(update={"scheduler_interval_seconds": 1}))
    scheduler.jobs = {"record": record}
    started = asyncio.get_running_loop().time()
    scheduler.start()
    try:
        await asyncio.wait_for(two.wait(), timeout=10)
    finally:
        await scheduler.stop()
    assert calls[0] - started < 0.9  # right at start, not after the first interval
    assert 0.5 < calls[1] - calls[0] < 5
    after_stop = len(calls)
    await asyncio.sleep(1.5)
    assert len(calls) == after_stop


async def test_stop_lets_a_run_in_progress_finish(db, settings):
    entered, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow(session, now, settings):
        entered.set()
        await release.wait()
        await queue_notice(session, 1, "test", dedup_key="slow")
        finished.set()
        return 1

    scheduler = NotificationScheduler(db, settings)
    scheduler.jobs = {"slow": slow}
    scheduler.start()
    await asyncio.wait_for(entered.wait(), timeout=10)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, timeout=10)
    assert finished.is_set() and await keys(db) == {"slow"}
