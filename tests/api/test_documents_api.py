"""Print forms through HTTP: a contract's print form, invoices to clients (numbers, 70/30, the USN
limit), templates uploaded by admins (checked, picked by entity and client type)."""

from __future__ import annotations

import io
import zipfile

from pypdf import PdfReader
from sqlalchemy import select

from backend.documents.invoice_intake import read_invoice, read_payment_qr
from backend.models import LegalEntity, OutgoingInvoice
from tests.api.test_contracts_api import started
from tests.factories import SBER_BIK, account, auth_headers, give_print_details, setup_company, today


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def docx_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.read("word/document.xml").decode("utf-8")


async def printable_company(db, *, tax_regime="osn"):
    company = await setup_company(db)
    await give_print_details(db, company, tax_regime=tax_regime)
    return company


async def approved_contract(db, client, company, **overrides) -> int:
    contract_id, _ = await started(db, client, company, **overrides)
    accountant = await auth_headers(db, company, "accountant")
    response = await client.post(f"/api/v1/contracts/{contract_id}/approve", json={}, headers=accountant)
    assert response.json()["request"]["status"] == "approved"
    return contract_id


class TestContractPrintForm:
    async def test_pdf_and_docx_carry_the_number_parties_terms_and_words(self, db, client):
        company = await printable_company(db)
        contract_id = await approved_contract(db, client, company)
        manager = await auth_headers(db, company, "manager")
        pdf = await client.get(f"/api/v1/contracts/{contract_id}/print.pdf", headers=manager)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = " ".join(pdf_text(pdf.content).split())
        number = f"РМ-Д-{today().year % 100:02d}/0001"
        assert number in text and "ООО «Клиент»" in text and "Ромашка" in text and "г. г." not in text
        assert "Предмет договора: Оказание услуг по внедрению" in text
        assert "сто пятьдесят тысяч рублей" in text.lower() and "70" in text
        docx = await client.get(f"/api/v1/contracts/{contract_id}/print.docx", headers=manager)
        xml = docx_xml(docx.content)
        assert number in xml and "ООО «Клиент»" in xml
        outsider = await auth_headers(db, company, "outsider")
        assert (await client.get(f"/api/v1/contracts/{contract_id}/print.pdf", headers=outsider)).status_code == 404


class TestInvoices:
    async def test_prepayment_invoice_under_a_70_30_contract_reads_back_with_its_qr(self, db, client):
        company = await printable_company(db)
        contract_id = await approved_contract(db, client, company)
        manager = await auth_headers(db, company, "manager")
        issued = await client.post("/api/v1/invoices", json={"contract_id": contract_id, "part": "prepayment"},
                                   headers=manager)
        assert issued.status_code == 201, issued.text
        invoice = issued.json()
        assert invoice["total"] == 15_000_000 and invoice["amount_due"] == 10_500_000
        assert invoice["number"] == f"РМ-{today().year % 100:02d}-00001"
        pdf = (await client.get(f"/api/v1/invoices/{invoice['id']}/print.pdf", headers=manager)).content
        reading = read_invoice(pdf)
        assert reading.supplier_inn == company.legal_entity.inn and reading.bik == SBER_BIK
        assert reading.account == account(9)
        qr = read_payment_qr(pdf)
        assert qr is not None and qr.sum_kopecks == 10_500_000 and qr.personal_acc == account(9)
        xml = docx_xml((await client.get(f"/api/v1/invoices/{invoice['id']}/print.docx", headers=manager)).content)
        assert invoice["number"] in xml

        again = await client.post("/api/v1/invoices", json={"contract_id": contract_id, "part": "prepayment"},
                                  headers=manager)
        assert again.status_code == 422 and again.json()["code"] == "invoice.part_issued"
        final = await client.post("/api/v1/invoices", json={"contract_id": contract_id, "part": "final"},
                                  headers=manager)
        assert final.status_code == 201, final.text
        assert final.json()["amount_due"] == 4_500_000 and final.json()["part"] == "final"  # the two add up
        pdf = (await client.get(f"/api/v1/invoices/{final.json()['id']}/print.pdf", headers=manager)).content
        assert "Окончательный расчёт 30" in " ".join(pdf_text(pdf).split())
        assert read_payment_qr(pdf).sum_kopecks == 4_500_000

    async def test_full_terms_refuse_a_prepayment_and_a_draft_contract_refuses_an_invoice(self, db, client):
        company = await printable_company(db)
        contract_id = await approved_contract(db, client, company, payment_terms="full")
        manager = await auth_headers(db, company, "manager")
        refused = await client.post("/api/v1/invoices", json={"contract_id": contract_id, "part": "prepayment"},
                                    headers=manager)
        assert refused.status_code == 422 and refused.json()["field"] == "part"
        early = await client.post("/api/v1/invoices", json={"contract_id": contract_id, "part": "final"},
                                  headers=manager)
        assert early.status_code == 422 and early.json()["field"] == "part"
        pending_id, _ = await started(db, client, company, bitrix24_deal_id="43")
        refused = await client.post("/api/v1/invoices", json={"contract_id": pending_id}, headers=manager)
        assert refused.status_code == 422 and refused.json()["code"] == "invoice.contract_not_approved"

    async def test_usn_limit_blocks_the_invoice_with_the_numbers_and_cancel_frees_it(self, db, client, settings):
        company = await printable_company(db, tax_regime="usn_income")
        year = today().year
        async with db.session() as session:
            entity = await session.get(LegalEntity, company.legal_entity.id)
            limit = settings.usn_income_limit(year)
            entity.usn_income_outside = {str(year): limit - 20_000_000}  # 200 000 ₽ left
            await session.commit()
        manager = await auth_headers(db, company, "manager")
        line = {"name": "Консультация", "quantity": "1", "unit": "усл", "price": "150000.00"}
        first = await client.post("/api/v1/invoices", json={
            "legal_entity_id": company.legal_entity.id, "client_name": "ООО «Клиент»", "client_inn": "7707083893",
            "lines": [line]}, headers=manager)
        assert first.status_code == 201, first.text
        second = await client.post("/api/v1/invoices", json={
            "legal_entity_id": company.legal_entity.id, "client_name": "ООО «Клиент»", "client_inn": "7707083893",
            "lines": [line]}, headers=manager)
        assert second.status_code == 422
        error = second.json()
        assert error["code"] == "usn.limit_exceeded"
        message = error["message"].replace("\xa0", " ")
        assert "больше лимита на 100 000,00 ₽" in message and "490 500 000,00 ₽" in message
        position = (await client.get(f"/api/v1/legal-entities/{company.legal_entity.id}/usn", headers=manager)).json()
        assert position["remaining"] == 5_000_000 and position["issued"] == 15_000_000
        accountant = await auth_headers(db, company, "accountant")
        cancelled = await client.post(f"/api/v1/invoices/{first.json()['id']}/cancel", headers=accountant)
        assert cancelled.json()["status"] == "cancelled"
        third = await client.post("/api/v1/invoices", json={
            "legal_entity_id": company.legal_entity.id, "client_name": "ООО «Клиент»", "client_inn": "7707083893",
            "lines": [line]}, headers=manager)
        assert third.status_code == 201
        assert third.json()["number"].endswith("00002")  # the cancelled one keeps its number
        async with db.session() as session:
            assert len((await session.scalars(select(OutgoingInvoice))).all()) == 2

    async def test_bad_invoice_input_is_named(self, db, client):
        company = await printable_company(db)
        manager = await auth_headers(db, company, "manager")
        response = await client.post("/api/v1/invoices", json={
            "legal_entity_id": company.legal_entity.id, "client_name": "", "client_inn": "1234567890",
            "lines": [{"name": "x", "quantity": "0", "price": "-5"}], "pay_until": "2020-01-01"}, headers=manager)
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert {"client_name", "client_inn", "pay_until"} <= fields
        assert any(f.startswith("lines") for f in fields)


class TestTemplates:
    async def test_a_template_naming_a_missing_field_is_refused_with_its_name(self, db, client):
        company = await printable_company(db)
        admin = await auth_headers(db, company, "admin")
        bad = b"<html><body>{{ buyer.kpp_typo }}</body></html>"
        response = await client.post("/api/v1/templates", headers=admin, data={"name": "Наш", "kind": "invoice"},
                                     files={"file": ("invoice.html", bad, "text/html")})
        assert response.status_code == 422
        assert response.json()["code"] == "template.missing_field" and "kpp_typo" in response.json()["message"]
        manager = await auth_headers(db, company, "manager")
        forbidden = await client.post("/api/v1/templates", headers=manager, data={"name": "x", "kind": "invoice"},
                                      files={"file": ("invoice.html", b"<p>{{ number }}</p>", "text/html")})
        assert forbidden.status_code == 403
        wrong = await client.post("/api/v1/templates", headers=admin, data={"name": "x", "kind": "invoice"},
                                  files={"file": ("invoice.txt", b"hello", "text/plain")})
        assert wrong.status_code == 422 and wrong.json()["code"] == "template.format"

    async def test_an_entity_template_is_used_for_its_entity_and_can_be_switched_off(self, db, client):
        company = await printable_company(db)
        contract_id = await approved_contract(db, client, company)
        admin = await auth_headers(db, company, "admin")
        own = (await client.get("/api/v1/templates/default", params={"kind": "contract", "fmt": "html"},
                                headers=admin)).content.replace("<body>".encode(), "<body><p>ОСОБАЯ ФОРМА РОМАШКИ</p>".encode(), 1)
        uploaded = await client.post("/api/v1/templates", headers=admin, data={
            "name": "Договор Ромашки", "kind": "contract", "legal_entity_id": str(company.legal_entity.id),
            "client_type": "company"}, files={"file": ("contract.html", own, "text/html")})
        assert uploaded.status_code == 201, uploaded.text
        manager = await auth_headers(db, company, "manager")
        pdf = (await client.get(f"/api/v1/contracts/{contract_id}/print.pdf", headers=manager)).content
        assert "ОСОБАЯ ФОРМА РОМАШКИ" in pdf_text(pdf)
        listed = (await client.get("/api/v1/templates", headers=admin)).json()
        assert [t["name"] for t in listed] == ["Договор Ромашки"]
        await client.patch(f"/api/v1/templates/{uploaded.json()['id']}", json={"active": False}, headers=admin)
        pdf = (await client.get(f"/api/v1/contracts/{contract_id}/print.pdf", headers=manager)).content
        assert "ОСОБАЯ ФОРМА РОМАШКИ" not in pdf_text(pdf)


async def test_an_admin_sets_the_print_details_and_number_formats_with_checks(db, client):
    company = await setup_company(db)
    admin = await auth_headers(db, company, "admin")
    url = f"/api/v1/legal-entities/{company.legal_entity.id}"
    bad = await client.patch(url, headers=admin, json={"ogrn": "1232300000011", "contract_number_format": "{x}-{n}",
                                                      "invoice_number_format": "Счёт {yy}"})
    assert bad.status_code == 422
    assert {e["field"]: e["code"] for e in bad.json()["errors"]} == {
        "ogrn": "ogrn.checksum", "contract_number_format": "number_format.placeholder",
        "invoice_number_format": "number_format.no_n"}
    good = await client.patch(url, headers=admin, json={
        "ogrn": "1232300000019", "address": "г. Москва, ул. Тверская, д. 1", "director": "Директор Иванов И. И.",
        "contract_number_format": "{n}/{yy}-ДУ", "usn_income_outside": {"2026": "1000000.50"}})
    assert good.status_code == 200, good.text
    assert good.json()["ogrn"] == "1232300000019" and good.json()["usn_income_outside"] == {"2026": "1000000.50"}
    contract_id = await approved_contract(db, client, company)
    number = (await client.get(f"/api/v1/contracts/{contract_id}", headers=admin)).json()["contract"]["contract_number"]
    assert number == f"1/{today().year % 100:02d}-ДУ"


def test_the_city_is_read_from_the_address_without_its_prefix():
    from backend.services.print_documents import city_of

    assert city_of("123456, г. Москва, ул. Тверская, д. 1") == "Москва"
    assert city_of("350000, Краснодар, ул. Красная") == "Краснодар"
    assert city_of("") == ""


async def test_an_entity_without_address_or_account_is_told_what_to_fill(db, client):
    company = await setup_company(db)
    contract_id = await approved_contract(db, client, company)
    manager = await auth_headers(db, company, "manager")
    response = await client.get(f"/api/v1/contracts/{contract_id}/print.pdf", headers=manager)
    assert response.status_code == 422
    assert response.json()["code"] == "print_form.entity_incomplete" and "Ромашка" in response.json()["message"]


class TestReadInvoiceThroughTheApi:
    async def test_our_own_invoice_and_a_sample_give_the_fields_to_confirm_and_nothing_is_created(self, db, client):
        from pathlib import Path

        from backend.models import PaymentRequest

        company = await printable_company(db)
        manager = await auth_headers(db, company, "manager")
        line = {"name": "Консультация", "quantity": "1", "unit": "усл", "price": "15000.00"}
        issued = (await client.post("/api/v1/invoices", json={
            "legal_entity_id": company.legal_entity.id, "client_name": "ООО «Клиент»", "client_inn": "7707083893",
            "lines": [line]}, headers=manager)).json()
        pdf = (await client.get(f"/api/v1/invoices/{issued['id']}/print.pdf", headers=manager)).content
        async with db.session() as session:
            from sqlalchemy import func, select

            before = await session.scalar(select(func.count()).select_from(PaymentRequest))
        read = await client.post("/api/v1/payment-requests/read-invoice", headers=manager,
                                 files={"file": ("invoice.pdf", pdf, "application/pdf")})
        assert read.status_code == 200, read.text
        body = read.json()
        assert body["readable"] and set(body["read"]) >= {"contractor", "amount", "invoice"}
        assert body["fields"]["contractor_inn"] == company.legal_entity.inn
        assert body["fields"]["amount"] == "15000.00" and body["fields"]["invoice_number"] == issued["number"]
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(PaymentRequest)) == before
        sample = Path(__file__).parents[1] / "documents" / "samples" / "classic_1c.pdf"
        read = (await client.post("/api/v1/payment-requests/read-invoice", headers=manager,
                                  files={"file": ("s.pdf", sample.read_bytes(), "application/pdf")})).json()
        assert read["readable"] and read["fields"]["amount"] == "26000.50"
        refused = await client.post("/api/v1/payment-requests/read-invoice", headers=manager,
                                    files={"file": ("x.pdf", b"hello", "application/pdf")})
        assert refused.status_code == 422 and refused.json()["field"] == "file"


async def test_a_template_form_with_a_bad_kind_is_named_in_words(db, client):
    company = await setup_company(db)
    admin = await auth_headers(db, company, "admin")
    response = await client.post("/api/v1/templates", headers=admin, data={"name": "x", "kind": "bogus"},
                                 files={"file": ("c.html", b"<p>{{ number }}</p>", "text/html")})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "kind" and error["code"] == "field.choice" and "{" not in error["message"]
