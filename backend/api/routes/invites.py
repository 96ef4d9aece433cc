"""Invites (admin): a one-time code that binds an employee's Telegram account to the bot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from backend.api.deps import AdminDep, many
from backend.services import invites as service

router = APIRouter(prefix="/api/v1", tags=["invites"])


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl_hours: int = Field(default=service.DEFAULT_TTL_HOURS, description="How long the code works")


def invite_link(request: Request, code: str) -> str | None:
    """The t.me deep link, once the bot's username is known (from getMe or the settings)."""
    username = getattr(request.app.state, "bot_username", None) or request.app.state.settings.telegram_bot_username
    return f"https://t.me/{username}?start={code}" if username else None


@router.post("/employees/{employee_id}/invites", status_code=201,
             summary="Invite an employee to the bot; the code is in this answer only")
async def create_invite(employee_id: int, request: Request, core: AdminDep, data: InviteIn | None = None) -> dict[str, Any]:
    ttl = (data or InviteIn()).ttl_hours

    async def work(session):
        invite, code = await service.create_invite(session, core.actor, employee_id, ttl_hours=ttl)
        return {**service.invite_view(invite), "code": code, "start_command": f"/start {code}",
                "link": invite_link(request, code)}

    return await core.run(work)


@router.get("/employees/{employee_id}/invites", summary="An employee's invites, without codes")
async def list_invites(employee_id: int, core: AdminDep) -> list[dict[str, Any]]:
    return await core.call(service.list_invites, employee_id, view=many(service.invite_view))


@router.delete("/invites/{invite_id}", summary="Revoke an invite (again: no change)")
async def revoke_invite(invite_id: int, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.revoke_invite, invite_id, view=service.invite_view)
