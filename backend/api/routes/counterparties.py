"""Counterparties: one per INN + KPP; typing a known INN fills in the rest (autofill)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from backend.api.deps import CoreDep, many
from backend.services import counterparties as service
from backend.services.counterparties import CounterpartyFields

router = APIRouter(prefix="/api/v1/counterparties", tags=["counterparties"])


@router.get("", summary="Counterparties by name; q matches the name (any case) or the start of the INN")
async def list_counterparties(core: CoreDep, q: str | None = Query(default=None, max_length=300),
                              limit: int = Query(default=50, ge=1, le=500),
                              offset: int = Query(default=0, ge=0)) -> list[dict[str, Any]]:
    return await core.call(service.list_counterparties, q=q, limit=limit, offset=offset,
                           view=many(service.counterparty_view))


@router.get("/lookup", summary="Known requisites for an INN (autofill), most recently updated first")
async def lookup(core: CoreDep, inn: str = Query(max_length=40)) -> list[dict[str, Any]]:
    return await core.call(service.lookup_by_inn, inn, view=many(service.counterparty_view))


@router.post("", status_code=201, summary="Add a counterparty; the same INN + KPP twice answers 409")
async def create(fields: CounterpartyFields, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.create_counterparty, fields, view=service.counterparty_view)


@router.get("/{counterparty_id}")
async def read(counterparty_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.get_counterparty, counterparty_id, view=service.counterparty_view)


@router.patch("/{counterparty_id}", summary="Correct a counterparty (admins and accountants)")
async def update(counterparty_id: int, fields: CounterpartyFields, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.update_counterparty, core.actor, counterparty_id, fields,
                           view=service.counterparty_view)
