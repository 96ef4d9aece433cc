"""Response bodies: OData v3 JSON ("minimal metadata", as 1C sends with ``$format=json``) and a
minimal Atom/XML, which is what 1C answers when JSON was not asked for."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from .errors import ODataError
from .metadata import INT64, EntitySetDef, TablePart
from .state import plain_number

_TAIL = ("Predefined", "PredefinedDataName")


def _value(prop_edm: str, value: Any) -> Any:
    if isinstance(value, float):
        return plain_number(value)
    if prop_edm == INT64 and isinstance(value, int):
        return str(value)
    return value


def _row(part: TablePart, row: dict) -> dict:
    return {name: _value(prop.edm, row.get(name, prop.default())) for name, prop in part.props.items()}


def entity_fields(
    definition: EntitySetDef,
    entity: dict,
    *,
    select: list[str] | None = None,
    links: bool = True,
) -> dict[str, Any]:
    """The object as 1C serialises it: attributes, table parts, Predefined*, navigation links."""
    out: dict[str, Any] = {}
    props = definition.props
    for name, prop in props.items():
        if name not in _TAIL:
            out[name] = _value(prop.edm, entity.get(name, prop.default()))
    for name, part in definition.table_parts.items():
        out[name] = [_row(part, row) for row in entity.get(name, [])]
    for name in _TAIL:
        if name in props:
            out[name] = entity.get(name, props[name].default())
    if select is not None:
        wanted = [s.split("/", 1)[0] for s in select]
        return {name: out[name] for name in out if name in wanted}
    if links and "Ref_Key" in entity:
        for prop in props.values():
            if prop.nav_name:
                out[f"{prop.nav_name}@navigationLinkUrl"] = (
                    f"{definition.name}(guid'{entity['Ref_Key']}')/{prop.nav_name}"
                )
    return out


def table_row_fields(part: TablePart, row: dict) -> dict[str, Any]:
    return _row(part, row)


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def error_xml(error: ODataError) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<m:error xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">'
        f"<m:code>{escape(error.code)}</m:code>"
        f'<m:message xml:lang="ru">{escape(error.message)}</m:message>'
        "</m:error>"
    ).encode()


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _properties(fields: dict[str, Any]) -> str:
    parts = []
    for name, value in fields.items():
        if "@" in name:
            continue
        if isinstance(value, list):
            rows = "".join(
                "<d:element>" + "".join(f"<d:{k}>{_xml_value(v)}</d:{k}>" for k, v in row.items()) + "</d:element>"
                for row in value
            )
            parts.append(f"<d:{name}>{rows}</d:{name}>")
        else:
            parts.append(f"<d:{name}>{_xml_value(value)}</d:{name}>")
    return "<m:properties>" + "".join(parts) + "</m:properties>"


def _entry(root: str, set_name: str, fields: dict[str, Any], key: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        "<entry>"
        f"<id>{escape(root + set_name + key)}</id>"
        f'<category term="StandardODATA.{escape(set_name)}" '
        'scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/>'
        f'<title type="text"/><updated>{now}</updated><author/><summary/>'
        f'<content type="application/xml">{_properties(fields)}</content>'
        "</entry>"
    )


_NS = (
    'xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
    'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"'
)


def atom_feed(root: str, set_name: str, rows: list[tuple[str, dict[str, Any]]], count: int | None) -> bytes:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    counted = f"<m:count>{count}</m:count>" if count is not None else ""
    entries = "".join(_entry(root, set_name, fields, key) for key, fields in rows)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<feed {_NS} xml:base="{escape(root)}">'
        f'<id>{escape(root + set_name)}</id><title type="text">{escape(set_name)}</title>'
        f"<updated>{now}</updated><author/>{counted}{entries}</feed>"
    ).encode()


def atom_entry(root: str, set_name: str, key: str, fields: dict[str, Any]) -> bytes:
    entry = _entry(root, set_name, fields, key).replace("<entry>", f'<entry {_NS} xml:base="{escape(root)}">', 1)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + entry).encode("utf-8")


def atom_service(root: str, names: list[str]) -> bytes:
    collections = "".join(
        f'<collection href="{escape(n)}"><atom:title>{escape(n)}</atom:title></collection>' for n in names
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<service xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom" '
        f'xml:base="{escape(root)}"><workspace><atom:title>Default</atom:title>{collections}</workspace></service>'
    ).encode()
