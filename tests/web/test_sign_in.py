"""Signing in to the pages: the one-time link, an admin's token, sessions that end, CSRF."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import update

from backend.db import utcnow
from backend.models import ApiToken, Employee, WebLoginLink
from backend.services import web_login
from backend.services.tokens import actor_for_employee
from backend.web.sessions import COOKIE, SessionCodec, WebSession
from tests.factories import auth_headers


async def issue(db, employee_id: int, minutes: int = 10) -> str:
    async with db.session() as session:
        _, code = await web_login.issue_link(session, await actor_for_employee(session, employee_id), minutes=minutes)
        await session.commit()
    return code


async def test_pages_need_a_session(browser):
    response = await browser.get("/registry?status=approved")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fregistry%3Fstatus%3Dapproved"
    login = await browser.get("/login")
    assert "/web" in login.text


async def test_link_signs_in_once(browser, new_browser, db, company):
    code = await issue(db, company.people["accountant"].id)
    confirm = await browser.get(f"/login/link/{code}")
    assert confirm.status_code == 200 and "Бухова Б.Б." in confirm.text
    # Opening the link (as a chat's link preview would) does not spend it.
    assert (await browser.get(f"/login/link/{code}")).status_code == 200
    signed = await browser.http.post(f"/login/link/{code}")
    assert signed.status_code == 303 and signed.headers["location"] == "/registry"
    page = await browser.get("/registry")
    assert page.status_code == 200 and "Бухова Б.Б." in page.text
    # The same link in another browser: refused, and that browser stays signed out.
    other = new_browser()
    again = await other.http.post(f"/login/link/{code}")
    assert again.status_code == 410 and "уже использована" in again.text
    assert (await other.get("/registry")).status_code == 303


async def test_expired_or_unknown_link_is_refused(browser, db, company):
    code = await issue(db, company.people["manager"].id)
    async with db.session() as session:
        await session.execute(update(WebLoginLink).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    expired = await browser.get(f"/login/link/{code}")
    assert expired.status_code == 410 and "устарела" in expired.text
    assert (await browser.http.post(f"/login/link/{code}")).status_code == 410
    unknown = await browser.http.post("/login/link/not-a-code")
    assert unknown.status_code == 410 and "не найдена" in unknown.text


async def test_deactivated_employee_loses_the_session(browser, db, company):
    await browser.sign_in(company.people["accountant"].id)
    assert (await browser.get("/registry")).status_code == 200
    async with db.session() as session:
        await session.execute(update(Employee).where(Employee.id == company.people["accountant"].id).values(active=False))
        await session.commit()
    assert (await browser.get("/registry")).status_code == 303


async def test_admin_token_sign_in_and_revocation(browser, db, company):
    headers = await auth_headers(db, company, "admin")
    secret = headers["Authorization"].split()[1]
    response = await browser.http.post("/login/token", data={"token": secret, "next": "/requests/1"})
    assert response.status_code == 303 and response.headers["location"] == "/requests/1"
    assert (await browser.get("/registry")).status_code == 200
    async with db.session() as session:
        await session.execute(update(ApiToken).values(revoked_at=utcnow()))
        await session.commit()
    assert (await browser.get("/registry")).status_code == 303


async def test_token_sign_in_refusals(browser, db, company):
    wrong = await browser.http.post("/login/token", data={"token": "viza_nope"})
    assert wrong.status_code == 401 and "Токен: такого действующего токена нет" in wrong.text
    manager = (await auth_headers(db, company, "manager"))["Authorization"].split()[1]
    not_admin = await browser.http.post("/login/token", data={"token": manager})
    assert not_admin.status_code == 403 and "/web" in not_admin.text
    assert (await browser.get("/registry")).status_code == 303


async def test_next_never_leaves_the_site(browser, db, company):
    secret = (await auth_headers(db, company, "admin"))["Authorization"].split()[1]
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = await browser.http.post("/login/token", data={"token": secret, "next": target})
        assert response.headers["location"] == "/registry"


async def test_forged_tampered_and_expired_cookies_are_refused(browser, db, company, web_app):
    await browser.sign_in(company.people["admin"].id)
    cookie = browser.http.cookies[COOKIE]
    browser.http.cookies.clear()
    tampered = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    browser.http.cookies.set(COOKIE, tampered)
    assert (await browser.get("/registry")).status_code == 303
    codec: SessionCodec = web_app.state.web_codec
    old = WebSession(employee_id=company.people["admin"].id, signed_in_at=time.time() - codec.lifetime - 1)
    browser.http.cookies.clear()
    browser.http.cookies.set(COOKIE, codec.dumps(old))
    assert (await browser.get("/registry")).status_code == 303
    forged = SessionCodec("another-key-" + "x" * 40, codec.lifetime).dumps(WebSession(employee_id=company.people["admin"].id))
    browser.http.cookies.clear()
    browser.http.cookies.set(COOKIE, forged)
    assert (await browser.get("/registry")).status_code == 303


async def test_session_cookie_is_http_only_and_lax(browser, db, company):
    code = await issue(db, company.people["admin"].id)
    response = await browser.http.post(f"/login/link/{code}")
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "max-age=43200" in header


async def test_posts_without_the_csrf_token_are_refused(browser, db, company):
    await browser.sign_in(company.people["admin"].id)
    for url in ("/logout", "/registry/view", "/registry/mark-paid", "/language"):
        response = await browser.http.post(url, data={"csrf": "forged", "language": "en"})
        assert response.status_code == 403, url
        assert "Страница устарела" in response.text
    assert (await browser.get("/registry")).status_code == 200  # still signed in: logout was refused


async def test_logout_and_language(browser, db, company):
    await browser.sign_in(company.people["admin"].id)
    switched = await browser.post("/language", {"language": "en", "back": "/registry"})
    assert switched.status_code == 303
    page = await browser.get("/registry")
    assert "Requests registry" in page.text and 'lang="en"' in page.text
    assert (await browser.post("/logout")).status_code == 303
    assert (await browser.get("/registry")).status_code == 303


async def test_the_shared_signing_key_is_made_once(db):
    from backend.services.transactions import in_transaction

    first = await in_transaction(db, web_login.session_key)
    second = await in_transaction(db, web_login.session_key)
    assert first == second and len(first) >= 48


async def test_spent_links_are_dropped_when_a_new_one_is_made(db, company, browser):
    from sqlalchemy import func, select

    employee_id = company.people["manager"].id
    first = await issue(db, employee_id)
    await browser.http.post(f"/login/link/{first}")
    await issue(db, employee_id)
    second = await issue(db, employee_id)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(WebLoginLink)) == 2  # two unused ones
    assert (await browser.get(f"/login/link/{second}")).status_code == 200
