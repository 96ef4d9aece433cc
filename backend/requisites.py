"""Checks of Russian payment requisites: INN, KPP, BIK and bank accounts.

Pure functions. Each ``validate_*`` returns the normalised value or raises
:class:`~backend.errors.InvalidInput` with a code from the locale catalogues;
:func:`validate_requisites` checks a whole set and reports every bad field at once.

Algorithms: the FNS check digits of the INN (weighted sums mod 11 mod 10), and the Bank
of Russia control key of an account (weights 7-1-3 over three BIK-derived digits + the
20-digit account; the weighted sum must end in 0).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from backend.errors import DomainError, InvalidInput, ValidationFailed

__all__ = [
    "Requisites",
    "account_control_key_ok",
    "corr_account_control_key_ok",
    "is_treasury_bik",
    "make_valid_account",
    "make_valid_corr_account",
    "make_valid_inn10",
    "make_valid_inn12",
    "normalize_digits",
    "validate_bik",
    "validate_correspondent_account",
    "validate_inn",
    "validate_kpp",
    "validate_requisites",
    "validate_settlement_account",
]

INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
INN12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
INN12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
ACCOUNT_WEIGHTS = ((7, 1, 3) * 8)[:23]  # 3 digits taken from the BIK + the 20-digit account
ACCOUNT_KEY_INDEX = 8  # the key is the account's 9th digit

BANK_CORR_PREFIX = "30101"  # balance account of a bank's correspondent account at the CBR
TREASURY_CORR_PREFIX = "40102"  # single treasury account (ЕКС), written as "corr. account"
TREASURY_ACCOUNT_PREFIX = "03"  # treasury accounts (казначейские счета), keyless

# Whitespace of every kind (NBSP, narrow NBSP, thin space…), zero-width characters that
# come with text copied from PDFs and sites, and the dashes people group digits with.
_SEPARATORS = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\-\u2010-\u2015\u2212]+")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts "²" and "٣"
_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")
_BIK = re.compile(r"0[0-9]{8}")
# KPP letters are Latin, but a Russian keyboard types the Cyrillic twins.
_CYRILLIC_TWINS = str.maketrans("АВЕКМНОРСТХ", "ABEKMHOPCTX")


@dataclass(frozen=True, slots=True)
class Requisites:
    """Normalised requisites of a counterparty."""

    inn: str
    kpp: str | None = None
    bik: str | None = None
    account: str | None = None
    corr_account: str | None = None

    @property
    def is_sole_trader(self) -> bool:
        """A 12-digit INN belongs to a sole trader or a private person."""
        return len(self.inn) == 12


def normalize_digits(value: str | None) -> str:
    """Drop the spaces, NBSPs and dashes people type between digits."""
    if value is None:
        return ""
    return _SEPARATORS.sub("", str(value))


def is_treasury_bik(bik: str) -> bool:
    """True for a BIK of a Federal Treasury body (ТОФК); those do not start with "04"."""
    return not bik.startswith("04")


# --- check digits -----------------------------------------------------------------


def _weighted_mod11(digits: str, weights: Sequence[int]) -> str:
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10)


def _inn10_check_digit(prefix9: str) -> str:
    return _weighted_mod11(prefix9, INN10_WEIGHTS)


def _inn12_check_digits(prefix10: str) -> str:
    d11 = _weighted_mod11(prefix10, INN12_WEIGHTS_11)
    return d11 + _weighted_mod11(prefix10 + d11, INN12_WEIGHTS_12)


def _inn_checksum_ok(inn: str) -> bool:
    if len(inn) == 10:
        return inn[9] == _inn10_check_digit(inn[:9])
    return inn[10:] == _inn12_check_digits(inn[:10])


def _key_sum(bank_part: str, account: str) -> int:
    return sum(int(d) * w for d, w in zip(bank_part + account, ACCOUNT_WEIGHTS, strict=True))


def _settlement_bank_part(bik: str) -> str:
    return bik[-3:]


def _corr_bank_part(bik: str) -> str:
    # A correspondent account is kept at a Bank of Russia division, not at the bank, so the
    # key uses that division's number: "0" + BIK digits 5–6 (1-based), i.e. bik[4:6].
    return "0" + bik[4:6]


def _key_ok(bank_part: str, account: str) -> bool:
    return _key_sum(bank_part, account) % 10 == 0


def _is_account_shape(bik: str, account: str) -> bool:
    return bool(_BIK.fullmatch(bik) and _DIGITS.fullmatch(account)) and len(account) == 20


def account_control_key_ok(bik: str, account: str) -> bool:
    """Whether a settlement account passes the control key with its bank's BIK."""
    bik, account = normalize_digits(bik), normalize_digits(account)
    return _is_account_shape(bik, account) and _key_ok(_settlement_bank_part(bik), account)


def corr_account_control_key_ok(bik: str, corr: str) -> bool:
    """Whether a correspondent account passes the control key with its bank's BIK."""
    bik, corr = normalize_digits(bik), normalize_digits(corr)
    return _is_account_shape(bik, corr) and _key_ok(_corr_bank_part(bik), corr)


# --- single fields ----------------------------------------------------------------


def validate_inn(value: str | None) -> str:
    """The normalised 10- or 12-digit INN, or InvalidInput."""
    inn = normalize_digits(value)
    if not inn:
        raise InvalidInput("inn.required", field="inn")
    if not _DIGITS.fullmatch(inn):
        raise InvalidInput("inn.not_digits", field="inn")
    if len(inn) not in (10, 12):
        raise InvalidInput("inn.length", field="inn", length=len(inn))
    if not _inn_checksum_ok(inn):
        raise InvalidInput("inn.checksum", field="inn")
    return inn


def validate_kpp(value: str | None, *, inn: str | None = None) -> str | None:
    """The normalised KPP (a str: it may hold letters), None when empty, or InvalidInput."""
    kpp = normalize_digits(value).upper().translate(_CYRILLIC_TWINS)
    if not kpp:
        return None  # optional in our forms, even for companies
    if len(normalize_digits(inn)) == 12:
        raise InvalidInput("kpp.not_for_sole_trader", field="kpp")
    if not _KPP.fullmatch(kpp):
        raise InvalidInput("kpp.format", field="kpp")
    return kpp


def validate_bik(value: str | None) -> str:
    """The normalised 9-digit BIK, or InvalidInput.

    Banks have "04…" BIKs (old 225-П: "04" is Russia's code), but since 2021 the Bank of
    Russia directory also lists Treasury bodies with "00…"–"02…" BIKs, and every tax
    payment (ЕНП) goes to one of them, so only the leading "0" is required.
    """
    bik = normalize_digits(value)
    if not bik:
        raise InvalidInput("bik.required", field="bik")
    if not _BIK.fullmatch(bik):
        raise InvalidInput("bik.format", field="bik")
    return bik


def _account_digits(value: str | None, field: str) -> str:
    account = normalize_digits(value)
    if not (_DIGITS.fullmatch(account) and len(account) == 20):
        raise InvalidInput(f"{field}.format", field=field)
    return account


def _settlement_account_format(value: str | None) -> str:
    if not normalize_digits(value):
        raise InvalidInput("account.required", field="account")
    return _account_digits(value, "account")


def _is_treasury_account(bik: str, account: str) -> bool:
    # Treasury accounts are numbered by the Treasury's own plan; their 9th digit is no key.
    return is_treasury_bik(bik) and account.startswith(TREASURY_ACCOUNT_PREFIX)


def validate_settlement_account(account: str | None, bik: str | None) -> str:
    """The normalised 20-digit account checked against the BIK; a bad BIK raises its own error."""
    digits = _settlement_account_format(account)
    bik = validate_bik(bik)
    if not (_is_treasury_account(bik, digits) or account_control_key_ok(bik, digits)):
        raise InvalidInput("account.checksum", field="account")
    return digits


def _corr_account_format(value: str | None) -> str | None:
    if not normalize_digits(value):
        return None
    return _account_digits(value, "corr_account")


def validate_correspondent_account(account: str | None, bik: str | None) -> str | None:
    """The normalised correspondent account (None when empty), or InvalidInput."""
    digits = _corr_account_format(account)
    if digits is None:
        return None
    bik = validate_bik(bik)
    prefix = TREASURY_CORR_PREFIX if is_treasury_bik(bik) else BANK_CORR_PREFIX
    if not digits.startswith(prefix):
        raise InvalidInput("corr_account.prefix", field="corr_account", prefix=prefix)
    if not corr_account_control_key_ok(bik, digits):
        raise InvalidInput("corr_account.checksum", field="corr_account")
    # The key only ties the account to a Bank of Russia division, which many banks share
    # (every Moscow bank keys with "025"); the bank's own number is the last three digits.
    if not is_treasury_bik(bik) and digits[-3:] != bik[-3:]:
        raise InvalidInput("corr_account.bik_mismatch", field="corr_account")
    return digits


# --- the whole set ----------------------------------------------------------------


def _attempt(errors: list[DomainError], check: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    try:
        return check(*args, **kw)
    except InvalidInput as error:
        errors.append(error)
        return None


def validate_ogrn(value: str | None) -> str:
    """The normalised OGRN (13 digits; a sole trader's OGRNIP 15) with its check digit, "" when empty.
    The key is the number without its last digit mod 11 (mod 13 for 15 digits), mod 10."""
    ogrn = normalize_digits(value)
    if not ogrn:
        return ""
    if not ogrn.isdigit() or len(ogrn) not in (13, 15):
        raise InvalidInput("ogrn.format", field="ogrn")
    if int(ogrn[:-1]) % (11 if len(ogrn) == 13 else 13) % 10 != int(ogrn[-1]):
        raise InvalidInput("ogrn.checksum", field="ogrn")
    return ogrn


def validate_requisites(
    *,
    inn: str | None,
    kpp: str | None = None,
    bik: str | None = None,
    account: str | None = None,
    corr_account: str | None = None,
    require_bank: bool = True,
) -> Requisites:
    """Normalised requisites, or ValidationFailed listing every bad field.

    Bank details are all or nothing: with ``require_bank=False`` they may be left out,
    but once any of them is given the BIK and the account are required too.
    """
    errors: list[DomainError] = []
    inn_ok = _attempt(errors, validate_inn, inn)
    kpp_ok = _attempt(errors, validate_kpp, kpp, inn=inn)
    bank_given = any(normalize_digits(v) for v in (bik, account, corr_account))
    bik_ok = account_ok = corr_ok = None
    if require_bank or bank_given:
        bik_ok = _attempt(errors, validate_bik, bik)
        if bik_ok is None:
            # Both keys depend on the BIK: blame the BIK, check only the accounts' shape.
            _attempt(errors, _settlement_account_format, account)
            _attempt(errors, _corr_account_format, corr_account)
        else:
            account_ok = _attempt(errors, validate_settlement_account, account, bik_ok)
            corr_ok = _attempt(errors, validate_correspondent_account, corr_account, bik_ok)
    if errors:
        raise ValidationFailed(errors)
    return Requisites(inn=inn_ok, kpp=kpp_ok, bik=bik_ok, account=account_ok, corr_account=corr_ok)


# --- generators for tests, demo data and benchmarks -------------------------------


def _require_digits(value: str, length: int, name: str) -> str:
    if not (_DIGITS.fullmatch(value) and len(value) == length):
        raise ValueError(f"{name} must be {length} digits, got {value!r}")
    return value


def make_valid_inn10(prefix9: str) -> str:
    """A company INN: the 9 given digits plus their check digit."""
    return prefix9 + _inn10_check_digit(_require_digits(prefix9, 9, "prefix9"))


def make_valid_inn12(prefix10: str) -> str:
    """A personal INN: the 10 given digits plus their two check digits."""
    return prefix10 + _inn12_check_digits(_require_digits(prefix10, 10, "prefix10"))


def _with_key(bank_part: str, account: str) -> str:
    blank = account[:ACCOUNT_KEY_INDEX] + "0" + account[ACCOUNT_KEY_INDEX + 1 :]
    # The key's weight is 3 and 3·7 ≡ 1 (mod 10), so key = 3·sum (mod 10) clears the sum.
    key = _key_sum(bank_part, blank) % 10 * 3 % 10
    return blank[:ACCOUNT_KEY_INDEX] + str(key) + blank[ACCOUNT_KEY_INDEX + 1 :]


def make_valid_account(bik: str, prefix: str, serial: int = 1) -> str:
    """A settlement account at ``bik``: 8-digit ``prefix``, key, 11-digit ``serial``."""
    bik = _require_digits(bik, 9, "bik")
    body = _require_digits(prefix, 8, "prefix") + "0" + f"{serial:011d}"
    return _with_key(_settlement_bank_part(bik), _require_digits(body, 20, "account"))


def make_valid_corr_account(bik: str) -> str:
    """A valid correspondent account for ``bik``: 30101810, key, 8 zeros, BIK[-3:] (as Sberbank's)."""
    bik = _require_digits(bik, 9, "bik")
    return _with_key(_corr_bank_part(bik), "301018100" + "0" * 8 + bik[-3:])
