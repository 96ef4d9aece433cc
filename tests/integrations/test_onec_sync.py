"""1C over OData against the emulator: contractors, payment orders, payments read back, outages."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from backend.integrations.onec.client import OneCClient
from backend.integrations.onec.sync import PAYMENT_ORDERS, OneCSync
from backend.models import OutboxMessage
from backend.services.outbox_admin import retry_outbox
from backend.services.transactions import in_transaction
from backend.settings import Settings
from backend.workflows.lifecycle import Action
from tests.emulators.onec import OneCEmulator
from tests.factories import setup_company, today
from tests.integrations.helpers import act, approved_request, drain, request, rows, time_passes


@pytest.fixture
async def onec():
    async with OneCEmulator(username="odata", password="s3cret", base="accounting") as emu:
        yield emu


@pytest.fixture
async def company(db, onec):
    company = await setup_company(db)
    entity = company.legal_entity
    onec.add_organization(entity.inn, entity.kpp, entity.name)
    return company


@pytest.fixture
async def sync(db, onec, tmp_path):
    settings = Settings(data_dir=tmp_path, onec_odata_url=onec.odata_url, onec_user="odata", onec_password="s3cret")
    system = OneCSync.from_settings(db, settings)
    yield system
    await system.stop()


def orders(onec) -> list[dict]:
    return list(onec.entities[PAYMENT_ORDERS].values())


class TestPaymentOrders:
    async def test_an_approved_request_becomes_one_posted_order_with_its_payee(self, db, company, onec, sync):
        rid = await approved_request(db, company)
        await drain(sync.worker())
        (order,) = orders(onec)
        r = await request(db, rid)
        assert order["Posted"] is True
        assert order["СуммаДокумента"] == 15000
        assert order["НазначениеПлатежа"] == r.purpose
        assert order["ВидОперации"] == "ОплатаПоставщику"
        payee = onec.get("Catalog_Контрагенты", order["Контрагент"])
        assert (payee["ИНН"], payee["КПП"]) == (r.contractor_inn, r.contractor_kpp)
        account = onec.get("Catalog_БанковскиеСчета", order["СчетКонтрагента_Key"])
        assert account["НомерСчета"] == r.account and account["Owner"] == payee["Ref_Key"]
        assert payee["ОсновнойБанковскийСчет_Key"] == account["Ref_Key"]
        (row,) = await rows(db, "onec", kind="payment_order")
        assert row.status == "sent"

    async def test_a_known_contractor_is_not_created_again(self, db, company, onec, sync):
        from tests.factories import inn
        existing = onec.add_counterparty(Description="Поставщик (из 1С)", ИНН=inn(500), КПП="770201001")
        await approved_request(db, company)
        await approved_request(db, company, amount="99.00")
        await drain(sync.worker())
        payees = [c for c in onec.entities["Catalog_Контрагенты"].values() if c["ИНН"] == inn(500)]
        assert [p["Ref_Key"] for p in payees] == [existing]
        assert {o["Контрагент"] for o in orders(onec)} == {existing}
        assert len(orders(onec)) == 2

    async def test_a_retried_row_makes_no_second_order(self, db, company, onec, sync):
        await approved_request(db, company)
        worker = sync.worker()
        await drain(worker)
        async with db.session() as session:  # as if the row was never marked done (a crash)
            await session.execute(update(OutboxMessage).where(OutboxMessage.topic == "onec")
                                  .values(status="pending", progress={"order_sending": True}))
            await session.commit()
        await drain(worker)
        assert len(orders(onec)) == 1

    async def test_a_crash_after_the_create_finds_the_order_by_its_marker(self, db, company, onec, sync):
        rid = await approved_request(db, company)
        worker = sync.worker()
        onec.posting_error = "Не хватает остатка на счёте"
        await drain(worker)
        (row,) = await rows(db, "onec", kind="payment_order")
        assert row.status == "failed" and "Не хватает остатка" in row.last_error  # the admin reads 1C's words
        async with db.session() as session:  # lose the link, as a crash before it was written would
            from backend.models import ExternalLink
            await session.execute(ExternalLink.__table__.delete().where(ExternalLink.kind == "payment_order"))
            await session.commit()
        onec.posting_error = None
        await in_transaction(db, lambda s: retry_outbox(s, company.actor("admin"), row.id))
        await drain(worker)
        (order,) = orders(onec)
        assert order["Posted"] is True and f"viza:{rid}" in order["Комментарий"]

    async def test_a_cancelled_request_voids_its_order(self, db, company, onec, sync):
        rid = await approved_request(db, company)
        await drain(sync.worker())
        await act(db, company, "manager", rid, Action.CANCEL, comment="Передумали")
        await drain(sync.worker())
        (order,) = orders(onec)
        assert order["Posted"] is False and order["DeletionMark"] is True

    async def test_an_organisation_unknown_to_1c_is_refused_with_the_reason(self, db, company, onec, sync):
        onec.entities["Catalog_Организации"].clear()
        await approved_request(db, company)
        await drain(sync.worker())
        (row,) = await rows(db, "onec", kind="payment_order")
        assert row.status == "failed" and company.legal_entity.inn in row.last_error
        assert orders(onec) == []


class TestContractors:
    async def test_only_contractors_with_complete_requisites_are_sent(self, db, company, onec, sync):
        from backend.services.counterparties import CounterpartyFields, create_counterparty
        from tests.factories import SBER_BIK, SBER_CORR, account, inn

        async def add(**fields):
            return await in_transaction(db, lambda s: create_counterparty(s, CounterpartyFields(**fields)))

        await add(name="ООО «Полный»", inn=inn(601), kpp="770101001", bik=SBER_BIK, account=account(3),
                  corr_account=SBER_CORR)
        await add(name="ООО «Без банка»", inn=inn(602), kpp="770101001")
        await drain(sync.worker())
        sent = {c["ИНН"] for c in onec.entities["Catalog_Контрагенты"].values()}
        assert inn(601) in sent and inn(602) not in sent
        skipped = [r for r in await rows(db, "onec", kind="counterparty") if r.status == "skipped"]
        assert len(skipped) == 1 and "incomplete" in skipped[0].last_error


class TestPaymentsReadBack:
    async def test_a_write_off_in_1c_marks_the_request_paid_and_tells_the_initiator(self, db, company, onec, sync):
        rid = await approved_request(db, company)
        await drain(sync.worker())
        (order,) = orders(onec)
        assert await sync.read_payments() == 0  # no statement loaded in 1C yet
        onec.record_payment(order["Ref_Key"], today())
        assert await sync.read_payments() == 1
        r = await request(db, rid)
        assert r.status == "paid" and r.paid_on == today()
        told = [m for m in await rows(db, "notify") if m.payload.get("event") == "paid"]
        assert [m.payload["recipient_id"] for m in told] == [company.people["manager"].id]
        assert await sync.read_payments() == 0  # read again: nothing happens twice

    async def test_a_partial_write_off_is_not_a_payment(self, db, company, onec, sync):
        rid = await approved_request(db, company)
        await drain(sync.worker())
        (order,) = orders(onec)
        onec.record_payment(order["Ref_Key"], today(), amount=5000)
        assert await sync.read_payments() == 0
        onec.record_payment(order["Ref_Key"], today(), amount=10000)
        assert await sync.read_payments() == 1
        assert (await request(db, rid)).status == "paid"


class TestOutages:
    async def test_1c_down_for_a_while_loses_nothing_and_counts_no_attempts(self, db, company, onec, sync):
        worker = sync.worker()
        onec.down = True
        await approved_request(db, company)
        await approved_request(db, company, amount="20.00")
        for _ in range(5):
            worker.paused_until = None
            await worker.run_due()
        assert all(r.status == "pending" and r.attempts == 0 for r in await rows(db, "onec"))
        assert "503" in (await rows(db, "onec"))[0].last_error
        onec.down = False
        await time_passes(db)  # the pause is over
        await drain(worker)
        assert len(orders(onec)) == 2
        assert {r.status for r in await rows(db, "onec", kind="payment_order")} == {"sent"}

    async def test_a_wrong_password_waits_and_says_so(self, db, company, onec, tmp_path):
        settings = Settings(data_dir=tmp_path, onec_odata_url=onec.odata_url, onec_user="odata", onec_password="nope")
        system = OneCSync.from_settings(db, settings)
        await approved_request(db, company)
        await drain(system.worker(), passes=1)
        (row,) = await rows(db, "onec", kind="payment_order")
        assert row.status == "pending" and "VIZA_ONEC_USER" in row.last_error
        alerts = [m for m in await rows(db, "notify") if m.payload["event"] == "integration_unavailable"]
        assert [m.payload["recipient_id"] for m in alerts] == [company.people["admin"].id]
        await drain(system.worker(), passes=1)  # still wrong: the admins are not told again today
        assert len([m for m in await rows(db, "notify") if m.payload["event"] == "integration_unavailable"]) == 1
        await system.stop()


async def test_the_client_encodes_spaces_in_filters_as_1c_reads_them(onec):
    client = OneCClient(onec.odata_url, "odata", "s3cret")
    onec.add_counterparty(Description="ООО «Альфа»", ИНН="7707083893")
    found = await client.list("Catalog_Контрагенты", filter="ИНН eq '7707083893' and DeletionMark eq false")
    assert [c["Description"] for c in found] == ["ООО «Альфа»"]
    await client.aclose()


async def test_a_1c_connected_later_gets_the_approved_requests_by_a_full_sync(db, company, onec, sync):
    from backend.services.integrations import full_sync
    from backend.models import OutboxMessage
    rid = await approved_request(db, company)
    async with db.session() as session:  # as if 1C was connected after the request was approved
        await session.execute(OutboxMessage.__table__.delete().where(OutboxMessage.topic == "onec"))
        await session.commit()
    queued = await in_transaction(db, lambda s: full_sync(s, company.actor("admin"), "onec"))
    assert queued == {"counterparties": 1, "requests": 1}
    assert await in_transaction(db, lambda s: full_sync(s, company.actor("admin"), "onec")) == {"counterparties": 0, "requests": 0}
    await drain(sync.worker())
    (order,) = orders(onec)
    assert order["Posted"] and f"viza:{rid}" in order["Комментарий"]
