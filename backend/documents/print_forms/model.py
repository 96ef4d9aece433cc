"""The documents a print form is made from, the sums they print, and the checks on both.

Money is integer kopecks throughout. A line's amount is ``quantity × price`` rounded half
up to the kopeck; the VAT inside it (prices include VAT) is ``amount × rate / (100 + rate)``,
rounded half up per line; a document's VAT for a rate is the sum of its lines' VAT at that
rate, so the printed lines always add up to the printed totals. A split payment (70/30)
rounds the first part half up and makes the second the remainder: the parts add up exactly.

Errors are :class:`~backend.errors.InvalidInput` with a ``field`` path into the document
(``lines[2].quantity``, ``supplier.inn``; lines are numbered from 0, as in ``doc.lines``;
the document's date is ``document_date``, because ``field.date`` is a message, not a label);
several at once are a :class:`~backend.errors.ValidationFailed` listing each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from backend.errors import DomainError, InvalidInput, ValidationFailed
from backend.requisites import (
    normalize_digits,
    validate_bik,
    validate_correspondent_account,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_settlement_account,
)

__all__ = [
    "CLIENT_TYPES",
    "MAX_TOTAL",
    "PAYMENT_TERMS",
    "VAT_RATES",
    "ContractDocument",
    "InvoiceDocument",
    "Line",
    "Party",
    "Totals",
    "line_amount",
    "line_vat",
    "prepayment_split",
    "totals",
    "validate_contract",
    "validate_invoice",
]

VAT_RATES = (0, 5, 7, 10, 20, 22)  # None on a line: "Без НДС"
PAYMENT_TERMS = ("full", "prepay_70_30")
CLIENT_TYPES = ("company", "individual")
PREPAY_PERCENT = 70  # the 70/30 scheme
MAX_TOTAL = 10**18 - 1  # the QR code's Sum holds at most 18 digits (and a BigInteger holds it)
MAX_QUANTITY_PLACES = 3
MAX_QUANTITY = 10**12
TEXT_LIMIT = 1000  # names, addresses, bank names, basis…
LONG_TEXT_LIMIT = 4000  # the contract's subject
NUMBER_LIMIT = 50  # a document's number
QR_NAME_LIMIT = 160  # GOST R 56042: Name
QR_PURPOSE_LIMIT = 210  # GOST R 56042: Purpose
MAX_PAYMENT_DAYS = 365


@dataclass(frozen=True)
class Party:
    """A supplier (our legal entity), a buyer or a client."""

    name: str
    inn: str = ""  # "" allowed for an individual client
    kpp: str = ""
    ogrn: str = ""
    address: str = ""
    bank_name: str = ""
    bik: str = ""
    account: str = ""
    corr_account: str = ""
    signatory: str = ""  # e.g. "Генеральный директор Иванов И. И."
    accountant: str = ""  # the chief accountant's name, on the invoice
    passport: str = ""  # individual clients: free text


@dataclass(frozen=True)
class Line:
    """A position of an invoice or a contract; ``price`` in kopecks, VAT included."""

    name: str
    quantity: Decimal  # > 0, up to 3 decimals
    unit: str  # "шт", "усл", "ч"
    price: int  # kopecks per unit
    vat_rate: int | None  # percent: 0, 5, 7, 10, 20, 22; None = "Без НДС"
    code: str = ""  # article / 1C code


@dataclass(frozen=True)
class InvoiceDocument:
    number: str
    date: date
    supplier: Party
    buyer: Party
    lines: tuple[Line, ...]  # at least one
    basis: str = ""  # "Договор № Д-26-0007 от 01.02.2026"
    pay_until: date | None = None
    purpose: str = ""  # default "Оплата по счёту № N от DATE" (+ the VAT)
    prepayment_percent: int = 100  # 100, or 70 for the 70/30 scheme: the invoice asks for that part
    # The final invoice after a prepayment of this percent (70 of 70/30): it asks for the rest, to the
    # kopeck what the prepayment invoice left; 0 when it is not one.
    settles_prepayment: int = 0


@dataclass(frozen=True)
class ContractDocument:
    number: str
    date: date
    city: str
    supplier: Party
    client: Party
    client_type: str  # "company" | "individual"
    subject: str
    lines: tuple[Line, ...]  # may be empty (then amount is given)
    amount: int  # kopecks; equals the lines' total when there are lines
    payment_terms: str  # "full" | "prepay_70_30"
    valid_until: date | None = None
    payment_days: int = 5


# --- sums ------------------------------------------------------------------------------


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


_EXACT = Context(prec=60)  # a quantity up to 10¹² (3 places) × a price up to 10¹⁸ fits exactly


def _div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, exactly, for numerator ≥ 0 < denominator."""
    return (2 * numerator + denominator) // (2 * denominator)


def line_amount(line: Line) -> int:
    """quantity × price, rounded half up to the kopeck."""
    with localcontext(_EXACT):
        return _half_up(Decimal(line.quantity) * line.price)


def line_vat(line: Line, amount: int | None = None) -> int:
    """The VAT inside the line's amount: amount × rate / (100 + rate), half up; 0 without VAT."""
    if not line.vat_rate:
        return 0
    amount = line_amount(line) if amount is None else amount
    return _div_half_up(amount * line.vat_rate, 100 + line.vat_rate)


def prepayment_split(total: int, percent: int = PREPAY_PERCENT) -> tuple[int, int]:
    """(the prepayment, the rest): the first ``percent`` of ``total`` rounded half up, the
    second what remains, so they add up to the kopeck (0,03 ₽ at 70 % → 0,02 + 0,01)."""
    first = _div_half_up(total * percent, 100)
    return first, total - first


@dataclass(frozen=True)
class Totals:
    amounts: tuple[int, ...]  # per line
    vats: tuple[int, ...]  # per line
    total: int
    vat_by_rate: dict[int, int]  # rate → VAT, in ascending rate order; rates of the lines only
    without_vat: bool  # every line is "Без НДС"

    @property
    def vat_total(self) -> int:
        return sum(self.vat_by_rate.values())


def totals(lines: Iterable[Line]) -> Totals:
    lines = tuple(lines)
    amounts = tuple(line_amount(line) for line in lines)
    vats = tuple(line_vat(line, amount) for line, amount in zip(lines, amounts, strict=True))
    by_rate: dict[int, int] = {}
    for line, vat in sorted(zip(lines, vats, strict=True), key=lambda pair: pair[0].vat_rate or 0):
        if line.vat_rate is not None:
            by_rate[line.vat_rate] = by_rate.get(line.vat_rate, 0) + vat
    return Totals(
        amounts=amounts,
        vats=vats,
        total=sum(amounts),
        vat_by_rate=by_rate,
        without_vat=bool(lines) and all(line.vat_rate is None for line in lines),
    )


# --- checks ----------------------------------------------------------------------------


class _Errors:
    """Collects every error of a document, then raises one InvalidInput or a ValidationFailed."""

    def __init__(self) -> None:
        self.items: list[DomainError] = []

    def add(self, code: str, field: str, **params: Any) -> None:
        self.items.append(InvalidInput(code, field=field, **params))

    def attempt(self, prefix: str, check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a requisites check; its error is kept under ``prefix.<its field>``."""
        try:
            return check(*args, **kwargs)
        except InvalidInput as error:
            self.items.append(InvalidInput(error.code, field=f"{prefix}.{error.field}", **error.params))
            return None

    def raise_any(self) -> None:
        if len(self.items) == 1:
            raise self.items[0]
        if self.items:
            raise ValidationFailed(self.items)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(errors: _Errors, field: str, value: Any, *, required: bool, limit: int = TEXT_LIMIT) -> None:
    if not isinstance(value, str):
        errors.add("field.string", field)
    elif required and not value.strip():
        errors.add("field.required", field)
    elif len(value) > limit:
        errors.add("field.too_long", field, max=limit)


def _date(errors: _Errors, field: str, value: Any, *, required: bool) -> bool:
    if value is None and not required:
        return False
    if not isinstance(value, date):
        errors.add("field.date", field)
        return False
    return True


def _party(
    errors: _Errors, prefix: str, party: Any, *, inn_required: bool, bank_required: bool, individual: bool = False
) -> None:
    if not isinstance(party, Party):
        errors.add("field.object", prefix)
        return
    before = len(errors.items)
    for name in ("name", "inn", "kpp", "ogrn", "address", "bank_name", "bik", "account", "corr_account",
                 "signatory", "accountant", "passport"):
        _text(errors, f"{prefix}.{name}", getattr(party, name), required=name == "name")
    if len(errors.items) > before:
        return  # not strings: nothing more can be checked
    if len(party.name) > QR_NAME_LIMIT and prefix == "supplier":
        errors.add("field.too_long", f"{prefix}.name", max=QR_NAME_LIMIT)  # the QR code's Name
    inn = None
    if party.inn.strip() or inn_required:
        inn = errors.attempt(prefix, validate_inn, party.inn)
    if individual:
        if inn is not None and len(inn) != 12:
            errors.add("print_form.individual_inn", f"{prefix}.inn")
        if party.kpp.strip():
            errors.add("print_form.individual_kpp", f"{prefix}.kpp")
    else:
        errors.attempt(prefix, validate_kpp, party.kpp, inn=inn)
    errors.attempt(prefix, validate_ogrn, party.ogrn)
    bank_given = any(normalize_digits(v) for v in (party.bik, party.account, party.corr_account))
    if bank_required or bank_given:
        bik = errors.attempt(prefix, validate_bik, party.bik)
        if bik is not None:
            errors.attempt(prefix, validate_settlement_account, party.account, bik)
            if bank_required and not normalize_digits(party.corr_account):
                errors.add("field.required", f"{prefix}.corr_account")
            else:
                errors.attempt(prefix, validate_correspondent_account, party.corr_account, bik)
        if bank_required and not party.bank_name.strip():
            errors.add("field.required", f"{prefix}.bank_name")


def _lines(errors: _Errors, lines: Any, *, required: bool) -> bool:
    """Check every line; True when the lines can be summed."""
    if not isinstance(lines, (tuple, list)):
        errors.add("field.list", "lines")
        return False
    if required and not lines:
        errors.add("print_form.no_lines", "lines")
        return False
    before = len(errors.items)
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]"
        if not isinstance(line, Line):
            errors.add("field.object", prefix)
            continue
        _text(errors, f"{prefix}.name", line.name, required=True)
        _text(errors, f"{prefix}.unit", line.unit, required=True, limit=20)
        _text(errors, f"{prefix}.code", line.code, required=False, limit=100)
        quantity = line.quantity
        if _is_int(quantity):
            quantity = Decimal(quantity)
        if not isinstance(quantity, Decimal):
            # A float quantity is the classic rounding bug: 0.1 × 3 is not 0.3.
            errors.add("field.invalid", f"{prefix}.quantity", detail=f"a Decimal, not {type(quantity).__name__}")
        elif not quantity.is_finite() or quantity <= 0:
            errors.add("print_form.quantity_positive", f"{prefix}.quantity")
        elif quantity > MAX_QUANTITY:
            errors.add("print_form.quantity_too_large", f"{prefix}.quantity", max=f"{MAX_QUANTITY:,}".replace(",", " "))
        elif quantity.normalize().as_tuple().exponent < -MAX_QUANTITY_PLACES:
            errors.add("print_form.quantity_places", f"{prefix}.quantity", places=MAX_QUANTITY_PLACES)
        if not _is_int(line.price):
            errors.add("field.integer", f"{prefix}.price")
        elif line.price < 0:
            errors.add("print_form.price_negative", f"{prefix}.price")
        elif line.price > MAX_TOTAL:
            errors.add("amount.too_large", f"{prefix}.price")
        if line.vat_rate is not None and (not _is_int(line.vat_rate) or line.vat_rate not in VAT_RATES):
            errors.add("print_form.vat_rate", f"{prefix}.vat_rate", allowed=", ".join(map(str, VAT_RATES)))
    return len(errors.items) == before


def _total(errors: _Errors, total: int, field: str) -> None:
    if total <= 0:
        errors.add("amount.positive", field)
    elif total > MAX_TOTAL:
        errors.add("amount.too_large", field)


def validate_invoice(doc: InvoiceDocument) -> Totals:
    """The invoice's sums, or InvalidInput / ValidationFailed naming every bad field."""
    if not isinstance(doc, InvoiceDocument):
        raise TypeError(f"an InvoiceDocument, not {type(doc).__name__}")
    errors = _Errors()
    _text(errors, "number", doc.number, required=True, limit=NUMBER_LIMIT)
    dated = _date(errors, "document_date", doc.date, required=True)  # "field.date" is a message
    _party(errors, "supplier", doc.supplier, inn_required=True, bank_required=True)
    _party(errors, "buyer", doc.buyer, inn_required=False, bank_required=False)
    _text(errors, "basis", doc.basis, required=False)
    _text(errors, "purpose", doc.purpose, required=False, limit=QR_PURPOSE_LIMIT)
    if _date(errors, "pay_until", doc.pay_until, required=False) and dated and doc.pay_until < doc.date:
        errors.add("print_form.date_before", "pay_until", date=f"{doc.date:%d.%m.%Y}")
    if not _is_int(doc.prepayment_percent) or not 1 <= doc.prepayment_percent <= 100:
        errors.add("print_form.prepayment_percent", "prepayment_percent")
    if not _is_int(doc.settles_prepayment) or not 0 <= doc.settles_prepayment <= 99 or (
            doc.settles_prepayment and doc.prepayment_percent != 100):
        errors.add("print_form.prepayment_percent", "settles_prepayment")
    result = None
    if _lines(errors, doc.lines, required=True):
        result = totals(doc.lines)
        _total(errors, result.total, "lines")
    errors.raise_any()
    assert result is not None
    return result


def validate_contract(doc: ContractDocument) -> Totals:
    """The contract's sums (of its lines; empty when it has none), or the errors."""
    if not isinstance(doc, ContractDocument):
        raise TypeError(f"a ContractDocument, not {type(doc).__name__}")
    errors = _Errors()
    _text(errors, "number", doc.number, required=True, limit=NUMBER_LIMIT)
    dated = _date(errors, "document_date", doc.date, required=True)  # "field.date" is a message
    _text(errors, "city", doc.city, required=True, limit=100)
    _text(errors, "subject", doc.subject, required=True, limit=LONG_TEXT_LIMIT)
    if doc.client_type not in CLIENT_TYPES:
        errors.add("field.choice", "client_type", expected=", ".join(CLIENT_TYPES))
    if doc.payment_terms not in PAYMENT_TERMS:
        errors.add("field.choice", "payment_terms", expected=", ".join(PAYMENT_TERMS))
    individual = doc.client_type == "individual"
    _party(errors, "supplier", doc.supplier, inn_required=True, bank_required=True)
    _party(errors, "client", doc.client, inn_required=not individual, bank_required=False, individual=individual)
    if _date(errors, "valid_until", doc.valid_until, required=False) and dated and doc.valid_until < doc.date:
        errors.add("print_form.date_before", "valid_until", date=f"{doc.date:%d.%m.%Y}")
    if not _is_int(doc.payment_days) or not 1 <= doc.payment_days <= MAX_PAYMENT_DAYS:
        errors.add("print_form.payment_days", "payment_days", max=MAX_PAYMENT_DAYS)
    result = totals(())
    if not _is_int(doc.amount):
        errors.add("field.integer", "amount")
    elif _lines(errors, doc.lines, required=False):
        result = totals(doc.lines)
        if doc.lines and doc.amount != result.total:
            errors.add("print_form.amount_mismatch", "amount", expected=result.total, given=doc.amount,
                       expected_text=_rubles(result.total), given_text=_rubles(doc.amount))
        else:
            _total(errors, doc.amount, "amount")
    errors.raise_any()
    return result


def _rubles(kopecks: int) -> str:
    sign = "-" if kopecks < 0 else ""
    rubles, rest = divmod(abs(kopecks), 100)
    return f"{sign}{rubles:,}".replace(",", " ") + f",{rest:02d}"
