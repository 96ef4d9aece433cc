"""crm.timeline.comment.* (crm/timeline/comments/*.md).

``fields`` must be spelt in lowercase (the docs: since crm 23.100.0 FIELDS/Fields are refused).
ENTITY_TYPE is the object's name: ``deal``, ``company``, ``dynamic_1032``…
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .. import errors
from ..errors import ApiError
from ..filters import matches, page, sort_records
from ..params import as_int, as_list, as_start, get_ci
from ..state import State
from .base import Context, Page, rest_method

_FIELDS = ("ID", "ENTITY_ID", "ENTITY_TYPE", "CREATED", "COMMENT", "AUTHOR_ID", "FILES")


def _owner_exists(state: State, entity_type: str, entity_id: int) -> bool:
    kind = entity_type.lower()
    if kind == "deal":
        return entity_id in state.deals
    if kind == "company":
        return entity_id in state.companies
    if kind.startswith("dynamic_"):
        type_id = as_int(kind.removeprefix("dynamic_")) or 0
        return entity_id in state.items.get(type_id, {})
    return False  # leads, contacts… are not modelled


def _comment(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    comment_id = as_int(get_ci(params, "id"))
    if comment_id is None:
        raise errors.classic("ID is not defined or invalid.")
    comment = ctx.state.comments.get(comment_id)
    if comment is None:
        raise errors.classic("Not found.")
    return comment


def _files(ctx: Context, value: Any) -> dict[str, dict[str, Any]]:
    """FILES as the docs' attached_diskfile upload: a list of ["name", "base64 content"] pairs. Each
    becomes a disk file; the comment lists them by id with name and size (as comment.get shows)."""
    if value in (None, "", []):
        return {}
    pairs = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(pairs, list):
        raise ApiError(400, "INVALID_ARG_VALUE", "FILES must be a list of [name, base64 content]")
    listed: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        if isinstance(pair, dict):
            pair = list(pair.values())
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise ApiError(400, "INVALID_ARG_VALUE", "FILES must be a list of [name, base64 content]")
        try:
            content = base64.b64decode(pair[1], validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "INVALID_ARG_VALUE", f"File {pair[0]!r} is not valid base64") from None
        file_id = ctx.state.next_id("disk_files")
        ctx.state.disk_files[file_id] = content
        listed[str(file_id)] = {"id": file_id, "name": pair[0], "size": len(content)}
    return listed


@rest_method("crm.timeline.comment.add", "crm")
def comment_add(ctx: Context, params: dict[str, Any]) -> int:
    fields = params.get("fields")
    if not isinstance(fields, dict):
        raise ApiError(400, "100", "Required fields are not provided")
    entity_id = as_int(fields.get("ENTITY_ID"))
    entity_type = str(fields.get("ENTITY_TYPE") or "")
    if entity_id is None or not entity_type:
        raise ApiError(400, "100", "Required fields are not provided")
    comment = str(fields.get("COMMENT") or "")
    if not comment.strip():
        raise ApiError(400, "INVALID_ARG_VALUE", "Empty comment")
    if not _owner_exists(ctx.state, entity_type, entity_id):
        raise ApiError(400, "NOT_FOUND", "Not found.")
    files = _files(ctx, fields.get("FILES"))
    comment_id = ctx.state.next_id("comments")
    ctx.state.comments[comment_id] = {
        "ID": str(comment_id),
        "ENTITY_ID": str(entity_id),
        "ENTITY_TYPE": entity_type.lower(),
        "CREATED": ctx.state.now_iso(),
        "COMMENT": comment,
        "AUTHOR_ID": str(as_int(fields.get("AUTHOR_ID")) or ctx.user_id),
        "FILES": files,
    }
    ctx.emit("ONCRMTIMELINECOMMENTADD", {"FIELDS": {"ID": str(comment_id)}})
    return comment_id


@rest_method("crm.timeline.comment.get", "crm")
def comment_get(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return dict(_comment(ctx, params))


@rest_method("crm.timeline.comment.update", "crm")
def comment_update(ctx: Context, params: dict[str, Any]) -> int:
    comment = _comment(ctx, params)
    fields = params.get("fields")
    text = str((fields or {}).get("COMMENT") or "") if isinstance(fields, dict) else ""
    if not text.strip():
        raise ApiError(400, "INVALID_ARG_VALUE", "Empty comment")
    comment["COMMENT"] = text
    return int(comment["ID"])


@rest_method("crm.timeline.comment.delete", "crm")
def comment_delete(ctx: Context, params: dict[str, Any]) -> None:
    comment = _comment(ctx, params)
    del ctx.state.comments[int(comment["ID"])]


@rest_method("crm.timeline.comment.list", "crm")
def comment_list(ctx: Context, params: dict[str, Any]) -> Page:
    flt = get_ci(params, "filter") or {}
    order = get_ci(params, "order") or {}
    select = {str(s).upper() for s in as_list(get_ci(params, "select"))}

    def resolve(record: dict[str, Any], name: str) -> Any:
        return record.get(name.upper())

    found = [c for c in ctx.state.comments.values() if matches(c, flt if isinstance(flt, dict) else {}, resolve, ctx.state.tz)]
    found = sort_records(found, order if isinstance(order, dict) and order else {"ID": "ASC"}, resolve)
    chunk, total, following = page(found, as_start(get_ci(params, "start")))
    if select and "*" not in select:
        chunk = [{k: v for k, v in c.items() if k in select} for c in chunk]
    return Page([dict(c) for c in chunk], total, following)
