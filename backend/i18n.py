"""Message catalogues for the core: Russian first, English second."""

from __future__ import annotations

from typing import Any

from backend.locales import en, ru

DEFAULT_LANGUAGE = "ru"
CATALOGUES: dict[str, dict[str, str]] = {"ru": ru.MESSAGES, "en": en.MESSAGES}
SUPPORTED_LANGUAGES = tuple(CATALOGUES)


def pick_language(accept: str | None) -> str:
    """Choose ru or en from a language tag or an Accept-Language header."""
    if not accept:
        return DEFAULT_LANGUAGE
    for part in accept.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in CATALOGUES:
            return tag
    return DEFAULT_LANGUAGE


def translate(code: str, lang: str = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """The message for ``code`` in ``lang``; falls back to Russian, then to the code."""
    catalogue = CATALOGUES.get(lang, CATALOGUES[DEFAULT_LANGUAGE])
    template = catalogue.get(code) or CATALOGUES[DEFAULT_LANGUAGE].get(code)
    if template is None:
        return code
    for name in ("status", "action"):  # machine values shown by their names in this language
        value = params.get(name)
        if isinstance(value, str) and f"{name}.{value}" in catalogue:
            params[name] = catalogue[f"{name}.{value}"]
    field = params.get("field")
    if field is not None:
        params["field_name"] = field_name(field, catalogue)
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def field_name(field: str, catalogue: dict[str, str]) -> str:
    """The human name of a field; for a path like stages.1.approvers.kind, its last named part
    with the path kept in brackets so a form can still find the place."""
    if f"field.{field}" in catalogue:
        return catalogue[f"field.{field}"]
    parts = [p for p in field.split(".") if not p.isdigit()]
    for start in range(len(parts)):  # the longest known tail: approvers.kind before kind
        key = "field." + ".".join(parts[start:])
        if key in catalogue:
            return f"{catalogue[key]} ({field})"
    return field
