"""Onboarding: an invite binds a Telegram account once; strangers get a polite refusal and nothing else."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from backend.models import Employee, Invite, PaymentRequest
from tests.bot.conftest import Viza
from tests.factories import auth_headers, new_request


async def invite_code(viza: Viza, who: str) -> dict:
    headers = await auth_headers(viza.db, viza.company, "admin", role="admin")
    async with httpx.AsyncClient(base_url=viza.base_url) as http:
        response = await http.post(f"/api/v1/employees/{viza.company.people[who].id}/invites", headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_invite_link_binds_the_account_and_works_once(viza: Viza):
    invite = await invite_code(viza, "manager")
    assert invite["link"] == f"https://t.me/viza_test_bot?start={invite['code']}"
    manager, stranger = viza["manager"], viza["outsider"]
    sent = await manager.send(f"/start {invite['code']}")
    welcome = await manager.wait_bot_message(since=sent)
    assert "Готово, Иванов И.И." in welcome.text and "/new" in welcome.text
    assert (await viza.employee("manager")).telegram_user_id == manager.id

    # The same code again, from someone else: refused, nothing bound.
    sent = await stranger.send(f"/start {invite['code']}")
    assert "уже использован" in (await stranger.wait_bot_message(since=sent)).text
    assert (await viza.employee("outsider")).telegram_user_id is None

    # The bound manager now works: /my answers.
    sent = await manager.send("/my")
    assert "нет заявок" in (await manager.wait_bot_message(since=sent)).text


async def test_expired_and_unknown_codes_and_strangers_get_nothing(viza: Viza):
    invite = await invite_code(viza, "cfo")
    async with viza.db.session() as session:
        row = await session.scalar(select(Invite))
        row.expires_at = row.created_at - timedelta(minutes=1)
        await session.commit()
    await new_request(viza.db, viza.company)
    stranger = viza.tg.user(99_001, "Мошенник", language_code="ru")
    for text, expected in ((f"/start {invite['code']}", "истёк"), ("/start made-up-code", "нет"),
                           ("/start", "Я вас пока не знаю"), ("/my", "Я вас пока не знаю"),
                           ("/r1", "Я вас пока не знаю"), ("привет", "Я вас пока не знаю")):
        sent = await stranger.send(text)
        reply = await stranger.wait_bot_message(since=sent)
        assert expected in reply.text, (text, reply.text)
        assert not reply.buttons
    async with viza.db.session() as session:
        assert await session.scalar(select(Employee).where(Employee.telegram_user_id == stranger.id)) is None
        assert await session.scalar(select(PaymentRequest.number)) is not None
    # Not a word about the request reached the stranger.
    assert all("РМ-" not in (m.text or "") for m in stranger.chat.bot_messages)


async def test_english_speaker_gets_english_and_the_menu_is_set_per_language(viza: Viza):
    stranger = viza.tg.user(99_002, "John", language_code="en")
    sent = await stranger.send("/start")
    assert "I don't know you yet" in (await stranger.wait_bot_message(since=sent)).text
    ru = [c["command"] for c in viza.tg.commands(language_code="ru")]
    en = viza.tg.commands(language_code="en")
    assert ru == ['new', 'contract', 'inbox', 'my', 'pay', 'deal', 'vacation', 'settings', 'web', 'help', 'cancel']
    assert en[0]["description"] == "New payment request"
    assert viza.tg.commands()[0]["description"] == "Новая заявка на оплату"
