"""Human-readable request numbers per legal entity and year: МГ-26-00042."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import LegalEntity, NumberCounter


async def next_value(session: AsyncSession, legal_entity_id: int, year: int) -> int:
    """The next number of the sequence, taken by one atomic upsert, so concurrent
    transactions never get the same value and a rolled-back one leaves no trace."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(NumberCounter)
        .values(legal_entity_id=legal_entity_id, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[NumberCounter.legal_entity_id, NumberCounter.year],
            set_={"last_value": NumberCounter.last_value + 1},
        )
        .returning(NumberCounter.last_value)
    )
    return (await session.execute(statement)).scalar_one()


async def next_request_number(session: AsyncSession, legal_entity: LegalEntity, year: int) -> str:
    value = await next_value(session, legal_entity.id, year)
    return f"{legal_entity.short_code}-{year % 100:02d}-{value:05d}"


async def current_value(session: AsyncSession, legal_entity_id: int, year: int) -> int:
    return await session.scalar(
        select(NumberCounter.last_value).where(
            NumberCounter.legal_entity_id == legal_entity_id, NumberCounter.year == year)
    ) or 0
