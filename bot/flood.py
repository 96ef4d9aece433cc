"""Waiting out Telegram's flood control instead of losing a reply.

aiogram raises ``TelegramRetryAfter`` on a 429 and does not retry. A person typing fast
into a dialog can trip the ~1 message/s per chat limit, and the handlers of several quick
messages then compete for the same chat's next slot; the answer should arrive a few seconds
later, not never. So a call is retried for as long as the total wait stays within a budget.
A single long wait (Telegram holding the whole bot back) goes back to the caller instead: the
outbox reschedules its row, and a handler's reply is not worth blocking on for that long.
"""

from __future__ import annotations

import asyncio

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter


class RetryAfter(BaseRequestMiddleware):
    def __init__(self, *, budget: float = 30.0, max_single_wait: float = 10.0) -> None:
        self.budget = budget
        self.max_single_wait = max_single_wait

    async def __call__(self, make_request, bot, method):
        waited = 0.0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                wait = error.retry_after
                if wait > self.max_single_wait or waited + wait > self.budget:
                    raise
                waited += wait
                await asyncio.sleep(wait)
