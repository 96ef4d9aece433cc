"""crm.stagehistory.list (crm/crm-stage-history/crm-stage-history-list.md): the stages a deal
passed through. ``TYPE_ID`` 1 created, 2 moved to an intermediate stage, 3 moved to a final one.
Only deals (``entityTypeId`` 2) are modelled."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError
from ..filters import matches, page, sort_records
from ..params import as_int, as_list, as_start, get_ci
from .base import Context, Page, rest_method


def record_stage(ctx: Context, deal: dict[str, Any], created: bool) -> None:
    """Called when a deal is created or changes stage."""
    history_id = ctx.state.next_id("stage_history")
    final = deal.get("STAGE_SEMANTIC_ID") in ("S", "F")
    ctx.state.stage_history[history_id] = {
        "ID": history_id, "TYPE_ID": 1 if created else (3 if final else 2), "OWNER_ID": int(deal["ID"]),
        "CREATED_TIME": ctx.state.now_iso(), "CATEGORY_ID": int(deal.get("CATEGORY_ID") or 0),
        "STAGE_SEMANTIC_ID": deal.get("STAGE_SEMANTIC_ID") or "P", "STAGE_ID": deal["STAGE_ID"],
    }


@rest_method("crm.stagehistory.list", "crm")
def stagehistory_list(ctx: Context, params: dict[str, Any]) -> Page:
    entity_type = as_int(get_ci(params, "entityTypeId"))
    if entity_type is None:
        raise ApiError(400, "", "Required parameter 'entityTypeId' is not set")
    if entity_type != 2:
        raise ApiError(400, "", "Entity type is not supported")
    flt = get_ci(params, "filter") or {}
    order = get_ci(params, "order") or {}
    select = {str(s).upper() for s in as_list(get_ci(params, "select"))}

    def resolve(record: dict[str, Any], name: str) -> Any:
        return record.get(name.upper())

    found = [r for r in ctx.state.stage_history.values()
             if matches(r, flt if isinstance(flt, dict) else {}, resolve, ctx.state.tz)]
    found = sort_records(found, order if isinstance(order, dict) and order else {"ID": "ASC"}, resolve)
    chunk, total, following = page(found, as_start(get_ci(params, "start")))
    if select and "*" not in select:
        chunk = [{k: v for k, v in r.items() if k in select} for r in chunk]
    return Page([dict(r) for r in chunk], total, following, key="items")
