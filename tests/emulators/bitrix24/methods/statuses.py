"""crm.status.list (crm/status/crm-status-list.md): reference lists, here the deal stages with
the names a Russian portal ships (``ENTITY_ID`` ``DEAL_STAGE``, ``DEAL_STAGE_<category>``)."""

from __future__ import annotations

from typing import Any

from ..filters import matches, page, sort_records
from ..params import as_start, get_ci
from ..state import DEAL_STAGES
from .base import Context, Page, rest_method

STAGE_NAMES = {"NEW": "Новая", "PREPARATION": "Подготовка документов", "PREPAYMENT_INVOICE": "Счёт на предоплату",
               "EXECUTING": "В работе", "FINAL_INVOICE": "Финальный счёт", "WON": "Сделка успешна",
               "LOSE": "Сделка провалена"}


def _statuses() -> list[dict[str, Any]]:
    return [{"ID": str(index + 1), "ENTITY_ID": "DEAL_STAGE", "STATUS_ID": stage, "NAME": STAGE_NAMES[stage],
             "NAME_INIT": STAGE_NAMES[stage], "SORT": str((index + 1) * 10), "SYSTEM": "Y", "CATEGORY_ID": "0",
             "SEMANTICS": "S" if stage == "WON" else ("F" if stage == "LOSE" else None)}
            for index, stage in enumerate(DEAL_STAGES)]


@rest_method("crm.status.list", "crm")
def status_list(ctx: Context, params: dict[str, Any]) -> Page:
    flt = get_ci(params, "filter") or {}
    order = get_ci(params, "order") or {}

    def resolve(record: dict[str, Any], name: str) -> Any:
        return record.get(name.upper())

    found = [r for r in _statuses() if matches(r, flt if isinstance(flt, dict) else {}, resolve, ctx.state.tz)]
    found = sort_records(found, order if isinstance(order, dict) and order else {"SORT": "ASC"}, resolve)
    chunk, total, following = page(found, as_start(get_ci(params, "start")))
    return Page([dict(r) for r in chunk], total, following)
