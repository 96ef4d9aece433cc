"""Bitrix24's outbound events, the accountant's confirmations of a deal (its stage gates), and the
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


class Confirmation(BaseModel):
    confirmed: bool = True


@router.get("/bitrix24/deals/{deal_id}", summary="A deal's stage as last seen, its confirmations and its requests")
async def deal(deal_id: str, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.get_deal, core.actor, deal_id)


@router.put("/bitrix24/deals/{deal_id}/{what}",
            summary="The accountant approves the deal's contract (what=contract) or confirms its closing "
                    "documents and full payment (what=closing); confirmed=false withdraws it")
async def confirm_deal(deal_id: str, what: str, body: Confirmation, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.confirm_deal, core.actor, deal_id, what, body.confirmed)


@router.get("", summary="Each integration: configured or not, its outbox rows, the last error")
async def status(core: AdminDep, settings: SettingsDep) -> dict[str, Any]:
    return await core.call(service.integration_status, core.actor, settings)


@router.post("/{system}/full-sync", summary="Queue every contractor and request for a newly connected system")
async def full_sync(system: str, core: AdminDep) -> dict[str, int]:
    return await core.call(service.full_sync, core.actor, system)
