"""Who is looking at a page: the session cookie checked, the actor read afresh, the language."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request

from backend.db import Database
from backend.i18n import pick_language
from backend.services import web_login
from backend.services.core import Core
from backend.services.transactions import in_transaction
from backend.settings import Settings
from backend.web.sessions import COOKIE, SessionCodec, WebSession
from backend.web.texts import page_text
from backend.workflows.actors import Actor


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class CsrfFailed(Exception):
    """A form posted without this session's token (another site's form, or a stale page)."""


@dataclass
class Page:
    """Everything a page handler needs: the request, the session, the actor and their words."""

    request: Request
    session: WebSession
    actor: Actor | None
    db: Database
    settings: Settings
    session_changed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        if self.session.language:
            return self.session.language
        if self.actor is not None and self.actor.employee_id is not None:
            return self.actor.language
        return pick_language(self.request.headers.get("accept-language"))

    @property
    def core(self) -> Core:
        assert self.actor is not None
        return Core(self.db, self.actor)

    def t(self, key: str, /, **params: Any) -> str:
        return page_text(self.lang, key, **params)

    def flash(self, kind: str, text: str) -> None:
        self.session.flash.append([kind, text])
        self.session_changed = True

    def take_flash(self) -> list[list[str]]:
        messages, self.session.flash = self.session.flash, []
        if messages:
            self.session_changed = True
        return messages

    def check_csrf(self, token: str | None) -> None:
        if not token or not hmac.compare_digest(token, self.session.csrf):
            raise CsrfFailed()


async def codec_of(request: Request) -> SessionCodec:
    app = request.app
    codec = getattr(app.state, "web_codec", None)
    if codec is None:
        settings: Settings = app.state.settings
        key = settings.secret_key or await in_transaction(app.state.db, web_login.session_key)
        codec = app.state.web_codec = SessionCodec(key, settings.web_session_hours * 3600)
    return codec


def codec_of_app(app) -> SessionCodec:
    return app.state.web_codec  # made by codec_of before any page is handled


async def _page(request: Request) -> Page:
    codec = await codec_of(request)
    session = codec.loads(request.cookies.get(COOKIE))
    page = Page(request=request, session=session or WebSession(), actor=None, db=request.app.state.db,
                settings=request.app.state.settings, session_changed=session is None)
    if session is not None and session.signed_in:
        page.actor = await in_transaction(page.db, lambda s: web_login.session_actor(
            s, employee_id=session.employee_id, token_id=session.token_id))
        if page.actor is None:  # deactivated, or the token revoked: the session is over
            page.session = WebSession(language=session.language)
            page.session_changed = True
    request.state.web_page = page
    request.state.language = page.lang
    return page


async def any_visitor(request: Request) -> Page:
    """The sign-in pages: anyone, signed in or not."""
    return await _page(request)


async def signed_in(request: Request) -> Page:
    page = await _page(request)
    if page.actor is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(target, safe=""))
    return page


async def admin_only(page: Annotated[Page, Depends(signed_in)]) -> Page:
    from backend.errors import Forbidden

    if not page.actor.is_admin:
        raise Forbidden("forbidden.admin_only")
    return page


VisitorDep = Annotated[Page, Depends(any_visitor)]
PageDep = Annotated[Page, Depends(signed_in)]
AdminPageDep = Annotated[Page, Depends(admin_only)]
