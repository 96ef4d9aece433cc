"""API tokens (admin): the secret is shown once, at creation; only its hash is kept."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from backend.api.deps import AdminDep, many
from backend.models import ROLES
from backend.services import tokens as service

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(max_length=200, description="What the token is for, e.g. \"1C exchange\"")
    role: str = Field(description=" | ".join(ROLES))
    employee_id: int | None = Field(default=None, description="Act as this employee (adds their roles)")


@router.post("", status_code=201, summary="Create a token; the secret is in this answer only")
async def create_token(data: TokenIn, core: AdminDep) -> dict[str, Any]:
    async def work(session):
        token, secret = await service.create_token(session, name=data.name, role=data.role,
                                                   employee_id=data.employee_id)
        return {**service.token_view(token), "secret": secret}

    return await core.run(work)


@router.get("", summary="Every token, without secrets")
async def list_tokens(core: AdminDep) -> list[dict[str, Any]]:
    return await core.call(service.list_tokens, view=many(service.token_view))


@router.delete("/{token_id}", summary="Revoke a token (it stops working at once; again: no change)")
async def revoke_token(token_id: int, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.revoke_token, token_id, view=service.token_view)
