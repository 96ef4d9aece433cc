"""A request's page: all its fields, its files, its route and its history as a timeline."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import Response

from backend.errors import DomainError
from backend.services import attachments, payment_requests, timeline
from backend.services.attachments import FileStore
from backend.web.context import PageDep
from backend.web.rendering import redirect, render, with_session
from backend.web.routes.registry import paid_on_date
from backend.workflows.lifecycle import Action

router = APIRouter()


@router.get("/requests/{request_id}")
async def request_page(page: PageDep, request_id: int) -> Response:
    story = await page.core.call(timeline.request_timeline, page.actor, request_id)
    return render(page, "request.html", r=story.request, story=story, today=page.actor.today())


@router.get("/requests/{request_id}/files/{attachment_id}")
async def request_file(page: PageDep, request_id: int, attachment_id: int, download: bool = False) -> Response:
    async def work(session):
        await payment_requests.get_visible(session, page.actor, request_id)
        return await attachments.get_attachment(session, request_id, attachment_id)

    attachment = await page.core.run(work)
    content = FileStore(page.settings.files_dir).read(attachment.sha256)
    # PDFs and pictures open in the browser; anything else (and ?download=1) is saved.
    inline = not download and attachment.content_type in ("application/pdf", "image/png", "image/jpeg")
    disposition = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(attachment.filename)}"
    return with_session(page, Response(content, media_type=attachment.content_type, headers={
        "Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox"}))


@router.post("/requests/{request_id}/mark-paid")
async def mark_paid(page: PageDep, request_id: int, csrf: str = Form(""), paid_on: str = Form(""),
                    version: int | None = Form(None)) -> Response:
    page.check_csrf(csrf)
    day = paid_on_date(page, paid_on)
    if day is False:
        return redirect(page, f"/requests/{request_id}")
    try:
        number = await page.core.call(payment_requests.act, page.actor, request_id, Action.MARK_PAID,
                                      expected_version=version, view=lambda outcome: outcome.request.number,
                                      **({"paid_on": day} if day else {}))
        page.flash("ok", page.t("request.marked_paid", number=number))
    except DomainError as error:
        if error.kind == "not_found":
            raise
        page.flash("error", error.message(page.lang))
    return redirect(page, f"/requests/{request_id}")
