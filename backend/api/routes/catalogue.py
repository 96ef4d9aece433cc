"""The goods and services catalogue read from 1C: the picker's search, and a refresh on demand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from backend.api.deps import AdminDep, CoreDep, SettingsDep, many
from backend.api.errors import language_of
from backend.errors import Conflict
from backend.integrations.onec.catalogue import refresh_catalogue
from backend.integrations.onec.client import OneCClient, OneCError
from backend.services import catalogue as service

router = APIRouter(prefix="/api/v1/catalogue", tags=["catalogue"])


@router.get("", summary="Catalogue items not deleted: q matches the name (every word), the code or the article; "
                        "legal_entity_id keeps the entity's folders; services=true only services, false only goods")
async def search(core: CoreDep, q: str | None = Query(default=None, max_length=300),
                 legal_entity_id: int | None = Query(default=None),
                 group: str | None = Query(default=None, max_length=100, description="A 1C folder code, with its subfolders"),
                 services: bool | None = Query(default=None),
                 limit: int = Query(default=50, ge=1, le=200),
                 offset: int = Query(default=0, ge=0, le=1_000_000)) -> list[dict[str, Any]]:
    return await core.call(service.search_catalogue, q, legal_entity_id=legal_entity_id, group=group,
                           include_services=services, limit=limit, offset=offset,
                           view=many(service.catalogue_item_view))


@router.post("/refresh", summary="Read the catalogue from 1C now (admins): rows added, updated, newly deleted, "
                                 "and the items usable now")
async def refresh(request: Request, core: AdminDep, settings: SettingsDep) -> Any:
    if not settings.onec_odata_url:
        raise Conflict("catalogue.onec_not_configured")
    client = OneCClient(settings.onec_odata_url, settings.onec_user, settings.onec_password, timeout=30.0)
    try:
        return await refresh_catalogue(core.db, client)
    except OneCError as error:
        # 1C did not answer (or is down): 503; it answered with a refusal (rights, composition): 502.
        if error.transient:
            failure = Conflict("catalogue.onec_unavailable", reason=error.text[:300])
            status = 503
        else:
            failure = Conflict("catalogue.onec_refused", http_status=error.status, reason=error.text[:300])
            status = 502
        return JSONResponse(failure.as_dict(language_of(request)), status_code=status)
    finally:
        await client.aclose()
