"""The web pages: server-rendered (Jinja2), signed-cookie sessions, the same core as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from backend.web.context import CsrfFailed, LoginRequired

STATIC = Path(__file__).parent / "static"
API_PREFIXES = ("/api/", "/telegram/", "/bitrix24/", "/healthz", "/readyz", "/metrics", "/static/")


def is_page(request: Request) -> bool:
    """A path the pages answer, so its errors are shown as a page rather than JSON."""
    return not request.url.path.startswith(API_PREFIXES)


def install(app: FastAPI) -> None:
    from backend.web.routes import WEB_ROUTERS

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in WEB_ROUTERS:
        app.include_router(router, include_in_schema=False)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        from backend.web.errors import error_page

        return await error_page(request, 403, "web.csrf")
