"""/deal in chat: accounting approves a deal's contract and confirms its closing; others may look only."""

from __future__ import annotations

from backend.models import Bitrix24Deal
from tests.bot.conftest import Viza, say


async def test_an_accountant_approves_the_contract_and_confirms_the_closing(viza: Viza):
    await viza.bind("accountant", "manager")
    card = await say(viza, "accountant", "/deal 42", "Сделка №42")
    assert "Договор не согласован" in card.text and "Закрытие не подтверждено" in card.text
    tap = await viza["accountant"].tap(card, text="✅ Договор согласован")
    assert await tap.wait() == "Сохранено."
    await viza.tg.wait_for(lambda: "Договор согласован бухгалтерией" in card.text)
    assert "↩️ Отозвать согласование договора" in card.button_texts
    tap = await viza["accountant"].tap(card, text="✅ Подтвердить закрытие")
    await tap.wait()
    await viza.tg.wait_for(lambda: "полная оплата подтверждены" in card.text)
    async with viza.db.session() as session:
        deal = await session.get(Bitrix24Deal, "42")
    assert deal.contract_approved_at and deal.closing_confirmed_at
    assert deal.contract_approved_by_id == viza.company.people["accountant"].id


async def test_a_manager_sees_the_deal_but_may_not_confirm(viza: Viza):
    await viza.bind("manager")
    card = await say(viza, "manager", "/deal 7", "Сделка №7")
    tap = await viza["manager"].tap(card, text="✅ Договор согласован")
    assert "только бухгалтер" in (await tap.wait())
    async with viza.db.session() as session:
        assert await session.get(Bitrix24Deal, "7") is None


async def test_a_deal_number_is_asked_for_and_checked(viza: Viza):
    await viza.bind("accountant")
    await say(viza, "accountant", "/deal", "/deal 42")
    await say(viza, "accountant", "/deal сорок два", "число")
