"""The registry: filtered, sorted, keyset-paginated listing of payment requests, and its export.

Keyset pagination (WHERE (sort key, id) beyond the last row seen) keeps a deep page as
fast as the first one on a registry of millions of rows, where OFFSET would scan them all.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Integer, Select, and_, case, column, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import InvalidInput
from backend.models import PaymentRequest
from backend.money import check_currency, parse_amount
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import Kind, Status
from backend.workflows.visibility import visible_filter

SORTS = {
    # Ids are issued in creation order, and the primary key is the cheapest order there is.
    "created": PaymentRequest.id, "pay_by": PaymentRequest.pay_by,
    "amount": PaymentRequest.amount, "number": PaymentRequest.number,
}
SortKey = Literal["created", "-created", "pay_by", "-pay_by", "amount", "-amount", "number", "-number"]
PayByPeriod = Literal["today", "week", "month", "overdue"]
MAX_PAGE = 500


class RegistryQuery(BaseModel):
    """The registry's filters (PRODUCT §1); every one optional, all of them combined with AND."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = Field(default=None, description="payment | contract; both when omitted")
    status: list[Status] | None = None
    pay_by: PayByPeriod | None = Field(default=None, description="today | week | month | overdue")
    pay_by_from: date | None = None
    pay_by_to: date | None = None
    legal_entity_id: int | None = None
    department_id: int | None = None
    request_type_id: int | None = None
    expense_item_id: int | None = None
    initiator_id: int | None = None
    contractor: str | None = Field(default=None, description="Contractor name (part of it) or INN (or its start)")
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    currency: str | None = None
    q: str | None = Field(default=None, description="Words to find in number, subject, purpose, contractor")
    ids: list[int] | None = Field(default=None, max_length=MAX_PAGE, description="Only these requests (a selection "
                                  "made on a page, e.g. for the bank file)")
    sort: SortKey | None = Field(default=None, description="Newest first by default; by pay-by date "
                                 "when a pay-by filter is given")
    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


def period_bounds(period: str, today: date) -> tuple[date | None, date | None]:
    """Inclusive bounds of a pay-by period in the user's calendar."""
    if period == "today":
        return today, today
    if period == "week":
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        start = today.replace(day=1)
        following = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return start, following - timedelta(days=1)
    return None, today - timedelta(days=1)  # overdue


async def filters(session: AsyncSession, actor: Actor, query: RegistryQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses for the query, visibility first."""
    clauses: list[ColumnElement[bool]] = [await visible_filter(session, actor)]
    pr = PaymentRequest
    if query.status:
        clauses.append(pr.status.in_([s.value for s in query.status]))
    if query.pay_by:
        today = actor.today()
        low, high = period_bounds(query.pay_by, today)
        if low:
            clauses.append(pr.pay_by >= low)
        clauses.append(pr.pay_by <= high)
        if query.pay_by == "overdue":
            clauses.append(pr.status.in_([Status.PENDING.value, Status.APPROVED.value]))
    if query.pay_by_from and query.pay_by_to and query.pay_by_from > query.pay_by_to:
        raise InvalidInput("registry.range", field="pay_by_to")
    if query.pay_by_from:
        clauses.append(pr.pay_by >= query.pay_by_from)
    if query.pay_by_to:
        clauses.append(pr.pay_by <= query.pay_by_to)
    if query.kind is not None:
        clauses.append(pr.kind == query.kind.value)
    if query.ids:
        clauses.append(pr.id.in_(query.ids))
    for name in ("legal_entity_id", "department_id", "request_type_id", "expense_item_id", "initiator_id"):
        value = getattr(query, name)
        if value is not None:
            clauses.append(getattr(pr, name) == value)
    if query.contractor:
        clauses.extend(_contractor_clauses(session, query.contractor.strip()))
    low_amount = parse_amount(query.amount_min, field="amount_min") if query.amount_min is not None else None
    high_amount = parse_amount(query.amount_max, field="amount_max") if query.amount_max is not None else None
    if low_amount is not None and high_amount is not None and low_amount > high_amount:
        raise InvalidInput("registry.range", field="amount_max")
    if low_amount is not None:
        clauses.append(pr.amount >= low_amount)
    if high_amount is not None:
        clauses.append(pr.amount <= high_amount)
    if query.currency:
        clauses.append(pr.currency == check_currency(query.currency))
    if query.q and (clause := _text_clause(session, query.q)) is not None:
        clauses.append(clause)
    return clauses


def _contractor_clauses(session: AsyncSession, value: str) -> list[ColumnElement[bool]]:
    digits = re.sub(r"[\s\-]", "", value)
    if digits.isdigit():
        if len(digits) in (10, 12):
            return [PaymentRequest.contractor_inn == digits]
        # An INN prefix as a range, so the (contractor_inn, id) index serves it on both databases.
        return [and_(PaymentRequest.contractor_inn >= digits, PaymentRequest.contractor_inn < digits + ":")]
    # The full-text index narrows to requests with these words; the substring test keeps
    # only those where the words are in the contractor's name.
    name = PaymentRequest.contractor_name_lc.contains(value.lower(), autoescape=True)
    narrowed = _text_clause(session, value)
    return [name] if narrowed is None else [narrowed, name]


WORD = re.compile(r"\w+", re.UNICODE)


REQUEST_NUMBER = re.compile(r"^\w{1,10}-\d{2}-\d{5,}$")  # 5 digits, more past 99 999 a year


def _text_clause(session: AsyncSession, q: str) -> ColumnElement[bool] | None:
    """Every word must start a word of the request's text (prefix match, case-insensitive);
    a whole request number is looked up exactly."""
    if REQUEST_NUMBER.match(q.strip()):
        return PaymentRequest.number == q.strip().upper()
    words = [w.lower() for w in WORD.findall(q)][:8]
    if not words:
        return None
    if session.bind.dialect.name == "postgresql":
        tsquery = " & ".join(f"{w}:*" for w in words)
        return text("payment_requests.search_tsv @@ to_tsquery('simple', :tsq)").bindparams(tsq=tsquery)
    match = " ".join(f'"{w}"*' for w in words)
    return PaymentRequest.id.in_(
        text("SELECT rowid FROM payment_requests_fts WHERE payment_requests_fts MATCH :fts").bindparams(fts=match)
        .columns(column("rowid", Integer))
    )


def effective_sort(query: RegistryQuery) -> str:
    if query.sort:
        return query.sort
    # Someone asking for "due this week" reads it by date; it is also what the index serves.
    return "pay_by" if (query.pay_by or query.pay_by_from or query.pay_by_to) else "-created"


def _sort(query: RegistryQuery) -> tuple[Any, bool]:
    sort = effective_sort(query)
    return SORTS[sort.lstrip("-")], sort.startswith("-")


def encode_cursor(value: Any, row_id: int) -> str:
    if isinstance(value, date):
        value = value.isoformat()
    raw = json.dumps([value, row_id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id = json.loads(raw)
        key = sort.lstrip("-")
        if key == "pay_by":
            value = date.fromisoformat(value)
        elif key in ("amount", "created"):
            value = int(value)
        else:
            value = str(value)
        return value, int(row_id)
    except (ValueError, TypeError):
        raise InvalidInput("registry.cursor", field="cursor") from None


async def select_page(session: AsyncSession, actor: Actor, query: RegistryQuery) -> tuple[Select, Any, bool]:
    column, descending = _sort(query)
    statement = select(PaymentRequest).where(*await filters(session, actor, query))
    if query.cursor:
        value, row_id = decode_cursor(query.cursor, effective_sort(query))
        key, last = tuple_(column, PaymentRequest.id), tuple_(value, row_id)
        statement = statement.where(key < last if descending else key > last)
    order = (column.desc(), PaymentRequest.id.desc()) if descending else (column.asc(), PaymentRequest.id.asc())
    return statement.order_by(*order), column, descending


async def list_page(session: AsyncSession, actor: Actor, query: RegistryQuery) -> tuple[list[PaymentRequest], str | None]:
    """One page of the registry and the cursor of the next one (None on the last page)."""
    statement, column, _ = await select_page(session, actor, query)
    rows = list(await session.scalars(statement.limit(query.limit + 1)))
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, column.key), last.id)
    return rows, next_cursor


async def totals(session: AsyncSession, actor: Actor, query: RegistryQuery) -> dict[str, dict[str, Any]]:
    """Count and sum per currency of everything the filters select (all pages)."""
    statement = (
        select(PaymentRequest.currency, func.count(), func.sum(PaymentRequest.amount))
        .where(*await filters(session, actor, query)).group_by(PaymentRequest.currency)
    )
    return {currency: {"count": count, "amount_minor": int(total or 0)}
            for currency, count, total in await session.execute(statement)}


async def totals_by_kind(session: AsyncSession, actor: Actor, query: RegistryQuery) -> dict[str, dict[str, dict[str, Any]]]:
    """The same, payments and contracts apart (a contract's price is not money to pay). One pass
    grouped by currency alone, as ``totals``: grouping by kind too makes SQLite sort the selection."""
    is_contract = case((PaymentRequest.kind == "contract", 1), else_=0)
    statement = (
        select(PaymentRequest.currency, func.count(), func.sum(PaymentRequest.amount), func.sum(is_contract),
               func.sum(is_contract * PaymentRequest.amount))
        .where(*await filters(session, actor, query)).group_by(PaymentRequest.currency)
    )
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for currency, count, total, contracts, contract_total in await session.execute(statement):
        contracts, contract_total, total = int(contracts or 0), int(contract_total or 0), int(total or 0)
        if count - contracts:
            result.setdefault("payment", {})[currency] = {"count": count - contracts,
                                                          "amount_minor": total - contract_total}
        if contracts:
            result.setdefault("contract", {})[currency] = {"count": contracts, "amount_minor": contract_total}
    return result


async def iterate_all(session: AsyncSession, actor: Actor, query: RegistryQuery, *,
                      batch: int = 1000, limit: int = 200_000) -> AsyncIterator[PaymentRequest]:
    """Every row the filters select, in pages, for export (bounded so a mistake cannot run forever)."""
    page_query = query.model_copy(update={"limit": min(batch, MAX_PAGE), "cursor": None})
    yielded = 0
    while yielded < limit:
        rows, next_cursor = await list_page(session, actor, page_query)
        for row in rows:
            yield row
        yielded += len(rows)
        if next_cursor is None:
            return
        page_query = page_query.model_copy(update={"cursor": next_cursor})
