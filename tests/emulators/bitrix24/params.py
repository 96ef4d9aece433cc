"""Request parameters the way Bitrix24 (PHP) sees them.

PHP builds nested arrays from form keys (``fields[TITLE]=x``, ``filter[@ID][]=1``) before
Bitrix24 gets them, and ``json_encode`` later turns an array with keys 0..n-1 into a JSON
list and any other array into an object. ``parse_php_query`` does the first half for query
strings and form bodies; ``php_value`` the second half for anything we send back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web


def parse_php_query(query: str) -> dict[str, Any]:
    """``a[b][]=1&a[b][]=2&c=3`` → ``{"a": {"b": ["1", "2"]}, "c": "3"}`` (values stay strings)."""
    pairs = []
    for chunk in query.split("&"):
        if not chunk:
            continue
        key, _, value = chunk.partition("=")
        pairs.append((unquote_plus(key), unquote_plus(value)))
    return build_php_array(pairs)


def build_php_array(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        path = _split_key(key)
        if path:
            _assign(root, path, value)
    return _listify(root)


def _split_key(key: str) -> list[str] | None:
    key = key.lstrip(" ")
    start = key.find("[")
    if start <= 0 or not key.endswith("]"):
        return [key] if key and start != 0 else None
    path = [key[:start]]
    rest = key[start:]
    while rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            return [key]  # unbalanced: PHP keeps the name more or less literally
        path.append(rest[1:end])
        rest = rest[end + 1 :]
    return path if not rest else [key]


def _next_index(node: dict[str, Any]) -> str:
    indexes = [int(k) for k in node if _is_index(k)]
    return str(max(indexes) + 1) if indexes else "0"


def _is_index(key: str) -> bool:
    return key.isdigit() and (key == "0" or not key.startswith("0"))


def _assign(root: dict[str, Any], path: list[str], value: Any) -> None:
    node = root
    for i, segment in enumerate(path):
        if segment == "" and i > 0:
            segment = _next_index(node)
        if i == len(path) - 1:
            node[segment] = value
            return
        child = node.get(segment)
        if not isinstance(child, dict):  # PHP replaces a scalar with a new array
            child = {}
            node[segment] = child
        node = child


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and list(converted) == [str(i) for i in range(len(converted))]:
            return list(converted.values())
        return converted
    return node


def php_value(value: Any) -> Any:
    """What PHP's ``json_encode`` makes of an array: ``{}`` → ``[]``, keys 0..n-1 → a list."""
    if isinstance(value, Mapping):
        keys = [str(k) for k in value]
        if not keys:
            return []
        items = {str(k): php_value(v) for k, v in value.items()}
        if keys == [str(i) for i in range(len(keys))]:
            return list(items.values())
        return items
    if isinstance(value, list):
        return [php_value(v) for v in value]
    return value


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query string merged with the body (form, multipart or JSON), like PHP's ``$_REQUEST``."""
    params = parse_php_query(request.rel_url.raw_query_string)
    if not request.can_read_body:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        raw = await request.read()
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = {}
        if isinstance(body, dict):
            params.update(body)
    elif content_type == "multipart/form-data":
        form = await request.post()
        params.update(build_php_array((k, v if isinstance(v, str) else "") for k, v in form.items()))
    else:
        raw = await request.read()
        params.update(parse_php_query(raw.decode("utf-8", errors="replace")))
    return params


def get_ci(params: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """Classic CRM methods read their parameters case-insensitively (``id`` = ``ID``)."""
    if name in params:
        return params[name]
    lowered = name.lower()
    for key, value in params.items():
        if key.lower() == lowered:
            return value
    return default


def as_int(value: Any) -> int | None:
    """A positive integer id from a JSON number or a form string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float) and value.is_integer():
        return int(value) if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def as_start(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "y", "true", "yes"}
    return bool(value)
