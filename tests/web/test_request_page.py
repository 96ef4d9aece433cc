"""A request's page: its fields, files, every round of its route and its timeline."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from backend.db import utcnow
from backend.models import PaymentRequest
from backend.services import payment_requests as service
from backend.services.transactions import in_transaction
from backend.workflows.lifecycle import Action
from tests.factories import auth_headers, new_request

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


async def act(db, company, who, rid, action, **data):
    await in_transaction(db, lambda s: service.act(s, company.actor(who), rid, action, **data))


async def test_fields_route_rounds_and_timeline(browser, db, company, monkeypatch):
    # Every step 90 minutes after the one before; the CFO's stage has been open 26 hours now.
    moments = iter(utcnow() - timedelta(hours=26) - timedelta(minutes=90 * n) for n in (4, 3, 2, 1, 0))
    current = {"at": next(moments)}
    monkeypatch.setattr("backend.workflows.engine.utcnow", lambda: current["at"])

    async def step(who, action, **data):
        await act(db, company, who, rid, action, **data)
        current["at"] = next(moments, current["at"])

    rid = await new_request(db, company, subject="Картриджи", amount="15000.00")
    current["at"] = next(moments)
    await step("manager", Action.SUBMIT)
    await step("north_head", Action.RETURN, comment="Приложите счёт <b>с печатью</b>")
    await step("manager", Action.SUBMIT)
    await step("north_head", Action.APPROVE)
    await browser.sign_in(company.people["admin"].id)
    page = (await browser.get(f"/requests/{rid}")).text
    fields = page.split('data-test="fields"', 1)[1].split("</dl>", 1)[0]
    for text in ("Картриджи", "15\u00a0000,00\u00a0₽", "ООО «Поставщик»", "Иванов И.И."):
        assert text in fields
    route = page.split('data-test="route"', 1)[1]
    # A returned request resumes the same round: the return is in the history, not a second route.
    assert "Круг" not in route
    assert "согласовал(а)" in route and "ждём решения" in route
    assert "1 д 2 ч" in route and "дольше срока" in route  # 26 h against the default 24 h
    timeline = page.split('data-test="timeline"', 1)[1].split("</ol>", 1)[0]
    steps = re.findall(r"<b>([^<]+)</b>", timeline)
    assert steps == ["Создана", "Отправлена на согласование", "Возвращена на доработку",
                     "Отправлена на согласование", "Согласовано"]
    assert timeline.count("+1 ч 30 мин") == 4
    assert "&lt;b&gt;с печатью&lt;/b&gt;" in timeline and "<b>с печатью</b>" not in page


async def test_files_open_and_download(browser, db, company):
    rid = await new_request(db, company)
    headers = await auth_headers(db, company, "manager")
    uploaded = await browser.http.post(f"/api/v1/payment-requests/{rid}/attachments", headers=headers,
                                       files={"file": ("счёт 15.pdf", PDF, "application/pdf")})
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["id"]
    await browser.sign_in(company.people["manager"].id)
    page = (await browser.get(f"/requests/{rid}")).text
    assert "счёт 15.pdf" in page
    opened = await browser.get(f"/requests/{rid}/files/{file_id}")
    assert opened.content == PDF and opened.headers["content-disposition"].startswith("inline")
    assert opened.headers["content-security-policy"] == "sandbox"
    saved = await browser.get(f"/requests/{rid}/files/{file_id}?download=1")
    assert saved.headers["content-disposition"].startswith("attachment")
    assert (await browser.get(f"/requests/{rid}/files/{file_id + 1000}")).status_code == 404


async def test_someone_elses_request_and_its_files_are_not_found(browser, db, company):
    rid = await new_request(db, company, who="manager")
    await browser.sign_in(company.people["manager2"].id)
    response = await browser.get(f"/requests/{rid}")
    assert response.status_code == 404 and "не найдена" in response.text
    assert "Поставщик" not in response.text
    assert (await browser.get(f"/requests/{rid}/files/1")).status_code == 404
    assert (await browser.get("/requests/not-a-number")).status_code == 422


async def test_accountant_marks_paid_on_the_page(browser, db, company):
    rid = await new_request(db, company)
    await act(db, company, "manager", rid, Action.SUBMIT)
    await act(db, company, "north_head", rid, Action.APPROVE)
    await act(db, company, "cfo", rid, Action.APPROVE)
    await browser.sign_in(company.people["accountant"].id)
    page = (await browser.get(f"/requests/{rid}")).text
    assert 'data-test="request-mark-paid"' in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    yesterday = (company.actor("accountant").today() - timedelta(days=1)).isoformat()
    done = await browser.post(f"/requests/{rid}/mark-paid", {"paid_on": yesterday, "version": version})
    after = (await browser.get(done.headers["location"])).text
    assert "отмечена оплаченной" in after and 'data-test="request-mark-paid"' not in after
    async with db.session() as session:
        request = await session.get(PaymentRequest, rid)
        assert request.status == "paid" and request.paid_on.isoformat() == yesterday
    # The same form sent again (a stale page): told plainly, nothing changes.
    again = await browser.post(f"/requests/{rid}/mark-paid", {"paid_on": yesterday, "version": version})
    assert "flash error" in (await browser.get(again.headers["location"])).text


async def test_contract_page_shows_contract_words(browser, db, company):
    await browser.sign_in(company.people["admin"].id)
    rid = await new_request(db, company)
    async with db.session() as session:
        await session.execute(update(PaymentRequest).where(PaymentRequest.id == rid).values(kind="contract"))
        await session.commit()
    page = (await browser.get(f"/requests/{rid}")).text
    assert "Договор" in page and "Расчётный счёт" not in page
