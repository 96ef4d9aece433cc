"""Running one use case in one transaction, retried when a concurrent writer got there first."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from backend.db import Database
from backend.errors import Conflict

T = TypeVar("T")
log = logging.getLogger(__name__)


def _is_retryable(exc: Exception) -> bool:
    if isinstance(exc, StaleDataError):
        return True
    if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError):
        text = str(exc.orig).lower()
        # SQLite: a writer raced us; PostgreSQL: serialization failure or deadlock.
        return "database is locked" in text or "could not serialize" in text or "deadlock" in text
    return False


async def in_transaction(db: Database, work: Callable[[AsyncSession], Awaitable[T]], *, attempts: int = 4) -> T:
    """Run ``work`` in a fresh session and commit; roll back on any error.

    When another transaction changed the same request first (optimistic lock), the whole
    use case runs again on fresh data, so the loser gets a meaningful answer ("already
    decided") instead of a lost update.
    """
    for attempt in range(1, attempts + 1):
        async with db.one_writer(), db.sessions() as session:
            try:
                result = await work(session)
                await session.commit()
                return result
            except Exception as exc:
                await session.rollback()
                if not _is_retryable(exc):
                    raise
                log.info("concurrent change, retrying (attempt %s): %s", attempt, exc)
    raise Conflict("request.concurrent_change")
