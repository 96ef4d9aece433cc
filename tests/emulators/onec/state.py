"""The emulated infobase: stored objects, DataVersion, codes and numbers, and how a JSON body
becomes a stored object (types checked the way the OData layer checks them)."""

from __future__ import annotations

import base64
import re
import struct
import uuid
from collections import defaultdict
from datetime import date, datetime
from typing import Any, NamedTuple

from . import errors
from .metadata import (
    BOOL,
    DATE,
    DOUBLE,
    EMPTY_DATE,
    EMPTY_GUID,
    GUID,
    INT16,
    INT64,
    UNDEFINED_TYPE,
    EntitySetDef,
    Prop,
    TablePart,
)
from .query import format_datetime, is_guid, parse_datetime


class Call(NamedTuple):
    """One HTTP request as the emulator saw it. ``path`` is decoded and relative to the
    ``standard.odata/`` root (``Catalog_Контрагенты(guid'…')``); ``query`` holds decoded values."""

    method: str
    path: str
    query: dict[str, str]
    status: int


_BIND = re.compile(r"^(?P<set>[A-Za-z]+_[^\W\d][\w]*)\(guid'(?P<guid>[0-9a-fA-F-]{36})'\)$")

TABLE_PART_WITHOUT_LINE_NUMBER = (
    "Произошла внутренняя ошибка OData сервиса. Дополнительные сведения можно найти в технологическом журнале."
)


def data_version(n: int) -> str:
    """1C's DataVersion is an opaque base64 string; version 1 reads ``AAAAAQAAAAA=``."""
    return base64.b64encode(struct.pack(">II", n, 0)).decode()


def as_odata_date(value: Any) -> str:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    if not isinstance(value, str):
        raise errors.bad_request(f"Неверное значение типа Edm.DateTime: {value!r}")
    if value == "":
        return EMPTY_DATE
    return format_datetime(parse_datetime(value))


def plain_number(value: float) -> float | int:
    """1C writes 20000 rather than 20000.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class Store:
    def __init__(self, schema: dict[str, EntitySetDef], *, number_prefix: str = "0000") -> None:
        self.schema = schema
        self.number_prefix = number_prefix
        self.entities: dict[str, dict[str, dict]] = {name: {} for name in schema}
        self._versions: dict[tuple[str, str], int] = {}
        self._codes: dict[str, int] = defaultdict(int)
        self._numbers: dict[tuple[str, int], int] = defaultdict(int)

    # -- keys ---------------------------------------------------------------------------------

    def record_key(self, definition: EntitySetDef, values: dict[str, Any]) -> str:
        if definition.key == ("Ref_Key",):
            return str(values.get("Ref_Key", "")).lower()
        return "|".join(str(values.get(k, "")).lower() for k in definition.key)

    def get(self, set_name: str, key: str) -> dict | None:
        return self.entities.get(set_name, {}).get(key.lower())

    def touch(self, set_name: str, key: str) -> None:
        n = self._versions.get((set_name, key), 0) + 1
        self._versions[(set_name, key)] = n
        entity = self.entities[set_name].get(key)
        if entity is not None and "DataVersion" in self.schema[set_name].props:
            entity["DataVersion"] = data_version(n)

    # -- codes & numbers ------------------------------------------------------------------------

    def next_code(self, definition: EntitySetDef) -> str:
        self._codes[definition.name] += 1
        return (definition.code_format or "{:d}").format(self._codes[definition.name])

    def next_number(self, definition: EntitySetDef, when: str) -> str:
        """BP 3.0 numbers documents per type and year: ``<prefix>-<6 digits>``, e.g. 0000-000001."""
        year = int(when[:4]) if when and when != EMPTY_DATE else datetime.now().year
        self._numbers[(definition.name, year)] += 1
        return f"{self.number_prefix}-{self._numbers[(definition.name, year)]:06d}"

    # -- building objects -------------------------------------------------------------------------

    def blank(self, definition: EntitySetDef) -> dict:
        entity = {name: prop.default() for name, prop in definition.props.items()}
        for name in definition.composite_names():
            entity[f"{name}_Type"] = UNDEFINED_TYPE
        for part in definition.table_parts:
            entity[part] = []
        if definition.predefined:
            entity["Predefined"] = False
        return entity

    def create(self, definition: EntitySetDef, body: dict, *, ref: str | None = None) -> dict:
        """Build, number and store a new object (not posted); return the stored dict."""
        entity = self.blank(definition)
        values = self.coerce(definition, body, entity)
        entity.update(values)
        if "Ref_Key" in definition.props:
            given = values.get("Ref_Key") or ref
            entity["Ref_Key"] = (given or str(uuid.uuid4())).lower()
            if entity["Ref_Key"] == EMPTY_GUID:
                entity["Ref_Key"] = str(uuid.uuid4())
        self._fill_rows(definition, entity)
        if definition.is_document:
            if not values.get("Date") or entity["Date"] == EMPTY_DATE:
                entity["Date"] = format_datetime(datetime.now())
            if not entity.get("Number"):
                entity["Number"] = self.next_number(definition, entity["Date"])
        elif definition.code_format and "Code" in definition.props and not entity.get("Code"):
            entity["Code"] = self.next_code(definition)
        key = self.record_key(definition, entity)
        if definition.is_register and any(
            entity.get(k) in ("", EMPTY_GUID, None) for k in definition.key if not k.endswith("_Type")
        ):
            raise errors.bad_request("Не заполнены поля ключа записи регистра: " + ", ".join(definition.key))
        if key in self.entities[definition.name]:
            raise errors.ODataError(400, "Запись с таким ключом уже существует", "-1")
        self.entities[definition.name][key] = entity
        self.touch(definition.name, key)
        return entity

    def update(self, definition: EntitySetDef, entity: dict, body: dict) -> dict:
        values = self.coerce(definition, body, entity, partial=True)
        for name in definition.key:
            if name in values and str(values[name]).lower() != str(entity.get(name, "")).lower():
                raise errors.bad_request(f"Изменение ключевого свойства {name} не допускается")
        entity.update(values)
        self._fill_rows(definition, entity)
        self.touch(definition.name, self.record_key(definition, entity))
        return entity

    def _fill_rows(self, definition: EntitySetDef, entity: dict) -> None:
        for part in definition.table_parts:
            for row in entity.get(part, []):
                row["Ref_Key"] = entity.get("Ref_Key", EMPTY_GUID)

    # -- coercion -------------------------------------------------------------------------------------

    def coerce(self, definition: EntitySetDef, body: Any, current: dict, *, partial: bool = False) -> dict:
        if not isinstance(body, dict):
            raise errors.bad_request("Тело запроса должно быть JSON-объектом")
        values: dict[str, Any] = {}
        for name, raw in body.items():
            if name == "odata.metadata" or name.endswith("@navigationLinkUrl"):
                continue
            if name.endswith("@odata.bind"):
                values.update(self._bind(definition, name[: -len("@odata.bind")], raw))
                continue
            if name in ("DataVersion", "Predefined", "PredefinedDataName"):
                continue
            if name in definition.table_parts:
                values[name] = self._rows(definition.table_parts[name], raw)
                continue
            prop = definition.props.get(name)
            if prop is None:
                raise errors.unknown_property(name, definition.name)
            values[name] = self._value(definition, prop, raw)
        for name in definition.composite_names():
            value = values.get(name, current.get(name, ""))
            type_name = values.get(f"{name}_Type", current.get(f"{name}_Type", UNDEFINED_TYPE))
            if name in values or f"{name}_Type" in values:
                if value and type_name == UNDEFINED_TYPE:
                    raise errors.bad_request(f"Не указан тип значения свойства {name} (свойство {name}_Type)")
                if not value and name in values:
                    values[f"{name}_Type"] = UNDEFINED_TYPE
        return values

    def _bind(self, definition: EntitySetDef, name: str, raw: Any) -> dict:
        match = _BIND.match(str(raw)) if isinstance(raw, str) else None
        if match is None:
            raise errors.bad_request(f"Неверное значение {name}@odata.bind: {raw!r}")
        if f"{name}_Key" in definition.props:
            return {f"{name}_Key": match["guid"].lower()}
        if name in definition.composite_names():
            return {name: match["guid"].lower(), f"{name}_Type": f"StandardODATA.{match['set']}"}
        raise errors.unknown_property(name, definition.name)

    def _value(self, definition: EntitySetDef, prop: Prop, raw: Any):
        where = f"{prop.name} ({definition.name})"
        if prop.composite:
            if raw in (None, ""):
                return ""
            if not is_guid(raw):
                raise errors.bad_request(f"Неверное значение свойства составного типа {where}: {raw!r}")
            return raw.lower()
        if prop.name.endswith("_Type") and prop.edm == "Edm.String" and prop.name[:-5] in definition.composite_names():
            if not isinstance(raw, str) or not (raw.startswith("StandardODATA.") or raw == ""):
                raise errors.bad_request(f"Неверное имя типа в свойстве {where}: {raw!r}")
            return raw or UNDEFINED_TYPE
        if prop.edm == GUID:
            if raw in (None, ""):
                return EMPTY_GUID
            if not is_guid(raw):
                raise errors.bad_request(f"Неверное значение типа Edm.Guid свойства {where}: {raw!r}")
            return raw.lower()
        if prop.edm == BOOL:
            if not isinstance(raw, bool):
                raise errors.bad_request(f"Неверное значение типа Edm.Boolean свойства {where}: {raw!r}")
            return raw
        if prop.edm == DATE:
            return as_odata_date(raw if raw is not None else "")
        if prop.edm in (DOUBLE, INT16, INT64):
            if isinstance(raw, bool):
                raise errors.bad_request(f"Неверное числовое значение свойства {where}: {raw!r}")
            try:
                number = float(raw) if isinstance(raw, str) else raw
            except ValueError:
                raise errors.bad_request(f"Неверное числовое значение свойства {where}: {raw!r}") from None
            if not isinstance(number, (int, float)):
                raise errors.bad_request(f"Неверное числовое значение свойства {where}: {raw!r}")
            if prop.edm == INT64:
                return str(int(number))
            if prop.edm == INT16:
                return int(number)
            return plain_number(float(number))
        if raw is None:
            return ""
        if not isinstance(raw, str):
            raise errors.bad_request(f"Неверное значение типа Edm.String свойства {where}: {raw!r}")
        return raw

    def _rows(self, part: TablePart, raw: Any) -> list[dict]:
        if not isinstance(raw, list):
            raise errors.bad_request(f"Табличная часть {part.name} должна быть массивом строк")
        owner = self.schema[part.owner]
        rows = []
        for item in raw:
            if not isinstance(item, dict):
                raise errors.bad_request(f"Строка табличной части {part.name} должна быть объектом")
            if "LineNumber" not in item:
                raise errors.internal(TABLE_PART_WITHOUT_LINE_NUMBER)
            row = {name: prop.default() for name, prop in part.props.items()}
            for name, value in item.items():
                if name.endswith("@navigationLinkUrl"):
                    continue
                prop = part.props.get(name)
                if prop is None:
                    raise errors.unknown_property(name, part.set_name)
                row[name] = self._value(owner, prop, value)
            rows.append(row)
        return rows
