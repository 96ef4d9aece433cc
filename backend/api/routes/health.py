"""Liveness (``/healthz``) and readiness (``/readyz``) for the orchestrator and the load balancer.

Liveness says the process is up and reaches its database; readiness adds what this replica needs
to serve traffic well (Redis, an outbox that keeps up) and turns 503 the moment a graceful
shutdown starts, so the balancer stops sending requests while the ones in flight finish.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from backend.api.deps import get_db
from backend.db import Database
from backend.observability.readiness import database_answers, readiness, run_check

router = APIRouter(tags=["health"])
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
async def healthz(db: Annotated[Database, Depends(get_db)]) -> JSONResponse:
    """The process is up and the database answers ``SELECT 1`` (within 2 s)."""
    result = await run_check("database", lambda: database_answers(db))
    if not result.ok:
        return JSONResponse({"status": "error", "database": db.dialect, "error": result.detail},
                            status_code=503, headers=NO_STORE)
    return JSONResponse({"status": "ok", "database": db.dialect}, headers=NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database and Redis (when configured) answer, the outbox this replica
    delivers keeps up, and no shutdown has begun. 503 names each failed check with its error."""
    app = request.app
    if getattr(app.state, "shutting_down", False):
        return JSONResponse({"status": "shutting down", "failed": ["shutdown"],
                             "checks": {"shutdown": {"ok": False, "error": "shutting down"}}},
                            status_code=503, headers=NO_STORE)
    ready, results = await readiness(app)
    checks = {name: result.as_dict() for name, result in results.items()}
    if ready:
        return JSONResponse({"status": "ready", "checks": checks}, headers=NO_STORE)
    failed = [name for name, result in results.items() if not result.ok]
    return JSONResponse({"status": "not ready", "failed": failed, "checks": checks}, status_code=503,
                        headers=NO_STORE)
