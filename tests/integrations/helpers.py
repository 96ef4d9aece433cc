"""Shared set-up of the integration tests: the company, requests at a status, the sync workers."""

from __future__ import annotations

from sqlalchemy import select, update

from backend.db import Database
from backend.models import OutboxMessage, PaymentRequest
from backend.services import payment_requests as service
from backend.services.transactions import in_transaction
from backend.workflows.lifecycle import Action
from tests.factories import Company, new_request


async def act(db: Database, company: Company, who: str, request_id: int, action: Action, **kw):
    return await in_transaction(db, lambda s: service.act(s, company.actor(who), request_id, action, **kw))


async def approved_request(db: Database, company: Company, **overrides) -> int:
    rid = await new_request(db, company, **overrides)
    await act(db, company, "manager", rid, Action.SUBMIT)
    await act(db, company, "north_head", rid, Action.APPROVE)
    await act(db, company, "cfo", rid, Action.APPROVE)
    return rid


async def rows(db: Database, topic: str, **payload) -> list[OutboxMessage]:
    async with db.session() as session:
        found = (await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)
                                       .order_by(OutboxMessage.id))).all()
    return [r for r in found if all(r.payload.get(k) == v for k, v in payload.items())]


async def request(db: Database, rid: int) -> PaymentRequest:
    async with db.session() as session:
        return await session.get(PaymentRequest, rid)


async def drain(worker, passes: int = 20) -> None:
    """Run passes until nothing is due. Time moves on between passes: the worker's pause after an
    outage is over, and rows backing off are due."""
    for _ in range(passes):
        worker.paused_until = None
        if not await worker.run_due():
            return
        await time_passes(worker.db)


async def time_passes(db: Database) -> None:
    async with db.session() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                              .values(next_attempt_at=OutboxMessage.created_at))
        await session.commit()
