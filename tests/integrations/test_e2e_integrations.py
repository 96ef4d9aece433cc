"""The whole chain, as users and the other systems see it: `viza serve` with its bot on the fake
Bot API, the Bitrix24 emulator and the 1C emulator, all over real HTTP on 127.0.0.1.

Approved in chat → an item, a comment and a task in Bitrix24 and a posted payment order in 1C →
the payment recorded in 1C → the request paid and the initiator told in chat. Then each system is
down for a stretch and back, and a deal dragged to "won" too early on the portal is moved back by
the events the portal posts to us."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from backend.models import Employee
from backend.workflows.lifecycle import Action
from tests.bot.conftest import PEOPLE, Viza, card_of, start_viza, stop_viza
from tests.emulators.bitrix24 import Bitrix24Emulator
from tests.emulators.onec import OneCEmulator
from tests.factories import setup_company, today
from tests.integrations.helpers import act, request, rows

TYPE = 1032


@pytest.fixture
async def world(db, tmp_path, tg):
    async with Bitrix24Emulator() as portal, OneCEmulator(username="odata", password="s3cret") as onec:
        company = await setup_company(db)
        entity = company.legal_entity
        onec.add_organization(entity.inn, entity.kpp, entity.name)
        async with db.session() as session:
            for who, portal_user in (("manager", "2"), ("accountant", "3")):
                await session.execute(update(Employee).where(Employee.id == company.people[who].id)
                                      .values(bitrix24_user_id=portal_user))
            await session.commit()
        server, task, settings, base_url = await start_viza(
            db, tmp_path, tg, "polling", bitrix24_webhook_url=portal.webhook_url, bitrix24_app_token="apptoken123",
            bitrix24_item_type_id=TYPE, bitrix24_item_category_id=7, bitrix24_expenses_field="UF_CRM_VIZA_COSTS",
            bitrix24_stage_gates={"WON": "closing_confirmed"}, onec_odata_url=onec.odata_url, onec_user="odata",
            onec_password="s3cret", onec_poll_seconds=5)
        viza = Viza(tg=tg, db=db, settings=settings, company=company, base_url=base_url)
        for index, name in enumerate(PEOPLE):
            viza.users[name] = tg.user(7000 + index, company.people[name].full_name.split()[0], language_code="ru")
        portal.bind_event("ONCRMDEALUPDATE", f"{base_url}/api/v1/integrations/bitrix24/events")
        try:
            yield viza, portal, onec
        finally:
            await stop_viza(server, task)


async def eventually(check, timeout: float = 20.0, message: str = ""):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(message or "never happened")
        await asyncio.sleep(0.05)


async def test_approved_in_chat_synced_paid_in_1c_told_in_chat(world):
    viza, portal, onec = world
    await viza.bind("manager", "north_head", "cfo", "accountant")
    deal = portal.add_deal(TITLE="Монтаж сигнализации", STAGE_ID="EXECUTING", ASSIGNED_BY_ID=2)
    from tests.bot.conftest import submitted_request
    rid = await submitted_request(viza, bitrix24_deal_id=str(deal))

    for who in ("north_head", "cfo"):
        card = await card_of(viza, who)
        tap = await viza[who].tap(card, text="✅ Согласовать")
        await tap.wait()

    # Bitrix24: the item at "approved", a comment per decision on the deal, the accountant's task.
    item = await eventually(lambda: next((i for i in portal.items[TYPE].values()
                                          if i["stageId"] == "DT1032_7:CLIENT"), None), message="no approved item")
    assert str(item["parentId2"]) == str(deal)
    await eventually(lambda: len(portal.comments) == 3, message=f"comments: {portal.comments}")
    task = await eventually(lambda: next(iter(portal.tasks.values()), None), message="no task")
    assert str(task["responsibleId"]) == "3" and "Оплатить заявку" in task["title"]
    # 1C: one posted payment order to the contractor.
    order = await eventually(lambda: next((o for o in onec.entities["Document_ПлатежноеПоручение"].values()
                                           if o["Posted"]), None), message="no posted order")
    assert order["СуммаДокумента"] == 15000

    # The bank statement is loaded in 1C: the request becomes paid here and the manager hears of it.
    onec.record_payment(order["Ref_Key"], today())
    told = await viza.tg.wait_for(lambda: next((m for m in viza["manager"].chat.bot_messages
                                                if "оплачена" in (m.text or "")), None), timeout=20)
    assert told is not None
    paid = await request(viza.db, rid)
    assert paid.status == "paid" and paid.paid_on == today()
    await eventually(lambda: portal.deals[deal].get("UF_CRM_VIZA_COSTS") == "15000.00|RUB",
                     message=f"deal: {portal.deals[deal]}")
    await eventually(lambda: any(i["stageId"] == "DT1032_7:SUCCESS" for i in portal.items[TYPE].values()))
    assert len(onec.entities["Document_ПлатежноеПоручение"]) == 1 and len(portal.items[TYPE]) == 1


async def test_both_systems_down_for_a_stretch_then_back_nothing_lost_or_doubled(world):
    viza, portal, onec = world
    portal.down = onec.down = True
    company = viza.company
    from tests.integrations.helpers import approved_request
    first = await approved_request(viza.db, company)
    second = await approved_request(viza.db, company, amount="2500.00")
    await act(viza.db, company, "manager", second, Action.CANCEL, comment="Не нужно")
    await asyncio.sleep(3)  # the workers meet the outage and wait
    waiting = await rows(viza.db, "bitrix24") + await rows(viza.db, "onec")
    assert waiting and all(r.status == "pending" and r.attempts == 0 for r in waiting)
    portal.down = onec.down = False
    async def settled() -> bool:
        return all(r.status in ("sent", "skipped") for r in await rows(viza.db, "bitrix24") + await rows(viza.db, "onec"))
    for _ in range(400):
        if await settled():
            break
        await asyncio.sleep(0.1)
    assert await settled()
    stages = sorted(i["stageId"] for i in portal.items[TYPE].values())
    assert stages == ["DT1032_7:CLIENT", "DT1032_7:FAIL"]  # each request's last word, applied in order
    assert len(portal.companies) == 1
    orders = list(onec.entities["Document_ПлатежноеПоручение"].values())
    # Rows carry what changed, not what to send: by the time 1C was back the second request was
    # cancelled, so no order for it was ever made (and none to void).
    assert [(o["СуммаДокумента"], o["Posted"], o["DeletionMark"]) for o in orders] == [(15000, True, False)]
    assert (await request(viza.db, first)).status == "approved"


async def test_a_deal_dragged_to_won_too_early_is_moved_back_and_people_are_told(world):
    viza, portal, onec = world
    await viza.bind("manager", "accountant")
    deal = portal.add_deal(TITLE="Поставка оборудования", STAGE_ID="FINAL_INVOICE", ASSIGNED_BY_ID=2)
    # The portal tells us where the deal stands; the drag to "won" follows within the same second,
    # so its post is byte for byte the same as the first and must still be acted on.
    await portal.move_deal(deal, "FINAL_INVOICE")
    await portal.move_deal(deal, "WON")
    await eventually(lambda: portal.deals[deal]["STAGE_ID"] == "FINAL_INVOICE", message="not moved back")
    for who in ("manager", "accountant"):
        await viza.tg.wait_for(lambda w=who: next((m for m in viza[w].chat.bot_messages
                                                   if "нельзя перевести" in (m.text or "")), None), timeout=10)
    text = next(m.text for m in viza["manager"].chat.bot_messages if "нельзя перевести" in (m.text or ""))
    assert "Поставка оборудования" in text and "закрывающие документы" in text
    assert "«Сделка успешна»" in text and "«Финальный счёт»" in text  # stages by the names people see
    assert all(d.status == 200 for d in portal.event_deliveries)

    # The accountant confirms through the API; the next move to "won" stays.
    import httpx
    from tests.factories import auth_headers
    headers = await auth_headers(viza.db, viza.company, "accountant")
    async with httpx.AsyncClient(base_url=viza.base_url) as http:
        confirmed = await http.put(f"/api/v1/integrations/bitrix24/deals/{deal}/closing", headers=headers,
                                   json={"confirmed": True})
        assert confirmed.status_code == 200
        forged = await portal.post_event(f"{viza.base_url}/api/v1/integrations/bitrix24/events", "ONCRMDEALUPDATE",
                                         deal, application_token="forged")
        assert forged[0] == 401
    await portal.move_deal(deal, "WON")
    await asyncio.sleep(2)
    assert portal.deals[deal]["STAGE_ID"] == "WON"
