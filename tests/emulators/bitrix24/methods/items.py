"""crm.item.* — the universal CRM methods (crm/universal/crm-item-*.md).

Smart-process items are stored camelCase and typed (``"id": 42``, ``"opportunity": 1500.0``).
Input ``fields`` may be camelCase or UPPER_CASE (``STAGE_ID``, ``UF_CRM_7_1639669411830``);
unknown fields are ignored. Answers are wrapped: ``{"item": {...}}``, ``{"items": [...]}``.
Parameters are case-sensitive here (``entityTypeId``, ``id``, ``fields``), unlike crm.deal.*.

Deals (2) and companies (4) are reachable too, as camelCase views of the crm.deal /
crm.company records, so both method families see the same data.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from ..case import camel_key, to_camel, to_upper
from ..errors import ApiError
from ..filters import filter_fields, matches, page, sort_records
from ..params import as_int, as_list, as_start, truthy
from ..state import SmartProcess, portal_datetime
from .base import Context, Page, rest_method
from .classic import ClassicEntity, add_record, delete_record, update_record
from .crm import COMPANY, DEAL

ITEM_FIELDS = {
    "id": "int",
    "xmlId": "str",
    "title": "str",
    "createdBy": "int",
    "updatedBy": "int",
    "movedBy": "int",
    "createdTime": "datetime",
    "updatedTime": "datetime",
    "movedTime": "datetime",
    "categoryId": "int",
    "opened": "char",
    "stageId": "str",
    "previousStageId": "str",
    "begindate": "datetime",
    "closedate": "datetime",
    "companyId": "int",
    "contactId": "int",
    "opportunity": "float",
    "isManualOpportunity": "char",
    "taxValue": "float",
    "currencyId": "str",
    "mycompanyId": "int",
    "sourceId": "str",
    "sourceDescription": "str",
    "webformId": "int",
    "assignedById": "int",
    "lastActivityBy": "int",
    "lastActivityTime": "datetime",
    "observers": "ints",
    "contactIds": "ints",
    "entityTypeId": "int",
}
READONLY = {"id", "createdBy", "updatedBy", "movedBy", "createdTime", "updatedTime", "movedTime",
            "previousStageId", "entityTypeId", "lastActivityBy", "lastActivityTime"}
_PARENT = re.compile(r"parentId\d+")

# classic UPPER_CASE names whose crm.item name is not the plain camelCase
_RENAMED = {
    "DATE_CREATE": "createdTime",
    "DATE_MODIFY": "updatedTime",
    "CREATED_BY_ID": "createdBy",
    "MODIFY_BY_ID": "updatedBy",
    "MOVED_BY_ID": "movedBy",
}
_RENAMED_BACK = {v: k for k, v in _RENAMED.items()}
_CLASSIC = {2: DEAL, 4: COMPANY}


def _known(name: str, fields: Collection[str] = ITEM_FIELDS) -> bool:
    return name in fields or name.startswith("ufCrm") or bool(_PARENT.fullmatch(name))


def _typed(kind: str, value: Any, ctx: Context) -> Any:
    if value is None or value == "":
        return None if kind not in {"ints"} else []
    if kind == "int":
        try:
            return int(float(str(value)))
        except ValueError:
            return None
    if kind == "float":
        try:
            return float(str(value).replace(",", "."))
        except ValueError:
            return None
    if kind == "char":
        if isinstance(value, str):
            return "Y" if value.strip().upper() in {"Y", "1", "TRUE"} else "N"
        return "Y" if value else "N"
    if kind == "datetime":
        return portal_datetime(value, ctx.state.tz)
    if kind == "ints":
        return [int(v) for v in as_list(value) if as_int(v) is not None]
    return str(value)


def _field_kind(name: str) -> str:
    if _PARENT.fullmatch(name):
        return "int"
    return ITEM_FIELDS.get(name, "raw")


def clean_fields(ctx: Context, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    cleaned = {}
    for key, value in raw.items():
        name = camel_key(str(key))
        if name in READONLY or not _known(name):
            continue
        kind = _field_kind(name)
        cleaned[name] = value if kind == "raw" else _typed(kind, value, ctx)
    return cleaned


def _process(ctx: Context, params: dict[str, Any]) -> SmartProcess | ClassicEntity:
    type_id = as_int(params.get("entityTypeId"))
    if type_id in _CLASSIC:
        return _CLASSIC[type_id]
    process = ctx.state.smart_processes.get(type_id or 0)
    if process is None:
        raise ApiError(400, "NOT_FOUND", "Smart process not found")
    return process


def _not_found() -> ApiError:
    return ApiError(400, "NOT_FOUND", "Item not found")


def _invalid(field: str) -> ApiError:
    return ApiError(400, "CRM_FIELD_ERROR_VALUE_NOT_VALID", f'Invalid value for field "{field}"')


def _uf_names(item: dict[str, Any], original: bool) -> dict[str, Any]:
    if not original:
        return item
    return {(to_upper(k) if k.startswith("ufCrm") else k): v for k, v in item.items()}


# ---- classic entities seen through crm.item ------------------------------------------------


def classic_to_item(entity: ClassicEntity, record: dict[str, Any], entity_type_id: int) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, value in record.items():
        key = _RENAMED.get(name) or to_camel(name)
        kind = entity.fields.get(name)
        if kind == "int":
            value = int(value) if value not in (None, "") else None
        elif kind == "money":
            value = float(value) if value not in (None, "") else None
        item[key] = value
    item["entityTypeId"] = entity_type_id
    return item


def _item_to_classic(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    return {(_RENAMED_BACK.get(camel_key(k)) or to_upper(camel_key(k))): v for k, v in raw.items()}


# ---- smart-process items ----------------------------------------------------------------------


def _check_stage(process: SmartProcess, item: dict[str, Any], before: dict[str, Any] | None) -> None:
    category = item.get("categoryId")
    if category not in process.categories:
        raise _invalid("categoryId")
    stages = process.stages(category)
    if not item.get("stageId") or (before is not None and before.get("categoryId") != category and item["stageId"] == before.get("stageId")):
        item["stageId"] = stages[0]
    if item["stageId"] not in stages:
        raise _invalid("stageId")


def new_item(ctx: Context, process: SmartProcess, values: dict[str, Any], fire: bool = True) -> dict[str, Any]:
    now = ctx.state.now_iso()
    new_id = ctx.state.next_id(f"item{process.entity_type_id}")
    item: dict[str, Any] = {name: ([] if kind == "ints" else None) for name, kind in ITEM_FIELDS.items()}
    item.update(
        id=new_id,
        title=f"{process.title} #{new_id}",
        createdBy=ctx.user_id,
        updatedBy=ctx.user_id,
        movedBy=ctx.user_id,
        createdTime=now,
        updatedTime=now,
        movedTime=now,
        categoryId=process.default_category,
        opened="Y",
        opportunity=0.0,
        isManualOpportunity="N",
        taxValue=0.0,
        currencyId="RUB",
        assignedById=ctx.user_id,
        entityTypeId=process.entity_type_id,
    )
    item.update({k: v for k, v in values.items() if not (k == "title" and not v)})
    _check_stage(process, item, None)
    ctx.state.items[process.entity_type_id][new_id] = item
    if fire:
        ctx.emit("ONCRMDYNAMICITEMADD", {"FIELDS": {"ID": str(new_id), "ENTITY_TYPE_ID": str(process.entity_type_id)}})
    return item


def _update_item(ctx: Context, process: SmartProcess, item_id: int, values: dict[str, Any]) -> dict[str, Any]:
    items = ctx.state.items[process.entity_type_id]
    if item_id not in items:
        raise _not_found()
    before = items[item_id]
    item = {**before, **values}
    _check_stage(process, item, before)
    now = ctx.state.now_iso()
    item["updatedTime"] = now
    item["updatedBy"] = ctx.user_id
    if item["stageId"] != before["stageId"]:
        item["previousStageId"] = before["stageId"]
        item["movedTime"] = now
        item["movedBy"] = ctx.user_id
    items[item_id] = item
    ctx.emit("ONCRMDYNAMICITEMUPDATE", {"FIELDS": {"ID": str(item_id), "ENTITY_TYPE_ID": str(process.entity_type_id)}})
    return item


@rest_method("crm.item.add", "crm")
def item_add(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    process = _process(ctx, params)
    original = truthy(params.get("useOriginalUfNames", "N"))
    if isinstance(process, ClassicEntity):
        type_id = as_int(params.get("entityTypeId"))
        new_id = add_record(process, ctx, _item_to_classic(params.get("fields")))
        record = process.records(ctx.state)[new_id]
        return {"item": _uf_names(classic_to_item(process, record, type_id), original)}
    item = new_item(ctx, process, clean_fields(ctx, params.get("fields")))
    return {"item": _uf_names(dict(item), original)}


@rest_method("crm.item.update", "crm")
def item_update(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    process = _process(ctx, params)
    item_id = as_int(params.get("id"))
    original = truthy(params.get("useOriginalUfNames", "N"))
    if item_id is None:
        raise _not_found()
    if isinstance(process, ClassicEntity):
        type_id = as_int(params.get("entityTypeId"))
        if item_id not in process.records(ctx.state):
            raise _not_found()
        update_record(process, ctx, item_id, _item_to_classic(params.get("fields")))
        return {"item": _uf_names(classic_to_item(process, process.records(ctx.state)[item_id], type_id), original)}
    item = _update_item(ctx, process, item_id, clean_fields(ctx, params.get("fields")))
    return {"item": _uf_names(dict(item), original)}


@rest_method("crm.item.get", "crm")
def item_get(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    process = _process(ctx, params)
    item_id = as_int(params.get("id"))
    original = truthy(params.get("useOriginalUfNames", "N"))
    if isinstance(process, ClassicEntity):
        record = process.records(ctx.state).get(item_id or 0)
        if record is None:
            raise _not_found()
        return {"item": _uf_names(classic_to_item(process, record, as_int(params.get("entityTypeId"))), original)}
    item = ctx.state.items[process.entity_type_id].get(item_id or 0)
    if item is None:
        raise _not_found()
    return {"item": _uf_names(dict(item), original)}


@rest_method("crm.item.delete", "crm")
def item_delete(ctx: Context, params: dict[str, Any]) -> list[Any]:
    process = _process(ctx, params)
    item_id = as_int(params.get("id")) or 0
    if isinstance(process, ClassicEntity):
        if item_id not in process.records(ctx.state):
            raise _not_found()
        delete_record(process, ctx, item_id)
        return []
    items = ctx.state.items[process.entity_type_id]
    if item_id not in items:
        raise _not_found()
    del items[item_id]
    ctx.emit("ONCRMDYNAMICITEMDELETE", {"FIELDS": {"ID": str(item_id), "ENTITY_TYPE_ID": str(process.entity_type_id)}})
    return []  # crm-item-delete.md: "result": []


@rest_method("crm.item.list", "crm")
def item_list(ctx: Context, params: dict[str, Any]) -> Page:
    process = _process(ctx, params)
    original = truthy(params.get("useOriginalUfNames", "N"))
    if isinstance(process, ClassicEntity):
        type_id = as_int(params.get("entityTypeId")) or 0
        records = [classic_to_item(process, r, type_id) for r in process.records(ctx.state).values()]
        fields: Collection[str] = {_RENAMED.get(f) or to_camel(f) for f in process.fields} | {"entityTypeId"}
    else:
        records = list(ctx.state.items[process.entity_type_id].values())
        fields = ITEM_FIELDS
    flt = params.get("filter") or {}
    order = params.get("order") or {}
    flt = flt if isinstance(flt, dict) else {}
    order = order if isinstance(order, dict) else {}
    for name in filter_fields(flt):
        if not _known(camel_key(name), fields):
            raise ApiError(400, "INVALID_ARG_VALUE", f"Invalid filter: field '{name}' is not allowed in filter")
    for name in order:
        if not _known(camel_key(name), fields):
            raise ApiError(400, "INVALID_ARG_VALUE", f"Invalid order: field '{name}' is not allowed in order")

    def resolve(item: dict[str, Any], name: str) -> Any:
        return item.get(camel_key(name))

    found = [i for i in records if matches(i, flt, resolve, ctx.state.tz)]
    found = sort_records(found, order or {"id": "ASC"}, resolve, strict=True)
    chunk, total, following = page(found, as_start(params.get("start")))
    select = [camel_key(str(s)) for s in as_list(params.get("select"))]
    if select and "*" not in select:
        chunk = [{k: v for k, v in item.items() if k in select} for item in chunk]
    return Page([_uf_names(dict(i), original) for i in chunk], total, following, key="items")

