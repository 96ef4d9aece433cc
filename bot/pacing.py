"""Keeping under Telegram's limits instead of running into them.

Every call that puts a message into a chat waits for a token from the bot's bucket (~30/s)
and from the chat's own (~1/s in a private chat, 20/min in a group); edits take only the
bot's token, as Telegram counts them (FACTS §1). The buckets hold a smaller burst than
Telegram's, so the jitter between our clock and its arrival times never trips its buckets.

Bulk work (the outbox delivery) marks itself with ``bulk_sending()``; at most a couple of bulk
calls queue for the bot's bucket at a time, so a person's reply in a dialog waits behind two
notices at most, not behind the whole fan-out.

Several replicas share the buckets through Redis (``backend/rate_buckets.py``): the bot's
~30/s is the bot's, however many processes send with its token.

A 429 still can happen (something else sends with the same token, or Telegram's own counting
differs): it holds every call back for ``retry_after`` seconds, on every replica, because
Telegram blocks the whole bot for that long anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Iterator

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter
from redis.asyncio import Redis

from backend.rate_buckets import LocalBucket, RedisBucket, TokenBucket

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


class Pacer(BaseRequestMiddleware):
    """``redis`` and ``namespace`` (the bot's id): buckets shared by every replica; else this process's."""

    def __init__(self, *, rate: float = 30.0, burst: int = 10, chat_rate: float = 1.0, chat_burst: int = 2,
                 group_per_minute: int = 20, bulk_queue: int = 2, redis: Redis | None = None,
                 namespace: str = "bot") -> None:
        self.redis = redis
        self.prefix = f"viza:tg:{namespace}:rate:"
        self.bot_bucket = self._bucket("all", rate, burst)
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self.group_rate, self.group_burst = group_per_minute / 60, max(1, group_per_minute // 2)
        self.chats: dict[int | str, TokenBucket] = {}
        self.bulk_gate = asyncio.Semaphore(bulk_queue)

    def _bucket(self, name: str, rate: float, burst: int) -> TokenBucket:
        if self.redis is not None:
            return RedisBucket(self.redis, self.prefix + name, rate, burst)
        return LocalBucket(rate, burst)

    def _chat(self, chat_id: int | str) -> TokenBucket:
        bucket = self.chats.get(chat_id)
        if bucket is None:
            if len(self.chats) > 10_000:  # forget chats whose buckets are full again (or kept in Redis)
                self.chats = {k: b for k, b in self.chats.items() if not b.idle()}
            private = isinstance(chat_id, int) and chat_id > 0
            rate, burst = (self.chat_rate, self.chat_burst) if private else (self.group_rate, self.group_burst)
            bucket = self._bucket(f"chat:{chat_id}", rate, burst)
            self.chats[chat_id] = bucket
        return bucket

    async def chat_ready(self, chat_id: int | str) -> None:
        """Wait until the chat could take a message, taking nothing: a sender of many chats
        waits here without holding one of its slots."""
        bucket = self._chat(chat_id)
        while (wait := await bucket.wait_time()) > 0:
            await asyncio.sleep(wait)

    async def _take_bot_token(self) -> None:
        if _bulk.get():
            async with self.bulk_gate:
                await self.bot_bucket.take()
        else:
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
            await self.bot_bucket.pause(error.retry_after)
            raise
