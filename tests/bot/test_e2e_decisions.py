"""Approver cards: reject and return ask for words; every card of the stage shows the outcome;
double taps, old cards, strangers and forged buttons change nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from backend.models import HistoryEvent, PaymentRequest
from bot.keyboards.callbacks import RequestCb
from tests.bot.conftest import Viza, card_of, submitted_request, texts_of


async def history(viza: Viza, request_id: int) -> list[str]:
    async with viza.db.session() as session:
        return list(await session.scalars(select(HistoryEvent.action).where(HistoryEvent.request_id == request_id)
                                          .order_by(HistoryEvent.id)))


async def status(viza: Viza, request_id: int) -> str:
    async with viza.db.session() as session:
        return await session.scalar(select(PaymentRequest.status).where(PaymentRequest.id == request_id))


async def test_reject_asks_for_the_reason_and_tells_the_initiator(viza: Viza):
    await viza.bind("manager", "north_head")
    request_id = await submitted_request(viza)
    head = viza["north_head"]
    card = await card_of(viza, "north_head")
    await head.tap(card, text="❌ Отклонить")
    ask = await viza.tg.wait_for(lambda: next((m for m in head.chat.bot_messages if "Напишите причину" in (m.text or "")), None))
    assert ask.button_texts == ["Отмена"]
    sent = await head.send("   ")  # only spaces: still no reason
    reply = await head.wait_bot_message(since=sent)
    assert "Причина" in reply.text or "причин" in reply.text.lower(), reply.text
    assert await status(viza, request_id) == "pending"
    await head.send("Нет в бюджете этого квартала")
    await viza.tg.wait_for(lambda: not card.buttons and "❌" in card.text)
    await viza.tg.wait_for(lambda: "отклонил" in texts_of(viza, "manager"))
    assert "Нет в бюджете этого квартала" in texts_of(viza, "manager")
    assert await status(viza, request_id) == "rejected"


async def test_return_then_edit_and_resubmit_from_chat(viza: Viza):
    await viza.bind("manager", "north_head", "cfo")
    request_id = await submitted_request(viza)
    head, manager = viza["north_head"], viza["manager"]
    first_card = await card_of(viza, "north_head")
    await head.tap(first_card, text="↩️ На доработку")
    await viza.tg.wait_for(lambda: "исправить" in (head.last_bot_message.text or ""))
    await head.send("Сумма не та, в счёте 14 500")
    edit_card = await card_of(viza, "manager", button="✏️ Изменить")
    assert "Сумма не та" in texts_of(viza, "manager")
    await manager.tap(edit_card, text="✏️ Изменить")
    summary = await viza.tg.wait_for(lambda: next((m for m in manager.chat.bot_messages
                                                   if "Исправление заявки" in (m.text or "")), None))
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сумма и валюта" in summary.button_texts)
    await manager.tap(summary, text="Сумма и валюта")
    await viza.tg.wait_for(lambda: (manager.last_bot_message.text or "").startswith("Сумма"))
    sent = await manager.send("14500")
    back = await manager.wait_bot_message(since=sent)
    assert "Исправление заявки" in back.text and "14\u00a0500,00" in back.text
    await manager.tap(back, text="📤 Отправить на согласование")
    await viza.tg.wait_for(lambda: "создана" in (manager.last_bot_message.text or "")
                           or "На согласовании" in (manager.last_bot_message.text or ""))
    async with viza.db.session() as session:
        request = await session.get(PaymentRequest, request_id)
        assert (request.status, request.amount, request.round) == ("pending", 14_500_00, 2)
    # The head gets a fresh card for the new round; the old one has no buttons.
    fresh = await viza.tg.wait_for(lambda: next((m for m in head.chat.bot_messages if m.message_id > first_card.message_id
                                                 and "✅ Согласовать" in m.button_texts), None))
    assert "14\u00a0500,00" in fresh.text and not first_card.buttons
    assert (await history(viza, request_id))[-3:] == ["return", "update", "submit"]


async def test_double_tap_old_card_stranger_and_forged_data_change_nothing(viza: Viza):
    await viza.bind("manager", "north_head", "cfo", "outsider")
    request_id = await submitted_request(viza)
    head = viza["north_head"]
    card = await card_of(viza, "north_head")
    approve = next(d for t, d in (b for row in card.buttons for b in row) if t == "✅ Согласовать")
    first = await head.tap(card, data=approve)
    second = await head.tap(card, data=approve, forged=True)  # a double tap before the edit arrives
    answers = {await first.wait(), await second.wait()}
    assert "Согласовано ✅" in answers
    await card_of(viza, "cfo")
    assert (await history(viza, request_id)).count("approve") == 1

    # The same old button again, long after: nothing changes.
    again = await head.tap(card, data=approve, forged=True)
    assert await again.wait()
    assert (await history(viza, request_id)).count("approve") == 1

    # A stranger replays the CFO's button: refused, nothing changes.
    cfo_card = await card_of(viza, "cfo")
    cfo_approve = next(d for t, d in (b for row in cfo_card.buttons for b in row) if t == "✅ Согласовать")
    outsider = viza["outsider"]
    outsider.chat.messages.append(cfo_card)  # pretend the button reached her chat
    fake = await outsider.tap(cfo_card, data=cfo_approve, forged=True)
    assert await fake.wait()
    # Forged data: not ours at all, and ours with a made-up request.
    for data in ("r:ap:zzz", "hello", RequestCb(act="ap", id=987654, v=1).pack()):
        tap = await viza["cfo"].tap(cfo_card, data=data, forged=True)
        assert await tap.wait()
    assert await status(viza, request_id) == "pending"
    assert (await history(viza, request_id)).count("approve") == 1


async def test_two_approvers_tap_at_once_one_decision_each_and_both_cards_show_it(viza: Viza):
    """A stage of two (mode any): both tap Approve together; one approval is recorded and both
    cards end without buttons."""
    from backend.services.request_types import StageIn, replace_route

    async with viza.db.session() as session:
        await replace_route(session, viza.company.types["taxes"].id, [StageIn.model_validate(
            {"name": "Двое", "approvers": {"kind": "people", "employee_ids": [
                viza.company.people["cfo"].id, viza.company.people["director"].id]}, "mode": "any"})])
        await session.commit()
    await viza.bind("manager", "cfo", "director")
    request_id = await submitted_request(viza, request_type_id=viza.company.types["taxes"].id)
    cards = [await card_of(viza, who) for who in ("cfo", "director")]
    taps = await asyncio.gather(viza["cfo"].tap(cards[0], text="✅ Согласовать"),
                                viza["director"].tap(cards[1], text="✅ Согласовать"))
    answers = [await t.wait() for t in taps]
    assert "Согласовано ✅" in answers
    await viza.tg.wait_for(lambda: all(not c.buttons for c in cards))
    assert await status(viza, request_id) == "approved"
    assert (await history(viza, request_id)).count("approve") == 1
    assert all("Двое" in c.text and "Согласован" in c.text for c in cards), [c.text for c in cards]


async def test_a_user_who_blocked_the_bot_is_marked_and_others_still_hear(viza: Viza):
    await viza.bind("manager", "north_head")
    viza["manager"].block()
    request_id = await submitted_request(viza)
    head = viza["north_head"]
    await head.tap(await card_of(viza, "north_head"), text="✅ Согласовать")
    await viza.tg.wait_for(lambda: viza.tg.failed_calls)
    employee = await viza.tg.wait_for(lambda: _blocked(viza, "manager"))
    assert employee
    # The employee is marked and the notice's row recorded as failed in transactions of their
    # own: wait for the second too, rather than race it.
    failed = await viza.tg.wait_for(lambda: _failed_rows(viza), message="no outbox row was marked failed")
    assert failed >= 1
    assert await status(viza, request_id) == "pending"
    # Back again: writing to the bot clears the mark.
    viza["manager"].unblock()
    sent = await viza["manager"].send("/my")
    await viza["manager"].wait_bot_message(since=sent)
    assert (await viza.employee("manager")).telegram_blocked_at is None


async def _failed_rows(viza: Viza) -> int:
    from backend.models import OutboxMessage

    async with viza.db.session() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.status == "failed"))


async def _blocked(viza: Viza, who: str) -> bool:
    return (await viza.employee(who)).telegram_blocked_at is not None
