"""tasks.task.* (tasks/tasks-task-*.md), scope ``task``.

Input ``fields`` are UPPER_CASE (TITLE, RESPONSIBLE_ID, DEADLINE, UF_CRM_TASK…), answers
camelCase with string values (``"id": "42"``), wrapped as ``{"task": …}`` / ``{"tasks": […]}``.
Traps kept from the docs: UF_CRM_TASK is only returned when selected; tasks.task.get of a
missing task answers ``"result": []`` instead of an error; DEADLINE comes back in the
portal's time zone, whatever offset it was sent with; the default order is ID descending.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..case import camel_key
from ..errors import ApiError
from ..filters import matches, page, sort_records, split_operator
from ..params import as_int, as_list, as_start
from ..state import portal_datetime
from .base import Context, Page, rest_method

_IDS = {"responsibleId", "createdBy", "groupId", "parentId", "changedBy", "closedBy", "statusChangedBy"}
_DATES = {"deadline", "startDatePlan", "endDatePlan", "dateStart", "closedDate"}
_LISTS = {"auditors", "accomplices", "ufCrmTask", "tags"}
_WRITABLE = _IDS | _DATES | _LISTS | {"title", "description", "priority", "status", "xmlId", "mark",
                                       "allowChangeDeadline", "taskControl", "matchWorkTime", "allowTimeTracking"}
_HIDDEN_BY_DEFAULT = {"ufCrmTask", "ufTaskWebdavFiles", "ufMailMessage"}
_FILTER_NAMES = {"REAL_STATUS": "status", "STATUS": "status"}
_SORTABLE = {
    "ID", "TITLE", "DATE_START", "CREATED_DATE", "CHANGED_DATE", "CLOSED_DATE", "ACTIVITY_DATE",
    "START_DATE_PLAN", "END_DATE_PLAN", "DEADLINE", "REAL_STATUS", "STATUS_COMPLETE", "PRIORITY",
    "MARK", "GROUP_ID", "TIME_ESTIMATE", "SORTING",
}


def _task_field(name: str) -> str:
    return _FILTER_NAMES.get(name.upper(), camel_key(name))


def _person(ctx: Context, user_id: str | None) -> dict[str, Any] | list[Any]:
    user = ctx.state.users.get(as_int(user_id) or 0)
    if user is None:
        return []
    return {
        "id": user["ID"],
        "name": f"{user['NAME']} {user['LAST_NAME']}".strip(),
        "link": f"/company/personal/user/{user['ID']}/",
        "icon": "/bitrix/images/tasks/default_avatar.png",
        "workPosition": user.get("WORK_POSITION", ""),
    }


def clean_fields(ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in raw.items():
        name = camel_key(str(key))
        if name not in _WRITABLE and not name.startswith("uf"):
            continue
        if name in _IDS:
            cleaned[name] = str(as_int(value)) if as_int(value) else None
        elif name in _DATES:
            cleaned[name] = portal_datetime(value, ctx.state.tz) if value else None
        elif name in _LISTS:
            cleaned[name] = [str(v) for v in as_list(value)]
        elif value is None:
            cleaned[name] = None
        else:
            cleaned[name] = value if isinstance(value, (list, dict)) else str(value)
    return cleaned


def _core(description: str) -> ApiError:
    return ApiError(400, "ERROR_CORE", description + "<br>")


def _check(ctx: Context, task: dict[str, Any]) -> None:
    if not (task.get("title") or "").strip():
        raise _core("Task title is not specified")
    if not task.get("responsibleId"):
        raise _core("Responsible person is not specified")
    if as_int(task["responsibleId"]) not in ctx.state.users:
        raise _core('The user specified in the "Responsible" field was not found')


def _fields_param(params: dict[str, Any]) -> dict[str, Any]:
    fields = params.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ApiError(400, "100", "Could not find value for parameter {fields} (internal error)")
    return fields


def _task_id(params: dict[str, Any]) -> int:
    raw = params.get("taskId")
    if raw is None:
        raise ApiError(400, "100", "CTaskItem All parameters in the constructor must have real class type (internal error)")
    task_id = as_int(raw)
    if task_id is None:
        raise ApiError(400, "0", "wrong task id")
    return task_id


def _output(ctx: Context, task: dict[str, Any], select: list[str] | None = None) -> dict[str, Any]:
    if select and "*" not in select:
        wanted = {_task_field(s) for s in select} | {"id"}
        return {k: v for k, v in task.items() if k in wanted}
    wanted_hidden = {_task_field(s) for s in (select or [])}
    out = {k: v for k, v in task.items() if k not in _HIDDEN_BY_DEFAULT or k in wanted_hidden}
    out["creator"] = _person(ctx, task.get("createdBy"))
    out["responsible"] = _person(ctx, task.get("responsibleId"))
    return out


def new_task(ctx: Context, values: dict[str, Any], fire: bool = True) -> dict[str, Any]:
    now = ctx.state.now_iso()
    task_id = ctx.state.next_id("tasks")
    task: dict[str, Any] = {
        "id": str(task_id),
        "parentId": None,
        "title": "",
        "description": "",
        "mark": None,
        "priority": "1",
        "multitask": "N",
        "notViewed": "N",
        "replicate": "N",
        "stageId": "0",
        "createdBy": str(ctx.user_id),
        "createdDate": now,
        "responsibleId": None,
        "changedBy": str(ctx.user_id),
        "changedDate": now,
        "statusChangedBy": None,
        "closedBy": None,
        "closedDate": None,
        "activityDate": now,
        "dateStart": None,
        "deadline": None,
        "startDatePlan": None,
        "endDatePlan": None,
        "guid": "{" + str(uuid.uuid4()) + "}",
        "xmlId": None,
        "allowChangeDeadline": "N",
        "allowTimeTracking": "N",
        "taskControl": "N",
        "addInReport": "N",
        "timeEstimate": "0",
        "matchWorkTime": "N",
        "siteId": "s1",
        "descriptionInBbcode": "Y",
        "status": "2",
        "statusChangedDate": now,
        "durationType": "days",
        "favorite": "N",
        "groupId": "0",
        "auditors": [],
        "accomplices": [],
        "ufCrmTask": [],
    }
    task.update(values)
    if fire:
        _check(ctx, task)
    ctx.state.tasks[task_id] = task
    if fire:
        ctx.emit("ONTASKADD", {"FIELDS_AFTER": {"ID": str(task_id)}})
    return task


@rest_method("tasks.task.add", "task")
def task_add(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    task = new_task(ctx, clean_fields(ctx, _fields_param(params)))
    return {"task": _output(ctx, task)}


@rest_method("tasks.task.update", "task")
def task_update(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    task_id = _task_id(params)
    fields = _fields_param(params)
    task = ctx.state.tasks.get(task_id)
    if task is None:
        raise ApiError(400, "0", "Action on the task is not allowed (internal error)")
    updated = {**task, **clean_fields(ctx, fields)}
    _check(ctx, updated)
    updated["changedBy"] = str(ctx.user_id)
    updated["changedDate"] = ctx.state.now_iso()
    if updated["status"] != task["status"]:
        updated["statusChangedBy"] = str(ctx.user_id)
        updated["statusChangedDate"] = updated["changedDate"]
    ctx.state.tasks[task_id] = updated
    ctx.emit("ONTASKUPDATE", {"FIELDS_BEFORE": {"ID": str(task_id)}, "FIELDS_AFTER": {"ID": str(task_id)}})
    return {"task": _output(ctx, updated)}


@rest_method("tasks.task.get", "task")
def task_get(ctx: Context, params: dict[str, Any]) -> Any:
    task = ctx.state.tasks.get(_task_id(params))
    if task is None:
        return []  # tasks-task-get.md: an empty array, not an error
    return {"task": _output(ctx, task, [str(s) for s in as_list(params.get("select"))])}


@rest_method("tasks.task.delete", "task")
def task_delete(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    task_id = _task_id(params)
    if ctx.state.tasks.pop(task_id, None) is None:
        raise ApiError(400, "0", "Action on the task is not allowed (internal error)")
    ctx.emit("ONTASKDELETE", {"FIELDS_BEFORE": {"ID": str(task_id)}})
    return {"task": True}


@rest_method("tasks.task.list", "task")
def task_list(ctx: Context, params: dict[str, Any]) -> Page:
    flt = params.get("filter") or {}
    flt = flt if isinstance(flt, dict) else {}
    rewritten = {}
    for key, value in flt.items():
        op, name = split_operator(key)
        # TITLE "can search by pattern [%_]" (tasks-task-list.md)
        if name.upper() == "TITLE" and op == "=" and isinstance(value, str) and "%" in value:
            key = "=%" + name
        rewritten[key] = value
    order = params.get("order") or {}
    order = order if isinstance(order, dict) and order else {"ID": "DESC"}

    def resolve(task: dict[str, Any], name: str) -> Any:
        return task.get(_task_field(name))

    if any(name.upper() not in _SORTABLE for name in order):
        raise ApiError(400, "0", "Invalid sorting key (internal error)")
    found = [t for t in ctx.state.tasks.values() if matches(t, rewritten, resolve, ctx.state.tz)]
    found = sort_records(found, order, resolve)
    chunk, total, following = page(found, as_start(params.get("start")))
    select = [str(s) for s in as_list(params.get("select"))]
    return Page([_output(ctx, t, select or None) for t in chunk], total, following, key="tasks")
