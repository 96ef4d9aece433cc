"""API tokens (admin): the secret is shown once, at creation; only its hash is kept."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from backend.api.deps import AdminDep
from backend.models import ROLES, ApiToken
from backend.services import tokens as service

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(max_length=200, description="What the token is for, e.g. \"1C exchange\"")
    role: str = Field(description=" | ".join(ROLES))
    employee_id: int | None = Field(default=None, description="Act as this employee (adds their roles)")


def token_view(token: ApiToken) -> dict[str, Any]:
    """Everything about a token except its secret and hash."""
    return {"id": token.id, "name": token.name, "role": token.role, "employee_id": token.employee_id,
            "created_at": token.created_at, "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at, "active": token.revoked_at is None}


@router.post("", status_code=201, summary="Create a token; the secret is in this answer only")
async def create_token(data: TokenIn, core: AdminDep) -> dict[str, Any]:
    async def work(session):
        token, secret = await service.create_token(session, name=data.name, role=data.role,
                                                   employee_id=data.employee_id)
        return {**token_view(token), "secret": secret}

    return await core.run(work)


@router.get("", summary="Every token, without secrets")
async def list_tokens(core: AdminDep) -> list[dict[str, Any]]:
    async def work(session):
        return [token_view(t) for t in await session.scalars(select(ApiToken).order_by(ApiToken.id))]

    return await core.run(work)


@router.delete("/{token_id}", summary="Revoke a token (it stops working at once; again: no change)")
async def revoke_token(token_id: int, core: AdminDep) -> dict[str, Any]:
    async def work(session):
        return token_view(await service.revoke_token(session, token_id))

    return await core.run(work)
