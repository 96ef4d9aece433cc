"""Russian formats of print forms: "1 234,50", "1,5", "24.11.2026", "24 ноября 2026 г.", "20 %".

Thousands are separated by a no-break space (U+00A0), as 1C prints them, so an amount never
breaks across lines; ``format_money(…, space=" ")`` gives plain spaces (the QR code's Purpose).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

__all__ = ["NBSP", "format_date", "format_date_long", "format_money", "format_quantity", "format_rate"]

NBSP = "\u00a0"
MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)


def _group(digits: str) -> str:
    groups = []
    while len(digits) > 3:
        digits, tail = digits[:-3], digits[-3:]
        groups.insert(0, tail)
    groups.insert(0, digits)
    return NBSP.join(groups)


def format_money(kopecks: int, *, space: str = NBSP) -> str:
    """123450 → "1 234,50" (no-break spaces between the thousands)."""
    sign = "-" if kopecks < 0 else ""
    rubles, rest = divmod(abs(kopecks), 100)
    return f"{sign}{_group(str(rubles))},{rest:02d}".replace(NBSP, space)


def format_quantity(quantity: Decimal | int) -> str:
    """Decimal("1.500") → "1,5"; Decimal("1000") → "1 000"."""
    text = format(Decimal(quantity).normalize(), "f")
    whole, _, fraction = text.partition(".")
    return _group(whole) + ("," + fraction if fraction else "")


def format_date(value: date | None) -> str:
    return f"{value:%d.%m.%Y}" if value else ""


def format_date_long(value: date | None) -> str:
    """24 ноября 2026 г."""
    if not value:
        return ""
    return f"{value.day} {MONTHS_GENITIVE[value.month - 1]} {value.year} г."


def format_rate(rate: int | None) -> str:
    return "Без НДС" if rate is None else f"{rate}{NBSP}%"
