"""The outbox for admins: failed deliveries with their last error, counts, and a retry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from backend.api.deps import AdminDep, many
from backend.services import outbox_admin as service

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"])


@router.get("", summary="Outbox rows, newest first (failed ones by default)")
async def list_outbox(core: AdminDep, status: str | None = Query("failed", description="pending, sent, failed, skipped"),
                      topic: str | None = None, before_id: int | None = Query(None, ge=1, le=2**62),
                      limit: int = Query(50, ge=1, le=service.MAX_PAGE)) -> list[dict[str, Any]]:
    return await core.call(service.list_outbox, core.actor, status=status, topic=topic, before_id=before_id,
                           limit=limit, view=many(service.outbox_view))


@router.get("/counts", summary="How many rows per topic and status")
async def outbox_counts(core: AdminDep) -> dict[str, dict[str, int]]:
    return await core.call(service.outbox_counts, core.actor)


@router.post("/retry-failed", summary="Deliver every failed row (of a topic) again")
async def retry_failed(core: AdminDep, topic: str | None = None) -> dict[str, int]:
    return {"retried": await core.call(service.retry_failed, core.actor, topic=topic)}


@router.post("/{message_id}/retry", summary="Deliver a failed row again")
async def retry_outbox(message_id: int, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.retry_outbox, core.actor, message_id, view=service.outbox_view)
