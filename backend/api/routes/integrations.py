"""Bitrix24's outbound events, the accountant's closing confirmation of a deal, and the
integrations' state for admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.api.deps import AdminDep, CoreDep, SettingsDep
from backend.integrations.bitrix24.events import EventRejected, accept_event, read_event
from backend.services import integrations as service
from backend.services.transactions import in_transaction

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])


@router.post("/bitrix24/events", summary="Outbound events of the Bitrix24 portal (form-encoded, with the application token)")
async def bitrix24_event(request: Request, settings: SettingsDep) -> JSONResponse:
    body = await request.body()
    try:
        event = read_event(body, settings.bitrix24_app_token)
    except EventRejected as rejected:
        return JSONResponse({"error": rejected.reason}, status_code=rejected.status)
    if event is None:
        return JSONResponse({"accepted": False, "reason": "not an event Viza acts on"})
    await in_transaction(request.app.state.db, lambda session: accept_event(session, event))
    return JSONResponse({"accepted": True, "deal_id": event.deal_id})


class Closing(BaseModel):
    confirmed: bool = True


@router.put("/bitrix24/deals/{deal_id}/closing",
            summary="The accountant confirms (or withdraws) the deal's closing documents and full payment")
async def deal_closing(deal_id: str, body: Closing, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.set_deal_closing, core.actor, deal_id, body.confirmed)


@router.get("", summary="Each integration: configured or not, its outbox rows, the last error")
async def status(core: AdminDep, settings: SettingsDep) -> dict[str, Any]:
    return await core.call(service.integration_status, core.actor, settings)


@router.post("/{system}/full-sync", summary="Queue every contractor and request for a newly connected system")
async def full_sync(system: str, core: AdminDep) -> dict[str, int]:
    return await core.call(service.full_sync, core.actor, system)
