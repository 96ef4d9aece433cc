"""Each tick of a scheduled loop runs on one replica.

Every replica ticks on its own clock; a tick first claims the loop's row in ``scheduler_runs``
with a compare-and-set on the tick it is due for (``last_due_at``), so of the replicas that wake
for one tick exactly one wins and the others skip it. The winner holds a lease while it runs;
if it dies, the next tick after the lease runs elsewhere. The jobs' outbox dedup keys would make
a doubled tick harmless anyway — the lease saves the second replica the work, and gives the
job lag metric one clock to read (the tick's due time against when it started).

Why not APScheduler with a shared job store: APScheduler 3 says a job store must not be shared
by several schedulers (they would run the same job), and its SQL store is synchronous; this is
one row and one conditional UPDATE, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from backend.db import Database
from backend.models import SchedulerRun


@dataclass(frozen=True)
class Tick:
    name: str
    due_at: datetime
    started_at: datetime


async def claim_tick(db: Database, name: str, holder: str, now: datetime, interval: timedelta,
                     lease: timedelta) -> Tick | None:
    """The tick due now, if no other replica has run or is running it; else None."""
    async with db.one_writer(), db.session() as session:
        insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
        await session.execute(insert(SchedulerRun).values(name=name).on_conflict_do_nothing(index_elements=["name"]))
        row = (await session.execute(select(SchedulerRun.last_due_at, SchedulerRun.lease_until)
                                     .where(SchedulerRun.name == name))).one()
        if row.lease_until is not None and row.lease_until > now:
            await session.commit()
            return None
        if row.last_due_at is None:
            due = now
        else:
            due = row.last_due_at + interval
            # A timer may fire a little before the tick is due; within half an interval it is this
            # tick. Earlier than that, this tick ran already, here or on another replica.
            if due - now >= interval / 2:
                await session.commit()
                return None
            if now - due >= interval:  # ticks were missed (everything was down): one now, not a burst
                due = now
        won = await session.execute(
            update(SchedulerRun)
            .where(SchedulerRun.name == name, SchedulerRun.last_due_at.is_not_distinct_from(row.last_due_at),
                   or_(SchedulerRun.lease_until.is_(None), SchedulerRun.lease_until <= now))
            .values(holder=holder, lease_until=now + lease, last_due_at=due, last_started_at=now))
        await session.commit()
        return Tick(name, due, now) if won.rowcount else None


async def finish_tick(db: Database, tick: Tick, holder: str, now: datetime) -> None:
    async with db.one_writer(), db.session() as session:
        await session.execute(update(SchedulerRun)
                              .where(SchedulerRun.name == tick.name, SchedulerRun.holder == holder)
                              .values(lease_until=None, last_finished_at=now))
        await session.commit()
