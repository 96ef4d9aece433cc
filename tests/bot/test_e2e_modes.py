"""How updates reach the bot: a webhook that only Telegram (holding the secret) may call, and
Telegram's flood control that slows replies down but must not lose them."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select

from backend.models import HistoryEvent, PaymentRequest
from tests.bot.conftest import WEBHOOK_SECRET, RestartableViza, Viza, card_of, submitted_request

HOOK = "/telegram/webhook"


def message_update(update_id: int, user_id: int, text: str) -> dict:
    person = {"id": user_id, "is_bot": False, "first_name": "Иванов", "language_code": "ru"}
    message = {"message_id": 10_000 + update_id, "date": int(time.time()), "text": text,
               "chat": {"id": user_id, "type": "private", "first_name": "Иванов"}, "from": person}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def sent_to(viza: Viza, chat_id: int) -> list[str]:
    return [c["text"] for c in viza.tg.calls_to("sendMessage") if c.get("chat_id") == chat_id]


@pytest.mark.parametrize("viza", ["webhook"], indirect=True)
async def test_webhook_refuses_updates_without_the_secret(viza: Viza):
    hooks = viza.tg.calls_to("setWebhook")
    assert hooks and hooks[-1]["url"] == viza.base_url + HOOK
    assert hooks[-1]["secret_token"] == WEBHOOK_SECRET
    assert viza.tg.webhook.secret_token == WEBHOOK_SECRET
    await viza.bind("manager", "north_head")
    manager = viza["manager"]

    # Through Telegram (the fake sends the secret): /help answers.
    sent = await manager.send("/help")
    assert "Что я умею" in (await manager.wait_bot_message(since=sent)).text

    # Straight to the webhook: without the secret, or with another one, nothing is done.
    request_id = await submitted_request(viza)
    card = await card_of(viza, "north_head")
    approve = next(d for t, d in (b for row in card.buttons for b in row) if t == "✅ Согласовать")
    forged_tap = {"update_id": 900_001, "callback_query": {
        "id": "900001", "chat_instance": "1", "data": approve, "message": card.to_api(),
        "from": {"id": viza["north_head"].id, "is_bot": False, "first_name": "Сидоров"}}}
    before = len(sent_to(viza, manager.id))
    async with httpx.AsyncClient(base_url=viza.base_url) as http:
        for number, headers in enumerate(({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                                          {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "x"},
                                          {"X-Telegram-Bot-Api-Secret-Token": ""})):
            response = await http.post(HOOK, json=message_update(800_000 + number, manager.id, "/help"),
                                       headers=headers)
            assert response.status_code == 401, (headers, response.text)
            response = await http.post(HOOK, json=forged_tap, headers=headers)
            assert response.status_code == 401, (headers, response.text)
        await viza.tg.idle(quiet=0.2)
        assert len(sent_to(viza, manager.id)) == before
        assert not viza.tg.calls_to("answerCallbackQuery") or all(
            c["callback_query_id"] != "900001" for c in viza.tg.calls_to("answerCallbackQuery"))
        async with viza.db.session() as session:
            assert (await session.get(PaymentRequest, request_id)).status == "pending"
            assert await session.scalar(select(HistoryEvent).where(HistoryEvent.request_id == request_id,
                                                                   HistoryEvent.action == "approve")) is None

        # The same update with the right secret is handled: the refusals above were the secret's doing.
        response = await http.post(HOOK, json=message_update(800_100, manager.id, "/help"),
                                   headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
        assert response.status_code == 200
    await viza.tg.wait_for(lambda: len(sent_to(viza, manager.id)) == before + 1)
    assert "Что я умею" in sent_to(viza, manager.id)[-1]


async def test_webhook_is_off_in_polling_mode(viza: Viza):
    async with httpx.AsyncClient(base_url=viza.base_url) as http:
        response = await http.post(HOOK, json=message_update(1, viza["manager"].id, "/help"),
                                   headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
    assert response.status_code == 404
    assert not viza.tg.calls_to("setWebhook")


async def test_a_fast_typist_gets_every_reply_without_tripping_flood_control(viza_real_limits: RestartableViza):
    viza = viza_real_limits
    await viza.bind("manager")
    manager = viza["manager"]
    sent = [await manager.send("/help") for _ in range(6)]  # as fast as the client can
    await viza.tg.wait_for(lambda: len([m for m in manager.chat.bot_messages if m.seq > sent[0].seq]) >= 6,
                           timeout=20)
    replies = [m for m in manager.chat.bot_messages if m.seq > sent[0].seq and "Что я умею" in (m.text or "")]
    assert len(replies) == 6, f"{len(replies)} replies of 6"
    # The pacer kept under 1 message/s per chat (after a burst of 2), so Telegram never said 429.
    assert viza.tg.too_many_requests_count == 0


async def test_replies_survive_429s_when_someone_else_uses_the_chats_budget(viza_real_limits: RestartableViza):
    """Another process with the same token (or Telegram counting differently) can still trip the
    limit; the bot waits out each 429 rather than losing a reply."""
    viza = viza_real_limits
    await viza.bind("manager")
    manager = viza["manager"]
    pacer = next(m for m in viza_bot(viza).session.middleware._middlewares if type(m).__name__ == "Pacer")
    pacer.chat_burst = 50  # pace as if the chat had a much larger budget than the fake allows
    pacer.chats.clear()
    sent = [await manager.send("/help") for _ in range(6)]
    await viza.tg.idle(quiet=1.5, timeout=20)
    assert viza.tg.too_many_requests_by_chat.get(manager.id, 0) >= 1, "the limits were not reached: proves nothing"
    replies = [m for m in manager.chat.bot_messages if m.seq > sent[0].seq and "Что я умею" in (m.text or "")]
    assert len(replies) == 6, f"{len(replies)} replies of 6"


def viza_bot(viza: RestartableViza):
    return viza.server.config.app.state.bot.bot


@pytest.mark.parametrize("viza", ["webhook"], indirect=True)
async def test_a_tap_handled_again_answers_200_and_decides_once(viza: Viza):
    """A replica handled a tap and died before marking it done; Telegram delivers it again (a new
    delivery of the same callback query). Telegram refuses the second answer as too old: the
    update is still handled (200), and the request is approved once."""
    await viza.bind("manager", "north_head")
    request_id = await submitted_request(viza)
    card = await card_of(viza, "north_head")
    tap = await viza["north_head"].tap(card, text="✅ Согласовать")
    await tap.wait()
    again = {**tap.payload, "update_id": tap.update_id + 10_000}
    async with httpx.AsyncClient(base_url=viza.base_url) as http:
        response = await http.post(HOOK, json=again, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
    assert response.status_code == 200, response.text
    async with viza.db.session() as session:
        approvals = (await session.scalars(select(HistoryEvent).where(
            HistoryEvent.request_id == request_id, HistoryEvent.action == "approve"))).all()
    assert len(approvals) == 1
