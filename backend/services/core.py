"""What a front door needs to run a use case: the database and who is calling.

The API routes and the bot handlers both hold a ``Core`` and do all their work through it,
so each use case runs in one transaction (retried on a lost race) whichever door it came by.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.services.transactions import in_transaction
from backend.workflows.actors import Actor

T = TypeVar("T")
R = TypeVar("R")


class Core:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await in_transaction(self.db, work)

    async def call(self, use_case: Callable[..., Awaitable[Any]], /, *args: Any,
                   view: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
        """Run ``use_case(session, *args, **kwargs)`` in one transaction; ``view`` shapes the result inside it.

        The view runs before the commit, while the session is open, because views may touch
        lazily loaded attributes.
        """
        async def work(session: AsyncSession) -> Any:
            result = await use_case(session, *args, **kwargs)
            return result if view is None else view(result)

        return await self.run(work)


def many(view: Callable[[T], R]) -> Callable[[Iterable[T]], list[R]]:
    """Turn a view of one row into a view of a list of rows."""
    return lambda rows: [view(row) for row in rows]
