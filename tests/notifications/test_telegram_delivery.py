"""The outbox delivery to Telegram, driven one pass at a time against the fake Bot API:
parts, quiet hours, failures, two workers, and what admins see and retry through the API."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from backend.models import Employee, OutboxMessage
from backend.notifications import queue_notice
from backend.services.attachments import FileStore
from backend.settings import Settings
from bot.app import make_bot
from bot.delivery import OutboxDelivery
from sandbox.telegram import FakeTelegram, RateLimits
from tests.factories import setup_company

FAST = RateLimits(global_rate=1000, global_burst=1000, private_rate=100, private_burst=100)


@pytest.fixture
async def world(db, tmp_path):
    company = await setup_company(db)
    async with FakeTelegram(limits=FAST) as tg:
        settings = Settings(data_dir=tmp_path / "data", telegram_token=tg.token, telegram_api_url=tg.base_url,
                            telegram_burst_chat=50, telegram_rate_chat=50, telegram_rate_global=500,
                            scheduler_enabled=False)
        users = {}
        async with db.session() as session:
            for index, (name, person) in enumerate(company.people.items()):
                users[name] = tg.user(9100 + index, person.full_name.split()[0], started=True)
                await session.execute(update(Employee).where(Employee.id == person.id)
                                      .values(telegram_user_id=users[name].id))
            await session.commit()
        bot = make_bot(settings)
        try:
            yield company, tg, bot, users, settings
        finally:
            await bot.session.close()


def delivery(db, bot, settings, **kwargs) -> OutboxDelivery:
    return OutboxDelivery(bot, db, FileStore(settings.files_dir), **kwargs)


async def queue_words(db, company, who: str, words: list[str], **kwargs) -> list[int]:
    """Notices whose text is known exactly (the admins' "blocked the bot" notice names someone)."""
    async with db.session() as session:
        for word in words:
            await queue_notice(session, company.people[who].id, "recipient_unreachable", dedup_key=f"test:{word}",
                               data={"employee_id": 0, "name": word}, **kwargs)
        await session.commit()
        return list((await session.scalars(select(OutboxMessage.id).where(OutboxMessage.dedup_key.like("test:%"))
                                           .order_by(OutboxMessage.id))).all())


async def rows(db, ids=None) -> list[OutboxMessage]:
    async with db.session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        return list((await session.scalars(query)).all())


def said(user, word: str) -> int:
    return sum(1 for m in user.chat.bot_messages if word in (m.text or ""))


async def test_one_persons_notices_arrive_once_and_in_order(db, world):
    company, tg, bot, users, settings = world
    words = [f"слово-{i}" for i in range(6)]
    ids = await queue_words(db, company, "cfo", words)
    worker = delivery(db, bot, settings)
    while await worker.deliver_due():
        pass
    texts = [m.text for m in users["cfo"].chat.bot_messages]
    assert [next(w for w in words if w in text) for text in texts] == words  # each once, in order
    assert {r.status for r in await rows(db, ids)} == {"sent"}


async def test_two_workers_never_send_a_row_twice(db, world):
    company, tg, bot, users, settings = world
    words = [f"пара-{i}" for i in range(20)]
    await queue_words(db, company, "cfo", words[:10])
    await queue_words(db, company, "director", words[10:])
    first = delivery(db, bot, settings, worker="one")
    second = delivery(db, bot, settings, worker="two")
    for _ in range(30):
        handled = await asyncio.gather(first.deliver_due(), second.deliver_due())
        if not any(handled):
            break
    assert [said(users["cfo"], w) for w in words[:10]] == [1] * 10
    assert [said(users["director"], w) for w in words[10:]] == [1] * 10


async def test_a_task_with_an_invoice_resumes_after_the_part_that_went(db, world):
    """The approver's notice is the invoice file, then the card: a failure between them sends
    only the card on the retry."""
    from backend.models import PaymentRequest
    from backend.services.attachments import attach
    from backend.services.payment_requests import act
    from backend.workflows.lifecycle import Action
    from tests.factories import new_request

    company, tg, bot, users, settings = world
    request_id = await new_request(db, company, "manager")
    async with db.session() as session:
        await attach(session, FileStore(settings.files_dir), company.actor("manager"),
                     await session.get(PaymentRequest, request_id), kind="invoice", filename="счёт.pdf",
                     content=b"%PDF-1.4\n%test invoice\n%%EOF\n", max_bytes=10**6)
        await act(session, company.actor("manager"), request_id, Action.SUBMIT)
        await session.commit()

    failures = []
    worker = delivery(db, bot, settings)
    send = worker._send

    async def card_fails_once(chat_id, employee_id, part):
        if part.kind == "card" and not failures:
            failures.append(part)
            raise ConnectionError("the network dropped before the card went")
        await send(chat_id, employee_id, part)

    worker._send = card_fails_once
    await worker.deliver_due()
    approver = next(u for u in users.values() if any(m.document for m in u.chat.bot_messages))
    assert failures and sum(1 for m in approver.chat.bot_messages if m.document) == 1
    (row,) = [r for r in await rows(db) if r.payload.get("event") == "task_assigned"]
    assert row.status == "pending" and row.attempts == 1 and "network dropped" in row.last_error
    assert row.progress == {"done": 1}
    async with db.session() as session:  # the backoff is over
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                              .values(next_attempt_at=datetime.now(UTC)))
        await session.commit()
    while await worker.deliver_due():
        pass
    assert sum(1 for m in approver.chat.bot_messages if m.document) == 1  # the file did not come twice
    assert sum(1 for m in approver.chat.bot_messages if "✅ Согласовать" in m.button_texts) == 1
    (row,) = await rows(db, [row.id])
    assert row.status == "sent"


async def test_quiet_hours_hold_ordinary_notices_but_not_urgent_ones(db, world):
    company, tg, bot, users, settings = world
    night = datetime(2026, 11, 25, 20, 30, tzinfo=UTC)  # 23:30 in Moscow
    async with db.session() as session:
        await session.execute(update(Employee).where(Employee.id == company.people["cfo"].id)
                              .values(quiet_hours="22:00-08:00", timezone="Europe/Moscow"))
        await session.commit()
    ordinary = await queue_words(db, company, "cfo", ["утром"])
    async with db.session() as session:
        await queue_notice(session, company.people["cfo"].id, "recipient_unreachable", dedup_key="test:urgent",
                           data={"employee_id": 0, "name": "срочно"}, urgent=True)
        await session.commit()
    worker = delivery(db, bot, settings, clock=lambda: night)
    while await worker.deliver_due():  # the held notice does not keep the urgent one behind it
        pass
    assert said(users["cfo"], "срочно") == 1 and said(users["cfo"], "утром") == 0
    (held,) = await rows(db, ordinary)
    assert held.status == "pending" and held.attempts == 0
    assert held.next_attempt_at == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)  # 08:00 in Moscow


async def test_blocked_bot_fails_the_row_tells_admins_and_the_api_retries_it(db, world, tmp_path):
    company, tg, bot, users, settings = world
    users["cfo"].block()
    (row_id,) = await queue_words(db, company, "cfo", ["заблокировано"])
    worker = delivery(db, bot, settings)
    while await worker.deliver_due():
        pass
    (row,) = await rows(db, [row_id])
    assert row.status == "failed" and row.last_error.startswith("403")
    async with db.session() as session:
        cfo = await session.get(Employee, company.people["cfo"].id)
        assert cfo.telegram_blocked_at is not None
    assert said(users["admin"], company.people["cfo"].full_name) == 1  # the admin is told who
    # More notices to them are not even tried while they block the bot.
    (later_id,) = [i for i in await queue_words(db, company, "cfo", ["потом"]) if i != row_id]
    await worker.deliver_due()
    assert (await rows(db, [later_id]))[0].status == "skipped"

    from backend.api.app import create_app
    from backend.services.tokens import create_token

    async with db.session() as session:
        _, admin_token = await create_token(session, name="t", role="admin", employee_id=company.people["admin"].id)
        _, manager_token = await create_token(session, name="m", role="manager",
                                              employee_id=company.people["manager"].id)
        await session.commit()
    app = create_app(settings=Settings(data_dir=tmp_path / "api"), db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://viza") as http:
        admin = {"Authorization": f"Bearer {admin_token}"}
        listed = (await http.get("/api/v1/outbox", headers=admin)).json()
        assert [(r["id"], r["last_error"][:3]) for r in listed] == [(row_id, "403")]
        assert (await http.get("/api/v1/outbox", headers={"Authorization": f"Bearer {manager_token}"})).status_code == 403
        bad = await http.get("/api/v1/outbox?status=lost", headers=admin)
        assert bad.status_code == 422 and bad.json()["field"] == "status"
        counts = (await http.get("/api/v1/outbox/counts", headers=admin)).json()
        assert counts["notify"]["failed"] == 1
        # They unblock and write to the bot; the admin retries the notice.
        users["cfo"].unblock()
        async with db.session() as session:
            await session.execute(update(Employee).where(Employee.id == company.people["cfo"].id)
                                  .values(telegram_blocked_at=None))
            await session.commit()
        retried = await http.post(f"/api/v1/outbox/{row_id}/retry", headers=admin)
        assert retried.status_code == 200 and retried.json()["status"] == "pending"
        again = await http.post(f"/api/v1/outbox/{row_id}/retry", headers=admin)
        assert again.status_code == 409
        assert (await http.post("/api/v1/outbox/999999/retry", headers=admin)).status_code == 404
        # After an outage outlasted the retries: everything failed of a topic, at once.
        async with db.session() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == later_id)
                                  .values(status="failed", last_error="TelegramNetworkError: down for hours"))
            await session.commit()
        bulk = await http.post("/api/v1/outbox/retry-failed?topic=email", headers=admin)
        assert bulk.json() == {"retried": 0}
        bulk = await http.post("/api/v1/outbox/retry-failed?topic=notify", headers=admin)
        assert bulk.json() == {"retried": 1}
        assert (await rows(db, [later_id]))[0].status == "pending"
    await worker.deliver_due()
    assert said(users["cfo"], "заблокировано") == 1
    assert (await rows(db, [row_id]))[0].status == "sent"


async def test_other_errors_back_off_and_fail_after_the_limit(db, world):
    company, tg, bot, users, settings = world
    (row_id,) = await queue_words(db, company, "cfo", ["сбой"])

    async def network_down(row, index):
        raise ConnectionError("connection reset")

    worker = delivery(db, bot, settings, after_send=network_down, max_attempts=3)
    delays = []
    for _ in range(3):
        async with db.session() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id)
                                  .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
            await session.commit()
        before = datetime.now(UTC)
        await worker.deliver_due()
        (row,) = await rows(db, [row_id])
        delays.append((row.next_attempt_at - before).total_seconds())
    assert row.status == "failed" and row.attempts == 3 and "connection reset" in row.last_error
    assert 1 <= delays[0] <= 3.5 and 2 <= delays[1] <= 7  # 2^n seconds with jitter, growing
    assert date.today()  # the row stays for admins; nothing is deleted


async def test_people_with_a_backlog_do_not_hold_the_slots_others_need(db, world):
    """Two people with many notices each, at a chat pace of 5/s, and two slots: the others'
    notices go out while those two wait for their chats' turn, not after their backlog."""
    from bot.pacing import Pacer

    company, tg, bot, users, settings = world
    busy, others = ["cfo", "director"], ["manager", "accountant", "head", "deputy", "north_head", "admin"]
    for who in busy:
        await queue_words(db, company, who, [f"{who}-{i}" for i in range(6)])
    for who in others:
        await queue_words(db, company, who, [f"{who}-один"])
    pacer = Pacer(rate=1000, burst=1000, chat_rate=5, chat_burst=1)
    bot.session.middleware(pacer)
    worker = delivery(db, bot, settings, concurrency=2, pacer=pacer)
    runner = asyncio.create_task(worker.run())
    try:
        await tg.wait_for(lambda: all(said(users[w], f"{w}-один") for w in others), timeout=10)
        backlog_sent = sum(said(users[w], f"{w}-") for w in busy)
        await tg.wait_for(lambda: sum(said(users[w], f"{w}-") for w in busy) == 12, timeout=10)
    finally:
        await worker.stop()
        runner.cancel()
    assert backlog_sent <= 6, "the others waited for the backlog"


async def test_someone_back_from_blocking_the_bot_gets_what_they_missed_in_order(db, world):
    from backend.services.telegram_reach import mark_reachable

    company, tg, bot, users, settings = world
    users["cfo"].block()
    worker = delivery(db, bot, settings)
    await queue_words(db, company, "cfo", ["первое"])
    while await worker.deliver_due():
        pass
    await queue_words(db, company, "cfo", ["второе"])
    await worker.deliver_due()
    assert [r.status for r in await rows(db) if r.dedup_key.startswith("test:")] == ["failed", "skipped"]

    users["cfo"].unblock()
    async with db.session() as session:  # what the bot does when they write to it again
        cfo = await session.get(Employee, company.people["cfo"].id)
        assert await mark_reachable(session, cfo)
        await session.commit()
    while await worker.deliver_due():
        pass
    texts = [m.text for m in users["cfo"].chat.bot_messages]
    assert [w for t in texts for w in ("первое", "второе") if w in t] == ["первое", "второе"]
    assert [r.status for r in await rows(db) if r.dedup_key.startswith("test:")] == ["sent", "sent"]


async def test_a_429_keeps_the_row_in_place_so_later_notices_do_not_overtake_it(db, world):
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramRetryAfter

    company, tg, _, users, settings = world
    refused = []

    async def telegram_holds_back_once(make_request, bot, method):
        if method.__api_method__ == "sendMessage" and "второе" in method.text and not refused:
            refused.append(method)
            raise TelegramRetryAfter(method=method, message="Too Many Requests: retry after 1", retry_after=1)
        return await make_request(bot, method)

    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
    session.middleware(telegram_holds_back_once)  # no waiting layer in front: the worker sees the 429
    bot = Bot(settings.telegram_token, session=session)
    await queue_words(db, company, "cfo", ["первое", "второе", "третье"])
    worker = delivery(db, bot, settings)
    runner = asyncio.create_task(worker.run())
    try:
        await tg.wait_for(lambda: said(users["cfo"], "третье"), timeout=10)
    finally:
        await worker.stop()
        runner.cancel()
        await bot.session.close()
    texts = [m.text for m in users["cfo"].chat.bot_messages]
    assert refused and [w for t in texts for w in ("первое", "второе", "третье") if w in t] == ["первое", "второе", "третье"]
    assert {(r.status, r.attempts) for r in await rows(db) if r.dedup_key.startswith("test:")} == {("sent", 0)}
