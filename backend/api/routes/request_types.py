"""Request types and their routes (who approves what), edited by admins as data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from backend.api.deps import AdminDep, CoreDep
from backend.errors import Forbidden
from backend.services import request_types as service
from backend.services.request_types import RequestTypeIn, RequestTypePatch, StageIn

router = APIRouter(prefix="/api/v1/request-types", tags=["request types"])


class RouteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stages: list[StageIn]


@router.get("", summary="Request types with their routes; include_inactive for admins")
async def list_request_types(core: CoreDep, include_inactive: bool = False) -> list[dict[str, Any]]:
    if include_inactive and not core.actor.is_admin:
        raise Forbidden("forbidden.admin_only", field="include_inactive")

    async def work(session):
        rows = await service.list_request_types(session, include_inactive=include_inactive)
        return [service.request_type_view(t) for t in rows]

    return await core.run(work)


@router.post("", status_code=201, summary="Add a request type with its route (admin)")
async def create_request_type(data: RequestTypeIn, core: AdminDep) -> dict[str, Any]:
    async def work(session):
        return service.request_type_view(await service.create_request_type(session, data))

    return await core.run(work)


@router.get("/{request_type_id}")
async def read_request_type(request_type_id: int, core: CoreDep) -> dict[str, Any]:
    async def work(session):
        return service.request_type_view(await service.get_request_type(session, request_type_id))

    return await core.run(work)


@router.patch("/{request_type_id}", summary="Rename or (de)activate (admin)")
async def update_request_type(request_type_id: int, data: RequestTypePatch, core: AdminDep) -> dict[str, Any]:
    async def work(session):
        return service.request_type_view(await service.update_request_type(session, request_type_id, data))

    return await core.run(work)


@router.put("/{request_type_id}/route",
            summary="Replace the route's stages (admin); submitted requests keep the route they got")
async def replace_route(request_type_id: int, body: RouteBody, core: AdminDep) -> dict[str, Any]:
    async def work(session):
        return service.request_type_view(await service.replace_route(session, request_type_id, body.stages))

    return await core.run(work)
