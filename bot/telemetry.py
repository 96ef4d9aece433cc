"""Counting the bot's Bot API calls: ``viza_telegram_calls_total{method,outcome}`` and
``viza_telegram_sends_total``.

Registered innermost on the session (after ``RetryAfter`` and ``Pacer``): aiogram wraps request
middlewares in registration order, the first registered outermost
(``RequestMiddlewareManager.wrap_middlewares``), so this one sees each HTTP call as it goes out,
every retry of a 429 separately, and none of the time spent waiting for the pacer.
"""

from __future__ import annotations

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter

from backend.observability.metrics import TELEGRAM_CALLS, TELEGRAM_SENDS
from bot.pacing import SENDS


class Telemetry(BaseRequestMiddleware):
    async def __call__(self, make_request, bot, method):
        name = method.__api_method__
        try:
            result = await make_request(bot, method)
        except TelegramRetryAfter:
            TELEGRAM_CALLS.labels(name, "retry_after").inc()
            raise
        except Exception:  # the Bot API's refusals and network trouble alike; a cancellation is neither
            TELEGRAM_CALLS.labels(name, "error").inc()
            raise
        TELEGRAM_CALLS.labels(name, "ok").inc()
        if name in SENDS:  # an album or copyMessages answers with each message it put in the chat
            TELEGRAM_SENDS.inc(len(result) if isinstance(result, list) else 1)
        return result
