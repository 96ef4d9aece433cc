"""The dispatcher, handling one update per chat at a time, in the order they came, and each
update once.

aiogram runs updates concurrently (polling starts a task per update; Telegram may post
several webhooks at once). Two quick messages from one person would then race on the same
dialog: aiogram reads the dialog's state before any middleware of ours runs, so the second
answer is judged by the step before the first was saved, and data is lost. Updates of one chat
therefore wait for each other here, before aiogram looks at them; different chats still run
side by side. Across replicas the same holds through the update gate (``bot/update_gate.py``),
which also drops an update delivered twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.types import Update

from backend.observability.context import update_id_var
from bot.update_gate import LocalUpdateGate, UpdateGate


class ChatOrderedDispatcher(Dispatcher):
    def __init__(self, *, gate: UpdateGate | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate or LocalUpdateGate()
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_queued: dict[int, int] = {}

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        context = UserContextMiddleware.resolve_event_context(update)
        key = context.chat.id if context.chat else (context.user.id if context.user else None)
        marked = update_id_var.set(update.update_id)  # every log line of this update names it
        try:
            if key is None:
                async with self.gate.hold(update.update_id, f"update:{update.update_id}") as fresh:
                    return await super().feed_update(bot, update, **kwargs) if fresh else None
            lock = self._chat_locks.setdefault(key, asyncio.Lock())
            self._chat_queued[key] = self._chat_queued.get(key, 0) + 1
            try:
                async with lock, self.gate.hold(update.update_id, str(key)) as fresh:
                    return await super().feed_update(bot, update, **kwargs) if fresh else None
            finally:
                self._chat_queued[key] -= 1
                if not self._chat_queued[key]:  # nobody else waits in this chat: forget its lock
                    del self._chat_queued[key]
                    del self._chat_locks[key]
        finally:
            update_id_var.reset(marked)
