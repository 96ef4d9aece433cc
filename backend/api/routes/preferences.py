"""Personal preferences: one's own under /me, anyone's for an admin under /employees/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend.api.deps import CoreDep
from backend.services import preferences as service
from backend.services import saved_views
from backend.services.preferences import PreferencesFields

router = APIRouter(prefix="/api/v1", tags=["preferences"])


@router.get("/me/preferences", summary="My time zone, quiet hours, morning digest and language")
async def read_my_preferences(core: CoreDep) -> dict[str, Any]:
    return await core.call(service.get_preferences, core.actor, view=service.preferences_view)


@router.patch("/me/preferences", summary="Change my preferences; what is left out stays as it is")
async def update_my_preferences(fields: PreferencesFields, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.update_preferences, core.actor, fields, view=service.preferences_view)


@router.get("/employees/{employee_id}/preferences", summary="An employee's preferences (admin, or oneself)")
async def read_preferences(employee_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.get_preferences, core.actor, employee_id, view=service.preferences_view)


@router.patch("/employees/{employee_id}/preferences", summary="Change an employee's preferences (admin, or oneself)")
async def update_preferences(employee_id: int, fields: PreferencesFields, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.update_preferences, core.actor, fields, employee_id,
                           view=service.preferences_view)


@router.get("/me/registry-view", summary="The registry filters my web registry opens with ({} when none)")
async def read_registry_view(core: CoreDep) -> dict[str, Any]:
    return await core.call(saved_views.get_default_view, core.actor, view=saved_views.view_dump)


@router.put("/me/registry-view", summary="Save registry filters (as GET /payment-requests takes them) as my default view")
async def save_registry_view(view: dict[str, Any], core: CoreDep) -> dict[str, Any]:
    query = saved_views.parse_view(view)
    return await core.call(saved_views.save_default_view, core.actor, query, view=saved_views.view_dump)


@router.delete("/me/registry-view", status_code=204, summary="Forget my default registry view")
async def clear_registry_view(core: CoreDep) -> None:
    await core.call(saved_views.clear_default_view, core.actor)
