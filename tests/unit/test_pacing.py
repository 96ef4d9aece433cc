"""The pacer: tokens per bot, per chat and per group, bulk behind people, and a 429 holding all."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage

from bot.pacing import Pacer, bulk_sending


@pytest.fixture(params=["local", "redis"])
def make_pacer(request):
    """Every rule holds for a pacer of one process and for buckets shared through Redis."""
    if request.param == "local":
        return Pacer
    redis = request.getfixturevalue("redis")
    namespace = uuid.uuid4().hex
    return lambda **kwargs: Pacer(redis=redis, namespace=namespace, **kwargs)


async def call_times(pacer: Pacer, methods) -> list[float]:
    start, times = time.monotonic(), []

    async def make_request(bot, method):
        times.append(time.monotonic() - start)
        return True

    for method in methods:
        await pacer(make_request, None, method)
    return times


async def test_a_private_chat_gets_its_burst_then_its_rate(make_pacer):
    pacer = make_pacer(rate=1000, burst=1000, chat_rate=10, chat_burst=2)
    times = await call_times(pacer, [SendMessage(chat_id=5, text="x") for _ in range(5)])
    assert times[1] < 0.05 and 0.08 <= times[2] - times[1] <= 0.2 and times[4] >= 0.25


async def test_the_bot_rate_covers_every_chat_and_edits_but_not_callback_answers(make_pacer):
    pacer = make_pacer(rate=20, burst=2, chat_rate=1000, chat_burst=1000)
    sends = [SendMessage(chat_id=i, text="x") for i in range(1, 5)]
    edits = [EditMessageText(chat_id=9, message_id=1, text="y") for _ in range(2)]
    answers = [AnswerCallbackQuery(callback_query_id=str(i)) for i in range(20)]
    times = await call_times(pacer, sends + edits)
    assert times[-1] >= 0.18  # 6 calls at 20/s after a burst of 2
    assert (await call_times(pacer, answers))[-1] < 0.05  # answers are free


async def test_a_group_gets_twenty_a_minute(make_pacer):
    pacer = make_pacer(rate=1000, burst=1000, group_per_minute=20)
    times = await call_times(pacer, [SendMessage(chat_id=-100123, text="x") for _ in range(11)])
    assert times[9] < 0.05 and times[10] >= 2.9  # a burst of 10, then one every 3 s


async def test_a_429_holds_every_call_back(make_pacer):
    pacer = make_pacer(rate=1000, burst=1000)
    answered = []

    async def refuse_once(bot, method):
        if not answered:
            answered.append(1)
            raise TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=1)
        return True

    try:
        await pacer(refuse_once, None, SendMessage(chat_id=1, text="x"))
    except TelegramRetryAfter:
        pass
    start = time.monotonic()
    await pacer(refuse_once, None, SendMessage(chat_id=2, text="another chat"))
    assert time.monotonic() - start >= 0.9


async def test_bulk_sends_queue_behind_a_person_waiting_for_the_same_token(make_pacer):
    pacer = make_pacer(rate=10, burst=1, chat_rate=1000, chat_burst=1000, bulk_queue=1)
    order = []

    async def record(bot, method):
        order.append(method.text)
        return True

    async def bulk(i):
        with bulk_sending():
            await pacer(record, None, SendMessage(chat_id=100 + i, text=f"bulk{i}"))

    tasks = [asyncio.create_task(bulk(i)) for i in range(6)]
    await asyncio.sleep(0.05)
    await pacer(record, None, SendMessage(chat_id=1, text="person"))
    await asyncio.gather(*tasks)
    assert order.index("person") <= 2  # behind at most the bulk call already queued, not all six


async def test_two_replicas_sharing_redis_send_at_the_rate_of_one_bot(redis):
    """Two processes with one token: together, not each, they keep to the bot's rate."""
    namespace = uuid.uuid4().hex
    replicas = [Pacer(rate=20, burst=2, chat_rate=1000, chat_burst=1000, redis=redis, namespace=namespace)
                for _ in range(2)]
    start, times = time.monotonic(), []

    async def make_request(bot, method):
        times.append(time.monotonic() - start)
        return True

    async def send(pacer, first):
        for i in range(5):
            await pacer(make_request, None, SendMessage(chat_id=first + i, text="x"))

    await asyncio.gather(send(replicas[0], 1), send(replicas[1], 100))
    # 10 sends at 20/s after a burst of 2 take about 0.4 s; two private buckets would take 0.15 s.
    assert len(times) == 10 and max(times) >= 0.35


async def test_a_429_seen_by_one_replica_holds_the_other_back(redis):
    namespace = uuid.uuid4().hex
    first, second = (Pacer(rate=1000, burst=1000, redis=redis, namespace=namespace) for _ in range(2))

    async def refuse(bot, method):
        raise TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=1)

    async def accept(bot, method):
        return True

    with pytest.raises(TelegramRetryAfter):
        await first(refuse, None, SendMessage(chat_id=1, text="x"))
    started = time.monotonic()
    await second(accept, None, SendMessage(chat_id=2, text="y"))
    assert time.monotonic() - started >= 0.9
