"""The work ``viza serve`` does besides answering requests: the scheduled jobs (reminders,
escalations, digests, delegation hand-overs, outbox clean-up) and the e-mail worker. The bot
and its Telegram delivery start next to them when a token is set (``bot.app.BotRuntime``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from backend.db import Database
from backend.notifications.email import EmailDelivery
from backend.notifications.scheduler import NotificationScheduler
from backend.services.delegation_handover import sync_delegations
from backend.settings import Settings

log = logging.getLogger("viza")


class BackgroundWork:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.settings = settings
        self.scheduler = NotificationScheduler(db, settings)
        # Hand-overs first: on a delegation's first day the reminders go to the deputy already.
        self.scheduler.register("delegations", sync_delegations, first=True)
        self.email = EmailDelivery(db, settings)
        self._email_task: asyncio.Task | None = None

    async def start(self) -> None:
        self._email_task = asyncio.create_task(self.email.run())
        if self.settings.scheduler_enabled:
            self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.email.stop()
        if self._email_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._email_task
