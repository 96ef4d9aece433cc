"""The Bitrix24 sync against the portal emulator: companies by INN, the request's item, deal
comments and tasks, expenses, stage gates, lost answers, outages and the portal's bucket."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from backend.integrations.bitrix24.gates import confirm
from backend.integrations.bitrix24.sync import Bitrix24Sync
from backend.integrations.outbox_rows import deal_event_row
from backend.models import Employee, PaymentRequest
from backend.services.transactions import in_transaction
from backend.settings import Settings
from backend.workflows.lifecycle import Action
from tests.emulators.bitrix24 import Bitrix24Emulator
from tests.factories import inn, new_request, setup_company, today
from tests.integrations.helpers import act, approved_request, drain, request, rows, time_passes

TYPE = 1032


@pytest.fixture
async def portal():
    async with Bitrix24Emulator() as emu:
        yield emu


@pytest.fixture
async def company(db):
    company = await setup_company(db)
    async with db.session() as session:  # the accountant and the manager have portal accounts
        await session.execute(update(Employee).where(Employee.id == company.people["accountant"].id)
                              .values(bitrix24_user_id="3"))
        await session.execute(update(Employee).where(Employee.id == company.people["manager"].id)
                              .values(bitrix24_user_id="2"))
        await session.commit()
    return company


def settings_for(portal, tmp_path, **overrides) -> Settings:
    values = dict(data_dir=tmp_path, bitrix24_webhook_url=portal.webhook_url, bitrix24_app_token="apptoken123",
                  bitrix24_item_type_id=TYPE, bitrix24_item_category_id=7, bitrix24_expenses_field="UF_CRM_VIZA_COSTS",
                  bitrix24_stage_gates={"WON": "closing_confirmed"}, bitrix24_closing_field="UF_CRM_VIZA_CLOSED")
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def sync(db, portal, tmp_path):
    system = Bitrix24Sync.from_settings(db, settings_for(portal, tmp_path))
    yield system
    await system.stop()


def items(portal) -> list[dict]:
    return list(portal.items[TYPE].values())


class TestCompanies:
    async def test_a_new_contractor_becomes_one_company_with_its_requisite_and_bank(self, db, company, portal, sync):
        await new_request(db, company)  # the contractor is remembered: a company row
        await drain(sync.worker())
        (created,) = portal.companies.values()
        (requisite,) = portal.requisites.values()
        (bank,) = portal.bankdetails.values()
        assert created["TITLE"] == "ООО «Поставщик»" and created["ORIGINATOR_ID"] == "viza"
        assert (requisite["RQ_INN"], requisite["RQ_KPP"], str(requisite["ENTITY_ID"])) == (inn(500), "770201001", str(created["ID"]))
        assert str(bank["ENTITY_ID"]) == str(requisite["ID"]) and bank["RQ_BIK"] == "044525225"
        assert len(portal.calls_of("batch")) == 1  # company + requisite as one batch, never one without the other
        # The draft's item waited for that company instead of looking it up again: four hits in all
        # (the lookup by INN, the batch, the bank details, the item).
        assert portal.hits == 4 and len(portal.calls_of("crm.requisite.list")) == 1

    async def test_a_company_already_on_the_portal_is_reused_by_inn(self, db, company, portal, sync):
        existing = portal.add_company(TITLE="Поставщик (заведён вручную)")
        portal.add_requisite(ENTITY_TYPE_ID=4, ENTITY_ID=existing, PRESET_ID=1, NAME="Реквизиты", RQ_INN=inn(500),
                             RQ_KPP="770201001")
        await approved_request(db, company)
        await drain(sync.worker())
        assert list(portal.companies) == [existing]
        assert {str(i["companyId"]) for i in items(portal)} == {str(existing)}

    async def test_duplicates_on_the_portal_are_reported_to_admins_once(self, db, company, portal, sync):
        first, second = portal.add_company(TITLE="Поставщик"), portal.add_company(TITLE="Поставщик (дубль)")
        for owner in (first, second):
            portal.add_requisite(ENTITY_TYPE_ID=4, ENTITY_ID=owner, PRESET_ID=1, NAME="Р", RQ_INN=inn(500), RQ_KPP="770201001")
        await approved_request(db, company)
        await drain(sync.worker())
        assert len(portal.companies) == 2  # nothing new made
        assert {str(i["companyId"]) for i in items(portal)} == {str(first)}
        told = [m for m in await rows(db, "notify") if m.payload["event"] == "bitrix24_duplicates"]
        assert [m.payload["recipient_id"] for m in told] == [company.people["admin"].id]
        assert told[0].payload["data"]["companies"] == [str(first), str(second)]


class TestRequestMirror:
    async def test_the_item_follows_the_request_and_the_deal_hears_of_each_decision(self, db, company, portal, sync):
        deal = portal.add_deal(TITLE="Монтаж сигнализации", STAGE_ID="EXECUTING", ASSIGNED_BY_ID=2)
        rid = await new_request(db, company, bitrix24_deal_id=str(deal))
        await act(db, company, "manager", rid, Action.SUBMIT)
        worker = sync.worker()
        await drain(worker)
        (item,) = items(portal)
        assert item["stageId"] == "DT1032_7:PREPARATION" and item["xmlId"] == f"viza:{rid}"
        assert str(item["parentId2"]) == str(deal) and float(item["opportunity"]) == 15000
        await act(db, company, "north_head", rid, Action.APPROVE)
        await act(db, company, "cfo", rid, Action.APPROVE, comment="Ок, в пределах бюджета")
        await drain(worker)
        assert items(portal)[0]["stageId"] == "DT1032_7:CLIENT"
        texts = [c["COMMENT"] for c in portal.comments.values()]
        assert len(texts) == 3 and "согласовал" in texts[2] and "Ок, в пределах бюджета" in texts[2]
        (task,) = portal.tasks.values()
        assert str(task["responsibleId"]) == "3" and "Оплатить заявку" in task["title"]
        assert task["deadline"].startswith(str(today().year))
        await act(db, company, "accountant", rid, Action.MARK_PAID, paid_on=today())
        await drain(worker)
        assert items(portal)[0]["stageId"] == "DT1032_7:SUCCESS"
        assert portal.deals[deal]["UF_CRM_VIZA_COSTS"] == "15000.00|RUB"
        assert "оплачена" in list(portal.comments.values())[-1]["COMMENT"]
        assert {r.status for r in await rows(db, "bitrix24")} <= {"sent", "skipped"}

    async def test_a_return_gives_the_initiator_a_task_with_what_to_fix(self, db, company, portal, sync):
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "north_head", rid, Action.RETURN, comment="Приложите счёт")
        await drain(sync.worker())
        (task,) = portal.tasks.values()
        assert str(task["responsibleId"]) == "2" and "Приложите счёт" in task["description"]

    async def test_a_lost_answer_does_not_make_a_second_item(self, db, company, portal, sync):
        portal.fail_next("crm.item.add", status=500, error="INTERNAL_SERVER_ERROR", after=True)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        worker = sync.worker()
        await drain(worker)
        assert len(items(portal)) == 1 and items(portal)[0]["xmlId"] == f"viza:{rid}"
        assert {r.status for r in await rows(db, "bitrix24", kind="request")} == {"sent"}

    async def test_an_item_deleted_on_the_portal_is_made_again(self, db, company, portal, sync):
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        worker = sync.worker()
        await drain(worker)
        portal.items[TYPE].clear()
        await act(db, company, "north_head", rid, Action.APPROVE)
        await act(db, company, "cfo", rid, Action.APPROVE)
        await drain(worker)
        assert [i["stageId"] for i in items(portal)] == ["DT1032_7:CLIENT"]


class TestOutages:
    async def test_the_portal_down_for_a_stretch_loses_nothing_and_keeps_each_requests_order(self, db, company, portal, sync):
        portal.down = True
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "north_head", rid, Action.APPROVE)
        worker = sync.worker()
        for _ in range(4):
            worker.paused_until = None
            await worker.run_due()
        waiting = await rows(db, "bitrix24")
        assert all(r.status == "pending" and r.attempts == 0 for r in waiting)
        assert "PORTAL_UNAVAILABLE" in waiting[0].last_error
        portal.down = False
        await time_passes(db)
        await drain(worker)
        (item,) = items(portal)
        assert item["stageId"] == "DT1032_7:PREPARATION"  # the last event wins, applied in order
        assert len(portal.companies) == 1

    async def test_a_revoked_webhook_waits_and_the_admins_are_told(self, db, company, portal, sync):
        portal.revoke()
        await new_request(db, company)
        await drain(sync.worker(), passes=1)
        for row in await rows(db, "bitrix24"):
            assert row.status == "pending" and row.attempts == 0
            assert "INVALID_CREDENTIALS" in row.last_error and "webhook" in row.last_error
        told = [m for m in await rows(db, "notify") if m.payload["event"] == "integration_unavailable"]
        assert [m.payload["recipient_id"] for m in told] == [company.people["admin"].id]

    async def test_a_bucket_filled_by_another_app_costs_waiting_not_work(self, db, company, tmp_path):
        import httpx

        # The portal's bucket does not drain until it has refused us once, so the test does not
        # depend on how fast this machine is; from then on it drains in real time.
        clock = DrainsAfterRefusal()
        async with Bitrix24Emulator(clock=clock) as portal:
            clock.portal = portal
            system = Bitrix24Sync.from_settings(db, settings_for(portal, tmp_path))
            async with httpx.AsyncClient() as other_app:  # another app on the portal all but fills the bucket
                for _ in range(49):
                    await other_app.post(portal.webhook_url + "user.current.json", json={})
            await approved_request(db, company)
            await drain(system.worker())
            await system.stop()
            assert portal.rejected >= 1  # our copy of the bucket did not know: the portal refused...
            assert len(portal.companies) == 1 and len(items(portal)) == 1  # ...and nothing was lost or doubled
        assert {r.status for r in await rows(db, "bitrix24")} <= {"sent", "skipped"}
        assert all(r.attempts == 0 for r in await rows(db, "bitrix24"))  # waiting for the bucket is no failure


class DrainsAfterRefusal:
    """A clock for the emulator's bucket: still until the portal has refused a request, then real time."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.portal = None
        self.thawed: float | None = None

    def __call__(self) -> float:
        if self.portal is None or self.portal.rejected == 0:
            return self.start
        if self.thawed is None:
            self.thawed = time.monotonic()
        return self.start + time.monotonic() - self.thawed


class TestStageGates:
    async def test_a_deal_moved_to_won_without_the_closing_confirmation_is_moved_back(self, db, company, portal, sync):
        deal = portal.add_deal(TITLE="Монтаж", STAGE_ID="FINAL_INVOICE", ASSIGNED_BY_ID=2)
        worker = sync.worker()
        await queue_event(db, deal, "1")
        await drain(worker)  # the stage it was at is remembered
        portal.deals[deal]["STAGE_ID"] = "WON"
        await queue_event(db, deal, "2")
        await drain(worker)
        assert portal.deals[deal]["STAGE_ID"] == "FINAL_INVOICE"
        told = [m for m in await rows(db, "notify") if m.payload["event"] == "deal_stage_blocked"]
        assert {m.payload["recipient_id"] for m in told} == {company.people[p].id for p in ("manager", "accountant", "accountant2")}
        assert told[0].payload["data"]["reason"] == "gate.closing_not_confirmed"

        await in_transaction(db, lambda s: confirm(s, company.actor("accountant"), str(deal), "closing"))
        portal.deals[deal]["STAGE_ID"] = "WON"
        await queue_event(db, deal, "3")
        await drain(worker)
        assert portal.deals[deal]["STAGE_ID"] == "WON"

    async def test_in_work_needs_the_contract_approved_by_accounting(self, db, company, portal, tmp_path):
        system = Bitrix24Sync.from_settings(db, settings_for(
            portal, tmp_path, bitrix24_stage_gates={"EXECUTING": "contract_approved", "C3:WON": "closing_confirmed"}))
        worker = system.worker()
        deal = portal.add_deal(TITLE="Проектирование", STAGE_ID="PREPARATION", ASSIGNED_BY_ID=2)
        await queue_event(db, deal, "1")
        await drain(worker)
        portal.deals[deal]["STAGE_ID"] = "EXECUTING"
        await queue_event(db, deal, "2")
        await drain(worker)
        assert portal.deals[deal]["STAGE_ID"] == "PREPARATION"
        (told, *_) = [m for m in await rows(db, "notify") if m.payload["event"] == "deal_stage_blocked"]
        assert told.payload["data"]["reason"] == "gate.no_approved_contract"
        await in_transaction(db, lambda s: confirm(s, company.actor("accountant"), str(deal), "contract"))
        portal.deals[deal]["STAGE_ID"] = "EXECUTING"
        await queue_event(db, deal, "3")
        await drain(worker)
        assert portal.deals[deal]["STAGE_ID"] == "EXECUTING"
        assert system.gate_for("C3:WON") == "closing_confirmed" and system.gate_for("C5:EXECUTING") == "contract_approved"
        await system.stop()

    async def test_stages_without_a_gate_move_freely(self, db, company, portal, sync):
        deal = portal.add_deal(TITLE="Монтаж", STAGE_ID="PREPARATION")
        await queue_event(db, deal, "1")
        await drain(sync.worker())
        assert portal.deals[deal]["STAGE_ID"] == "PREPARATION"
        assert [m for m in await rows(db, "notify") if m.payload["event"] == "deal_stage_blocked"] == []


async def queue_event(db, deal: int, stamp: str) -> None:
    async def work(session):
        row = deal_event_row(str(deal), "ONCRMDEALUPDATE", stamp)
        session.add(row)
    await in_transaction(db, work)


async def test_expenses_follow_a_changed_payment(db, company, portal, sync):
    deal = portal.add_deal(TITLE="Поставка")
    first = await approved_request(db, company, bitrix24_deal_id=str(deal))
    second = await approved_request(db, company, bitrix24_deal_id=str(deal), amount="500.50")
    await act(db, company, "accountant", first, Action.MARK_PAID, paid_on=today())
    await act(db, company, "accountant", second, Action.MARK_PAID, paid_on=today())
    await drain(sync.worker())
    assert portal.deals[deal]["UF_CRM_VIZA_COSTS"] == "15500.50|RUB"
    async with db.session() as session:  # e.g. the amount corrected after payment
        await session.execute(update(PaymentRequest).where(PaymentRequest.id == second).values(amount=100_00))
        await session.commit()
    await act(db, company, "accountant", second, Action.CLOSE)
    await drain(sync.worker())
    assert portal.deals[deal]["UF_CRM_VIZA_COSTS"] == "15100.00|RUB"
    assert (await request(db, second)).status == "closed"


class TestContracts:
    async def test_a_contract_lives_on_its_deal_comments_and_a_task_to_send_it_no_item_nothing_for_1c(
            self, db, company, portal, sync, tmp_path):
        from tests.api.test_contracts_api import contract_docx
        from backend.services.attachments import FileStore
        from backend.services.contracts import ContractFields, create_contract

        deal = portal.add_deal(TITLE="Внедрение", STAGE_ID="PREPARATION", ASSIGNED_BY_ID=2)
        async with db.session() as session:
            request = await create_contract(session, FileStore(tmp_path), company.actors["manager"], ContractFields(
                legal_entity_id=company.legal_entity.id, client_name="ООО «Клиент»", client_inn=inn(77),
                subject="Внедрение учёта", amount="90000", bitrix24_deal_id=str(deal)),
                file=("c.docx", contract_docx("Договор")))
            await session.commit()
            cid = request.id
        await act(db, company, "manager", cid, Action.SUBMIT)
        await act(db, company, "accountant", cid, Action.RETURN, comment="Срок в п. 3")
        await act(db, company, "manager", cid, Action.SUBMIT)
        await act(db, company, "accountant", cid, Action.APPROVE)
        await drain(sync.worker())
        assert items(portal) == []  # the smart process mirrors payment requests only
        texts = [c["COMMENT"] for c in portal.comments.values()]
        assert len(texts) == 4 and "Договор" in texts[0] and "вернул(а) договор" in texts[1]
        assert "Срок в п. 3" in texts[1] and "№ РМ-Д-" in texts[3]
        rework, send = sorted(portal.tasks.values(), key=lambda t: int(t["id"]))
        assert str(rework["responsibleId"]) == "2" and "Доработать договор" in rework["title"]
        assert str(send["responsibleId"]) == "2" and "на подпись" in send["title"] and "РМ-Д-" in send["title"]
        assert await rows(db, "onec", kind="payment_order") == []

    async def test_documents_made_for_a_deal_are_attached_to_its_timeline_once(self, db, company, portal, tmp_path):
        from backend.services.attachments import FileStore
        from backend.services.contracts import ContractFields, create_contract
        from backend.services.print_documents import deal_contract_files, deal_invoice
        from tests.api.test_contracts_api import contract_docx
        from tests.factories import give_print_details

        await give_print_details(db, company)
        deal = portal.add_deal(TITLE="Внедрение", STAGE_ID="PREPARATION", ASSIGNED_BY_ID=2)
        settings = settings_for(portal, tmp_path)
        store = FileStore(settings.files_dir)
        async with db.session() as session:
            request = await create_contract(session, store, company.actors["manager"], ContractFields(
                legal_entity_id=company.legal_entity.id, client_name="ООО «Клиент»", client_inn=inn(77),
                subject="Внедрение учёта", amount="90000", bitrix24_deal_id=str(deal)),
                file=("c.docx", contract_docx("Договор")))
            await session.commit()
        await act(db, company, "manager", request.id, Action.SUBMIT)
        await act(db, company, "accountant", request.id, Action.APPROVE)
        for _ in range(2):  # the same contract twice: its files go once
            async with db.session() as session:
                await deal_contract_files(session, store, company.actors["manager"], str(deal))
                await session.commit()
        async with db.session() as session:
            await deal_invoice(session, store, settings, company.actors["manager"], str(deal))
            await session.commit()
        system = Bitrix24Sync.from_settings(db, settings)
        try:
            await drain(system.worker())
        finally:
            await system.stop()
        with_files = [c for c in portal.comments.values() if c["FILES"]]
        assert len(with_files) == 2
        contract_comment, invoice_comment = with_files
        assert "Договор РМ-Д-" in contract_comment["COMMENT"] and "Счёт №" in invoice_comment["COMMENT"]
        names = sorted(f["name"] for f in invoice_comment["FILES"].values())
        assert [n.rsplit(".", 1)[1] for n in names] == ["docx", "pdf"]
        pdf_id = next(f["id"] for f in invoice_comment["FILES"].values() if f["name"].endswith(".pdf"))
        assert portal.state.disk_files[pdf_id].startswith(b"%PDF")  # the emulator decoded what the sync sent
