"""PHP-style nested form fields, the way Bitrix24 speaks them: ``fields[TITLE]=x``,
``filter[@ID][]=1``, ``data[FIELDS][ID]=42``.

Written by hand: Python's ``urllib.parse`` has the flat part only, and no maintained library
does PHP's ``http_build_query`` / ``parse_str`` both ways. Batch sub-commands need ``encode`` (the
query of each ``cmd[...]`` is itself URL-encoded, FACTS gotcha 4); outbound events need ``parse``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def encode(params: Mapping[str, Any]) -> str:
    """``http_build_query``: nested dicts and lists become bracketed keys; booleans Y/N."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        _flatten(str(key), value, pairs)
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]", item, out)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, out)
    elif isinstance(value, bool):
        out.append((prefix, "Y" if value else "N"))
    elif value is None:
        out.append((prefix, ""))
    else:
        out.append((prefix, str(value)))


def parse(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``parse_str`` into nested dicts: ``a[b][c]=1`` → ``{"a": {"b": {"c": "1"}}}``; an empty
    bracket appends (``a[]=x&a[]=y`` → ``{"a": {"0": "x", "1": "y"}}``). A key that is not PHP
    brackets is kept as it is; a later value wins over an earlier one, as in PHP."""
    result: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match:
            result[raw_key] = value
            continue
        *parents, leaf = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = result
        for part in parents:
            part = part or str(len(node))
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[leaf or str(len(node))] = value
    return result
