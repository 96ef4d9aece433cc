"""Legal entities (payers) and their bank accounts."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, InvalidInput
from backend.models import TAX_REGIMES, BankAccount, LegalEntity
from backend.money import format_amount, parse_amount
from backend.documents.numbers import check_format
from backend.requisites import (
    validate_ogrn,
    validate_bik, validate_correspondent_account, validate_inn, validate_kpp, validate_settlement_account,
)
from backend.services.company.common import Errors, flush_unique, missing_fields, text
from backend.services.records import get_or_not_found


class BankAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    bank_name: str = ""
    bik: str = Field(description="9 digits, e.g. 044525225")
    account: str = Field(description="Settlement account, 20 digits, checked against the BIK")
    corr_account: str = ""
    is_default: bool = False


class LegalEntityFields(BaseModel):
    """A legal entity (payer) as an admin types it; every field optional for a partial edit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = None
    short_code: str | None = Field(default=None, description="1–10 letters or digits; prefix of request numbers")
    inn: str | None = None
    kpp: str | None = None
    tax_regime: str | None = Field(default=None, description=" | ".join(TAX_REGIMES))
    usn_income_limit: Decimal | str | None = Field(
        default=None, description="Yearly USN income limit in rubles, overriding the default")
    regions: list[str] | None = None
    active: bool | None = None
    ogrn: str | None = Field(default=None, description="13 digits (15 for a sole trader), printed on documents")
    address: str | None = Field(default=None, description="Legal address, as printed on documents")
    director: str | None = Field(default=None, description='Who signs, e.g. "Генеральный директор Иванов И. И."')
    chief_accountant: str | None = None
    contract_number_format: str | None = Field(
        default=None, description="Contract numbers: {n} (or {n:04d}), {year}, {yy}, {code}; e.g. {code}-Д-{yy}/{n:04d}")
    invoice_number_format: str | None = Field(default=None, description="Invoice numbers, the same placeholders")
    catalogue_groups: list[str] | None = Field(
        default=None, description="1C catalogue folder codes whose goods this entity sells; empty = any")
    usn_income_outside: dict[str, Decimal | str] | None = Field(
        default=None, description='Income of a year received outside Viza, in rubles: {"2026": "125000000.00"}')
    bank_accounts: list[BankAccountIn] | None = Field(
        default=None, description="The whole list; accounts are matched by number, others removed")


LEGAL_ENTITY_REQUIRED = ("name", "short_code", "inn")
_SHORT_CODE = re.compile(r"[0-9A-ZА-ЯЁ]{1,10}")


def _short_code(value: str) -> str:
    code = text(value, "short_code", 10).upper()
    if not _SHORT_CODE.fullmatch(code):
        raise InvalidInput("legal_entity.short_code_format", field="short_code")
    return code


def _given(fields: LegalEntityFields) -> dict[str, Any]:
    given = fields.model_dump(exclude_unset=True)
    if "bank_accounts" in given:
        given["bank_accounts"] = fields.bank_accounts  # the models, with their defaults
    return given


async def create_legal_entity(session: AsyncSession, fields: LegalEntityFields) -> LegalEntity:
    given = _given(fields)
    entity = LegalEntity(regions=[], active=True, tax_regime="osn", kpp="")
    await _apply_legal_entity(session, entity, given, creating=True)
    session.add(entity)
    await flush_unique(session)
    return entity


async def update_legal_entity(session: AsyncSession, entity_id: int, fields: LegalEntityFields) -> LegalEntity:
    entity = await get_legal_entity(session, entity_id)
    await _apply_legal_entity(session, entity, _given(fields), creating=False)
    await flush_unique(session)
    return entity


async def _apply_legal_entity(session: AsyncSession, entity: LegalEntity, given: dict[str, Any],
                              *, creating: bool) -> None:
    errors = Errors()
    for error in missing_fields(given, LEGAL_ENTITY_REQUIRED, ("tax_regime", "active"), creating=creating):
        errors.add(error)
    present = {k: v for k, v in given.items() if v is not None}
    values: dict[str, Any] = {}
    if "name" in present:
        values["name"] = errors.attempt(lambda: text(present["name"], "name", 300))
    if "short_code" in present:
        values["short_code"] = errors.attempt(lambda: _short_code(present["short_code"]))
    if "inn" in present:
        values["inn"] = errors.attempt(lambda: validate_inn(present["inn"]))
    if "kpp" in given or "inn" in present:
        inn = values.get("inn") or entity.inn
        kpp = given["kpp"] if "kpp" in given else entity.kpp
        values["kpp"] = errors.attempt(lambda: validate_kpp(kpp, inn=inn)) or ""
    if "tax_regime" in present:
        if present["tax_regime"] in TAX_REGIMES:
            values["tax_regime"] = present["tax_regime"]
        else:
            errors.add(InvalidInput("legal_entity.tax_regime", field="tax_regime", allowed=", ".join(TAX_REGIMES)))
    if "usn_income_limit" in given:
        limit = given["usn_income_limit"]
        values["usn_income_limit"] = None if limit in (None, "") else errors.attempt(
            lambda: parse_amount(limit, field="usn_income_limit"))
    if "regions" in given:
        regions = [r.strip() for r in given["regions"] or [] if r and r.strip()]
        if any(len(r) > 100 for r in regions):
            errors.add(InvalidInput("field.too_long", field="regions", max=100))
        values["regions"] = list(dict.fromkeys(regions))
    if "active" in present:
        values["active"] = present["active"]
    _print_details(given, values, errors)
    accounts = None
    if "bank_accounts" in given:
        accounts = _check_bank_accounts(given["bank_accounts"] or [], errors)
    errors.raise_if_any()

    if values.get("inn") and values["inn"] != entity.inn:
        taken = await session.scalar(select(LegalEntity.id).where(LegalEntity.inn == values["inn"]))
        if taken is not None:
            errors.add(Conflict("legal_entity.inn_taken", field="inn", id=taken))
    if values.get("short_code") and values["short_code"] != entity.short_code:
        taken = await session.scalar(select(LegalEntity.id).where(LegalEntity.short_code == values["short_code"]))
        if taken is not None:
            errors.add(Conflict("legal_entity.short_code_taken", field="short_code", id=taken))
    if errors:
        raise errors.items[0]  # a clash is a 409: the first one is enough to act on
    for key, value in values.items():
        setattr(entity, key, value)
    if accounts is not None:
        _replace_bank_accounts(entity, accounts)


def _print_details(given: dict[str, Any], values: dict[str, Any], errors: Errors) -> None:
    """What the print forms say about the entity, its number formats, goods and outside income."""
    if "ogrn" in given:
        values["ogrn"] = errors.attempt(lambda: validate_ogrn(given["ogrn"])) or ""
    for key, limit in (("address", 500), ("director", 300), ("chief_accountant", 200)):
        if key in given:
            values[key] = errors.attempt(lambda key=key, limit=limit: text(given[key], key, limit, required=False)) or ""
    for key in ("contract_number_format", "invoice_number_format"):
        if given.get(key) is not None:
            values[key] = errors.attempt(lambda key=key: check_format(given[key], key))
    if "catalogue_groups" in given:
        values["catalogue_groups"] = list(dict.fromkeys(g.strip() for g in given["catalogue_groups"] or [] if g.strip()))
    if given.get("usn_income_outside") is not None:
        income: dict[str, int] = {}
        for year, amount in given["usn_income_outside"].items():
            if not (year.isdigit() and 2000 <= int(year) <= 2100):
                errors.add(InvalidInput("field.invalid", field="usn_income_outside"))
                continue
            income[year] = errors.attempt(lambda amount=amount: parse_amount(amount, field="usn_income_outside"))
        values["usn_income_outside"] = income


def _check_bank_accounts(items: list[BankAccountIn], errors: Errors) -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        found = Errors()
        prefix = f"bank_accounts.{index}"
        bik = found.attempt(lambda: validate_bik(item.bik))
        account = corr = None
        if bik is not None:
            account = found.attempt(lambda: validate_settlement_account(item.account, bik))
            corr = found.attempt(lambda: validate_correspondent_account(item.corr_account, bik))
        name = found.attempt(lambda: text(item.bank_name, "bank_name", 300, required=False))
        for error in found.items:
            error.field = f"{prefix}.{error.field}"
            errors.add(error)
        if account is not None and account in seen:
            errors.add(InvalidInput("bank_account.duplicate", field=f"{prefix}.account"))
        if not found.items:
            seen.add(account)
            checked.append({"bank_name": name, "bik": bik, "account": account, "corr_account": corr or "",
                            "is_default": item.is_default})
    if sum(1 for item in items if item.is_default) > 1:
        errors.add(InvalidInput("bank_account.several_defaults", field="bank_accounts"))
    if checked and not any(a["is_default"] for a in checked):
        checked[0]["is_default"] = True  # one account is always the default
    return checked


def _replace_bank_accounts(entity: LegalEntity, accounts: list[dict[str, Any]]) -> None:
    """Keep the rows of accounts still listed (their ids stay), drop the others, add the new."""
    existing = {a.account: a for a in entity.bank_accounts}
    kept: list[BankAccount] = []
    for data in accounts:
        row = existing.pop(data["account"], None)
        if row is None:
            row = BankAccount(**data)
        else:
            for key, value in data.items():
                setattr(row, key, value)
        kept.append(row)
    entity.bank_accounts = kept


async def get_legal_entity(session: AsyncSession, entity_id: int) -> LegalEntity:
    return await get_or_not_found(session, LegalEntity, entity_id, "legal_entity.not_found")


async def list_legal_entities(session: AsyncSession, *, include_inactive: bool = False) -> list[LegalEntity]:
    query = select(LegalEntity).order_by(LegalEntity.name, LegalEntity.id)
    if not include_inactive:
        query = query.where(LegalEntity.active.is_(True))
    return list(await session.scalars(query))


def bank_account_view(account: BankAccount) -> dict[str, Any]:
    return {"id": account.id, "bank_name": account.bank_name, "bik": account.bik, "account": account.account,
            "corr_account": account.corr_account, "is_default": account.is_default}


def legal_entity_view(entity: LegalEntity) -> dict[str, Any]:
    limit = entity.usn_income_limit
    return {
        "id": entity.id, "name": entity.name, "short_code": entity.short_code, "inn": entity.inn,
        "kpp": entity.kpp, "tax_regime": entity.tax_regime,
        "usn_income_limit": format_amount(limit) if limit is not None else None,
        "regions": list(entity.regions or []), "active": entity.active, "created_at": entity.created_at,
        "bank_accounts": [bank_account_view(a) for a in entity.bank_accounts],
        "ogrn": entity.ogrn, "address": entity.address, "director": entity.director,
        "chief_accountant": entity.chief_accountant, "contract_number_format": entity.contract_number_format,
        "invoice_number_format": entity.invoice_number_format, "catalogue_groups": list(entity.catalogue_groups or []),
        "usn_income_outside": {y: format_amount(v) for y, v in (entity.usn_income_outside or {}).items()},
    }
