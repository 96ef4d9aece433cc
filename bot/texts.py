"""Every word the bot says, in the user's language.

The bot's own texts live in ``bot/locales``; error codes, statuses, actions and field names
come from the core's catalogue (``backend/locales``), so a rule's message reads the same in
chat and in the API. Plain dict catalogues rather than gettext: one format for both layers,
no compile step, and a test checks that every key used has both languages.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.errors import DomainError, ValidationFailed
from backend.i18n import CATALOGUES as CORE, translate
from backend.money import format_money
from bot.locales import bank_en, bank_ru, deals_en, deals_ru, en, notices_en, notices_ru, ru, settings_en, settings_ru

# One catalogue per language, kept in a file per area of the bot.
CATALOGUES: dict[str, dict[str, str]] = {
    "ru": {**ru.TEXTS, **notices_ru.TEXTS, **settings_ru.TEXTS, **bank_ru.TEXTS, **deals_ru.TEXTS},
    "en": {**en.TEXTS, **notices_en.TEXTS, **settings_en.TEXTS, **bank_en.TEXTS, **deals_en.TEXTS},
}
LANGUAGES = tuple(CATALOGUES)


def language_of(code: str | None) -> str:
    tag = (code or "").lower()[:2]
    return tag if tag in CATALOGUES else "ru"


class Texts:
    """The catalogue of one language, called like a function: ``t("cancelled")``."""

    def __init__(self, lang: str = "ru") -> None:
        self.lang = lang if lang in CATALOGUES else "ru"
        self.own = CATALOGUES[self.lang]

    def __call__(self, key: str, /, **params: Any) -> str:
        template = self.own.get(key)
        if template is None:
            return translate(key, self.lang, **params)
        return template.format(**params) if params else template

    def has(self, key: str) -> bool:
        return key in self.own or key in CORE[self.lang]

    def error(self, error: DomainError) -> str:
        """A rule's refusal as the user reads it; every field error of a form on its own line."""
        if isinstance(error, ValidationFailed):
            return "\n".join("• " + e.message(self.lang) for e in error.errors)
        return error.message(self.lang)

    def status(self, status: str, kind: str = "payment") -> str:
        """A status in words; a contract's in its own ("Согласован", not "Согласован к оплате")."""
        key = f"contract.status_{status}"
        if kind == "contract" and self.has(key):
            return self(key)
        return translate(f"status.{status}", self.lang)

    def money(self, minor: int, currency: str) -> str:
        return format_money(minor, currency, self.lang)

    def day(self, value: date | None) -> str:
        if value is None:
            return "—"
        return value.strftime("%d.%m.%Y") if self.lang == "ru" else value.isoformat()

    def moment(self, value: datetime | None, zone: str) -> str:
        if value is None:
            return "—"
        local = value.astimezone(ZoneInfo(zone))
        return local.strftime("%d.%m.%Y %H:%M") if self.lang == "ru" else local.strftime("%Y-%m-%d %H:%M")

    def month_name(self, month: int) -> str:
        return self.own["calendar.months"].split(",")[month - 1]

    def weekdays(self) -> list[str]:
        return self.own["calendar.weekdays"].split(",")
