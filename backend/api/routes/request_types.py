"""Request types and their routes (who approves what), edited by admins as data."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from backend.api.deps import AdminDep, CoreDep, many
from backend.errors import Forbidden
from backend.services import request_types as service
from backend.services.request_types import RequestTypeIn, RequestTypePatch, StageIn

router = APIRouter(prefix="/api/v1/request-types", tags=["request types"])


class RouteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stages: list[StageIn]


@router.get("", summary="Request types with their routes; include_inactive for admins")
async def list_request_types(core: CoreDep, include_inactive: bool = False,
                             kind: Literal["payment", "contract"] | None = None) -> list[dict[str, Any]]:
    if include_inactive and not core.actor.is_admin:
        raise Forbidden("forbidden.admin_only", field="include_inactive")
    return await core.call(service.list_request_types, include_inactive=include_inactive, kind=kind,
                           view=many(service.request_type_view))


@router.post("", status_code=201, summary="Add a request type with its route (admin)")
async def create_request_type(data: RequestTypeIn, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.create_request_type, data, view=service.request_type_view)


@router.get("/{request_type_id}")
async def read_request_type(request_type_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.get_request_type, request_type_id, view=service.request_type_view)


@router.patch("/{request_type_id}", summary="Rename or (de)activate (admin)")
async def update_request_type(request_type_id: int, data: RequestTypePatch, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.update_request_type, request_type_id, data, view=service.request_type_view)


@router.put("/{request_type_id}/route",
            summary="Replace the route's stages (admin); submitted requests keep the route they got")
async def replace_route(request_type_id: int, body: RouteBody, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.replace_route, request_type_id, body.stages, view=service.request_type_view)
