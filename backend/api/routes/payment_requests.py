"""Payment requests: create, edit, the actions of the life cycle, history."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from urllib.parse import quote

from fastapi import APIRouter, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from backend.api.deps import CoreDep, SettingsDep
from backend.documents.invoice_intake import read_invoice
from backend.errors import InvalidInput
from backend.i18n import translate
from backend.services.invoice_prefill import prefill_from_invoice
from backend.services import attachments
from backend.services import payment_requests as service
from backend.services.attachments import FileStore
from backend.services.payment_requests import PaymentRequestFields
from backend.services.views import detail, history_view
from backend.workflows.lifecycle import Action

router = APIRouter(prefix="/api/v1/payment-requests", tags=["payment requests"])


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=4000, description="Required to reject or return")
    version: int | None = Field(default=None, description="The version you saw; a newer one answers 409")


class AddApproverBody(ActionBody):
    employee_id: int


class MarkPaidBody(ActionBody):
    paid_on: date | None = Field(default=None, description="Payment date; today when omitted")


@router.post("", status_code=201)
async def create(fields: PaymentRequestFields, core: CoreDep) -> dict[str, Any]:
    async def work(session):
        request = await service.create_request(session, core.actor, fields)
        return await detail(session, core.actor, request)

    return await core.run(work)


@router.get("/{request_id}")
async def read(request_id: int, core: CoreDep) -> dict[str, Any]:
    async def work(session):
        return await detail(session, core.actor, await service.get_visible(session, core.actor, request_id))

    return await core.run(work)


@router.patch("/{request_id}")
async def update(request_id: int, fields: PaymentRequestFields, core: CoreDep,
                 version: int | None = Query(default=None)) -> dict[str, Any]:
    async def work(session):
        outcome = await service.update_request(session, core.actor, request_id, fields, expected_version=version)
        return {"changed": outcome.changed, "request": await detail(session, core.actor, outcome.request)}

    return await core.run(work)


@router.get("/{request_id}/history")
async def history(request_id: int, core: CoreDep) -> list[dict[str, Any]]:
    async def work(session):
        return await history_view(session, await service.history(session, core.actor, request_id))

    return await core.run(work)


def action_route(router: APIRouter, action: Action, body_model: type[ActionBody], path: str, summary: str) -> None:
    """``POST …/{request_id}/{path}``: one life-cycle action, answered with the item as it is now."""
    async def endpoint(request_id: int, body: body_model, core: CoreDep) -> dict[str, Any]:  # type: ignore[valid-type]
        extra = body.model_dump(exclude={"comment", "version"})

        async def work(session):
            outcome = await service.act(session, core.actor, request_id, action, comment=body.comment,
                                        expected_version=body.version, **extra)
            return {"changed": outcome.changed, "request": await detail(session, core.actor, outcome.request)}

        return await core.run(work)

    endpoint.__name__ = f"{action.value}_request"
    endpoint.__annotations__["body"] = body_model  # a real class, not the postponed name
    router.add_api_route(f"/{{request_id}}/{path}", endpoint, methods=["POST"], summary=summary)


for _action, _body, _path, _summary in (
    (Action.SUBMIT, ActionBody, "submit", "Submit for approval (draft or returned)"),
    (Action.APPROVE, ActionBody, "approve", "Approve the current stage"),
    (Action.REJECT, ActionBody, "reject", "Reject, with a reason"),
    (Action.RETURN, ActionBody, "return", "Return for rework, saying what to fix"),
    (Action.COMMENT, ActionBody, "comment", "Comment without deciding"),
    (Action.ADD_APPROVER, AddApproverBody, "add-approver", "Add an approver to the current stage"),
    (Action.MARK_PAID, MarkPaidBody, "mark-paid", "Mark paid (accountant)"),
    (Action.CLOSE, ActionBody, "close", "Closing documents received (accountant)"),
    (Action.CANCEL, ActionBody, "cancel", "Withdraw before payment"),
):
    action_route(router, _action, _body, _path, _summary)


@router.post("/read-invoice", summary="Read a supplier's invoice (PDF): the fields of a new request, to confirm")
async def read_invoice_pdf(core: CoreDep, settings: SettingsDep, file: UploadFile) -> dict[str, Any]:
    """The fields a PDF invoice gives (from its text layer and its payment QR code); nothing is
    created — send them, checked and corrected, to ``POST /api/v1/payment-requests``."""
    max_bytes = settings.max_upload_mb * 1024 * 1024
    content = await file.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise InvalidInput("attachment.too_large", field="file", max_mb=settings.max_upload_mb)
    reading = await asyncio.to_thread(read_invoice, content)
    prefill = prefill_from_invoice(reading)
    lang = core.actor.language
    return {"readable": reading.readable, "reason": translate(reading.reason, lang) if reading.reason else None,
            "fields": prefill.fields, "read": prefill.read,
            "warnings": [{"code": code, "message": translate(code, lang)} for code in prefill.warnings]}


@router.post("/{request_id}/attachments", status_code=201, summary="Attach a file (invoice, payment order…)")
async def upload(request_id: int, core: CoreDep, settings: SettingsDep, file: UploadFile,
                 kind: str = Form(default="invoice")) -> dict[str, Any]:
    max_bytes = settings.max_upload_mb * 1024 * 1024
    content = await file.read(max_bytes + 1)  # never more than the limit in memory
    store = FileStore(settings.files_dir)

    async def work(session):
        request = await service.get_visible(session, core.actor, request_id)
        attachment = await attachments.attach(session, store, core.actor, request, kind=kind,
                                              filename=file.filename or "file", content=content, max_bytes=max_bytes)
        return attachments.attachment_view(attachment)

    return await core.run(work)


@router.get("/{request_id}/attachments")
async def list_files(request_id: int, core: CoreDep) -> list[dict[str, Any]]:
    async def work(session):
        await service.get_visible(session, core.actor, request_id)
        return [attachments.attachment_view(a) for a in await attachments.list_attachments(session, request_id)]

    return await core.run(work)


@router.get("/{request_id}/attachments/{attachment_id}", response_class=Response)
async def download(request_id: int, attachment_id: int, core: CoreDep, settings: SettingsDep) -> Response:
    async def work(session):
        await service.get_visible(session, core.actor, request_id)
        return await attachments.get_attachment(session, request_id, attachment_id)

    attachment = await core.run(work)
    content = FileStore(settings.files_dir).read(attachment.sha256)
    disposition = f"attachment; filename*=UTF-8''{quote(attachment.filename)}"
    return Response(content, media_type=attachment.content_type, headers={"Content-Disposition": disposition})
