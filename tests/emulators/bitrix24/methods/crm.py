"""crm.company.*, crm.deal.*, crm.requisite.* and crm.requisite.bankdetail.*.

Requisites keep Bitrix24's real trap: nothing stops two companies (or two requisites of
one company) from having the same RQ_INN.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .. import errors
from ..state import DEAL_STAGES, REQUISITE_PRESETS, stage_semantic
from .base import Context
from .classic import ClassicEntity, register
from .stagehistory import record_stage

_UTM = {name: "str" for name in ("UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM")}

COMPANY_FIELDS = {
    "ID": "int",
    "COMPANY_TYPE": "str",
    "TITLE": "str",
    "LOGO": "str",
    "LEAD_ID": "int",
    "HAS_PHONE": "char",
    "HAS_EMAIL": "char",
    "HAS_IMOL": "char",
    "ASSIGNED_BY_ID": "int",
    "CREATED_BY_ID": "int",
    "MODIFY_BY_ID": "int",
    "BANKING_DETAILS": "str",
    "INDUSTRY": "str",
    "REVENUE": "money",
    "CURRENCY_ID": "str",
    "EMPLOYEES": "str",
    "COMMENTS": "str",
    "DATE_CREATE": "datetime",
    "DATE_MODIFY": "datetime",
    "OPENED": "char",
    "IS_MY_COMPANY": "char",
    "ORIGINATOR_ID": "str",
    "ORIGIN_ID": "str",
    "ORIGIN_VERSION": "str",
    **_UTM,
    "LAST_ACTIVITY_TIME": "datetime",
    "LAST_ACTIVITY_BY": "int",
}

DEAL_FIELDS = {
    "ID": "int",
    "TITLE": "str",
    "TYPE_ID": "str",
    "STAGE_ID": "str",
    "PROBABILITY": "int",
    "CURRENCY_ID": "str",
    "OPPORTUNITY": "money",
    "IS_MANUAL_OPPORTUNITY": "char",
    "TAX_VALUE": "money",
    "LEAD_ID": "int",
    "COMPANY_ID": "int",
    "CONTACT_ID": "int",
    "QUOTE_ID": "int",
    "BEGINDATE": "datetime",
    "CLOSEDATE": "datetime",
    "ASSIGNED_BY_ID": "int",
    "CREATED_BY_ID": "int",
    "MODIFY_BY_ID": "int",
    "DATE_CREATE": "datetime",
    "DATE_MODIFY": "datetime",
    "OPENED": "char",
    "CLOSED": "char",
    "COMMENTS": "str",
    "ADDITIONAL_INFO": "str",
    "LOCATION_ID": "str",
    "CATEGORY_ID": "int",
    "STAGE_SEMANTIC_ID": "str",
    "IS_NEW": "char",
    "IS_RECURRING": "char",
    "IS_RETURN_CUSTOMER": "char",
    "IS_REPEATED_APPROACH": "char",
    "SOURCE_ID": "str",
    "SOURCE_DESCRIPTION": "str",
    "ORIGINATOR_ID": "str",
    "ORIGIN_ID": "str",
    "MOVED_BY_ID": "int",
    "MOVED_TIME": "datetime",
    "LAST_ACTIVITY_TIME": "datetime",
    "LAST_ACTIVITY_BY": "int",
    **_UTM,
}

_RQ_TEXT = [
    "RQ_NAME", "RQ_FIRST_NAME", "RQ_LAST_NAME", "RQ_SECOND_NAME", "RQ_COMPANY_ID",
    "RQ_COMPANY_NAME", "RQ_COMPANY_FULL_NAME", "RQ_COMPANY_REG_DATE", "RQ_DIRECTOR",
    "RQ_ACCOUNTANT", "RQ_CEO_NAME", "RQ_CEO_WORK_POS", "RQ_CONTACT", "RQ_EMAIL", "RQ_PHONE",
    "RQ_FAX", "RQ_IDENT_DOC", "RQ_IDENT_DOC_SER", "RQ_IDENT_DOC_NUM", "RQ_IDENT_DOC_DATE",
    "RQ_IDENT_DOC_ISSUED_BY", "RQ_IDENT_DOC_DEP_CODE", "RQ_INN", "RQ_KPP", "RQ_IFNS", "RQ_OGRN",
    "RQ_OGRNIP", "RQ_OKPO", "RQ_OKTMO", "RQ_OKVED", "RQ_ST_CERT_SER", "RQ_ST_CERT_NUM",
    "RQ_ST_CERT_DATE",
]

REQUISITE_FIELDS = {
    "ID": "int",
    "ENTITY_TYPE_ID": "int",
    "ENTITY_ID": "int",
    "PRESET_ID": "int",
    "DATE_CREATE": "datetime",
    "DATE_MODIFY": "datetime",
    "CREATED_BY_ID": "int",
    "MODIFY_BY_ID": "int",
    "NAME": "str",
    "CODE": "str",
    "XML_ID": "str",
    "ORIGINATOR_ID": "str",
    "ACTIVE": "char",
    "ADDRESS_ONLY": "char",
    "SORT": "int",
    **{name: "str" for name in _RQ_TEXT},
    "RQ_VAT_PAYER": "char",
}

BANKDETAIL_FIELDS = {
    "ID": "int",
    "ENTITY_TYPE_ID": "int",
    "ENTITY_ID": "int",
    "COUNTRY_ID": "int",
    "DATE_CREATE": "datetime",
    "DATE_MODIFY": "datetime",
    "CREATED_BY_ID": "int",
    "MODIFY_BY_ID": "int",
    "NAME": "str",
    "CODE": "str",
    "XML_ID": "str",
    "ORIGINATOR_ID": "str",
    "ACTIVE": "char",
    "SORT": "int",
    **{
        name: "str"
        for name in [
            "RQ_BANK_NAME", "RQ_BANK_CODE", "RQ_BANK_ADDR", "RQ_BANK_ROUTE_NUM", "RQ_BIK",
            "RQ_MFO", "RQ_ACC_NAME", "RQ_ACC_NUM", "RQ_ACC_TYPE", "RQ_IIK", "RQ_ACC_CURRENCY",
            "RQ_COR_ACC_NUM", "RQ_IBAN", "RQ_SWIFT", "RQ_BIC",
        ]
    },
    "COMMENTS": "str",
}

_AUDIT = frozenset({"ID", "DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID"})


def _created(ctx: Context) -> dict[str, Any]:
    return {
        "CREATED_BY_ID": str(ctx.user_id),
        "MODIFY_BY_ID": str(ctx.user_id),
        "DATE_CREATE": ctx.state.now_iso(),
        "DATE_MODIFY": ctx.state.now_iso(),
    }


# ---- companies -------------------------------------------------------------------------


def _company_defaults(ctx: Context, new_id: int) -> dict[str, Any]:
    return {
        **_created(ctx),
        "COMPANY_TYPE": "CUSTOMER",
        "TITLE": "",
        "HAS_PHONE": "N",
        "HAS_EMAIL": "N",
        "HAS_IMOL": "N",
        "ASSIGNED_BY_ID": str(ctx.user_id),
        "CURRENCY_ID": "RUB",
        "OPENED": "Y",
        "IS_MY_COMPANY": "N",
    }


def _company_deleted(ctx: Context, company_id: int) -> None:
    for rid, requisite in list(ctx.state.requisites.items()):
        if requisite["ENTITY_TYPE_ID"] == "4" and requisite["ENTITY_ID"] == str(company_id):
            del ctx.state.requisites[rid]
            _requisite_deleted(ctx, rid)


COMPANY = ClassicEntity(
    prefix="crm.company",
    store="companies",
    fields=COMPANY_FIELDS,
    readonly=_AUDIT | {"HAS_PHONE", "HAS_EMAIL", "HAS_IMOL", "LAST_ACTIVITY_TIME", "LAST_ACTIVITY_BY"},
    defaults=_company_defaults,
    event="ONCRMCOMPANY",
    on_delete=_company_deleted,
)

# ---- deals ---------------------------------------------------------------------------------


def deal_stages(category_id: int) -> list[str]:
    return list(DEAL_STAGES) if category_id == 0 else [f"C{category_id}:{s}" for s in DEAL_STAGES]


def _deal_defaults(ctx: Context, new_id: int) -> dict[str, Any]:
    today = datetime.now(ctx.state.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        **_created(ctx),
        "TITLE": f"Сделка #{new_id}",
        "TYPE_ID": "SALE",
        "CURRENCY_ID": "RUB",
        "OPPORTUNITY": "0.00",
        "IS_MANUAL_OPPORTUNITY": "N",
        "TAX_VALUE": "0.00",
        "BEGINDATE": today.isoformat(),
        "CLOSEDATE": (today + timedelta(days=7)).isoformat(),
        "ASSIGNED_BY_ID": str(ctx.user_id),
        "OPENED": "Y",
        "CATEGORY_ID": "0",
        "IS_NEW": "Y",
        "IS_RECURRING": "N",
        "IS_RETURN_CUSTOMER": "N",
        "IS_REPEATED_APPROACH": "N",
        "MOVED_BY_ID": str(ctx.user_id),
        "MOVED_TIME": ctx.state.now_iso(),
    }


def _deal_before_save(ctx: Context, record: dict[str, Any], before: dict[str, Any] | None) -> None:
    if not record.get("TITLE"):
        record["TITLE"] = f"Сделка #{record['ID']}"
    if not record.get("STAGE_ID"):
        record["STAGE_ID"] = deal_stages(int(record.get("CATEGORY_ID") or 0))[0]
    semantic = stage_semantic(record["STAGE_ID"])
    record["STAGE_SEMANTIC_ID"] = semantic
    record["CLOSED"] = "N" if semantic == "P" else "Y"
    if before is None:
        record_stage(ctx, record, created=True)
    else:
        record["IS_NEW"] = "N"
        if before.get("STAGE_ID") != record["STAGE_ID"]:
            record["MOVED_BY_ID"] = str(ctx.user_id)
            record["MOVED_TIME"] = ctx.state.now_iso()
            record_stage(ctx, record, created=False)


DEAL = ClassicEntity(
    prefix="crm.deal",
    store="deals",
    fields=DEAL_FIELDS,
    readonly=_AUDIT
    | {"STAGE_SEMANTIC_ID", "CLOSED", "IS_NEW", "MOVED_BY_ID", "MOVED_TIME", "LAST_ACTIVITY_TIME", "LAST_ACTIVITY_BY"},
    defaults=_deal_defaults,
    event="ONCRMDEAL",
    before_save=_deal_before_save,
)

# ---- requisites -------------------------------------------------------------------------


def _requisite_defaults(ctx: Context, new_id: int) -> dict[str, Any]:
    return {**_created(ctx), "DATE_MODIFY": "", "ACTIVE": "Y", "ADDRESS_ONLY": "N", "SORT": "500", "RQ_VAT_PAYER": "N"}


def _validate_requisite(ctx: Context, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    merged = {**(existing or {}), **values}
    if merged.get("ENTITY_TYPE_ID") not in {"3", "4"}:
        raise errors.classic("ENTITY_TYPE_ID is not defined or invalid.")
    if not merged.get("ENTITY_ID") or int(merged["ENTITY_ID"]) <= 0:
        raise errors.classic("ENTITY_ID is not defined or invalid.")
    if not merged.get("PRESET_ID") or int(merged["PRESET_ID"]) not in REQUISITE_PRESETS:
        raise errors.classic("PRESET_ID is not defined or invalid.")
    if not (merged.get("NAME") or "").strip():
        raise errors.classic("NAME is not defined or invalid.")  # not in the docs' table; wording assumed
    # contacts are not modelled: a contact-owned requisite has no owner to find
    if merged["ENTITY_TYPE_ID"] != "4" or int(merged["ENTITY_ID"]) not in ctx.state.companies:
        raise errors.classic("Entity not found.")


def _requisite_deleted(ctx: Context, requisite_id: int) -> None:
    for bid, detail in list(ctx.state.bankdetails.items()):
        if detail["ENTITY_ID"] == str(requisite_id):
            del ctx.state.bankdetails[bid]


REQUISITE = ClassicEntity(
    prefix="crm.requisite",
    store="requisites",
    fields=REQUISITE_FIELDS,
    readonly=_AUDIT,
    defaults=_requisite_defaults,
    event="ONCRMREQUISITE",
    custom_prefixes=("UF_", "RQ_"),
    not_found=lambda rid: f"The Requisite with ID '{rid}' is not found",
    select_everything_by_default=True,
    validate=_validate_requisite,
    on_delete=_requisite_deleted,
)

# ---- bank details -----------------------------------------------------------------------


def _bankdetail_defaults(ctx: Context, new_id: int) -> dict[str, Any]:
    return {**_created(ctx), "DATE_MODIFY": "", "ENTITY_TYPE_ID": "8", "COUNTRY_ID": "1", "ACTIVE": "Y", "SORT": "500"}


def _validate_bankdetail(ctx: Context, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    merged = {**(existing or {}), **values}
    owner = merged.get("ENTITY_ID")
    if not owner or int(owner) not in ctx.state.requisites:
        raise errors.classic("ENTITY_ID is not defined or invalid.")
    if not (merged.get("NAME") or "").strip():
        raise errors.classic("NAME is not defined or invalid.")  # wording assumed, see requisites


BANKDETAIL = ClassicEntity(
    prefix="crm.requisite.bankdetail",
    store="bankdetails",
    fields=BANKDETAIL_FIELDS,
    readonly=_AUDIT | {"ENTITY_TYPE_ID"},
    defaults=_bankdetail_defaults,
    event="ONCRMBANKDETAIL",
    custom_prefixes=("UF_", "RQ_"),
    not_found=lambda bid: f"The RequisiteBankDetail with ID '{bid}' is not found",
    select_everything_by_default=True,
    validate=_validate_bankdetail,
)

for _entity in (COMPANY, DEAL, REQUISITE, BANKDETAIL):
    register(_entity)
