"""Document numbers of a legal entity's yearly series (contracts, outgoing invoices): no gaps,
no duplicates.

A number is taken inside the transaction that uses it. The next one is the lowest number given
up earlier (a reserved contract number whose contract was rejected or cancelled) or else the
series' maximum + 1; the unique key (legal entity, series, year, value) means two transactions
that pick the same value cannot both commit — the loser retries in a savepoint, so concurrent
approvals each get their own number and a rolled-back one leaves no hole.
"""

from __future__ import annotations

import re
import string

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import InvalidInput
from backend.models import DocumentNumber, LegalEntity

SERIES = ("contract", "invoice")
_PLACEHOLDER = re.compile(r"n(:0?[1-9]d)?|year|yy|code")
ATTEMPTS = 20


def check_format(pattern: str, field: str) -> str:
    """A number format an admin typed: only {n} (optionally zero-padded, {n:04d}), {year}, {yy}
    and {code}; {n} is required, since without it every number would read the same."""
    pattern = (pattern or "").strip()
    if not pattern or len(pattern) > 60:
        raise InvalidInput("number_format.length", field=field, max=60)
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError as error:
        raise InvalidInput("number_format.braces", field=field, detail=str(error)) from error
    names = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        token = name + (f":{spec}" if spec else "")
        if conversion or not _PLACEHOLDER.fullmatch(token):
            raise InvalidInput("number_format.placeholder", field=field, placeholder="{" + token + "}")
        names.append(name)
    if "n" not in names:
        raise InvalidInput("number_format.no_n", field=field)
    return pattern


def format_number(pattern: str, legal_entity: LegalEntity, year: int, value: int) -> str:
    return pattern.format(n=value, year=year, yy=f"{year % 100:02d}", code=legal_entity.short_code)


def _pattern(legal_entity: LegalEntity, series: str) -> str:
    return legal_entity.contract_number_format if series == "contract" else legal_entity.invoice_number_format


async def take_number(session: AsyncSession, legal_entity: LegalEntity, series: str, year: int, *,
                      state: str, request_id: int | None = None) -> DocumentNumber:
    """The next free number of the series, as ``state`` (reserved | confirmed)."""
    for _ in range(ATTEMPTS):
        released = await session.scalar(
            select(DocumentNumber).where(
                DocumentNumber.legal_entity_id == legal_entity.id, DocumentNumber.series == series,
                DocumentNumber.year == year, DocumentNumber.state == "released",
            ).order_by(DocumentNumber.value).limit(1).with_for_update(skip_locked=True)
        )
        if released is not None:
            # Taken only if still released: a concurrent transaction may have got it first.
            claimed = await session.execute(
                update(DocumentNumber).where(DocumentNumber.id == released.id, DocumentNumber.state == "released")
                .values(state=state, request_id=request_id, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:
                await session.refresh(released)
                return released
            continue
        value = (await session.scalar(
            select(func.max(DocumentNumber.value)).where(
                DocumentNumber.legal_entity_id == legal_entity.id, DocumentNumber.series == series,
                DocumentNumber.year == year)
        ) or 0) + 1
        number = DocumentNumber(
            legal_entity_id=legal_entity.id, series=series, year=year, value=value, state=state,
            request_id=request_id, text=format_number(_pattern(legal_entity, series), legal_entity, year, value),
        )
        try:
            async with session.begin_nested():
                session.add(number)
        except IntegrityError:
            continue  # someone else took this value a moment ago: look again
        return number
    raise RuntimeError(f"no free {series} number after {ATTEMPTS} attempts")


async def confirm_number(session: AsyncSession, request_id: int, series: str) -> DocumentNumber | None:
    """The request's reserved number becomes final; None when it had none reserved."""
    number = await session.scalar(select(DocumentNumber).where(
        DocumentNumber.request_id == request_id, DocumentNumber.series == series,
        DocumentNumber.state.in_(("reserved", "confirmed"))))
    if number is not None:
        number.state = "confirmed"
    return number


async def release_number(session: AsyncSession, request_id: int, series: str) -> DocumentNumber | None:
    """Give a reserved number back to the series, for the next one to take."""
    number = await session.scalar(select(DocumentNumber).where(
        DocumentNumber.request_id == request_id, DocumentNumber.series == series,
        DocumentNumber.state == "reserved"))
    if number is not None:
        number.state = "released"
        number.request_id = None
    return number
