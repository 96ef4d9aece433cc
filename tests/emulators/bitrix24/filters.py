"""``filter``, ``order``, ``select`` and ``start`` of the list methods.

Filter keys carry an optional operator prefix (crm-deal-list.md, crm-item-list.md):
``=`` (default; an array means IN), ``!``/``!=``, ``>``, ``>=``, ``<``, ``<=``, ``@``/``!@``
(IN / NOT IN), ``%``/``!%`` (substring), ``=%``/``%=``/``!=%``/``!%=`` (LIKE with ``%`` and
``_``). An empty value matches an empty field. Comparisons are numeric when both sides are
numbers, by time when both are dates, else case-insensitive text (MySQL collation).
A field holding a list (UF_CRM_TASK, multiple user fields) matches when any element does.
Sub-filters (a dict value, with ``"logic": "OR"``) are supported as crm.item.list documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timezone
from typing import Any

from .errors import ApiError
from .state import parse_datetime

PAGE_SIZE = 50

_OPERATORS = ("!%=", "!=%", "!@", "!%", "!=", ">=", "<=", "=%", "%=", "!", ">", "<", "%", "@", "=")
_NEGATED = {"!": "=", "!=": "=", "!@": "@", "!%": "%", "!=%": "=%", "!%=": "=%"}

Resolve = Callable[[Mapping[str, Any], str], Any]


def split_operator(key: str) -> tuple[str, str]:
    for op in _OPERATORS:
        if key.startswith(op):
            return op, key[len(op) :]
    return "=", key


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def _equal(actual: Any, expected: Any, tz: timezone) -> bool:
    if isinstance(expected, list):
        return any(_equal(actual, e, tz) for e in expected)
    if _empty(expected):
        return _empty(actual)
    if actual is None:
        return False
    if isinstance(actual, bool):
        actual = "Y" if actual else "N"
    a, e = _number(actual), _number(expected)
    if a is not None and e is not None:
        return a == e
    return str(actual).casefold() == str(expected).casefold()


def _compare(actual: Any, expected: Any, tz: timezone) -> int | None:
    if actual is None or actual == "":
        return None
    a, e = _number(actual), _number(expected)
    if a is not None and e is not None:
        return (a > e) - (a < e)
    da, de = parse_datetime(actual, tz), parse_datetime(expected, tz)
    if da is not None and de is not None:
        return (da > de) - (da < de)
    sa, se = str(actual).casefold(), str(expected).casefold()
    return (sa > se) - (sa < se)


def _like(actual: Any, pattern: Any) -> bool:
    if actual is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(pattern))
    return re.fullmatch(regex, str(actual), re.IGNORECASE | re.DOTALL) is not None


def _positive(op: str, actual: Any, expected: Any, tz: timezone) -> bool:
    if isinstance(actual, list) and op in {"=", "@", "%", "=%", "%="}:
        if not actual:
            return _empty(expected) if op == "=" else False
        return any(_positive(op, a, expected, tz) for a in actual)
    if op in {"=", "@"}:
        return _equal(actual, expected if op == "=" else _as_values(expected), tz)
    if op == "%":
        return actual is not None and str(expected).casefold() in str(actual).casefold()
    if op in {"=%", "%="}:
        return _like(actual, expected)
    result = _compare(actual, expected, tz)
    if result is None:
        return False
    return {">": result > 0, ">=": result >= 0, "<": result < 0, "<=": result <= 0}[op]


def _as_values(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, str) and "," in value:
        return [v.strip() for v in value.split(",")]
    return [value]


def matches(
    record: Mapping[str, Any],
    flt: Mapping[str, Any],
    resolve: Resolve,
    tz: timezone,
) -> bool:
    logic = str(flt.get("logic", flt.get("LOGIC", "AND"))).upper()
    results = []
    for key, expected in flt.items():
        if key in ("logic", "LOGIC"):
            continue
        if isinstance(expected, dict):
            results.append(matches(record, expected, resolve, tz))
            continue
        op, field = split_operator(key)
        actual = resolve(record, field)
        if op in _NEGATED:
            results.append(not _positive(_NEGATED[op], actual, expected, tz))
        else:
            results.append(_positive(op, actual, expected, tz))
    if not results:
        return True
    return any(results) if logic == "OR" else all(results)


def filter_fields(flt: Mapping[str, Any]) -> list[str]:
    """The field names a filter refers to (without operators), sub-filters included."""
    names = []
    for key, value in flt.items():
        if key in ("logic", "LOGIC"):
            continue
        if isinstance(value, dict):
            names.extend(filter_fields(value))
        else:
            names.append(split_operator(key)[1])
    return names


def _sort_key(value: Any) -> tuple:
    if value is None or value == "":
        return (0,)
    number = _number(value)
    if number is not None:
        return (1, number)
    return (2, str(value).casefold())


def sort_records(
    records: list[Mapping[str, Any]],
    order: Mapping[str, Any],
    resolve: Resolve,
    strict: bool = False,
) -> list[Mapping[str, Any]]:
    """Stable multi-key sort; ``strict`` (crm.item.list) refuses a direction other than ASC/DESC."""
    result = list(records)
    for field, direction in reversed(list(order.items())):
        direction = str(direction).upper()
        if strict and direction not in {"ASC", "DESC"}:
            raise ApiError(
                400,
                "INVALID_ARG_VALUE",
                f"Invalid order: allowed sort directions are ASC, DESC. But got '{direction}' for field '{field}'",
            )
        result.sort(key=lambda r: _sort_key(resolve(r, field)), reverse=direction == "DESC")
    return result


def page(records: list[Any], start: int) -> tuple[list[Any], int | None, int | None]:
    """(page, total, next). ``start=-1`` skips counting: total 0 and no ``next`` (huge-data.md)."""
    if start < 0:
        return records[:PAGE_SIZE], 0, None
    total = len(records)
    chunk = records[start : start + PAGE_SIZE]
    following = start + PAGE_SIZE
    return chunk, total, following if following < total else None
