"""The USN income limit (seed 002): a legal entity on the simplified regime may not issue an
invoice that would take the year's income past its limit.

The year's income counts what was received outside Viza (``LegalEntity.usn_income_outside``, kept
by accounting, e.g. from 1C) plus every invoice issued here that year and not cancelled. Counting
invoices when they are issued, not when they are paid, stops a company before the money arrives —
when stopping still helps.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import InvalidInput
from backend.models import LegalEntity, OutgoingInvoice
from backend.money import format_money
from backend.settings import Settings


def on_usn(legal_entity: LegalEntity) -> bool:
    return (legal_entity.tax_regime or "").startswith("usn")


async def issued_income(session: AsyncSession, legal_entity_id: int, year: int) -> int:
    return int(await session.scalar(select(func.coalesce(func.sum(OutgoingInvoice.amount_due), 0)).where(
        OutgoingInvoice.legal_entity_id == legal_entity_id, OutgoingInvoice.year == year,
        OutgoingInvoice.status == "issued")) or 0)


async def usn_position(session: AsyncSession, settings: Settings, legal_entity: LegalEntity, year: int) -> dict[str, Any]:
    """Where the entity stands against its limit this year (all sums in kopecks)."""
    outside = int((legal_entity.usn_income_outside or {}).get(str(year), 0))
    issued = await issued_income(session, legal_entity.id, year)
    limit = settings.usn_income_limit(year, legal_entity.usn_income_limit) if on_usn(legal_entity) else None
    income = outside + issued
    return {"legal_entity_id": legal_entity.id, "year": year, "tax_regime": legal_entity.tax_regime,
            "income_outside": outside, "issued": issued, "income": income, "limit": limit,
            "remaining": None if limit is None else limit - income}


async def check_usn_limit(session: AsyncSession, settings: Settings, legal_entity: LegalEntity, year: int,
                          amount: int) -> None:
    """Refuse the invoice, with the numbers, when it would pass the limit."""
    position = await usn_position(session, settings, legal_entity, year)
    limit = position["limit"]
    if limit is None or position["income"] + amount <= limit:
        return
    raise InvalidInput(
        "usn.limit_exceeded", field="lines", entity=legal_entity.name, year=year,
        limit=format_money(limit, "RUB"), income=format_money(position["income"], "RUB"),
        amount=format_money(amount, "RUB"), over=format_money(position["income"] + amount - limit, "RUB"))
