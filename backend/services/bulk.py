"""Actions on many requests at once (an accountant's selection): each in its own transaction,
so one that cannot be done (paid meanwhile, not approved) leaves the others done and is named."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.db import Database
from backend.errors import DomainError
from backend.models import PaymentRequest
from backend.services import payment_requests
from backend.services.core import Core
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import Action

MAX_SELECTION = 500


@dataclass
class BulkResult:
    request_id: int
    number: str | None
    error: DomainError | None


async def mark_paid_each(db: Database, actor: Actor, ids: list[int], paid_on: date | None) -> list[BulkResult]:
    core = Core(db, actor)
    results: list[BulkResult] = []
    for request_id in list(dict.fromkeys(ids))[:MAX_SELECTION]:
        try:
            number = await core.call(payment_requests.act, actor, request_id, Action.MARK_PAID,
                                     view=lambda outcome: outcome.request.number,
                                     **({"paid_on": paid_on} if paid_on else {}))
            results.append(BulkResult(request_id, number, None))
        except DomainError as error:
            # A request one may not see stays unnamed, as everywhere.
            number = None if error.kind == "not_found" else await core.run(lambda s, rid=request_id: _number(s, rid))
            results.append(BulkResult(request_id, number, error))
    return results


async def _number(session, request_id: int) -> str | None:
    request = await session.get(PaymentRequest, request_id)
    return request.number if request is not None else None
