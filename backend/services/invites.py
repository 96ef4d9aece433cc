"""Onboarding: an admin invites an employee; ``/start <code>`` binds their Telegram account.

The code is shown once and stored only as its hash, like API tokens. It is short-lived and
single-use, because whoever holds it becomes that employee in chat.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.models import Employee, Invite
from backend.services.records import get_or_not_found
from backend.workflows.actors import Actor

DEFAULT_TTL_HOURS = 72
MAX_TTL_HOURS = 24 * 30


def _hash(code: str) -> str:
    # 128 random bits: a fast hash is enough.
    return hashlib.sha256(code.encode()).hexdigest()


async def create_invite(session: AsyncSession, actor: Actor, employee_id: int, *,
                        ttl_hours: int = DEFAULT_TTL_HOURS) -> tuple[Invite, str]:
    """A new invite for an active employee; returns the row and the code (never stored)."""
    employee = await get_or_not_found(session, Employee, employee_id, "employee.not_found")
    if not employee.active:
        raise Conflict("invite.employee_inactive", field="employee_id", name=employee.full_name)
    if not 1 <= ttl_hours <= MAX_TTL_HOURS:
        raise InvalidInput("invite.ttl", field="ttl_hours", max=MAX_TTL_HOURS)
    code = secrets.token_urlsafe(16)  # [A-Za-z0-9_-]: what a t.me deep link allows (≤ 64)
    invite = Invite(employee_id=employee.id, code_hash=_hash(code), created_by_id=actor.employee_id,
                    expires_at=utcnow() + timedelta(hours=ttl_hours))
    session.add(invite)
    await session.flush()
    return invite, code


async def list_invites(session: AsyncSession, employee_id: int) -> list[Invite]:
    await get_or_not_found(session, Employee, employee_id, "employee.not_found")
    return list(await session.scalars(select(Invite).where(Invite.employee_id == employee_id).order_by(Invite.id)))


async def revoke_invite(session: AsyncSession, invite_id: int) -> Invite:
    invite = await get_or_not_found(session, Invite, invite_id, "invite.not_found")
    invite.revoked_at = invite.revoked_at or utcnow()
    return invite


def invite_state(invite: Invite) -> str:
    if invite.used_at is not None:
        return "used"
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= utcnow():
        return "expired"
    return "active"


def invite_view(invite: Invite) -> dict[str, Any]:
    return {"id": invite.id, "employee_id": invite.employee_id, "created_by_id": invite.created_by_id,
            "created_at": invite.created_at, "expires_at": invite.expires_at, "used_at": invite.used_at,
            "state": invite_state(invite)}


async def accept_invite(session: AsyncSession, code: str, *, telegram_user_id: int,
                        telegram_username: str | None = None) -> Employee:
    """Bind the Telegram account to the invited employee; the code works once."""
    invite = await session.scalar(select(Invite).where(Invite.code_hash == _hash(code.strip())))
    if invite is None:
        raise Forbidden("invite.unknown")
    state = invite_state(invite)
    if state != "active":
        raise Forbidden(f"invite.{state}")
    employee = await session.get(Employee, invite.employee_id)
    if not employee.active:
        raise Forbidden("invite.employee_inactive", name=employee.full_name)
    holder = await session.scalar(select(Employee).where(Employee.telegram_user_id == telegram_user_id))
    if holder is not None and holder.id != employee.id:
        raise Conflict("invite.telegram_taken", name=holder.full_name)
    # A new invite rebinds: the person changed phones, or the old account was lost.
    employee.telegram_user_id = telegram_user_id
    employee.telegram_username = telegram_username
    employee.telegram_blocked_at = None
    invite.used_at = utcnow()
    invite.used_by_telegram_id = telegram_user_id
    return employee


async def employee_for_telegram(session: AsyncSession, telegram_user_id: int) -> Employee | None:
    """The active employee bound to this Telegram account, if any."""
    employee = await session.scalar(select(Employee).where(Employee.telegram_user_id == telegram_user_id))
    return employee if employee is not None and employee.active else None
