"""The registry: filters, keyset pages, visibility, totals and export."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl

from backend.services import payment_requests as service
from backend.services.transactions import in_transaction
from backend.workflows.lifecycle import Action
from tests.factories import today, auth_headers, inn, new_request, setup_company


async def seed(db, company):
    """Five requests with distinct contractors, amounts, dates, words and statuses."""
    now = today()
    specs = [
        ("manager", "Бумага офисная", inn(11), "ООО «Бумажник»", "1000.00", 0, "approve"),
        ("manager", "Ремонт кондиционера", inn(12), "ООО «Холод»", "25000.00", 2, "submit"),
        ("manager2", "Бумага для плоттера", inn(13), "ООО «Плоттер-Сервис»", "4000.00", 10, None),
        ("manager2", "Аренда склада", inn(14), "АО «Склады»", "95000.00", 40, "approve"),
        ("manager", "Курьерская доставка", inn(15), "ООО «Курьер»", "700.00", 1, "paid"),
    ]
    ids = []
    for who, subject, contractor_inn, name, amount, days, stage in specs:
        rid = await new_request(db, company, who=who, subject=subject, contractor_inn=contractor_inn,
                                contractor_name=name, amount=amount, pay_by=now + timedelta(days=days),
                                invoice_number=str(len(ids) + 1))
        if stage:
            await _drive(db, company, who, rid, stage)
        ids.append(rid)
    return ids


async def _drive(db, company, who, rid, stage):
    async def do(actor, action):
        await in_transaction(db, lambda s: service.act(s, company.actor(actor), rid, action))

    await do(who, Action.SUBMIT)
    if stage in ("approve", "paid"):
        await do("north_head", Action.APPROVE)
        await do("cfo", Action.APPROVE)
    if stage == "paid":
        await do("accountant", Action.MARK_PAID)


async def listing(client, headers, **params):
    response = await client.get("/api/v1/payment-requests", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


class TestFilters:
    async def test_each_filter_selects_what_it_says(self, db, client):
        company = await setup_company(db)
        ids = await seed(db, company)
        admin = await auth_headers(db, company, "admin")
        subjects = lambda page: sorted(i["subject"] for i in page["items"])  # noqa: E731
        assert subjects(await listing(client, admin, q="бумаг")) == ["Бумага для плоттера", "Бумага офисная"]
        assert subjects(await listing(client, admin, q="бумага плоттер")) == ["Бумага для плоттера"]
        assert subjects(await listing(client, admin, contractor=inn(14))) == ["Аренда склада"]
        assert subjects(await listing(client, admin, contractor="холод")) == ["Ремонт кондиционера"]
        assert subjects(await listing(client, admin, amount_min="1000", amount_max="25000")) == [
            "Бумага для плоттера", "Бумага офисная", "Ремонт кондиционера"]
        assert subjects(await listing(client, admin, status=["approved", "paid"])) == [
            "Аренда склада", "Бумага офисная", "Курьерская доставка"]
        assert subjects(await listing(client, admin, pay_by="today")) == ["Бумага офисная"]
        assert len((await listing(client, admin, pay_by="month"))["items"]) >= 3
        assert subjects(await listing(client, admin, initiator_id=company.people["manager2"].id)) == [
            "Аренда склада", "Бумага для плоттера"]
        assert ids

    async def test_a_request_number_or_hyphenated_invoice_is_found(self, db, client):
        company = await setup_company(db)
        rid = await new_request(db, company, invoice_number="СЧ-00123")
        await new_request(db, company, invoice_number="77")
        admin = await auth_headers(db, company, "admin")
        number = (await client.get(f"/api/v1/payment-requests/{rid}", headers=admin)).json()["number"]
        for q in (number, number.lower(), "СЧ-00123", "сч 00123"):
            assert [i["id"] for i in (await listing(client, admin, q=q))["items"]] == [rid], q

    async def test_bad_filters_are_named(self, db, client):
        company = await setup_company(db)
        admin = await auth_headers(db, company, "admin")
        for params, field in (({"amount_min": "10", "amount_max": "5"}, "amount_max"),
                              ({"cursor": "garbage!"}, "cursor"), ({"status": "lost"}, "status.0"),
                              ({"limit": 100000}, "limit"), ({"sort": "price"}, "sort")):
            response = await client.get("/api/v1/payment-requests", params=params, headers=admin)
            assert response.status_code == 422, params
            body = response.json()
            assert field in {body.get("field")} | {e["field"] for e in body.get("errors", [])}, body


class TestKeysetPages:
    async def test_pages_cover_everything_once_in_order(self, db, client):
        company = await setup_company(db)
        await seed(db, company)
        for _ in range(7):
            await new_request(db, company, amount="500.00")
        admin = await auth_headers(db, company, "admin")
        for sort in ("-created", "pay_by", "-amount", "number"):
            seen, cursor = [], None
            while True:
                params = {"sort": sort, "limit": 3} | ({"cursor": cursor} if cursor else {})
                page = await listing(client, admin, **params)
                seen.extend(page["items"])
                cursor = page["next_cursor"]
                if not cursor:
                    break
            assert len(seen) == 12 and len({i["id"] for i in seen}) == 12, sort
            key = {"-created": "created_at", "pay_by": "pay_by", "-amount": "amount_minor", "number": "number"}[sort]
            values = [(i[key], i["id"]) for i in seen]
            assert values == sorted(values, reverse=sort.startswith("-")), sort


class TestVisibility:
    async def test_each_role_sees_its_part(self, db, client):
        company = await setup_company(db)
        await seed(db, company)
        count = lambda page: len(page["items"])  # noqa: E731
        manager = await auth_headers(db, company, "manager")
        assert count(await listing(client, manager)) == 3  # own only, drafts included
        accountant = await auth_headers(db, company, "accountant")
        assert {i["status"] for i in (await listing(client, accountant))["items"]} == {"approved", "paid"}
        head = await auth_headers(db, company, "head")  # heads sales: the north subtree, but not drafts
        assert count(await listing(client, head)) == 4
        outsider = await auth_headers(db, company, "outsider")
        assert count(await listing(client, outsider)) == 0


class TestTotalsAndExport:
    async def test_totals_and_exports_match_the_listing(self, db, client):
        company = await setup_company(db)
        await seed(db, company)
        admin = await auth_headers(db, company, "admin")
        params = {"status": ["approved", "paid"]}
        totals = (await client.get("/api/v1/payment-requests/totals", params=params, headers=admin)).json()
        assert totals["totals"]["RUB"] == {"count": 3, "amount_minor": 100_000 + 9_500_000 + 70_000}
        csv_response = await client.get("/api/v1/payment-requests/export.csv", params=params, headers=admin)
        text = csv_response.content.decode("utf-8-sig")
        lines = text.strip().split("\r\n")
        assert lines[0].startswith("Номер;Статус") and len(lines) == 4
        assert any("95000,00" in line for line in lines)
        xlsx = await client.get("/api/v1/payment-requests/export.xlsx", params=params,
                                headers=admin | {"Accept-Language": "en"})
        sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:2] == ("Number", "Status")
        assert len(rows) == 4
        assert sorted(float(r[11]) for r in rows[1:]) == [700.0, 1000.0, 95000.0]
