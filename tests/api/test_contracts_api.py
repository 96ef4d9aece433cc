"""Contract approvals through HTTP: versions, remarks, added approvers, numbers, the deal gate,
the annual store."""

from __future__ import annotations

import asyncio
import io
from datetime import date

import docx
from sqlalchemy import select

from backend.models import Bitrix24Deal, Contract, DocumentNumber, LegalEntity, RequestType
from backend.services import contracts as service
from backend.services.attachments import FileStore
from backend.services.contracts import ContractFields
from backend.services.payment_requests import act
from backend.workflows.lifecycle import Action
from tests.factories import auth_headers, give_print_details, inn, setup_company, today

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def contract_docx(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def body(company, **overrides):
    data = {"legal_entity_id": company.legal_entity.id, "client_name": "ООО «Клиент»", "client_inn": inn(77),
            "client_kpp": "770301001", "subject": "Оказание услуг по внедрению", "amount": "150000",
            "bitrix24_deal_id": "42", "payment_terms": "prepay_70_30"}
    data.update(overrides)
    return data


async def upload(client, headers, contract_id, text="Договор, редакция 1", name="contract.docx"):
    return await client.post(f"/api/v1/contracts/{contract_id}/versions", headers=headers,
                             files={"file": (name, contract_docx(text), DOCX_TYPE)})


async def started(db, client, company, **overrides) -> tuple[int, dict]:
    manager = await auth_headers(db, company, "manager")
    created = await client.post("/api/v1/contracts", json=body(company, **overrides), headers=manager)
    assert created.status_code == 201, created.text
    contract_id = created.json()["id"]
    assert (await upload(client, manager, contract_id)).status_code == 201
    submitted = await client.post(f"/api/v1/contracts/{contract_id}/submit", json={}, headers=manager)
    assert submitted.status_code == 200, submitted.text
    return contract_id, manager


class TestApproval:
    async def test_returned_with_remarks_new_version_added_approver_then_number_and_gate(self, db, client):
        company = await setup_company(db)
        manager = await auth_headers(db, company, "manager")
        created = await client.post("/api/v1/contracts", json=body(company), headers=manager)
        assert created.status_code == 201, created.text
        data = created.json()
        contract_id = data["id"]
        assert data["kind"] == "contract" and data["status"] == "draft"
        assert data["contract"]["contract_number"] is None and data["contract"]["payment_terms"] == "prepay_70_30"
        refused = await client.post(f"/api/v1/contracts/{contract_id}/submit", json={}, headers=manager)
        assert refused.status_code == 422 and refused.json()["code"] == "contract.file_required"

        assert (await upload(client, manager, contract_id)).json()["version"] == 1
        pending = await client.post(f"/api/v1/contracts/{contract_id}/submit", json={}, headers=manager)
        assert pending.json()["request"]["status"] == "pending"
        accountant = await auth_headers(db, company, "accountant")
        returned = await client.post(f"/api/v1/contracts/{contract_id}/return",
                                     json={"comment": "п. 3.2 — срок оплаты 5 дней"}, headers=accountant)
        assert returned.json()["request"]["status"] == "returned"
        second = await upload(client, manager, contract_id, "Договор, редакция 2, п. 3.2 исправлен")
        assert second.status_code == 201 and second.json()["version"] == 2
        await client.post(f"/api/v1/contracts/{contract_id}/submit", json={}, headers=manager)

        added = await client.post(f"/api/v1/contracts/{contract_id}/add-approver",
                                  json={"employee_id": company.people["director"].id}, headers=accountant)
        assert added.status_code == 200, added.text
        first = await client.post(f"/api/v1/contracts/{contract_id}/approve", json={}, headers=accountant)
        assert first.json()["request"]["status"] == "pending"  # the added director has not approved yet
        director = await auth_headers(db, company, "director")
        done = await client.post(f"/api/v1/contracts/{contract_id}/approve", json={}, headers=director)
        assert done.json()["request"]["status"] == "approved"

        view = (await client.get(f"/api/v1/contracts/{contract_id}", headers=manager)).json()["contract"]
        assert view["contract_number"] == f"РМ-Д-{today().year % 100:02d}/0001"
        assert view["number_state"] == "confirmed"
        assert [v["version"] for v in view["versions"]] == [1, 2]
        assert view["versions"][0]["remarks"][0]["comment"] == "п. 3.2 — срок оплаты 5 дней"
        assert view["versions"][0]["remarks"][0]["action"] == "return"
        async with db.session() as session:
            deal = await session.get(Bitrix24Deal, "42")
        assert deal.contract_approved_at is not None
        by_deal = (await client.get("/api/v1/contracts", params={"deal_id": "42"}, headers=accountant)).json()
        assert by_deal["contract_approved"] is True and by_deal["contract_status"] == "approved"

    async def test_mark_paid_is_not_a_contract_action_and_payments_are_not_contracts(self, db, client):
        company = await setup_company(db)
        contract_id, _ = await started(db, client, company)
        accountant = await auth_headers(db, company, "accountant")
        await client.post(f"/api/v1/contracts/{contract_id}/approve", json={}, headers=accountant)
        paid = await client.post(f"/api/v1/payment-requests/{contract_id}/mark-paid", json={}, headers=accountant)
        assert paid.status_code == 409 and paid.json()["code"] == "transition.not_allowed"
        detail = (await client.get(f"/api/v1/payment-requests/{contract_id}", headers=accountant)).json()
        assert "mark_paid" not in detail["available_actions"]
        queue = await client.get("/api/v1/payment-requests/9999999", headers=accountant)
        assert queue.status_code == 404

    async def test_a_contract_file_must_be_a_document(self, db, client):
        company = await setup_company(db)
        manager = await auth_headers(db, company, "manager")
        contract_id = (await client.post("/api/v1/contracts", json=body(company), headers=manager)).json()["id"]
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
        refused = await client.post(f"/api/v1/contracts/{contract_id}/versions", headers=manager,
                                    files={"file": ("scan.png", png, "image/png")})
        assert refused.status_code == 422 and refused.json()["code"] == "attachment.contract_type"

    async def test_bad_input_is_named(self, db, client):
        company = await setup_company(db)
        manager = await auth_headers(db, company, "manager")
        bad = body(company, client_inn="7707083894", approve_by="2020-01-01", valid_from="2026-12-31",
                   valid_until="2026-01-01")
        response = await client.post("/api/v1/contracts", json=bad, headers=manager)
        assert response.status_code == 422
        fields = {e["field"]: e["code"] for e in response.json()["errors"]}
        assert fields == {"client_inn": "inn.checksum", "approve_by": "contract.approve_by_past",
                          "valid_until": "contract.valid_until_before_from"}
        no_inn = await client.post("/api/v1/contracts", json=body(company, client_inn=None), headers=manager)
        assert no_inn.status_code == 201  # an unfinished draft may lack it; submit will not
        individual = await client.post("/api/v1/contracts", json=body(company, client_inn=None, client_type="individual",
                                                                      client_name="Петров Пётр Петрович",
                                                                      client_passport="4510 123456"), headers=manager)
        assert individual.status_code == 201
        contract_id = no_inn.json()["id"]
        await upload(client, manager, contract_id)
        refused = await client.post(f"/api/v1/contracts/{contract_id}/submit", json={}, headers=manager)
        assert refused.json()["code"] == "contract.company_inn_required"

    async def test_rejected_contract_takes_no_number_and_closes_nothing(self, db, client):
        company = await setup_company(db)
        contract_id, manager = await started(db, client, company)
        accountant = await auth_headers(db, company, "accountant")
        await client.post(f"/api/v1/contracts/{contract_id}/reject", json={"comment": "Не наш клиент"},
                          headers=accountant)
        view = (await client.get(f"/api/v1/contracts/{contract_id}", headers=manager)).json()
        assert view["status"] == "rejected" and view["contract"]["contract_number"] is None
        by_deal = (await client.get("/api/v1/contracts", params={"deal_id": "42"}, headers=accountant)).json()
        assert by_deal["contract_approved"] is False and by_deal["contract_status"] == "rejected"


async def _approve(db, company, contract_id: int, who: str = "accountant") -> None:
    async with db.session() as session:
        await act(session, company.actors[who], contract_id, Action.APPROVE)
        await session.commit()


async def _new_contract(db, company, tmp_path, **overrides) -> int:
    async with db.session() as session:
        fields = ContractFields(**body(company, **overrides))
        request = await service.create_contract(session, FileStore(tmp_path), company.actors["manager"], fields,
                                                file=("c.docx", contract_docx("Договор")))
        await act(session, company.actors["manager"], request.id, Action.SUBMIT)
        await session.commit()
        return request.id


class TestNumbering:
    async def test_concurrent_approvals_get_consecutive_numbers_without_gaps(self, db, tmp_path):
        company = await setup_company(db)
        ids = [await _new_contract(db, company, tmp_path, bitrix24_deal_id=None) for _ in range(8)]

        async def approve(contract_id: int, who: str) -> None:
            from backend.services.transactions import in_transaction

            await in_transaction(db, lambda s: act(s, company.actors[who], contract_id, Action.APPROVE))

        await asyncio.gather(*(approve(i, "accountant" if n % 2 else "accountant2") for n, i in enumerate(ids)))
        async with db.session() as session:
            numbers = [c.number for c in await session.scalars(select(Contract).where(Contract.request_id.in_(ids)))]
            values = sorted(n.value for n in await session.scalars(select(DocumentNumber)))
        yy = today().year % 100
        assert sorted(numbers) == [f"РМ-Д-{yy:02d}/{n:04d}" for n in range(1, 9)]
        assert values == list(range(1, 9))

    async def test_reserved_at_submit_released_on_reject_and_taken_again(self, db, tmp_path):
        company = await setup_company(db)
        async with db.session() as session:
            route = await session.scalar(select(RequestType).where(RequestType.code == "contract"))
            route.numbering = "reserve"
            entity = await session.get(LegalEntity, company.legal_entity.id)
            entity.contract_number_format = "{n}/{year}-К"
            await session.commit()
        first = await _new_contract(db, company, tmp_path)
        second = await _new_contract(db, company, tmp_path)
        async with db.session() as session:
            assert (await session.get(Contract, first)).number == f"1/{today().year}-К"
            assert (await session.get(Contract, second)).number == f"2/{today().year}-К"
            assert (await session.get(Contract, first)).number_state == "reserved"
            await act(session, company.actors["accountant"], first, Action.REJECT, comment="нет")
            await session.commit()
        third = await _new_contract(db, company, tmp_path)
        await _approve(db, company, second)
        async with db.session() as session:
            assert (await session.get(Contract, first)).number is None
            assert (await session.get(Contract, third)).number == f"1/{today().year}-К"  # the gap is filled
            assert (await session.get(Contract, second)).number_state == "confirmed"

    async def test_a_bad_number_format_is_refused_with_the_placeholder(self, db, client):
        from backend.documents.numbers import check_format
        from backend.errors import InvalidInput

        for pattern, code in (("Д-{yy}", "number_format.no_n"), ("{n}-{name}", "number_format.placeholder"),
                              ("{n", "number_format.braces"), ("{n.__class__}", "number_format.placeholder")):
            try:
                check_format(pattern, "contract_number_format")
            except InvalidInput as error:
                assert error.code == code, pattern
            else:
                raise AssertionError(pattern)
        assert check_format("{code}-{yy}/{n:05d}", "f") == "{code}-{yy}/{n:05d}"


class TestAnnualStore:
    async def test_an_annual_contract_is_found_and_renewed_for_next_year(self, db, client):
        company = await setup_company(db)
        await give_print_details(db, company)
        year = today().year
        contract_id, manager = await started(db, client, company, annual=True, valid_from=f"{year}-01-01",
                                             valid_until=f"{year}-12-31")
        accountant = await auth_headers(db, company, "accountant")
        await client.post(f"/api/v1/contracts/{contract_id}/approve", json={}, headers=accountant)
        person_id, _ = await started(db, client, company, client_type="individual", client_inn=None,
                                     client_name="Петров Пётр", annual=True, bitrix24_deal_id="77")
        await client.post(f"/api/v1/contracts/{person_id}/approve", json={}, headers=accountant)
        found = (await client.get("/api/v1/contracts/annual", params={"q": "клиент"}, headers=manager)).json()
        assert [c["id"] for c in found] == [contract_id]  # not the individual without an INN
        by_inn = (await client.get("/api/v1/contracts/annual", params={"q": inn(77)}, headers=manager)).json()
        assert [c["id"] for c in by_inn] == [contract_id]
        renewed = await client.post(f"/api/v1/contracts/{contract_id}/renew", json={"year": year + 1}, headers=manager)
        assert renewed.status_code == 201, renewed.text
        new = renewed.json()
        assert new["status"] == "draft" and new["contractor_inn"] == inn(77)
        assert new["contract"]["based_on_id"] == contract_id
        assert new["contract"]["valid_from"] == date(year + 1, 1, 1).isoformat()
        assert new["amount_minor"] == 15_000_000
        [version] = new["contract"]["versions"]  # the print form of the new contract, ready to submit
        assert version["version"] == 1 and version["filename"].endswith(".docx")
        submitted = await client.post(f"/api/v1/contracts/{new['id']}/submit", json={}, headers=manager)
        assert submitted.json()["request"]["status"] == "pending"
        again = await client.post(f"/api/v1/contracts/{contract_id}/renew", json={"year": year + 1}, headers=manager)
        assert again.status_code == 409 and again.json()["code"] == "contract.already_renewed"
        too_far = await client.post(f"/api/v1/contracts/{contract_id}/renew", json={"year": year + 5}, headers=manager)
        assert too_far.status_code == 422 and too_far.json()["field"] == "year"


class TestKeptApartFromPayments:
    async def test_an_approved_contract_is_not_money_to_pay(self, db, client):
        from backend.services.worklists import payment_queue

        company = await setup_company(db)
        contract_id, manager = await started(db, client, company)
        accountant = await auth_headers(db, company, "accountant")
        await client.post(f"/api/v1/contracts/{contract_id}/approve", json={}, headers=accountant)
        async with db.session() as session:
            queue = await payment_queue(session, company.actors["accountant"], "all")
        assert queue.total == 0
        registry = await client.get("/api/v1/payment-requests", params={"kind": "contract"}, headers=accountant)
        assert [i["id"] for i in registry.json()["items"]] == [contract_id]
        payments = await client.get("/api/v1/payment-requests", params={"kind": "payment"}, headers=accountant)
        assert payments.json()["items"] == []
        export = await client.get("/api/v1/bank/payment-orders", headers=accountant)
        assert export.status_code == 422 and export.json()["code"] == "bank_export.nothing"


class TestLinesFromTheCatalogue:
    async def test_lines_come_from_the_catalogue_and_fit_the_entity_and_the_contract_type(self, db, client):
        from backend.models import CatalogueItem, DocumentTemplate

        company = await setup_company(db)
        async with db.session() as session:
            service_item = CatalogueItem(onec_ref="00000000-0000-0000-0000-000000000001", code="00-001",
                                         name="Внедрение", name_lc="внедрение", unit="усл", is_service=True,
                                         vat_rate=22, group_code="SVC")
            goods_item = CatalogueItem(onec_ref="00000000-0000-0000-0000-000000000002", code="00-002",
                                       name="Сканер", name_lc="сканер", unit="шт", vat_rate=22, group_code="GDS")
            session.add_all([service_item, goods_item])
            entity = await session.get(LegalEntity, company.legal_entity.id)
            entity.catalogue_groups = ["SVC", "GDS"]
            template = DocumentTemplate(name="Договор услуг", kind="contract", fmt="html", allowed_groups=["SVC"],
                                        sha256="0" * 64, filename="c.html", size=1)
            session.add(template)
            await session.commit()
            ids = service_item.id, goods_item.id, template.id
        manager = await auth_headers(db, company, "manager")
        good = await client.post("/api/v1/contracts", headers=manager, json=body(
            company, amount=None, template_id=ids[2],
            lines=[{"catalogue_item_id": ids[0], "quantity": "2", "price": "60000"}]))
        assert good.status_code == 201, good.text
        assert good.json()["amount_minor"] == 12_000_000
        [line] = good.json()["contract"]["lines"]
        assert (line["name"], line["unit"], line["vat_rate"], line["amount"]) == ("Внедрение", "усл", 22, 12_000_000)

        wrong = await client.post("/api/v1/contracts", headers=manager, json=body(
            company, amount=None, template_id=ids[2],
            lines=[{"catalogue_item_id": ids[1], "quantity": "1", "price": "5000"},
                   {"name": "Своя позиция", "price": "100"}]))
        assert wrong.status_code == 422
        codes = {e["field"]: e["code"] for e in wrong.json()["errors"]}
        assert codes["lines.0.catalogue_item_id"] == "catalogue.wrong_contract_type"
        assert codes["lines.1.catalogue_item_id"] == "catalogue.pick_from_catalogue"
        mismatch = await client.post("/api/v1/contracts", headers=manager, json=body(
            company, amount="1", lines=[{"catalogue_item_id": ids[0], "price": "100"}]))
        assert mismatch.status_code == 422 and mismatch.json()["code"] == "contract.amount_not_lines_total"


async def test_a_zip_named_docx_is_not_a_contract(db, client):
    company = await setup_company(db)
    manager = await auth_headers(db, company, "manager")
    contract_id = (await client.post("/api/v1/contracts", json=body(company), headers=manager)).json()["id"]
    archive = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("photos/1.txt", "not a contract")
    refused = await client.post(f"/api/v1/contracts/{contract_id}/versions", headers=manager,
                                files={"file": ("contract.docx", archive.getvalue(), DOCX_TYPE)})
    assert refused.status_code == 422 and refused.json()["code"] == "attachment.contract_type"


async def test_an_edit_can_drop_the_lines_for_a_plain_amount(db, client):
    from backend.models import CatalogueItem

    company = await setup_company(db)
    async with db.session() as session:
        item = CatalogueItem(onec_ref="00000000-0000-0000-0000-00000000000a", name="Внедрение", name_lc="внедрение",
                             unit="усл", is_service=True, vat_rate=22)
        session.add(item)
        await session.commit()
        item_id = item.id
    manager = await auth_headers(db, company, "manager")
    created = (await client.post("/api/v1/contracts", headers=manager, json=body(
        company, amount=None, lines=[{"catalogue_item_id": item_id, "quantity": "3", "price": "100"}]))).json()
    assert created["amount_minor"] == 30_000 and len(created["contract"]["lines"]) == 1
    edited = await client.patch(f"/api/v1/contracts/{created['id']}", headers=manager,
                                json={"lines": [], "amount": "5000"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["request"]["amount_minor"] == 500_000 and edited.json()["request"]["contract"]["lines"] == []
