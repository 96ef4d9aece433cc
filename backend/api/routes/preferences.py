"""Personal preferences: one's own under /me, anyone's for an admin under /employees/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend.api.deps import CoreDep
from backend.services import preferences as service
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
