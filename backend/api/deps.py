"""Request-scoped dependencies: the database, the calling actor, the language."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.db import Database
from backend.errors import DomainError, Forbidden
from backend.i18n import pick_language
from backend.settings import Settings
from backend.services.tokens import actor_for_token
from backend.services.core import Core, many  # noqa: F401  (routes import many from here)
from backend.workflows.actors import Actor

bearer = HTTPBearer(auto_error=False, description="A token made by `viza token create`")


class Unauthorized(DomainError):
    kind = "unauthorized"


def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_actor(
    request: Request,
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
    request.state.language = actor.language  # errors speak it too
    return actor


async def get_admin(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    if not actor.is_admin:
        raise Forbidden("forbidden.admin_only")
    return actor


async def get_core(db: Annotated[Database, Depends(get_db)], actor: Annotated[Actor, Depends(get_actor)]) -> Core:
    return Core(db, actor)


async def get_admin_core(db: Annotated[Database, Depends(get_db)], actor: Annotated[Actor, Depends(get_admin)]) -> Core:
    return Core(db, actor)


CoreDep = Annotated[Core, Depends(get_core)]
AdminDep = Annotated[Core, Depends(get_admin_core)]


def get_app_settings(request: Request):
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
