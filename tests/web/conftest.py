"""Web page tests: the app in-process through httpx, a browser-like client that keeps cookies
and signs in the way people do (the bot's one-time link)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.api.app import create_app
from backend.db import Database
from backend.services import web_login
from backend.services.tokens import actor_for_employee
from tests.factories import Company, setup_company

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """An httpx client with a cookie jar, and the page's CSRF token at hand."""

    def __init__(self, http: httpx.AsyncClient, db: Database) -> None:
        self.http = http
        self.db = db
        self.csrf = ""

    async def get(self, url: str, **kwargs) -> httpx.Response:
        response = await self.http.get(url, **kwargs)
        if found := CSRF.search(response.text if response.headers.get("content-type", "").startswith("text/html") else ""):
            self.csrf = found.group(1)
        return response

    async def post(self, url: str, data: dict | None = None, **kwargs) -> httpx.Response:
        form = {"csrf": self.csrf, **(data or {})}
        return await self.http.post(url, data=form, **kwargs)

    async def sign_in(self, employee_id: int) -> None:
        """As /web in the bot does: a link issued for the employee, opened and confirmed."""
        async with self.db.session() as session:
            actor = await actor_for_employee(session, employee_id)
            _, code = await web_login.issue_link(session, actor, minutes=10)
            await session.commit()
        assert (await self.get(f"/login/link/{code}")).status_code == 200
        response = await self.http.post(f"/login/link/{code}")
        assert response.status_code == 303, response.text
        await self.get("/registry")


@pytest.fixture
async def company(db) -> Company:
    return await setup_company(db)


@pytest.fixture
async def web_app(db, settings):
    return create_app(settings=settings, db=db)


@pytest.fixture
async def browser(web_app, db) -> AsyncIterator[Browser]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app), base_url="http://viza.test") as http:
        yield Browser(http, db)


@pytest.fixture
async def new_browser(web_app, db):
    """More browsers (another person at the same time); closed at the end of the test."""
    clients: list[httpx.AsyncClient] = []

    def make() -> Browser:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app), base_url="http://viza.test")
        clients.append(http)
        return Browser(http, db)

    yield make
    for http in clients:
        await http.aclose()
