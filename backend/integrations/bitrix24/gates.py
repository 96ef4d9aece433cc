"""Stage gates on deals (seed 000): some stages may only be entered once a condition holds.

``VIZA_BITRIX24_STAGE_GATES`` maps a deal stage id to a condition. When a deal arrives in a
gated stage and its condition does not hold, the sync moves it back to the stage it came from
and tells its manager and the accountants why.

The conditions are the accountant's confirmations of the deal (:func:`confirm`), given through
the API (and, once contract approvals exist, by approving the deal's contract):

* ``contract_approved`` — accounting has approved the deal's contract ("in work" needs it);
* ``closing_confirmed`` — the final control point: accounting has checked the closing
  documents and the full payment ("won" needs it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import Forbidden
from backend.models import Bitrix24Deal
from backend.workflows.actors import Actor

# A condition answers None when it holds, else the reason (a message key) it does not.
Condition = Callable[[AsyncSession, str], Awaitable[str | None]]
CONFIRMATIONS = {"contract": "contract_approved", "closing": "closing_confirmed"}


async def contract_approved(session: AsyncSession, deal_id: str) -> str | None:
    deal = await session.get(Bitrix24Deal, deal_id)
    return None if deal is not None and deal.contract_approved_at is not None else "gate.no_approved_contract"


async def closing_confirmed(session: AsyncSession, deal_id: str) -> str | None:
    deal = await session.get(Bitrix24Deal, deal_id)
    return None if deal is not None and deal.closing_confirmed_at is not None else "gate.closing_not_confirmed"


CONDITIONS: dict[str, Condition] = {"contract_approved": contract_approved, "closing_confirmed": closing_confirmed}


async def deal_state(session: AsyncSession, deal_id: str) -> Bitrix24Deal:
    deal = await session.get(Bitrix24Deal, deal_id)
    if deal is None:
        deal = Bitrix24Deal(deal_id=deal_id, stage_id="")
        session.add(deal)
        await session.flush()
    return deal


async def confirm(session: AsyncSession, actor: Actor, deal_id: str, what: str, *, confirmed: bool = True) -> Bitrix24Deal:
    """An accountant confirms (or withdraws) the deal's contract approval or its closing."""
    if not actor.has("accountant", "admin"):
        raise Forbidden(f"deal.{what}_accountants_only")
    deal = await deal_state(session, deal_id)
    at, by = f"{CONFIRMATIONS[what]}_at", f"{CONFIRMATIONS[what]}_by_id"
    setattr(deal, at, utcnow() if confirmed else None)
    setattr(deal, by, actor.employee_id if confirmed else None)
    return deal
