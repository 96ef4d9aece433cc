"""Replicas claiming outbox rows at the same moment: every row to exactly one, order kept."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from backend.models import OutboxMessage
from backend.outbox import OutboxQueue, enqueue


async def queue_rows(db, count: int, *, ordering: int | None = None) -> None:
    async with db.session() as session:
        for index in range(count):
            key = None if ordering is None else f"chat:{index % ordering}"
            await enqueue(session, "notify", f"row:{index}", {"n": index}, ordering_key=key)
        await session.commit()


async def test_replicas_claiming_at_once_take_each_row_once(db):
    await queue_rows(db, 60)
    replicas = [OutboxQueue(db, ["notify"], worker=f"tg-replica-{i}") for i in range(3)]
    batches = await asyncio.gather(*(q.claim(10) for q in replicas for _ in range(3)))
    claimed = [row.id for batch in batches for row in batch]
    assert len(claimed) == len(set(claimed))  # no row claimed twice
    async with db.session() as session:
        owners = dict((await session.execute(select(OutboxMessage.id, OutboxMessage.claimed_by))).all())
    assert {owners[i] for i in claimed} <= {q.worker for q in replicas}
    assert sum(1 for owner in owners.values() if owner) == len(claimed)
    if db.dialect == "postgresql":  # SKIP LOCKED: nobody came back empty-handed while rows were free
        assert len(claimed) == 60


async def test_rows_of_one_chat_go_one_at_a_time_whichever_replica_claims(db):
    await queue_rows(db, 12, ordering=3)  # three chats, four notices each
    first, second = (OutboxQueue(db, ["notify"], worker=f"tg-{name}") for name in ("a", "b"))
    sent: list[int] = []
    for _ in range(4):
        batches = await asyncio.gather(first.claim(10), second.claim(10))
        rows = [row for batch in batches for row in batch]
        assert len({row.payload["n"] % 3 for row in rows}) == len(rows)  # one per chat at a time
        for row in rows:
            sent.append(row.payload["n"])
            await (first if row in batches[0] else second).done(row.id)
    for chat in range(3):
        assert [n for n in sent if n % 3 == chat] == [chat, chat + 3, chat + 6, chat + 9]


async def test_a_dead_replicas_rows_are_taken_over_after_its_lease(db):
    await queue_rows(db, 5)
    dead = OutboxQueue(db, ["notify"], worker="tg-dead", lease=timedelta(seconds=1))
    alive = OutboxQueue(db, ["notify"], worker="tg-alive")
    assert len(await dead.claim(10)) == 5
    assert await alive.claim(10) == []
    await asyncio.sleep(1.2)
    assert len(await alive.claim(10)) == 5
