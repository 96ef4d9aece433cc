"""Exact money: amounts live as integer minor units (kopecks), never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from backend.errors import InvalidInput

CURRENCIES = ("RUB", "USD", "EUR", "CNY", "KZT", "BYN", "AED", "TRY")
MAX_AMOUNT = 10**15  # minor units; far above any real payment, below int64 limits


def parse_amount(value: Decimal | str | int, *, field: str = "amount") -> int:
    """'1 234,56' / '1234.56' / Decimal → 123456 kopecks; at most two decimals, positive."""
    if isinstance(value, float):
        raise InvalidInput("amount.float", field=field)
    text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput("amount.format", field=field) from None
    if not amount.is_finite():
        raise InvalidInput("amount.format", field=field)
    if amount <= 0:
        raise InvalidInput("amount.positive", field=field)
    if amount * 100 >= MAX_AMOUNT:  # before quantize, which fails on huge exponents
        raise InvalidInput("amount.too_large", field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput("amount.precision", field=field)
    return int(amount * 100)


def check_currency(value: str, *, field: str = "currency") -> str:
    code = (value or "").strip().upper()
    if code not in CURRENCIES:
        raise InvalidInput("currency.unknown", field=field, allowed=", ".join(CURRENCIES))
    return code


def to_decimal(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


def format_amount(minor: int) -> str:
    """123456 → '1234.56' (machine form, as in bank files and the API)."""
    return str(to_decimal(minor))


def format_rub(minor: int) -> str:
    """123456789 → '1 234 567,89' (how Russian accountants write sums)."""
    whole, kop = divmod(abs(minor), 100)
    sign = "-" if minor < 0 else ""
    return f"{sign}{whole:,}".replace(",", "\u00a0") + f",{kop:02d}"


CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "CNY": "¥"}


def format_money(minor: int, currency: str = "RUB", lang: str = "ru") -> str:
    """A sum as a reader writes it: '15 000,50 ₽' in Russian, '15,000.50 ₽' in English."""
    sign = CURRENCY_SIGNS.get(currency, currency)
    if lang == "ru":
        return f"{format_rub(minor)}\u00a0{sign}"
    whole, kop = divmod(abs(minor), 100)
    return f"{'-' if minor < 0 else ''}{whole:,}.{kop:02d} {sign}"
