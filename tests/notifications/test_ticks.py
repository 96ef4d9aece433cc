"""Each scheduler tick runs on one replica: two schedulers on one database, one clock we move."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.models import SchedulerRun
from backend.notifications.scheduler import NotificationScheduler
from backend.observability.metrics import scheduler_lag

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def replicas(db, settings, clock, runs: list[str], *, count: int = 2, interval: int = 60):
    made = []
    for index in range(count):
        name = f"replica-{index + 1}"

        async def record(session, now, settings, name=name):
            runs.append(name)
            return 0

        scheduler = NotificationScheduler(
            db, settings.model_copy(update={"instance_name": name, "scheduler_interval_seconds": interval}),
            clock=clock)
        scheduler.jobs = {"record": record}
        made.append(scheduler)
    return made


async def test_replicas_waking_for_the_same_tick_run_it_once(db, settings):
    clock, runs = Clock(), []
    first, second = replicas(db, settings, clock, runs)
    results = await asyncio.gather(first.tick(), second.tick())
    assert len(runs) == 1 and sorted(r is None for r in results) == [False, True]
    clock.now += timedelta(seconds=20)  # the other replica's timer, a third of an interval later
    assert await second.tick() is None and await first.tick() is None and len(runs) == 1
    clock.now = T0 + timedelta(seconds=60)
    await asyncio.gather(first.tick(), second.tick())
    assert len(runs) == 2  # the next tick, once


async def test_a_timer_firing_a_little_early_still_runs_its_tick(db, settings):
    clock, runs = Clock(), []
    (only,) = replicas(db, settings, clock, runs, count=1)
    await only.tick()
    clock.now = T0 + timedelta(seconds=59, milliseconds=990)
    await only.tick()
    assert len(runs) == 2
    async with db.session() as session:  # it started a little before it was due: no lag, not a stuck loop
        row = await session.get(SchedulerRun, "notifications")
        assert scheduler_lag(row, clock.now + timedelta(seconds=20), 60) == 0.0


async def test_a_replica_that_died_mid_tick_holds_the_loop_only_for_its_lease(db, settings):
    clock, runs = Clock(), []
    first, second = replicas(db, settings, clock, runs)
    async with db.session() as session:  # replica 1 claimed a tick and died before finishing it
        session.add(SchedulerRun(name="notifications", holder="replica-1", lease_until=T0 + timedelta(minutes=2),
                                 last_due_at=T0, last_started_at=T0))
        await session.commit()
    clock.now = T0 + timedelta(seconds=61)
    assert await second.tick() is None and runs == []
    clock.now = T0 + timedelta(minutes=2, seconds=1)
    await second.tick()
    assert runs == ["replica-2"]
    async with db.session() as session:
        row = await session.get(SchedulerRun, "notifications")
        assert row.holder == "replica-2" and row.lease_until is None and row.last_finished_at == clock.now


async def test_after_a_downtime_the_missed_ticks_run_once_and_lag_is_recorded(db, settings):
    clock, runs = Clock(), []
    first, second = replicas(db, settings, clock, runs)
    await first.tick()
    clock.now = T0 + timedelta(hours=3)  # everything was down for three hours
    await first.tick()
    await second.tick()
    assert len(runs) == 2
    async with db.session() as session:
        row = (await session.scalars(select(SchedulerRun))).one()
        assert row.last_due_at == clock.now and row.last_started_at == clock.now
    clock.now += timedelta(seconds=75)  # the next tick started 15 s after it was due
    await second.tick()
    async with db.session() as session:
        row = await session.get(SchedulerRun, "notifications")
        assert row.last_started_at - row.last_due_at == timedelta(seconds=15)


async def test_replicas_out_of_phase_still_tick_once_an_interval(db, settings):
    """Two replicas whose timers fire half an interval apart: a tick every interval, not two."""
    clock, runs = Clock(), []
    first, second = replicas(db, settings, clock, runs)
    for step in range(8):  # four intervals of 60 s, a timer every 30 s, alternating replicas
        clock.now = T0 + timedelta(seconds=30 * step)
        await (first if step % 2 == 0 else second).tick()
    assert len(runs) == 4
