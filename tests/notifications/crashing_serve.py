"""`viza serve` that dies hard (os._exit, no cleanup) right after Telegram accepted the
N-th message and before the outbox recorded it — the worst moment for a crash.

Run by tests/notifications/test_delivery_crash_and_fanout.py with the usual VIZA_* variables,
PORT and CRASH_AFTER_SENDS (0: never crash).
"""

from __future__ import annotations

import os

import uvicorn

import bot.delivery
from backend.api.app import create_app
from backend.settings import Settings


def crash_after(limit: int) -> None:
    sent = 0

    async def maybe_die(row, index) -> None:
        nonlocal sent
        sent += 1
        if sent >= limit:
            os._exit(70)

    original = bot.delivery.OutboxDelivery.__init__

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        self.after_send = maybe_die

    bot.delivery.OutboxDelivery.__init__ = init


if __name__ == "__main__":
    if limit := int(os.environ.get("CRASH_AFTER_SENDS", "0")):
        crash_after(limit)
    uvicorn.run(create_app(Settings()), host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
