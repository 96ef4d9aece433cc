"""``GET /metrics`` for Prometheus: this replica's counters plus the database gauges read now.

Meant for the internal network. With ``VIZA_METRICS_TOKEN`` set it also asks for
``Authorization: Bearer <token>`` (Prometheus: ``authorization: {credentials: …}``).
Not in the OpenAPI document: it is not part of the API.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from backend.observability.metrics import render

router = APIRouter(include_in_schema=False)


def _authorized(request: Request, token: str | None) -> bool:
    if not token:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    if not _authorized(request, settings.metrics_token):
        return Response("a valid metrics token is required\n", status_code=401, media_type="text/plain",
                        headers={"WWW-Authenticate": "Bearer"})
    body = await render(request.app.state.db, scheduler_interval=settings.scheduler_interval_seconds)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
