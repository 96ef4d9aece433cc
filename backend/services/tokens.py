"""API tokens: random secrets shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import InvalidInput
from backend.models import ROLES, ApiToken, Employee
from backend.services.records import get_or_not_found
from backend.workflows.actors import Actor

TOKEN_PREFIX = "viza_"


def hash_token(secret: str) -> str:
    # The secret has 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(session: AsyncSession, *, name: str, role: str, employee_id: int | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never stored."""
    if role not in ROLES:
        raise InvalidInput("token.role", field="role", allowed=", ".join(ROLES))
    if not name.strip():
        raise InvalidInput("field.required", field="name")
    if employee_id is not None and await session.get(Employee, employee_id) is None:
        raise InvalidInput("reference.unknown", field="employee_id", id=employee_id)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name.strip(), role=role, employee_id=employee_id, token_hash=hash_token(secret))
    session.add(token)
    await session.flush()
    return token, secret


async def revoke_token(session: AsyncSession, token_id: int) -> ApiToken:
    token = await get_or_not_found(session, ApiToken, token_id, "token.not_found")
    token.revoked_at = token.revoked_at or utcnow()
    return token


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list(await session.scalars(select(ApiToken).order_by(ApiToken.id)))


def token_view(token: ApiToken) -> dict[str, Any]:
    """Everything about a token except its secret and hash."""
    return {"id": token.id, "name": token.name, "role": token.role, "employee_id": token.employee_id,
            "created_at": token.created_at, "revoked_at": token.revoked_at, "active": token.revoked_at is None}


async def actor_for_token(session: AsyncSession, secret: str) -> Actor | None:
    """The actor a bearer secret stands for, or None for an unknown or revoked token."""
    token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    return await actor_of_token(session, token)


async def actor_of_token(session: AsyncSession, token: ApiToken | None) -> Actor | None:
    """Who acts by a token now: None when it is revoked, or its employee is gone or deactivated."""
    if token is None or token.revoked_at is not None:
        return None
    roles = {token.role}
    label = token.name
    language, timezone = "ru", "Europe/Moscow"
    if token.employee_id is not None:
        employee = await session.get(Employee, token.employee_id)
        if employee is None or not employee.active:
            return None
        roles |= set(employee.roles or [])
        label, language, timezone = employee.full_name, employee.language, employee.timezone
    return Actor(employee_id=token.employee_id, roles=frozenset(roles), label=label,
                 language=language, timezone=timezone)


async def actor_for_employee(session: AsyncSession, employee_id: int) -> Actor:
    return actor_of(await get_or_not_found(session, Employee, employee_id, "employee.not_found"))


def actor_of(employee: Employee) -> Actor:
    """The employee as the core sees them acting (through the bot, or a token bound to them)."""
    return Actor(employee_id=employee.id, roles=frozenset(employee.roles or []), label=employee.full_name,
                 language=employee.language, timezone=employee.timezone)
