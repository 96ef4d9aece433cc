"""The pages' words in Russian and English; codes the core already knows (statuses, columns,
error messages) come from the core's catalogue."""

from __future__ import annotations

from typing import Any

from backend.i18n import CATALOGUES, DEFAULT_LANGUAGE, translate
from backend.web.locales import admin_en, admin_ru, analytics_en, analytics_ru, en, ru

PAGES: dict[str, dict[str, str]] = {
    "ru": {**ru.TEXTS, **analytics_ru.TEXTS, **admin_ru.TEXTS},
    "en": {**en.TEXTS, **analytics_en.TEXTS, **admin_en.TEXTS},
}


def page_text(lang: str, key: str, /, **params: Any) -> str:
    catalogue = PAGES.get(lang, PAGES[DEFAULT_LANGUAGE])
    template = catalogue.get(key) or PAGES[DEFAULT_LANGUAGE].get(key)
    if template is None:
        return translate(key, lang, **params)
    try:
        return template.format(**params) if params else template
    except (KeyError, IndexError):
        return template


def known(lang: str, key: str) -> bool:
    return key in PAGES.get(lang, {}) or key in CATALOGUES.get(lang, {})
