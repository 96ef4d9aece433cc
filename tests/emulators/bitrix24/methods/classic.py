"""The classic CRM method family ``<prefix>.add/update/get/list/delete`` shared by companies,
deals, requisites and bank details.

Their habits (crm-deal-*.md, crm-requisite-*.md): parameters are case-insensitive
(``id``/``ID``, ``fields``/``FIELDS``), values come back as strings, errors are HTTP 400
with an empty ``error`` code, unknown fields are silently ignored — also in ``filter``,
where a misspelt field therefore filters nothing — and ``*`` in ``select`` means the
standard fields without the ``UF_*`` ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from .. import errors
from ..filters import matches, page, sort_records, split_operator
from ..params import as_int, as_list, as_start, get_ci
from ..state import State, portal_datetime
from .base import Context, Page, rest_method

Hook = Callable[[Context, dict[str, Any], dict[str, Any] | None], None]


@dataclass
class ClassicEntity:
    prefix: str  # "crm.deal"
    store: str  # attribute of State holding the records
    fields: dict[str, str]  # standard field → type (int, money, char, str, datetime, list), in output order
    readonly: frozenset[str]
    defaults: Callable[[Context, int], dict[str, Any]]
    event: str | None = None  # "ONCRMDEAL" → ONCRMDEALADD/UPDATE/DELETE
    custom_prefixes: tuple[str, ...] = ("UF_",)
    not_found: Callable[[int], str] = lambda _id: "Not found"
    select_everything_by_default: bool = False
    validate: Hook | None = None  # (ctx, new values, existing record or None) → raise ApiError
    before_save: Hook | None = None  # (ctx, record after the change, record before or None)
    on_delete: Callable[[Context, int], None] | None = None

    def records(self, state: State) -> dict[int, dict[str, Any]]:
        return getattr(state, self.store)

    def is_custom(self, name: str) -> bool:
        return name.startswith(self.custom_prefixes)

    def accepts(self, name: str) -> bool:
        return name in self.fields or self.is_custom(name)

    def normalize(self, name: str, value: Any, tz: timezone) -> Any:
        kind = self.fields.get(name, "custom")
        return normalize_value(kind, value, tz)

    def clean_input(self, raw: dict[str, Any], tz: timezone) -> dict[str, Any]:
        """Known, writable fields only, normalized; the rest is ignored as Bitrix24 does."""
        cleaned = {}
        for key, value in raw.items():
            name = str(key).upper() if str(key).upper() in self.fields else str(key)
            if name in self.readonly or not self.accepts(name):
                continue
            cleaned[name] = self.normalize(name, value, tz)
        return cleaned

    def build(self, ctx: Context, values: dict[str, Any], new_id: int) -> dict[str, Any]:
        record: dict[str, Any] = {name: None for name in self.fields}
        record.update(self.defaults(ctx, new_id))
        record.update(values)
        record["ID"] = str(new_id)
        return record

    def output(self, record: dict[str, Any], select: list[str], ctx: Context) -> dict[str, Any]:
        wanted = {str(s).upper() if str(s).upper() in self.fields else str(s) for s in select}
        if not wanted:
            wanted = {"*", "UF_*"} if self.select_everything_by_default or ctx.list_default_includes_uf else {"*"}
        out = {}
        for name, value in record.items():
            custom = self.is_custom(name) and name not in self.fields
            if name in wanted or ("*" in wanted and not custom) or ("UF_*" in wanted and custom):
                out[name] = value
        for name in wanted:  # explicitly selected user fields nobody has set yet
            if name not in out and name.startswith("UF_") and name != "UF_*":
                out[name] = None
        return out


def normalize_value(kind: str, value: Any, tz: timezone) -> Any:
    if value is None:
        return None
    if kind == "int":
        try:
            return str(int(float(str(value).strip())))
        except ValueError:
            return None
    if kind == "money":
        try:
            return f"{float(str(value).strip().replace(',', '.')):.2f}"
        except ValueError:
            return "0.00"
    if kind == "char":
        if isinstance(value, str):
            return "Y" if value.strip().upper() in {"Y", "1", "TRUE"} else "N"
        return "Y" if value else "N"
    if kind == "datetime":
        return portal_datetime(value, tz) or ""
    if kind == "list":
        return [str(v) for v in as_list(value)]
    if kind == "custom":
        if isinstance(value, (list, dict)):
            return [v if isinstance(v, (dict, list)) or v is None else str(v) for v in as_list(value)]
        if isinstance(value, bool):
            return "1" if value else "0"
        return str(value)
    return str(value)


def _fields_param(params: dict[str, Any]) -> dict[str, Any]:
    value = get_ci(params, "fields")
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise errors.classic("Parameter 'fields' must be array.")
    return value


def _id_param(params: dict[str, Any]) -> int:
    number = as_int(get_ci(params, "id"))
    if number is None:
        raise errors.classic("ID is not defined or invalid.")
    return number


def add_record(entity: ClassicEntity, ctx: Context, raw: dict[str, Any], validate: bool = True) -> int:
    values = entity.clean_input(raw, ctx.state.tz)
    if validate and entity.validate:
        entity.validate(ctx, values, None)
    new_id = ctx.state.next_id(entity.store)
    record = entity.build(ctx, values, new_id)
    if entity.before_save:
        entity.before_save(ctx, record, None)
    entity.records(ctx.state)[new_id] = record
    if entity.event and validate:
        ctx.emit(entity.event + "ADD", {"FIELDS": {"ID": str(new_id)}})
    return new_id


def update_record(entity: ClassicEntity, ctx: Context, record_id: int, raw: dict[str, Any], fire: bool = True) -> None:
    records = entity.records(ctx.state)
    if record_id not in records:
        raise errors.classic(entity.not_found(record_id))
    values = entity.clean_input(raw, ctx.state.tz)
    before = dict(records[record_id])
    if entity.validate:
        entity.validate(ctx, values, before)
    record = records[record_id]
    record.update(values)
    if "DATE_MODIFY" in entity.fields:
        record["DATE_MODIFY"] = ctx.state.now_iso()
    if "MODIFY_BY_ID" in entity.fields:
        record["MODIFY_BY_ID"] = str(ctx.user_id)
    if entity.before_save:
        entity.before_save(ctx, record, before)
    if entity.event and fire:
        ctx.emit(entity.event + "UPDATE", {"FIELDS": {"ID": str(record_id)}})


def list_records(entity: ClassicEntity, ctx: Context, params: dict[str, Any]) -> Page:
    flt = get_ci(params, "filter") or {}
    order = get_ci(params, "order") or {}
    select = [str(s) for s in as_list(get_ci(params, "select"))]
    tz = ctx.state.tz

    def resolve(record: dict[str, Any], name: str) -> Any:
        upper = name.upper()
        return record.get(upper) if upper in record else record.get(name)

    def known(name: str) -> bool:
        return entity.accepts(name.upper()) or entity.accepts(name)

    # unknown fields are dropped from the filter, so they filter nothing — the real trap
    flt = _known_only(flt, known) if isinstance(flt, dict) else {}
    records = [r for r in entity.records(ctx.state).values() if matches(r, flt, resolve, tz)]
    records = sort_records(records, order if isinstance(order, dict) and order else {"ID": "ASC"}, resolve)
    chunk, total, following = page(records, as_start(get_ci(params, "start")))
    return Page([entity.output(r, select, ctx) for r in chunk], total, following)


def _known_only(flt: dict[str, Any], known: Callable[[str], bool]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in flt.items():
        if key.upper() == "LOGIC" or isinstance(value, dict):
            kept[key] = _known_only(value, known) if isinstance(value, dict) else value
        elif known(split_operator(key)[1]):
            kept[key] = value
    return kept


def delete_record(entity: ClassicEntity, ctx: Context, record_id: int) -> None:
    records = entity.records(ctx.state)
    if record_id not in records:
        raise errors.classic(entity.not_found(record_id))
    del records[record_id]
    if entity.on_delete:
        entity.on_delete(ctx, record_id)
    if entity.event:
        ctx.emit(entity.event + "DELETE", {"FIELDS": {"ID": str(record_id)}})


def register(entity: ClassicEntity, scope: str = "crm", methods: tuple[str, ...] = ("add", "update", "get", "list", "delete")) -> None:
    def add(ctx: Context, params: dict[str, Any]) -> int:
        return add_record(entity, ctx, _fields_param(params))

    def update(ctx: Context, params: dict[str, Any]) -> bool:
        record_id = _id_param(params)
        update_record(entity, ctx, record_id, _fields_param(params))
        return True

    def get(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        record_id = _id_param(params)
        record = entity.records(ctx.state).get(record_id)
        if record is None:
            raise errors.classic(entity.not_found(record_id))
        return entity.output(record, ["*", "UF_*"], ctx)

    def list_(ctx: Context, params: dict[str, Any]) -> Page:
        return list_records(entity, ctx, params)

    def delete(ctx: Context, params: dict[str, Any]) -> bool:
        delete_record(entity, ctx, _id_param(params))
        return True

    functions = {"add": add, "update": update, "get": get, "list": list_, "delete": delete}
    for name in methods:
        rest_method(f"{entity.prefix}.{name}", scope)(functions[name])
