"""Signing in and out: the bot's one-time link, an admin's API token; the page language."""

from __future__ import annotations

from urllib.parse import unquote

from fastapi import APIRouter, Form
from fastapi.responses import Response

from backend.errors import DomainError
from backend.i18n import SUPPORTED_LANGUAGES
from backend.services import web_login
from backend.services.transactions import in_transaction
from backend.web.context import VisitorDep
from backend.web.rendering import redirect, render
from backend.web.sessions import WebSession

router = APIRouter()


def safe_next(value: str | None) -> str:
    """Only a path of this site: never another site's address (an open redirect)."""
    target = unquote(value or "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/registry"
    return target


@router.get("/login")
async def login_page(page: VisitorDep, next: str | None = None) -> Response:
    if page.actor is not None:
        return redirect(page, safe_next(next))
    return render(page, "login.html", next=safe_next(next), error=None)


@router.post("/login/token")
async def login_with_token(page: VisitorDep, token: str = Form(""), next: str = Form("/registry")) -> Response:
    try:
        actor, token_id = await in_transaction(page.db, lambda s: web_login.sign_in_with_token(s, token))
    except DomainError as error:
        return render(page, "login.html", status=401 if error.kind == "invalid" else 403, next=safe_next(next),
                      error=error.message(page.lang))
    _start(page, employee_id=None, token_id=token_id)
    return redirect(page, safe_next(next))


@router.get("/login/link/{code}")
async def login_link_page(page: VisitorDep, code: str) -> Response:
    """Opening the link only asks to confirm: a chat's link preview opening it must not spend it."""
    try:
        employee = await in_transaction(page.db, lambda s: web_login.peek_link(s, code))
    except DomainError as error:
        return render(page, "login.html", status=410, next="/registry", error=error.message(page.lang))
    return render(page, "login_link.html", code=code, name=employee.full_name)


@router.post("/login/link/{code}")
async def login_with_link(page: VisitorDep, code: str) -> Response:
    try:
        actor = await in_transaction(page.db, lambda s: web_login.use_link(s, code))
    except DomainError as error:
        return render(page, "login.html", status=410, next="/registry", error=error.message(page.lang))
    _start(page, employee_id=actor.employee_id, token_id=None)
    return redirect(page, "/registry")


def _start(page, *, employee_id: int | None, token_id: int | None) -> None:
    """A new session (and a new CSRF token) at every sign-in: a session fixed beforehand is no use."""
    page.session = WebSession(employee_id=employee_id, token_id=token_id)
    page.session_changed = True


@router.post("/logout")
async def logout(page: VisitorDep, csrf: str = Form("")) -> Response:
    page.check_csrf(csrf)
    page.session = WebSession(language=page.session.language)
    page.session_changed = True
    return redirect(page, "/login")


@router.post("/language")
async def choose_language(page: VisitorDep, language: str = Form(""), csrf: str = Form(""),
                          back: str = Form("/registry")) -> Response:
    page.check_csrf(csrf)
    if language in SUPPORTED_LANGUAGES:
        page.session.language = language
        page.session_changed = True
    return redirect(page, safe_next(back))
