"""Stage gates on deals (seed 000): some stages may only be entered once a condition holds.

``VIZA_BITRIX24_STAGE_GATES`` maps a deal stage id to a condition. When a deal arrives in a
gated stage and its condition does not hold, the sync moves it back to the stage it came from
and tells its manager and the accountants why.

* ``closing_confirmed`` — the final control point: an accountant has confirmed the closing
  documents and the full payment of the deal (``confirm_closing``).
* ``contract_approved`` — the deal has an approved contract. Contract approvals are the next
  capability (issue 6); until they exist no deal has one, so this gate must stay unconfigured.
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


async def closing_confirmed(session: AsyncSession, deal_id: str) -> str | None:
    deal = await session.get(Bitrix24Deal, deal_id)
    return None if deal is not None and deal.closing_confirmed_at is not None else "gate.closing_not_confirmed"


async def contract_approved(session: AsyncSession, deal_id: str) -> str | None:
    return "gate.no_approved_contract"


CONDITIONS: dict[str, Condition] = {"closing_confirmed": closing_confirmed, "contract_approved": contract_approved}


async def deal_state(session: AsyncSession, deal_id: str) -> Bitrix24Deal:
    deal = await session.get(Bitrix24Deal, deal_id)
    if deal is None:
        deal = Bitrix24Deal(deal_id=deal_id, stage_id="")
        session.add(deal)
        await session.flush()
    return deal


async def confirm_closing(session: AsyncSession, actor: Actor, deal_id: str, *, confirmed: bool = True) -> Bitrix24Deal:
    """The accountant's confirmation that the deal's closing documents are in and it is fully paid."""
    if not actor.has("accountant", "admin"):
        raise Forbidden("deal.closing_accountants_only")
    deal = await deal_state(session, deal_id)
    deal.closing_confirmed_at = utcnow() if confirmed else None
    deal.closing_confirmed_by_id = actor.employee_id if confirmed else None
    return deal
