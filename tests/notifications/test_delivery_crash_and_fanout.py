"""Delivery across a hard crash, and a large fan-out under the fake Bot API's flood limits with
a restart in the middle."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import func, insert, select

from backend.models import Employee, OutboxMessage
from backend.notifications import queue_notice
from sandbox.telegram import FakeTelegram, RateLimits
from tests.bot.conftest import free_port, start_viza, stop_viza
from tests.factories import setup_company

ROOT = Path(__file__).resolve().parents[2]


async def bind_people(db, tg, how_many: int, *, first_id: int) -> list[tuple[int, object]]:
    """``how_many`` employees, each with a Telegram account that has started the bot."""
    async with db.session() as session:
        await session.execute(insert(Employee), [
            {"full_name": f"Получатель {i}", "roles": ["manager"], "telegram_user_id": first_id + i}
            for i in range(how_many)])
        await session.commit()
        ids = (await session.execute(select(Employee.id, Employee.telegram_user_id)
                                     .where(Employee.telegram_user_id >= first_id)
                                     .order_by(Employee.telegram_user_id))).all()
    return [(employee_id, tg.user(telegram_id, f"П{telegram_id}", started=True)) for employee_id, telegram_id in ids]


async def queue_fan_out(db, people, per_person: int) -> list[str]:
    """Notices with a unique word each, interleaved across people as a broadcast would be."""
    words = []
    async with db.session() as session:
        for round_ in range(per_person):
            for employee_id, _ in people:
                word = f"w{employee_id}-{round_}"
                words.append(word)
                await queue_notice(session, employee_id, "recipient_unreachable", dedup_key=f"fan:{word}",
                                   data={"employee_id": 0, "name": word})
        await session.commit()
    return words


def occurrences(people, words) -> Counter:
    wanted = set(words)
    seen: Counter = Counter()
    for _, user in people:
        for message in user.chat.bot_messages:
            word = (message.text or "").split(" ", 2)[1] if message.text else ""
            if word in wanted:
                seen[word] += 1
    return seen


async def pending(db) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.status == "pending"))


async def wait_until(check, *, timeout: float, step: float = 0.2) -> None:
    for _ in range(int(timeout / step)):
        if await check():
            return
        await asyncio.sleep(step)
    raise AssertionError("timed out")


async def test_a_hard_crash_repeats_only_what_was_in_flight_and_loses_nothing(db, tmp_path):
    await setup_company(db)
    fast = RateLimits(global_rate=1000, global_burst=1000, private_rate=100, private_burst=100)
    async with FakeTelegram(limits=fast) as tg:
        people = await bind_people(db, tg, 8, first_id=30_000)
        words = await queue_fan_out(db, people, 5)
        port = free_port()
        env = {**os.environ, "PORT": str(port), "VIZA_DATABASE_URL": db.url, "VIZA_DATA_DIR": str(tmp_path / "data"),
               "VIZA_TELEGRAM_TOKEN": tg.token, "VIZA_TELEGRAM_API_URL": tg.base_url, "VIZA_SCHEDULER_ENABLED": "false",
               "VIZA_DELIVERY_CONCURRENCY": "4", "VIZA_INSTANCE_NAME": "crash-test", "VIZA_TELEGRAM_BURST_CHAT": "50",
               "VIZA_TELEGRAM_RATE_CHAT": "50", "VIZA_LOAD_DEFAULT_ROUTES": "false", "CRASH_AFTER_SENDS": "12"}

        async def serve(extra: dict[str, str]):
            log = open(tmp_path / f"serve-{len(extra)}.log", "w")  # noqa: SIM115 — closed with the process
            return await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.notifications.crashing_serve",
                                                        cwd=ROOT, env={**env, **extra}, stdout=log, stderr=log)

        crashing = await serve({})
        assert await asyncio.wait_for(crashing.wait(), timeout=60) == 70  # it died at the worst moment
        async with db.session() as session:
            in_flight = (await session.scalars(select(OutboxMessage).where(
                OutboxMessage.status == "pending", OutboxMessage.claimed_by.is_not(None)))).all()
        assert in_flight, "the crash left nothing in flight: proves nothing"
        in_flight_words = {row.payload["data"]["name"] for row in in_flight}
        assert sum(occurrences(people, words).values()) >= 12

        survivor = await serve({"CRASH_AFTER_SENDS": "0"})
        try:
            await wait_until(lambda: _none_pending(db), timeout=60)
        finally:
            survivor.send_signal(signal.SIGTERM)
            await asyncio.wait_for(survivor.wait(), timeout=30)

        seen = occurrences(people, words)
        assert [w for w in words if seen[w] == 0] == []  # nothing lost
        repeated = {w for w, n in seen.items() if n > 1}
        assert max(seen.values()) <= 2 and repeated <= in_flight_words  # at most the crash's own in-flight sends
        # Each person's notices still arrived in the order they were queued.
        for employee_id, user in people:
            mine = [m.text.split(" ", 2)[1] for m in user.chat.bot_messages if m.text]
            firsts = list(dict.fromkeys(mine))
            assert firsts == [f"w{employee_id}-{r}" for r in range(5)]


async def _none_pending(db) -> bool:
    return await pending(db) == 0


async def test_a_fan_out_of_2000_under_flood_limits_with_a_restart_loses_and_repeats_nothing(db, tmp_path):
    """2,000 notices to 400 people under Telegram's limits (30/s for the bot, 1/s per chat with a
    burst of 3), with the service's default pacing: about seventy seconds (the 10,000 of
    ``benchmarks/notifications.py`` measure the rate). On PostgreSQL the bot-wide limit is scaled
    up tenfold (300/s) so the second run takes seconds — the pacing logic is the same."""
    await setup_company(db)
    real = db.dialect == "sqlite"
    limits = RateLimits() if real else RateLimits(global_rate=300, global_burst=300)
    async with FakeTelegram(limits=limits) as tg:
        people = await bind_people(db, tg, 400, first_id=40_000)
        words = await queue_fan_out(db, people, 5)
        settings = {} if real else {"telegram_rate_global": 300, "telegram_burst_global": 100}
        server, task, _, _ = await start_viza(db, tmp_path, tg, "polling", **settings)
        try:
            await wait_until(lambda: _delivered_at_least(db, 800), timeout=240)
        finally:
            await stop_viza(server, task)  # a deploy in the middle of the fan-out
        assert await pending(db) > 0, "the fan-out was over before the restart: proves nothing"
        server, task, _, _ = await start_viza(db, tmp_path, tg, "polling", **settings)
        try:
            await wait_until(lambda: _none_pending(db), timeout=300)
        finally:
            await stop_viza(server, task)
        seen = occurrences(people, words)
        assert [w for w in words if seen[w] != 1] == []  # every notice exactly once
        assert tg.too_many_requests_count == 0
        async with db.session() as session:
            statuses = dict((await session.execute(select(OutboxMessage.status, func.count())
                                                   .where(OutboxMessage.dedup_key.like("fan:%"))
                                                   .group_by(OutboxMessage.status))).all())
        assert statuses == {"sent": 2000}


async def _delivered_at_least(db, count: int) -> bool:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.status == "sent")) >= count
