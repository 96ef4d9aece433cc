"""The lines of an invoice or a contract, picked from the 1C catalogue and checked (seed 001:
"are goods chosen, are they the right ones, do they fit the organisation and the contract type").

* :func:`check_lines` — lines as typed → lines as stored (kopecks, VAT), every problem at once.
* :func:`search_catalogue` — what a picker offers: items not deleted, within the entity's folders.
* :func:`default_vat_rate` — the one table of VAT by tax regime and year.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import InvalidInput
from backend.integrations.onec.catalogue import GroupTree, load_group_tree
from backend.models import CatalogueItem, LegalEntity
from backend.money import MAX_AMOUNT, format_amount, parse_amount
from backend.services.company.common import Errors, name_matches, text, today

# --- VAT: the one table ---------------------------------------------------------------------------

VAT_RATES = (0, 5, 7, 10, 20, 22)  # percent a line may carry; None = без НДС
# The general rate (НК РФ ст. 164 п. 3) by the year it applies from: 20 % until 2025, 22 % from 2026.
GENERAL_VAT_RATE = {2019: 20, 2026: 22}
# Regimes that are no VAT payers: their documents say "Без НДС" (a line may still name a rate).
NO_VAT_REGIMES = ("usn_income", "usn_income_expense", "patent")


def default_vat_rate(tax_regime: str, year: int) -> int | None:
    """The rate of a line that names none, for a seller on this tax regime; None = без НДС."""
    if tax_regime in NO_VAT_REGIMES:
        return None
    known = [y for y in GENERAL_VAT_RATE if y <= year]
    return GENERAL_VAT_RATE[max(known) if known else min(GENERAL_VAT_RATE)]


# --- lines ---------------------------------------------------------------------------------------

MAX_QUANTITY = Decimal(10) ** 9
DEFAULT_UNIT = "шт"


class LineIn(BaseModel):
    """One line as typed: an item of the catalogue, or (while 1C is not connected) a name."""

    model_config = ConfigDict(extra="forbid")

    catalogue_item_id: int | None = Field(default=None, description="An item of GET /api/v1/catalogue")
    name: str | None = Field(default=None, description="Required when no catalogue item; at most 300 characters")
    quantity: Decimal | str = Field(default="1", description='More than 0, at most 3 decimals: "1.5" or "1,5"')
    unit: str | None = Field(default=None, description='Default: the item\'s unit, else "шт"')
    price: Decimal | str = Field(description='Rubles per unit, VAT included: "1500.00" or "1 500,00"')
    vat_rate: int | None | Literal["none"] = Field(
        default=None, description='0, 5, 7, 10, 20 or 22; "none" = без НДС; empty = the item\'s, else the legal entity\'s')


def parse_quantity(value: Any, *, field: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    raw = "" if value is None else str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        quantity = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput("catalogue.quantity_format", field=field) from None
    if not quantity.is_finite():
        raise InvalidInput("catalogue.quantity_format", field=field)
    if quantity <= 0:
        raise InvalidInput("catalogue.quantity_positive", field=field)
    if quantity >= MAX_QUANTITY:
        raise InvalidInput("field.range", field=field)
    if quantity != quantity.quantize(Decimal("0.001")):
        raise InvalidInput("catalogue.quantity_precision", field=field)
    return quantity


def quantity_text(quantity: Decimal) -> str:
    """1.500 → "1.5", 10 → "10"."""
    return format(quantity.normalize(), "f")


def line_amount(quantity: Decimal, price: int) -> int:
    """Quantity × price (kopecks), rounded half-up to the kopeck."""
    return int((quantity * price).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_vat(amount: int, rate: int | None) -> int:
    """The VAT inside an amount that includes it: amount × rate / (100 + rate), half-up."""
    if not rate:
        return 0
    return int((Decimal(amount) * rate / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _vat_rate(value: Any, *, field: str) -> int | None | Literal["default"]:
    if value is None:
        return "default"
    if value == "none":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value in VAT_RATES:
        return value
    raise InvalidInput("catalogue.vat_rate", field=field, allowed=", ".join(map(str, VAT_RATES)))


def _int64(value: int) -> bool:
    return -(2**63) <= value < 2**63


async def check_lines(session: AsyncSession, lines: Sequence[LineIn], *, legal_entity: LegalEntity,
                      allowed_groups: Iterable[str] = (), field: str = "lines",
                      on: date | None = None) -> list[dict[str, Any]]:
    """The lines as stored — {"catalogue_item_id", "name", "code", "unit", "quantity" (str),
    "price", "vat_rate", "amount", "vat"} (money in kopecks, prices include VAT) — or every
    problem at once (``lines.<i>.<field>``, counted from 0):

    * at least one line;
    * an item that exists and is not deleted;
    * once the catalogue has items (1C connected), every line is one of them;
    * the item's folder (or one above it) among the legal entity's ``catalogue_groups`` and the
      template's / contract type's ``allowed_groups``, when these are not empty.

    A line's VAT rate, when not given: for a VAT payer (ОСН) the item's rate, else the general
    rate of the year (``on``, default today); for ``usn_*`` and ``patent`` без НДС.
    """
    if not lines:
        raise InvalidInput("catalogue.no_lines", field=field)
    errors = Errors()
    entity_groups = [g for g in (legal_entity.catalogue_groups or []) if str(g).strip()]
    type_groups = [g for g in allowed_groups if str(g).strip()]
    ids = {line.catalogue_item_id for line in lines if line.catalogue_item_id is not None
           and _int64(line.catalogue_item_id)}
    items = {item.id: item for item in await session.scalars(
        select(CatalogueItem).where(CatalogueItem.id.in_(ids)))} if ids else {}
    in_use = await session.scalar(select(CatalogueItem.id).where(CatalogueItem.deleted.is_(False)).limit(1))
    tree = await load_group_tree(session) if entity_groups or type_groups else GroupTree()
    year = (on or today(None)).year
    entity_rate = default_vat_rate(legal_entity.tax_regime, year)
    stored: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        where = f"{field}.{index}"
        item = None
        if line.catalogue_item_id is not None:
            item = items.get(line.catalogue_item_id)
            if item is None:
                errors.add(InvalidInput("catalogue.unknown_item", field=f"{where}.catalogue_item_id",
                                        id=line.catalogue_item_id))
            elif item.deleted:
                errors.add(InvalidInput("catalogue.deleted_item", field=f"{where}.catalogue_item_id", item=item.name))
                item = None
            else:
                if entity_groups and not tree.covers(item.group_code, entity_groups):
                    errors.add(InvalidInput("catalogue.wrong_entity", field=f"{where}.catalogue_item_id",
                                            item=item.name, entity=legal_entity.name))
                if type_groups and not tree.covers(item.group_code, type_groups):
                    errors.add(InvalidInput("catalogue.wrong_contract_type", field=f"{where}.catalogue_item_id",
                                            item=item.name))
        elif in_use is not None:
            errors.add(InvalidInput("catalogue.pick_from_catalogue", field=f"{where}.catalogue_item_id"))
        name = item.name if item is not None else None
        if line.catalogue_item_id is None and in_use is None:  # a free-text line names itself
            name = errors.attempt(partial(text, line.name, f"{where}.name", 300))
        unit = errors.attempt(partial(text, line.unit, f"{where}.unit", 20, required=False))
        quantity = errors.attempt(partial(parse_quantity, line.quantity, field=f"{where}.quantity"))
        price = errors.attempt(partial(parse_amount, line.price, field=f"{where}.price"))
        rate = errors.attempt(partial(_vat_rate, line.vat_rate, field=f"{where}.vat_rate"))
        if rate == "default":
            rate = entity_rate
            if entity_rate is not None and item is not None and item.vat_rate is not None:
                rate = item.vat_rate
        amount = None
        if quantity is not None and price is not None:
            amount = line_amount(quantity, price)
            if amount >= MAX_AMOUNT:
                errors.add(InvalidInput("amount.too_large", field=f"{where}.price"))
        if errors:
            continue
        stored.append({
            "catalogue_item_id": item.id if item is not None else None,
            "name": name,
            "code": item.code if item is not None else "",
            "unit": unit or (item.unit if item is not None and item.unit else DEFAULT_UNIT),
            "quantity": quantity_text(quantity),
            "price": price,
            "vat_rate": rate,
            "amount": amount,
            "vat": line_vat(amount, rate),
        })
    errors.raise_if_any()
    return stored


def _amount_of(line: dict[str, Any]) -> int:
    if line.get("amount") is not None:
        return int(line["amount"])
    return line_amount(Decimal(str(line.get("quantity") or "1")), int(line.get("price") or 0))


def lines_total(lines: Iterable[dict[str, Any]]) -> int:
    """The sum of the lines, kopecks (VAT included)."""
    return sum(_amount_of(line) for line in lines)


def vat_total(lines: Iterable[dict[str, Any]]) -> int:
    """The VAT inside the lines, kopecks."""
    return sum(int(line["vat"]) if line.get("vat") is not None else line_vat(_amount_of(line), line.get("vat_rate"))
               for line in lines)


# --- the picker ------------------------------------------------------------------------------------


async def search_catalogue(session: AsyncSession, q: str | None = None, *, legal_entity_id: int | None = None,
                           group: str | None = None, include_services: bool | None = None,
                           limit: int = 50, offset: int = 0) -> list[CatalogueItem]:
    """Items not deleted, by name (every word, any case), code or article; within the legal
    entity's folders when it has any, and within ``group`` (with its subfolders).
    ``include_services``: None — goods and services, True — services only, False — goods only."""
    conditions = [CatalogueItem.deleted.is_(False)]
    groups: list[str] = []
    if legal_entity_id is not None:
        entity = await session.get(LegalEntity, legal_entity_id) if _int64(legal_entity_id) else None
        if entity is None:
            raise InvalidInput("reference.unknown", field="legal_entity_id", id=legal_entity_id)
        groups = [g for g in (entity.catalogue_groups or []) if str(g).strip()]
    if groups or (group and group.strip()):
        tree = await load_group_tree(session)
        if groups:
            conditions.append(CatalogueItem.group_code.in_(tree.expand(groups)))
        if group and group.strip():
            conditions.append(CatalogueItem.group_code.in_(tree.expand([group])))
    if include_services is not None:
        conditions.append(CatalogueItem.is_service.is_(include_services))
    if q and q.strip():
        words = q.strip().lower().split()
        conditions.append(or_(
            and_(*(CatalogueItem.name_lc.contains(w, autoescape=True) for w in words)),
            CatalogueItem.code.contains(q.strip(), autoescape=True),
            name_matches(CatalogueItem.article, q),
        ))
    statement = (select(CatalogueItem).where(*conditions).order_by(CatalogueItem.name_lc, CatalogueItem.id)
                 .limit(limit).offset(offset))
    return list(await session.scalars(statement))


def catalogue_item_view(item: CatalogueItem) -> dict[str, Any]:
    return {
        "id": item.id, "code": item.code, "name": item.name, "full_name": item.full_name, "article": item.article,
        "unit": item.unit, "is_service": item.is_service, "vat_rate": item.vat_rate,
        "price": format_amount(item.price) if item.price is not None else None,
        "group_code": item.group_code, "group_name": item.group_name, "deleted": item.deleted,
        "onec_ref": item.onec_ref,
    }


def line_input(stored: dict[str, Any]) -> LineIn:
    """A stored line (as ``check_lines`` returned it) typed in again: to renew or edit what holds it."""
    values: dict[str, Any] = {"catalogue_item_id": stored.get("catalogue_item_id"), "quantity": stored["quantity"],
                              "price": format_amount(stored["price"])}
    if stored.get("catalogue_item_id") is None:  # a line typed before 1C was connected names itself
        values |= {"name": stored["name"], "unit": stored.get("unit")}
    if "vat_rate" in stored:  # a stored line keeps its rate; one not yet checked takes the item's
        values["vat_rate"] = "none" if stored["vat_rate"] is None else stored["vat_rate"]
    return LineIn(**values)
