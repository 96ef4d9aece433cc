"""Payment requests through HTTP, as an API client or a future web page would use them."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import today, SBER_BIK, account, auth_headers, inn, setup_company


def body(company, **overrides):
    data = {
        "request_type_id": company.types["supplier"].id, "legal_entity_id": company.legal_entity.id,
        "subject": "Картриджи для принтера", "contractor_name": "ООО «Тонер»", "contractor_inn": inn(42),
        "contractor_kpp": "770301001", "bik": SBER_BIK, "account": account(3), "amount": "9990.50",
        "pay_by": (today() + timedelta(days=3)).isoformat(), "purpose": "Оплата по счёту № 7, НДС 20%",
        "invoice_number": "7",
    }
    data.update(overrides)
    return data


class TestCreate:
    async def test_manager_creates_a_draft_with_a_number_and_exact_amount(self, db, client):
        company = await setup_company(db)
        headers = await auth_headers(db, company, "manager")
        response = await client.post("/api/v1/payment-requests", json=body(company), headers=headers)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["status"] == "draft"
        assert created["number"].startswith(f"РМ-{today().year % 100:02d}-")
        assert created["amount"] == "9990.50" and created["amount_minor"] == 999050
        assert "submit" in created["available_actions"]

    async def test_someone_outside_every_department_files_a_draft_without_one(self, db, client):
        from backend.models import Employee

        company = await setup_company(db)
        async with db.session() as session:
            (await session.get(Employee, company.people["manager"].id)).department_id = None
            await session.commit()
        headers = await auth_headers(db, company, "manager")
        response = await client.post("/api/v1/payment-requests", json=body(company), headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["department_id"] is None

    async def test_every_bad_field_is_named_at_once(self, db, client):
        company = await setup_company(db)
        headers = await auth_headers(db, company, "manager")
        bad = body(company, contractor_inn="7707083894", amount="12.345", pay_by="2020-01-01", currency="XXX",
                   account="40702810000000000000")
        response = await client.post("/api/v1/payment-requests", json=bad, headers=headers | {"Accept-Language": "en"})
        assert response.status_code == 422
        fields = {e["field"]: e["code"] for e in response.json()["errors"]}
        assert fields == {"contractor_inn": "inn.checksum", "amount": "amount.precision", "pay_by": "pay_by.past",
                          "currency": "currency.unknown", "account": "account.checksum"}
        assert all(e["message"] for e in response.json()["errors"])

    async def test_russian_error_by_default_names_the_field(self, db, client):
        company = await setup_company(db)
        headers = await auth_headers(db, company, "manager")
        response = await client.post("/api/v1/payment-requests", json=body(company, bik="044525225",
                                     account="40702810400000000001"), headers=headers)
        assert response.status_code == 422
        error = response.json()["errors"][0]
        assert error["field"] == "account" and error["code"] == "account.checksum"
        assert error["message"].startswith("Расчётный счёт")

    async def test_type_errors_and_missing_fields_are_422_not_500(self, db, client):
        company = await setup_company(db)
        headers = await auth_headers(db, company, "manager")
        response = await client.post("/api/v1/payment-requests", json={"amount": 5, "pay_by": "tomorrow",
                                     "bogus": 1}, headers=headers)
        assert response.status_code == 422
        codes = {e["field"]: e["code"] for e in response.json()["errors"]}
        assert codes["pay_by"] == "field.date" and codes["bogus"] == "field.unknown"
        response = await client.post("/api/v1/payment-requests", content=b"{not json", headers=headers |
                                     {"Content-Type": "application/json"})
        assert response.status_code == 422

    async def test_absurd_numbers_are_422_not_500(self, db, client):
        company = await setup_company(db)
        headers = await auth_headers(db, company, "manager")
        response = await client.post("/api/v1/payment-requests", json=body(company, amount=7.1e99), headers=headers)
        assert response.status_code == 422 and response.json()["errors"][0]["code"] == "amount.too_large"
        response = await client.get(f"/api/v1/payment-requests/{10**30}", headers=headers)
        assert response.status_code == 422 and response.json()["code"] == "field.out_of_range"
        response = await client.post("/api/v1/payment-requests", json=body(company, legal_entity_id=10**25),
                                     headers=headers)
        assert response.status_code == 422

    async def test_known_inn_fills_the_contractor(self, db, client):
        company = await setup_company(db)
        headers = await auth_headers(db, company, "manager")
        await client.post("/api/v1/payment-requests", json=body(company), headers=headers)
        short = body(company)
        for key in ("contractor_name", "bik", "account"):
            short.pop(key)
        response = await client.post("/api/v1/payment-requests", json=short, headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["contractor_name"] == "ООО «Тонер»"
        assert response.json()["account"] == account(3)


class TestLifeCycleOverHttp:
    async def test_submit_approve_pay_close_with_history(self, db, client):
        company = await setup_company(db)
        manager = await auth_headers(db, company, "manager")
        rid = (await client.post("/api/v1/payment-requests", json=body(company), headers=manager)).json()["id"]
        assert (await client.post(f"/api/v1/payment-requests/{rid}/submit", json={}, headers=manager)).status_code == 200
        head = await auth_headers(db, company, "north_head")
        cfo = await auth_headers(db, company, "cfo")
        accountant = await auth_headers(db, company, "accountant")
        seen = (await client.get(f"/api/v1/payment-requests/{rid}", headers=head)).json()
        assert seen["available_actions"][:3] == ["approve", "reject", "return"]
        step = await client.post(f"/api/v1/payment-requests/{rid}/approve",
                                 json={"comment": "ок", "version": seen["version"]}, headers=head)
        assert step.json()["changed"] is True
        again = await client.post(f"/api/v1/payment-requests/{rid}/approve", json={}, headers=head)
        assert again.status_code == 200 and again.json()["changed"] is False
        await client.post(f"/api/v1/payment-requests/{rid}/approve", json={}, headers=cfo)
        paid = await client.post(f"/api/v1/payment-requests/{rid}/mark-paid", json={}, headers=accountant)
        assert paid.json()["request"]["status"] == "paid"
        closed = await client.post(f"/api/v1/payment-requests/{rid}/close", json={}, headers=accountant)
        assert closed.json()["request"]["status"] == "closed"
        history = (await client.get(f"/api/v1/payment-requests/{rid}/history", headers=manager)).json()
        assert [h["action"] for h in history] == ["create", "submit", "approve", "approve", "mark_paid", "close"]
        assert history[2]["actor"] == "Сидоров С.С." and history[2]["comment"] == "ок"

    async def test_stale_version_is_409(self, db, client):
        company = await setup_company(db)
        manager = await auth_headers(db, company, "manager")
        created = (await client.post("/api/v1/payment-requests", json=body(company), headers=manager)).json()
        response = await client.post(f"/api/v1/payment-requests/{created['id']}/submit",
                                     json={"version": created["version"] - 1}, headers=manager)
        assert response.status_code == 409 and response.json()["code"] == "request.stale_version"

    async def test_reject_without_reason_names_comment(self, db, client):
        company = await setup_company(db)
        manager = await auth_headers(db, company, "manager")
        rid = (await client.post("/api/v1/payment-requests", json=body(company), headers=manager)).json()["id"]
        await client.post(f"/api/v1/payment-requests/{rid}/submit", json={}, headers=manager)
        head = await auth_headers(db, company, "north_head")
        response = await client.post(f"/api/v1/payment-requests/{rid}/reject", json={}, headers=head)
        assert response.status_code == 422 and response.json()["field"] == "comment"


class TestVisibility:
    async def test_someone_elses_request_is_404_never_its_data(self, db, client):
        company = await setup_company(db)
        manager = await auth_headers(db, company, "manager")
        rid = (await client.post("/api/v1/payment-requests", json=body(company), headers=manager)).json()["id"]
        await client.post(f"/api/v1/payment-requests/{rid}/submit", json={}, headers=manager)
        outsider = await auth_headers(db, company, "outsider")
        for path in ("", "/history", "/attachments"):
            response = await client.get(f"/api/v1/payment-requests/{rid}{path}", headers=outsider)
            assert response.status_code == 404 and "contractor" not in response.text
        accountant = await auth_headers(db, company, "accountant")
        assert (await client.get(f"/api/v1/payment-requests/{rid}", headers=accountant)).status_code == 404

    async def test_no_token_401_bad_token_401(self, db, client):
        assert (await client.get("/api/v1/payment-requests")).status_code == 401
        response = await client.get("/api/v1/payment-requests", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401 and response.json()["code"] == "auth.invalid"


class TestAttachments:
    async def test_invoice_pdf_is_stored_once_and_recorded(self, db, client):
        company = await setup_company(db)
        manager = await auth_headers(db, company, "manager")
        rid = (await client.post("/api/v1/payment-requests", json=body(company), headers=manager)).json()["id"]
        pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        for _ in range(2):
            response = await client.post(f"/api/v1/payment-requests/{rid}/attachments", headers=manager,
                                         files={"file": ("счёт 7.pdf", pdf, "application/pdf")})
            assert response.status_code == 201, response.text
        files = (await client.get(f"/api/v1/payment-requests/{rid}/attachments", headers=manager)).json()
        assert len(files) == 2 and files[0]["sha256"] == files[1]["sha256"]
        download = await client.get(f"/api/v1/payment-requests/{rid}/attachments/{files[0]['id']}", headers=manager)
        assert download.content == pdf
        history = (await client.get(f"/api/v1/payment-requests/{rid}/history", headers=manager)).json()
        assert history[-1]["action"] == "attach" and history[-1]["details"]["attachment"]["filename"] == "счёт 7.pdf"

    async def test_wrong_type_and_too_large_are_refused(self, db, client, settings):
        company = await setup_company(db)
        manager = await auth_headers(db, company, "manager")
        rid = (await client.post("/api/v1/payment-requests", json=body(company), headers=manager)).json()["id"]
        response = await client.post(f"/api/v1/payment-requests/{rid}/attachments", headers=manager,
                                     files={"file": ("evil.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
        assert response.status_code == 422 and response.json()["code"] == "attachment.type"
        big = b"%PDF-1.4\n" + b"0" * (settings.max_upload_mb * 1024 * 1024)
        response = await client.post(f"/api/v1/payment-requests/{rid}/attachments", headers=manager,
                                     files={"file": ("big.pdf", big, "application/pdf")})
        assert response.status_code == 422 and response.json()["code"] == "attachment.too_large"

    async def test_payment_order_only_from_accounting(self, db, client):
        company = await setup_company(db)
        manager = await auth_headers(db, company, "manager")
        rid = (await client.post("/api/v1/payment-requests", json=body(company), headers=manager)).json()["id"]
        response = await client.post(f"/api/v1/payment-requests/{rid}/attachments", headers=manager,
                                     data={"kind": "payment_order"},
                                     files={"file": ("pp.pdf", b"%PDF-1.4\n%%EOF", "application/pdf")})
        assert response.status_code == 403
