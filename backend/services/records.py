"""Loading one record by id, with the not-found error every use case answers alike."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import NotFound

M = TypeVar("M")


async def get_or_not_found(session: AsyncSession, model: type[M], record_id: int, code: str) -> M:
    """The record, or ``NotFound(code)`` naming the id that was asked for."""
    record = await session.get(model, record_id)
    if record is None:
        raise NotFound(code, id=record_id)
    return record
