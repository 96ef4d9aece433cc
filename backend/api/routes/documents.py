"""Print forms: templates (admins), contract print forms, invoices to clients, the USN position."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, ValidationError

from backend.api.deps import AdminDep, CoreDep, SettingsDep, many
from backend.documents.print_forms import default_template
from backend.errors import InvalidInput
from backend.models import LegalEntity
from backend.services import print_documents, print_templates
from backend.services.attachments import FileStore
from backend.services.print_documents import InvoiceFields, PrintedFile
from backend.services.print_templates import TemplateFields
from backend.services.records import get_or_not_found
from backend.services.usn import usn_position

router = APIRouter(tags=["documents"])


def _file(printed: PrintedFile) -> Response:
    disposition = f"attachment; filename*=UTF-8''{quote(printed.filename)}"
    return Response(printed.content, media_type=printed.content_type, headers={"Content-Disposition": disposition})


# --- templates --------------------------------------------------------------------------------

@router.get("/api/v1/templates", summary="Uploaded print-form templates (admin)")
async def list_templates(core: AdminDep, kind: Literal["invoice", "contract"] | None = None,
                         legal_entity_id: int | None = None) -> list[dict[str, Any]]:
    return await core.call(print_templates.list_templates, kind=kind, legal_entity_id=legal_entity_id,
                           view=many(print_templates.template_view))


@router.post("/api/v1/templates", status_code=201,
             summary="Upload a template: HTML (Jinja2, rendered to PDF) or DOCX (docxtpl); checked before it is kept")
async def upload_template(core: AdminDep, settings: SettingsDep, file: UploadFile,
                          name: str = Form(), kind: str = Form(description="invoice | contract"),
                          legal_entity_id: int | None = Form(default=None), client_type: str = Form(default=""),
                          region: str = Form(default=""),
                          allowed_groups: str = Form(default="[]", description='JSON list of 1C folder codes')) -> dict[str, Any]:
    try:
        groups = json.loads(allowed_groups or "[]")
        fields = TemplateFields(name=name, kind=kind, legal_entity_id=legal_entity_id, client_type=client_type,
                                region=region, allowed_groups=groups)
    except json.JSONDecodeError as error:
        raise InvalidInput("field.list", field="allowed_groups") from error
    except ValidationError as error:  # the form's fields, answered like any request body's
        raise RequestValidationError(error.errors()) from error
    max_bytes = settings.max_upload_mb * 1024 * 1024
    content = await file.read(max_bytes + 1)
    return await core.call(print_templates.upload_template, FileStore(settings.files_dir), core.actor, fields,
                           filename=file.filename or "template", content=content, max_bytes=max_bytes,
                           view=print_templates.template_view)


class TemplatePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool


@router.patch("/api/v1/templates/{template_id}", summary="Switch a template off (or on again)")
async def patch_template(template_id: int, body: TemplatePatch, core: AdminDep) -> dict[str, Any]:
    return await core.call(print_templates.set_active, template_id, body.active, view=print_templates.template_view)


@router.get("/api/v1/templates/default", response_class=Response,
            summary="A built-in template, to start your own from")
async def default(kind: Literal["invoice", "contract"], fmt: Literal["html", "docx"], core: AdminDep,
                  client_type: Literal["company", "individual"] = "company") -> Response:
    content = default_template(kind, fmt, client_type)
    media = "text/html; charset=utf-8" if fmt == "html" else print_documents.DOCX
    return _file(PrintedFile(f"{kind}_{client_type}.{fmt}", media, content))


@router.get("/api/v1/templates/{template_id}/file", response_class=Response)
async def template_file(template_id: int, core: AdminDep, settings: SettingsDep) -> Response:
    template = await core.call(print_templates.get_template, template_id)
    media = "text/html; charset=utf-8" if template.fmt == "html" else print_documents.DOCX
    return _file(PrintedFile(template.filename, media, FileStore(settings.files_dir).read(template.sha256)))


# --- contract print forms -----------------------------------------------------------------------

@router.get("/api/v1/contracts/{contract_id}/print.{fmt}", response_class=Response,
            summary="The contract's print form from its template (PDF or DOCX)", tags=["contracts"])
async def contract_print(contract_id: int, fmt: Literal["pdf", "docx"], core: CoreDep, settings: SettingsDep) -> Response:
    [printed] = await core.call(print_documents.contract_files, FileStore(settings.files_dir), core.actor, contract_id,
                                formats=(fmt,))
    return _file(printed)


# --- invoices to clients ------------------------------------------------------------------------

@router.post("/api/v1/invoices", status_code=201, tags=["invoices"],
             summary="Issue an invoice to a client (numbered; refused past the USN limit)")
async def issue(fields: InvoiceFields, core: CoreDep, settings: SettingsDep) -> dict[str, Any]:
    return await core.call(print_documents.issue_invoice, settings, core.actor, fields,
                           view=print_documents.invoice_view)


@router.get("/api/v1/invoices", tags=["invoices"])
async def list_invoices(core: CoreDep, legal_entity_id: int | None = None, year: int | None = None,
                        contract_id: int | None = None) -> list[dict[str, Any]]:
    return await core.call(print_documents.list_invoices, core.actor, legal_entity_id=legal_entity_id, year=year,
                           contract_id=contract_id, view=many(print_documents.invoice_view))


@router.get("/api/v1/invoices/{invoice_id}", tags=["invoices"])
async def read_invoice(invoice_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(print_documents.get_invoice, core.actor, invoice_id, view=print_documents.invoice_view)


@router.get("/api/v1/invoices/{invoice_id}/print.{fmt}", response_class=Response, tags=["invoices"])
async def invoice_print(invoice_id: int, fmt: Literal["pdf", "docx"], core: CoreDep, settings: SettingsDep) -> Response:
    [printed] = await core.call(print_documents.invoice_files, FileStore(settings.files_dir), core.actor, invoice_id,
                                formats=(fmt,))
    return _file(printed)


@router.post("/api/v1/invoices/{invoice_id}/cancel", tags=["invoices"],
             summary="Cancel: the number stays taken, the sum stops counting as income")
async def cancel(invoice_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(print_documents.cancel_invoice, core.actor, invoice_id, view=print_documents.invoice_view)


@router.get("/api/v1/legal-entities/{legal_entity_id}/usn", tags=["invoices"],
            summary="The year's income against the USN limit")
async def usn(legal_entity_id: int, core: CoreDep, settings: SettingsDep,
              year: int | None = Query(default=None, ge=2000, le=2100)) -> dict[str, Any]:
    async def work(session):
        entity = await get_or_not_found(session, LegalEntity, legal_entity_id, "legal_entity.not_found")
        return await usn_position(session, settings, entity, year or core.actor.today().year)

    return await core.run(work)

