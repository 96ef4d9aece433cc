"""The bot's request middleware counts each real Bot API call by outcome, against the fake Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter

from backend.observability.metrics import REGISTRY
from bot.flood import RetryAfter
from bot.pacing import Pacer
from bot.telemetry import Telemetry
from sandbox.telegram import FakeTelegram, RateLimits
from tests.observability.conftest import closed_port


def calls(method: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("viza_telegram_calls_total", {"method": method, "outcome": outcome}) or 0.0


def sends() -> float:
    return REGISTRY.get_sample_value("viza_telegram_sends_total") or 0.0


class Counts:
    """What the counters moved by since it was made."""

    def __init__(self) -> None:
        self.start = self.now()

    @staticmethod
    def now() -> dict[str, float]:
        values = {f"{m}:{o}": calls(m, o) for m in ("sendMessage", "getMe")
                  for o in ("ok", "retry_after", "error")}
        values["sends"] = sends()
        return values

    def moved(self) -> dict[str, float]:
        return {key: value - self.start[key] for key, value in self.now().items() if value != self.start[key]}


def bot_for(base_url: str, *middlewares) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url))
    for middleware in middlewares:  # the first registered is the outermost
        session.middleware(middleware)
    return Bot("123456:TEST", session=session)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    # One message per chat at a time, refilled at 1/s: a second message at once gets a 429.
    async with FakeTelegram(limits=RateLimits(private_burst=1, private_rate=1.0)) as fake:
        yield fake


async def test_ok_429_and_errors_are_counted_per_method(tg):
    anna = tg.user(5001, "Anna", started=True)
    bot = bot_for(tg.base_url, Telemetry())
    counts = Counts()
    try:
        await bot.get_me()
        await bot.send_message(anna.id, "first")
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(anna.id, "too soon")
        with pytest.raises(TelegramBadRequest):
            await bot.send_message(987654, "nobody started this chat")
    finally:
        await bot.session.close()
    assert counts.moved() == {"getMe:ok": 1, "sendMessage:ok": 1, "sendMessage:retry_after": 1,
                              "sendMessage:error": 1, "sends": 1}
    assert [m.text for m in anna.chat.bot_messages] == ["first"]


async def test_inside_the_retry_each_http_call_is_counted(tg):
    anna = tg.user(5002, "Anna", started=True)
    # As make_bot registers them: RetryAfter outermost, the pacer, the telemetry innermost. The
    # pacer lets two messages a chat through at once (Telegram's burst is larger), the fake one.
    bot = bot_for(tg.base_url, RetryAfter(), Pacer(chat_burst=2), Telemetry())
    counts = Counts()
    try:
        await bot.send_message(anna.id, "one")
        await bot.send_message(anna.id, "two")  # 429 first, waited out, then sent
    finally:
        await bot.session.close()
    assert counts.moved() == {"sendMessage:ok": 2, "sendMessage:retry_after": 1, "sends": 2}
    assert [m.text for m in anna.chat.bot_messages] == ["one", "two"]


async def test_a_telegram_that_cannot_be_reached_is_an_error():
    bot = bot_for(f"http://127.0.0.1:{closed_port()}", Telemetry())
    counts = Counts()
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.get_me()
    finally:
        await bot.session.close()
    assert counts.moved() == {"getMe:error": 1}
