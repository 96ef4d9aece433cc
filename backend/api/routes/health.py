"""Liveness and database reachability."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from backend.api.deps import get_db
from backend.db import Database

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(db: Annotated[Database, Depends(get_db)]) -> JSONResponse:
    try:
        async with db.session() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # the answer itself is the report
        return JSONResponse({"status": "error", "database": db.dialect, "error": str(exc)[:200]}, status_code=503)
    return JSONResponse({"status": "ok", "database": db.dialect})
