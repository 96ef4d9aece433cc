"""Errors on a page are shown as a page, in the viewer's language, with a way back."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from backend.web.context import any_visitor
from backend.web.rendering import render


async def error_page(request: Request, status: int, code: str, message: str | None = None) -> HTMLResponse:
    page = getattr(request.state, "web_page", None) or await any_visitor(request)
    text = message or page.t(code)
    return render(page, "error.html", status=status, status_code=status, message=text,
                  title=page.t(f"error.title.{status}") if status in (401, 403, 404, 409, 422) else page.t("error.title"))
