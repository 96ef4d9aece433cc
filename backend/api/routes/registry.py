"""The registry: listing with filters and keyset pages, totals, CSV and XLSX export."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from backend.api.deps import CoreDep
from backend.services import export, registry
from backend.services.registry import RegistryQuery
from backend.services.views import summary

router = APIRouter(prefix="/api/v1/payment-requests", tags=["registry"])
Filters = Annotated[RegistryQuery, Query()]


@router.get("", summary="The registry: filter, sort, page with next_cursor")
async def list_requests(query: Filters, core: CoreDep) -> dict[str, Any]:
    async def work(session):
        rows, next_cursor = await registry.list_page(session, core.actor, query)
        return {"items": [summary(r) for r in rows], "next_cursor": next_cursor}

    return await core.run(work)


@router.get("/totals", summary="Count and sum per currency of everything the filters select")
async def totals(query: Filters, core: CoreDep) -> dict[str, Any]:
    return await core.call(registry.totals, core.actor, query, view=lambda totals: {"totals": totals})


@router.get("/export.csv", summary="Export what the filters select as CSV (UTF-8, ';')")
async def export_csv(query: Filters, core: CoreDep) -> Response:
    content = await core.call(export.export_csv, core.actor, query)
    return _download(content, "text/csv; charset=utf-8", "csv")


@router.get("/export.xlsx", summary="Export what the filters select as an Excel workbook")
async def export_xlsx(query: Filters, core: CoreDep) -> Response:
    content = await core.call(export.export_xlsx, core.actor, query)
    return _download(content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")


def _download(content: bytes, media_type: str, extension: str) -> Response:
    filename = f"viza-registry-{date.today().isoformat()}.{extension}"
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
