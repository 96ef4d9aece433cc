"""The payment QR code of GOST R 56042-2014, as printed on Russian invoices.

A bank app scans ``ST00012|Name=…|PersonalAcc=…|BankName=…|BIC=…|CorrespAcc=…|…`` and
fills in a payment order. The header is the format ``ST``, the version ``0001`` and the
character set: ``1`` windows-1251, ``2`` UTF-8, ``3`` KOI8-R; the character right after it
separates the fields (we always write ``|``). The five mandatory fields come first, in that
order; ``Sum`` is in kopecks, digits only, at most 18 of them.

:func:`encode` checks every field before it writes it (the BIC, the accounts' control keys,
the INN's check digits — with the checks of :mod:`backend.requisites`), because a code that
a bank app refuses, or that pays the wrong account, is worse than no code. Too long a Name
or Purpose is refused; too long a BankName is cut (see ``BANK_NAME_LENGTH``). :func:`decode` is
lenient, as a reader should be: any key case, unknown keys, any separator; it only insists
on the header and the mandatory fields. Run :func:`validate` on what it returns to check it.

Errors are :class:`PaymentQrError`, an ``InvalidInput`` (and a ``ValueError``) whose
``field`` is the GOST key, e.g. ``BIC``, so the message reads "BIC: 9 digits …".
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import segno

from backend.errors import InvalidInput
from backend.requisites import (
    normalize_digits,
    validate_bik,
    validate_correspondent_account,
    validate_inn,
    validate_kpp,
    validate_settlement_account,
)

__all__ = [
    "ENCODINGS",
    "PAYLOAD_FIELD",
    "PaymentDetails",
    "PaymentQrError",
    "decode",
    "encode",
    "payload_bytes",
    "qr_code",
    "qr_png",
    "qr_svg",
    "validate",
]

FORMAT = "ST"
VERSION = "0001"
SEPARATOR = "|"
# The character-set flag of the header → the Python codec that makes its bytes.
ENCODINGS = {"1": "cp1251", "2": "utf-8", "3": "koi8-r"}
_FLAGS = {codec: flag for flag, codec in ENCODINGS.items()}
_HEADER = re.compile(r"ST0001([123])")
# Longest values the standard allows for the free-text fields, in characters.
MAX_LENGTH = {"Name": 160, "Purpose": 210}
# BankName may hold 45, but real names are longer ("ОТДЕЛЕНИЕ ТУЛА БАНКА РОССИИ//УФК по
# Тульской области, г Тула", where every tax is paid). It is cut rather than refused: the
# BIC is what identifies the bank, and bank apps show the name from their BIC directory.
BANK_NAME_LENGTH = 45
MAX_SUM_DIGITS = 18
# A payee whose bank has no correspondent account (a Bank of Russia division) writes "0":
# the field is mandatory, so it cannot be left out.
NO_CORRESP_ACC = "0"
# What an error about the code as a whole (not one of its fields) names: like the GOST
# keys, a name that reads the same in Russian and in English.
PAYLOAD_FIELD = "qr"

# GOST key → attribute of PaymentDetails, in the order the fields are written.
_KEYS = {
    "Name": "name",
    "PersonalAcc": "personal_acc",
    "BankName": "bank_name",
    "BIC": "bic",
    "CorrespAcc": "corresp_acc",
    "PayeeINN": "payee_inn",
    "KPP": "kpp",
    "Sum": "sum_kopecks",
    "Purpose": "purpose",
}
_MANDATORY = ("Name", "PersonalAcc", "BankName", "BIC", "CorrespAcc")
_BY_LOWER_KEY = {key.lower(): key for key in _KEYS}


class PaymentQrError(InvalidInput, ValueError):
    """A payment code cannot be made or read; ``field`` names the GOST key at fault."""


@dataclass(frozen=True)
class PaymentDetails:
    """What a payment QR code carries: the payee's requisites, and optionally the payment.

    ``extra`` holds any other GOST key (``PayerINN``, ``CBC``, ``OKTMO``, ``DocNo``…) with
    its value; it is written after the known fields, in its own order.
    """

    name: str
    personal_acc: str
    bank_name: str
    bic: str
    corresp_acc: str
    payee_inn: str | None = None
    kpp: str | None = None
    sum_kopecks: int | None = None
    purpose: str | None = None
    extra: dict[str, str] = field(default_factory=dict, hash=False)


# --- checks ---------------------------------------------------------------------------


def _clean(value: str | None) -> str:
    # "|" would end the field early; stripping it is what the standard's users do.
    return (value or "").replace(SEPARATOR, "").strip()


def _as_field(key: str, check: Callable[..., str | None], *args: str | None) -> str | None:
    """Run a requisites check and report its error under the GOST key."""
    try:
        return check(*args)
    except InvalidInput as error:
        raise PaymentQrError(error.code, field=key, **error.params) from None


def _text(key: str, value: str | None, *, required: bool) -> str | None:
    text = _clean(value)
    if not text:
        if required:
            raise PaymentQrError("field.required", field=key)
        return None
    limit = MAX_LENGTH.get(key)
    if limit is not None and len(text) > limit:
        raise PaymentQrError("field.too_long", field=key, max=limit)
    return text


def _sum(value: int | None) -> int | None:
    if value is None:
        return None
    # Money is integer kopecks: a float of rubles here is the classic ×100 mistake.
    if not isinstance(value, int) or isinstance(value, bool):
        raise PaymentQrError("field.integer", field="Sum")
    if value <= 0 or len(str(value)) > MAX_SUM_DIGITS:
        raise PaymentQrError(
            "field.invalid", field="Sum", detail=f"kopecks from 1 to {MAX_SUM_DIGITS} digits, got {value}"
        )
    return value


def _corresp_acc(value: str | None, bic: str) -> str:
    digits = normalize_digits(_clean(value))
    if digits == NO_CORRESP_ACC:
        return NO_CORRESP_ACC
    if not digits:
        raise PaymentQrError("field.required", field="CorrespAcc")
    return _as_field("CorrespAcc", validate_correspondent_account, digits, bic)


def _extra(extra: dict[str, str]) -> dict[str, str]:
    checked: dict[str, str] = {}
    seen: set[str] = set()
    for raw_key, raw_value in extra.items():
        key = str(raw_key).strip()
        if not key or SEPARATOR in key or "=" in key or any(c.isspace() for c in key):
            raise PaymentQrError("field.invalid", field=str(raw_key), detail="not a usable key name")
        if key.lower() in _BY_LOWER_KEY:
            known = _BY_LOWER_KEY[key.lower()]
            raise PaymentQrError(
                "field.invalid", field=key, detail=f"{known} has its own attribute, not an extra key"
            )
        if key.lower() in seen:
            raise PaymentQrError("field.invalid", field=key, detail="given twice")
        seen.add(key.lower())
        value = _clean(None if raw_value is None else str(raw_value))
        if value:  # an empty value says nothing; leave the key out
            checked[key] = value
    return checked


def validate(details: PaymentDetails) -> PaymentDetails:
    """The details checked and normalised (digits without spaces, no ``|``, BankName cut to 45
    characters, empty optional fields as None), or PaymentQrError naming the first bad field."""
    name = _text("Name", details.name, required=True)
    bic = _as_field("BIC", validate_bik, _clean(details.bic))
    personal_acc = _as_field("PersonalAcc", validate_settlement_account, _clean(details.personal_acc), bic)
    bank_name = _text("BankName", details.bank_name, required=True)[:BANK_NAME_LENGTH].rstrip()
    corresp_acc = _corresp_acc(details.corresp_acc, bic)
    payee_inn = _clean(details.payee_inn) or None
    if payee_inn is not None:
        payee_inn = _as_field("PayeeINN", validate_inn, payee_inn)
    kpp = _as_field("KPP", lambda v: validate_kpp(v, inn=payee_inn), _clean(details.kpp))
    return PaymentDetails(
        name=name,
        personal_acc=personal_acc,
        bank_name=bank_name,
        bic=bic,
        corresp_acc=corresp_acc,
        payee_inn=payee_inn,
        kpp=kpp,
        sum_kopecks=_sum(details.sum_kopecks),
        purpose=_text("Purpose", details.purpose, required=False),
        extra=_extra(details.extra),
    )


# --- writing --------------------------------------------------------------------------


def _codec(encoding: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        codec = None
    if codec not in _FLAGS:
        raise ValueError(f"a payment QR code is utf-8, windows-1251 or koi8-r, not {encoding!r}")
    return codec


def _pairs(details: PaymentDetails) -> list[tuple[str, str]]:
    pairs = []
    for key, attribute in _KEYS.items():
        value = getattr(details, attribute)
        if value is not None:
            pairs.append((key, str(value)))
    return pairs + list(details.extra.items())


def encode(details: PaymentDetails, encoding: str = "utf-8") -> str:
    """The payload text, ``ST00012|Name=…|…``; the header names ``encoding``'s flag.

    Every value must be writable in ``encoding`` (KOI8-R has no "№" nor "«»"), or the
    field is named in a PaymentQrError.
    """
    codec = _codec(encoding)
    pairs = _pairs(validate(details))
    for key, value in pairs:
        try:
            value.encode(codec)
        except UnicodeEncodeError as error:
            bad = value[error.start : error.end]
            detail = f"{bad!r} cannot be written in {codec}"
            raise PaymentQrError("field.invalid", field=key, detail=detail) from None
    fields = SEPARATOR.join(f"{key}={value}" for key, value in pairs)
    return f"{FORMAT}{VERSION}{_FLAGS[codec]}{SEPARATOR}{fields}"


def payload_bytes(details: PaymentDetails, encoding: str = "utf-8") -> bytes:
    """The payload as the bytes that go into the QR code, in the header's encoding."""
    codec = _codec(encoding)
    return encode(details, codec).encode(codec)


def qr_code(details: PaymentDetails, encoding: str = "utf-8") -> segno.QRCode:
    """The QR code: byte mode, error correction M, no ECI (bank apps read the header instead)."""
    data = payload_bytes(details, encoding)
    try:
        # Bytes in, so segno writes them as they are; boost_error=False keeps level M exactly.
        return segno.make(data, error="m", mode="byte", micro=False, boost_error=False)
    except segno.DataOverflowError:
        raise PaymentQrError(
            "field.invalid", field=PAYLOAD_FIELD, detail=f"{len(data)} bytes do not fit in a QR code"
        ) from None


def qr_png(details: PaymentDetails, scale: int = 4, *, border: int = 4, encoding: str = "utf-8") -> bytes:
    """A PNG of the code, ``scale`` pixels a module, with the standard 4-module quiet zone."""
    buffer = io.BytesIO()
    qr_code(details, encoding).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def qr_svg(details: PaymentDetails, scale: int = 1, *, border: int = 4, encoding: str = "utf-8") -> str:
    """An SVG of the code without the XML declaration, to put inline in an HTML print form."""
    buffer = io.BytesIO()
    qr_code(details, encoding).save(buffer, kind="svg", scale=scale, border=border, xmldecl=False)
    return buffer.getvalue().decode("utf-8")


# --- reading --------------------------------------------------------------------------


def _not_a_payment_code(detail: str) -> PaymentQrError:
    detail = f"not a GOST R 56042 payment code: {detail}"
    return PaymentQrError("field.invalid", field=PAYLOAD_FIELD, detail=detail)


def _header_flag(head: str) -> str:
    match = _HEADER.match(head)
    if match is None:
        raise _not_a_payment_code(f"it starts with {head[:7]!r}, not ST00011, ST00012 or ST00013")
    return match.group(1)


def _text_of(payload: str | bytes) -> str:
    if isinstance(payload, str):
        text = payload.removeprefix("\ufeff")
        _header_flag(text)
        return text
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(f"a payload is str or bytes, not {type(payload).__name__}")
    data = bytes(payload).removeprefix(codecs.BOM_UTF8)
    # The header is ASCII in every one of the three encodings, so it can be read first.
    codec = ENCODINGS[_header_flag(data[:7].decode("ascii", errors="replace"))]
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        raise _not_a_payment_code(f"byte {error.start} is not {codec}, as its header says") from None


def _parse_sum(value: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= MAX_SUM_DIGITS):
        raise PaymentQrError(
            "field.invalid", field="Sum", detail=f"kopecks, at most {MAX_SUM_DIGITS} digits, got {value!r}"
        )
    return int(value)


def decode(payload: str | bytes) -> PaymentDetails:
    """The details of a payload; bytes are decoded as its header says.

    Keys are matched in any case; keys we do not know go to ``extra`` (the first of a
    repeated one wins); a known key given twice, a missing mandatory field or a ``Sum``
    that is not digits raise PaymentQrError naming the key. Values are not checked beyond
    that: :func:`validate` does it.
    """
    text = _text_of(payload).rstrip("\r\n\x00")
    if len(text) < 8:
        raise _not_a_payment_code("there are no fields after the header")
    separator = text[7]
    if separator.isalnum() or separator.isspace() or separator == "=":
        raise _not_a_payment_code(f"{separator!r} after the header cannot separate fields")
    known: dict[str, str] = {}
    extra: dict[str, str] = {}
    for number, segment in enumerate(text[8:].split(separator), start=1):
        if not segment.strip():
            continue  # a trailing separator, as some generators write
        raw_key, equals, value = segment.partition("=")
        key = raw_key.strip()
        if not equals or not key:
            raise _not_a_payment_code(f"field {number} ({segment[:30]!r}) is not key=value")
        value = value.strip()
        canonical = _BY_LOWER_KEY.get(key.lower())
        if canonical is None:
            extra.setdefault(key, value)
        elif canonical in known:
            raise PaymentQrError("field.invalid", field=canonical, detail="given twice")
        else:
            known[canonical] = value
    for key in _MANDATORY:
        if not known.get(key):
            raise PaymentQrError("field.required", field=key)
    values = {_KEYS[key]: value or None for key, value in known.items() if key != "Sum"}
    return PaymentDetails(**values, sum_kopecks=_parse_sum(known.get("Sum", "")), extra=extra)

