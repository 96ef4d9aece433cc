"""Mistakes on the pages are answered with a page in the viewer's language; the API keeps JSON."""

from __future__ import annotations


async def test_unknown_page_is_a_page_and_unknown_api_path_is_json(browser, company):
    await browser.sign_in(company.people["manager"].id)
    page = await browser.get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Не найдено" in page.text and 'href="/registry"' in page.text
    api = await browser.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["code"] == "http.not_found"


async def test_a_bad_path_value_is_a_page_not_json(browser, company):
    await browser.sign_in(company.people["manager"].id)
    response = await browser.get("/requests/12abc")
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    assert "Проверьте данные" in response.text


async def test_pages_are_not_cached_or_framed(browser, company):
    await browser.sign_in(company.people["manager"].id)
    response = await browser.get("/registry")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"


async def test_static_files_are_served_locally(browser):
    css = await browser.get("/static/viza.css")
    assert css.status_code == 200 and ".timeline" in css.text
    login = await browser.get("/login")
    assert "http://" not in login.text.replace('xmlns="http://www.w3.org', "") and "https://" not in login.text


async def test_an_id_past_64_bits_is_a_page(browser, company):
    await browser.sign_in(company.people["admin"].id)
    response = await browser.get(f"/requests/{10**30}")
    assert response.status_code in (404, 422) and response.headers["content-type"].startswith("text/html")


async def test_too_long_text_names_its_limit_in_the_api(client):
    from tests.api.helpers import admin_headers

    headers = await admin_headers(client._transport.app.state.db)
    body = {"code": "x" * 60, "name": {"ru": "Тип"}, "stages": []}
    response = await client.post("/api/v1/request-types", json=body, headers=headers)
    assert response.status_code == 422
    messages = [e["message"] for e in response.json()["errors"] if e["field"] == "code"]
    assert messages and "50" in messages[0] and "{max}" not in messages[0]
