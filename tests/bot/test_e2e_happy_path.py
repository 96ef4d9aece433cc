"""A request's whole life in chat: created in the dialog, approved at two stages, paid."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.models import HistoryEvent, PaymentRequest
from tests.bot.conftest import Viza
from tests.factories import auth_headers, inn

MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def fill_dialog(viza: Viza, who: str = "manager", *, contractor_inn: str | None = None) -> None:
    user = viza[who]
    await user.send("/new")
    ask = await user.wait_bot_message()
    await user.tap(ask, text="Оплата поставщику")
    await viza.tg.wait_for(lambda: "ИНН контрагента" in (user.last_bot_message.text or ""))
    sent = await user.send(contractor_inn or inn(500))
    reply = await user.wait_bot_message(since=sent)
    if "ещё нет" in reply.text:
        from tests.factories import SBER_BIK, account

        for answer in ("ООО «Поставщик»", "770201001", SBER_BIK, account(7)):
            sent = await user.send(answer)
            await user.wait_bot_message(since=sent)
    await viza.tg.wait_for(lambda: "Сумма" in (user.last_bot_message.text or ""))
    sent = await user.send("15 000,50")
    calendar = await user.wait_bot_message(since=sent)
    assert "Оплатить до" in calendar.text
    day = [d for row in calendar.buttons for t, d in row if d and d.startswith("c:day:")][-1]
    await user.tap(calendar, data=day)
    await viza.tg.wait_for(lambda: "Назначение платежа" in (user.last_bot_message.text or ""))
    sent = await user.send("Оплата по счёту № 15 от 20.11.2026, в т.ч. НДС")
    await user.wait_bot_message(since=sent)
    sent = await user.send_document(MINIMAL_PDF, filename="счёт-15.pdf", mime_type="application/pdf")
    summary = await user.wait_bot_message(since=sent)
    assert "Проверьте заявку" in summary.text, summary.text


@pytest.mark.parametrize("viza", ["polling", "webhook", "webhook+redis"], indirect=True)
async def test_request_from_dialog_to_paid(viza: Viza):
    await viza.bind("manager", "north_head", "cfo", "accountant")
    manager, head, cfo, accountant = (viza[n] for n in ("manager", "north_head", "cfo", "accountant"))
    await fill_dialog(viza)
    summary = manager.last_bot_message
    assert "15\u00a0000,50\u00a0₽" in summary.text and "счёт-15.pdf" in summary.text
    await manager.tap(summary, text="📤 Отправить на согласование")
    created = await viza.tg.wait_for(lambda: next((m for m in manager.chat.bot_messages
                                                   if m.text and "создана" in m.text), None))
    assert "На согласовании" in created.text or "согласовании" in created.text.lower()

    # Stage 1: the north department head gets the invoice and the card.
    card = await viza.tg.wait_for(lambda: next((m for m in head.chat.bot_messages if m.buttons), None))
    assert any(m.document is not None for m in head.chat.bot_messages), "the invoice file comes with the card"
    assert "✅ Согласовать" in card.button_texts
    await head.tap(card, text="✅ Согласовать")
    await viza.tg.wait_for(lambda: card.buttons == [] and "✅" in card.text)

    # Stage 2: the CFO approves with a comment... via Comment first, then Approve.
    cfo_card = await viza.tg.wait_for(lambda: next((m for m in cfo.chat.bot_messages if m.buttons), None))
    await cfo.tap(cfo_card, text="💬 Комментарий")
    await viza.tg.wait_for(lambda: "комментарий" in (cfo.last_bot_message.text or "").lower())
    await cfo.send("Согласую, но в следующий раз заранее")
    await viza.tg.wait_for(lambda: any("Комментарий добавлен" in (m.text or "") for m in cfo.chat.bot_messages))
    cfo_card = await viza.tg.wait_for(lambda: next((m for m in cfo.chat.bot_messages if m.buttons), None))
    tap = await cfo.tap(cfo_card, text="✅ Согласовать")
    assert await tap.wait() == "Согласовано ✅"

    # Accounting: the card arrives with Mark paid.
    pay_card = await viza.tg.wait_for(lambda: next((m for m in accountant.chat.bot_messages
                                                    if "💸 Оплачено" in m.button_texts), None))
    await accountant.tap(pay_card, text="💸 Оплачено")
    ask_date = await viza.tg.wait_for(lambda: next((m for m in accountant.chat.bot_messages
                                                    if "Сегодня" in m.button_texts), None))
    await accountant.tap(ask_date, text="Сегодня")
    ask_order = await viza.tg.wait_for(lambda: next((m for m in accountant.chat.bot_messages
                                                     if "Без платёжки" in m.button_texts), None))
    sent = await accountant.send_document(MINIMAL_PDF, filename="пп-77.pdf", mime_type="application/pdf")
    await viza.tg.wait_for(lambda: any("оплачено" in (m.text or "").lower() and "Отмечено" in (m.text or "")
                                       for m in accountant.chat.bot_messages))
    assert ask_order and sent
    await viza.tg.wait_for(lambda: "💸 Оплачено" not in pay_card.button_texts and "📑 Закрывающие получены" in pay_card.button_texts)

    # The initiator heard of every step, with the comment.
    def heard() -> list[str]:
        return [m.text for m in manager.chat.bot_messages if m.text]
    await viza.tg.wait_for(lambda: any("оплачена" in t for t in heard()))
    texts = "\n".join(heard())
    assert "этап «Руководитель отдела»" in texts and "этап «Финансовый директор»" in texts
    assert "Согласую, но в следующий раз заранее" in texts
    assert "согласована полностью" in texts and "оплачена" in texts

    # The registry API tells the same story.
    async with viza.db.session() as session:
        request = await session.scalar(select(PaymentRequest))
        actions = [e.action for e in await session.scalars(
            select(HistoryEvent).where(HistoryEvent.request_id == request.id).order_by(HistoryEvent.id))]
    assert request.status == "paid" and request.amount == 15_000_50
    assert actions == ["create", "attach", "submit", "approve", "comment", "approve", "mark_paid", "attach"]
    import httpx

    headers = await auth_headers(viza.db, viza.company, "admin", role="admin")
    async with httpx.AsyncClient(base_url=viza.base_url) as http:
        history = (await http.get(f"/api/v1/payment-requests/{request.id}/history", headers=headers)).json()
        files = (await http.get(f"/api/v1/payment-requests/{request.id}/attachments", headers=headers)).json()
    assert [e["action"] for e in history] == actions
    assert {f["kind"] for f in files} == {"invoice", "payment_order"}
