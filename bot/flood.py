"""Waiting out Telegram's flood control instead of losing a reply.

aiogram raises ``TelegramRetryAfter`` on a 429 and does not retry. A person typing fast
into a dialog can trip the ~1 message/s per chat limit; the answer should then arrive a
second later, not never. Long waits are not absorbed here: they go back to the caller
(the outbox reschedules its row).
"""

from __future__ import annotations

import asyncio

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter


class RetryAfter(BaseRequestMiddleware):
    def __init__(self, *, attempts: int = 3, max_wait: float = 5.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(self, make_request, bot, method):
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self.attempts or error.retry_after > self.max_wait:
                    raise
                await asyncio.sleep(error.retry_after)
        raise AssertionError("unreachable")
