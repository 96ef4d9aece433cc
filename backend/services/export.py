"""Registry export: exactly what the filters select, as CSV (Excel-friendly) or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.i18n import translate
from backend.models import Department, Employee, LegalEntity, PaymentRequest, RequestType
from backend.money import to_decimal
from backend.services.registry import RegistryQuery, iterate_all, select_page
from backend.workflows.actors import Actor

COLUMNS = (
    "number", "status", "created_at", "pay_by", "legal_entity", "department", "request_type", "subject",
    "contractor_name", "contractor_inn", "contractor_kpp", "amount", "currency", "purpose", "invoice_number",
    "initiator", "paid_on",
)


class Names:
    """Names of the small reference tables, read once per export instead of once per row."""

    async def load(self, session: AsyncSession, lang: str) -> Names:
        await self.load_reference(session, lang)
        self.people = dict((await session.execute(select(Employee.id, Employee.full_name))).all())
        return self

    async def load_reference(self, session: AsyncSession, lang: str) -> Names:
        """Legal entities, departments and request types: what a registry's filters choose from."""
        self.entities = dict((await session.execute(select(LegalEntity.id, LegalEntity.name))).all())
        self.departments = dict((await session.execute(select(Department.id, Department.name))).all())
        self.types = {t.id: t.name(lang) for t in await session.scalars(select(RequestType))}
        self.people = {}
        return self


def headers(lang: str) -> list[str]:
    return [translate(f"column.{c}", lang) for c in COLUMNS]


def row_values(request: PaymentRequest, names: Names, lang: str, tz: ZoneInfo) -> list[Any]:
    return [
        request.number, translate(f"status.{request.status}", lang),
        request.created_at.astimezone(tz).replace(tzinfo=None), request.pay_by,
        names.entities.get(request.legal_entity_id, ""), names.departments.get(request.department_id, ""),
        names.types.get(request.request_type_id, ""), request.subject, request.contractor_name,
        request.contractor_inn, request.contractor_kpp, to_decimal(request.amount), request.currency,
        request.purpose, request.invoice_number, names.people.get(request.initiator_id, ""), request.paid_on,
    ]


async def _rows(session: AsyncSession, actor: Actor, query: RegistryQuery) -> AsyncIterator[list[Any]]:
    names = await Names().load(session, actor.language)
    tz = ZoneInfo(actor.timezone)
    async for request in iterate_all(session, actor, query):
        yield row_values(request, names, actor.language, tz)


async def export_csv(session: AsyncSession, actor: Actor, query: RegistryQuery) -> bytes:
    """UTF-8 with a BOM and ';' separators: what Excel in a Russian locale opens as columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers(actor.language))
    async for values in _rows(session, actor, query):
        writer.writerow([_csv_cell(v) for v in values])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d.%m.%Y %H:%M" if hasattr(value, "hour") else "%d.%m.%Y")
    text = str(value).replace(".", ",") if isinstance(value, Decimal) else str(value)
    # A cell starting with = + - @ would run as a formula in Excel (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


async def export_xlsx(session: AsyncSession, actor: Actor, query: RegistryQuery) -> bytes:
    await select_page(session, actor, query)  # bad filters fail here, before a workbook is half written
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(translate("export.sheet", actor.language))
    bold = Font(bold=True)
    header_cells = []
    for title in headers(actor.language):
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    async for values in _rows(session, actor, query):
        sheet.append([_xlsx_cell(sheet, v) for v in values])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(sheet, value: Any) -> Any:
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "#,##0.00"
        return cell
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return WriteOnlyCell(sheet, value="'" + value)
    return value
