"""The registry's filters as a page's query string: read, with each mistake named, and written back."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.datastructures import QueryParams

from backend.i18n import translate
from backend.services.registry import RegistryQuery

LIST_PARAMS = {"status", "ids"}
PAGE_ONLY = {"start", "view"}  # the page's own: row counter, "all" to skip the saved view


def filter_params(params: QueryParams) -> dict[str, Any]:
    """The filters given (empty form fields are no filter)."""
    given: dict[str, Any] = {}
    for key in set(params.keys()) - PAGE_ONLY:
        values = [v for v in params.getlist(key) if v.strip()]
        if not values:
            continue
        given[key] = values if key in LIST_PARAMS else values[-1].strip()
    return given


def parse_query(given: dict[str, Any], lang: str) -> tuple[RegistryQuery, list[str]]:
    """The query, or (when some filter is wrong) the query without it and what was wrong."""
    problems: list[str] = []
    data = dict(given)
    for _ in range(len(data) + 1):
        try:
            return RegistryQuery(**data), problems
        except ValidationError as error:
            for item in error.errors():
                field = str(item["loc"][0]) if item.get("loc") else ""
                problems.append(translate("web.filter_invalid", lang, field=field, value=str(data.get(field, ""))))
                data.pop(field, None)
    return RegistryQuery(), problems

