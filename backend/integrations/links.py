"""Reading and writing ``external_links``: which record of another system stands for ours."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.models import ExternalLink


async def find_link(session: AsyncSession, system: str, kind: str, local_key: str) -> ExternalLink | None:
    return await session.scalar(select(ExternalLink).where(
        ExternalLink.system == system, ExternalLink.kind == kind, ExternalLink.local_key == local_key))


async def save_link(session: AsyncSession, system: str, kind: str, local_key: str, external_id: str,
                    **data: Any) -> None:
    """Remember the twin (an upsert: two workers that found the same twin agree)."""
    now = utcnow()
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = insert(ExternalLink).values(system=system, kind=kind, local_key=local_key, external_id=external_id,
                                            data=data, created_at=now, updated_at=now)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["system", "kind", "local_key"],
        set_={"external_id": statement.excluded.external_id, "data": statement.excluded.data, "updated_at": now}))


async def forget_link(session: AsyncSession, system: str, kind: str, local_key: str) -> None:
    await session.execute(delete(ExternalLink).where(
        ExternalLink.system == system, ExternalLink.kind == kind, ExternalLink.local_key == local_key))
