"""Keeping under Telegram's limits instead of running into them.

Every call that puts a message into a chat waits for a token from the bot's bucket (~30/s)
and from the chat's own (~1/s in a private chat, 20/min in a group); edits take only the
bot's token, as Telegram counts them (FACTS §1). The buckets hold a smaller burst than
Telegram's, so the jitter between our clock and its arrival times never trips its buckets.

Bulk work (the outbox delivery) marks itself with ``bulk_sending()``; at most a couple of bulk
calls queue for the bot's bucket at a time, so a person's reply in a dialog waits behind two
notices at most, not behind the whole fan-out.

A 429 still can happen (another process sends with the same token, or Telegram's own
counting differs): it holds every call back for ``retry_after`` seconds, because Telegram
blocks the whole bot for that long anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Iterator

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter

SENDS = frozenset({
    "sendMessage", "sendDocument", "sendPhoto", "sendMediaGroup", "sendVideo", "sendAudio", "sendVoice",
    "sendAnimation", "sendSticker", "sendLocation", "sendContact", "sendPoll", "sendVenue", "sendDice",
    "copyMessage", "forwardMessage", "copyMessages", "forwardMessages", "sendVideoNote", "sendInvoice",
})
EDITS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"})

OTHERS = frozenset({"answerCallbackQuery", "getUpdates", "getMe", "getFile", "setMyCommands", "setWebhook",
                    "deleteWebhook", "deleteMessage", "sendChatAction"})

_bulk: contextvars.ContextVar[bool] = contextvars.ContextVar("viza_bulk_sending", default=False)


@contextlib.contextmanager
def bulk_sending() -> Iterator[None]:
    token = _bulk.set(True)
    try:
        yield
    finally:
        _bulk.reset(token)


class Bucket:
    """A token bucket that callers wait on, first come first served."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()
        self.lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                self._refill(now)
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)

    def wait_time(self) -> float:
        """Seconds until a token is there, without taking it."""
        self._refill(time.monotonic())
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def idle(self) -> bool:
        self._refill(time.monotonic())
        return self.tokens >= self.capacity and not self.lock.locked()


class Pacer(BaseRequestMiddleware):
    def __init__(self, *, rate: float = 30.0, burst: int = 10, chat_rate: float = 1.0, chat_burst: int = 2,
                 group_per_minute: int = 20, bulk_queue: int = 2) -> None:
        self.bot_bucket = Bucket(rate, burst)
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self.group_rate, self.group_burst = group_per_minute / 60, max(1, group_per_minute // 2)
        self.chats: dict[int | str, Bucket] = {}
        self.bulk_gate = asyncio.Semaphore(bulk_queue)
        self.paused_until = 0.0

    def _chat(self, chat_id: int | str) -> Bucket:
        bucket = self.chats.get(chat_id)
        if bucket is None:
            if len(self.chats) > 10_000:  # forget chats whose buckets are full again
                self.chats = {k: b for k, b in self.chats.items() if not b.idle()}
            private = isinstance(chat_id, int) and chat_id > 0
            bucket = Bucket(self.chat_rate, self.chat_burst) if private else Bucket(self.group_rate, self.group_burst)
            self.chats[chat_id] = bucket
        return bucket

    async def chat_ready(self, chat_id: int | str) -> None:
        """Wait until the chat could take a message, taking nothing: a sender of many chats
        waits here without holding one of its slots."""
        bucket = self._chat(chat_id)
        while (wait := bucket.wait_time()) > 0:
            await asyncio.sleep(wait)

    async def _wait_for_pause(self) -> None:
        while (left := self.paused_until - time.monotonic()) > 0:
            await asyncio.sleep(left)

    async def _take_bot_token(self) -> None:
        if _bulk.get():
            async with self.bulk_gate:
                await self._wait_for_pause()
                await self.bot_bucket.take()
        else:
            await self._wait_for_pause()
            await self.bot_bucket.take()

    async def __call__(self, make_request, bot, method):
        name = method.__api_method__
        if name in SENDS:
            chat_id = getattr(method, "chat_id", None)
            if chat_id is not None:
                await self._chat(chat_id).take()
            await self._take_bot_token()
        elif name in EDITS:
            await self._take_bot_token()
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as error:
            self.paused_until = max(self.paused_until, time.monotonic() + error.retry_after)
            raise
