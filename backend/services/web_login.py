"""Signing in to the web pages: a one-time link from the bot's /web, or an admin's API token.

A link carries a random code shown once and stored only as its hash, like invites. It is
short-lived and single-use: whoever opens it becomes that employee in the browser.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import Forbidden, InvalidInput
from backend.models import ApiToken, AppSecret, Employee, WebLoginLink
from backend.services.tokens import actor_of, actor_of_token, hash_token
from backend.workflows.actors import Actor

SESSION_KEY_NAME = "web.session_key"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()  # 256 random bits: a fast hash is enough


async def issue_link(session: AsyncSession, actor: Actor, *, minutes: int) -> tuple[WebLoginLink, str]:
    """A sign-in link for the employee asking (the bot's /web); returns the row and the code."""
    if actor.employee_id is None:
        raise Forbidden("web.link_needs_employee")
    # The person's spent and expired links are of no use to anyone: dropped as a new one is made.
    await session.execute(delete(WebLoginLink).where(
        WebLoginLink.employee_id == actor.employee_id,
        or_(WebLoginLink.used_at.is_not(None), WebLoginLink.expires_at <= utcnow())))
    code = secrets.token_urlsafe(32)
    link = WebLoginLink(employee_id=actor.employee_id, code_hash=_hash(code),
                        expires_at=utcnow() + timedelta(minutes=minutes))
    session.add(link)
    await session.flush()
    return link, code


async def peek_link(session: AsyncSession, code: str) -> Employee:
    """Whom a link signs in, without using it (the page that asks to confirm)."""
    link = await _usable_link(session, code)
    return await _active_employee(session, link.employee_id)


async def use_link(session: AsyncSession, code: str) -> Actor:
    """Spend the link: the first use wins, a second one (or a late one) is refused."""
    link = await _usable_link(session, code)
    claimed = await session.execute(
        update(WebLoginLink).where(WebLoginLink.id == link.id, WebLoginLink.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:
        raise InvalidInput("web.link_used", field="link")
    return actor_of(await _active_employee(session, link.employee_id))


async def _usable_link(session: AsyncSession, code: str) -> WebLoginLink:
    link = await session.scalar(select(WebLoginLink).where(WebLoginLink.code_hash == _hash(code or "")))
    if link is None:
        raise InvalidInput("web.link_unknown", field="link")
    if link.used_at is not None:
        raise InvalidInput("web.link_used", field="link")
    if link.expires_at <= utcnow():
        raise InvalidInput("web.link_expired", field="link")
    return link


async def _active_employee(session: AsyncSession, employee_id: int) -> Employee:
    employee = await session.get(Employee, employee_id)
    if employee is None or not employee.active:
        raise Forbidden("web.employee_inactive")
    return employee


async def sign_in_with_token(session: AsyncSession, secret: str) -> tuple[Actor, int]:
    """An admin's API token as a way in; returns the actor and the token's id (kept in the
    session, so revoking the token ends the session too)."""
    secret = (secret or "").strip()
    token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))) if secret else None
    actor = await actor_of_token(session, token)
    if actor is None:
        raise InvalidInput("web.token_invalid", field="token")
    if not actor.is_admin:
        raise Forbidden("web.token_not_admin")
    return actor, token.id


async def session_actor(session: AsyncSession, *, employee_id: int | None, token_id: int | None) -> Actor | None:
    """Who a session cookie stands for now: None once the employee is deactivated or the
    token revoked, so such a session ends at its next request."""
    if token_id is not None:
        return await actor_of_token(session, await session.get(ApiToken, token_id))
    if employee_id is None:
        return None
    employee = await session.get(Employee, employee_id)
    if employee is None or not employee.active:
        return None
    return actor_of(employee)


async def session_key(session: AsyncSession) -> str:
    """The cookie-signing key made once for this installation, shared by every replica."""
    row = await session.get(AppSecret, SESSION_KEY_NAME)
    if row is None:
        session.add(AppSecret(name=SESSION_KEY_NAME, value=secrets.token_urlsafe(48)))
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:  # another replica made it first: use theirs
            pass
        row = await session.get(AppSecret, SESSION_KEY_NAME, populate_existing=True)
    return row.value
