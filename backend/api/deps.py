"""Request-scoped dependencies: the database, the calling actor, the language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.errors import DomainError, Forbidden
from backend.i18n import pick_language
from backend.settings import Settings
from backend.services.tokens import actor_for_token
from backend.services.transactions import in_transaction
from backend.workflows.actors import Actor

T = TypeVar("T")
R = TypeVar("R")
bearer = HTTPBearer(auto_error=False, description="A token made by `viza token create`")


class Unauthorized(DomainError):
    kind = "unauthorized"


def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_actor(
    db: Annotated[Database, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    accept_language: Annotated[str | None, Header()] = None,
) -> Actor:
    if credentials is None:
        raise Unauthorized("auth.missing")
    async with db.session() as session:
        actor = await actor_for_token(session, credentials.credentials)
    if actor is None:
        raise Unauthorized("auth.invalid")
    if accept_language:  # the caller's explicit wish beats the employee's saved language
        actor = replace(actor, language=pick_language(accept_language))
    return actor


async def get_admin(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    if not actor.is_admin:
        raise Forbidden("forbidden.admin_only")
    return actor


class Core:
    """What a route needs to run a use case: the database and who is calling."""

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


async def get_core(db: Annotated[Database, Depends(get_db)], actor: Annotated[Actor, Depends(get_actor)]) -> Core:
    return Core(db, actor)


async def get_admin_core(db: Annotated[Database, Depends(get_db)], actor: Annotated[Actor, Depends(get_admin)]) -> Core:
    return Core(db, actor)


CoreDep = Annotated[Core, Depends(get_core)]
AdminDep = Annotated[Core, Depends(get_admin_core)]


def get_app_settings(request: Request):
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
