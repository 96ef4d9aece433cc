"""The work ``viza serve`` does besides answering requests: the scheduled jobs (reminders,
escalations, digests, delegation hand-overs, outbox clean-up), the e-mail worker, and the sync
with Bitrix24 and 1C when they are configured (with 1C's payments read back and its goods
catalogue refreshed). The bot and its Telegram delivery start next to them when a token is set
(``bot.app.BotRuntime``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis

from backend.db import Database
from backend.integrations.bitrix24.sync import Bitrix24Sync
from backend.integrations.onec.catalogue import CatalogueRefresh
from backend.integrations.onec.sync import OneCSync
from backend.notifications.email import EmailDelivery
from backend.notifications.scheduler import NotificationScheduler
from backend.services.delegation_handover import sync_delegations
from backend.documents.print_forms import warm_up as warm_up_print_forms
from backend.settings import Settings

log = logging.getLogger("viza")


class BackgroundWork:
    def __init__(self, db: Database, settings: Settings, *, redis: Redis | None = None) -> None:
        self.settings = settings
        self.redis = redis
        self.scheduler = NotificationScheduler(db, settings)
        # Hand-overs first: on a delegation's first day the reminders go to the deputy already.
        self.scheduler.register("delegations", sync_delegations, first=True)
        self.email = EmailDelivery(db, settings)
        self.bitrix24 = Bitrix24Sync.from_settings(db, settings, redis) if settings.bitrix24_webhook_url else None
        self.onec = OneCSync.from_settings(db, settings) if settings.onec_odata_url else None
        self.catalogue = CatalogueRefresh.from_settings(db, settings) if settings.onec_odata_url else None
        self.workers = [self.email] + [s.worker() for s in (self.bitrix24, self.onec) if s is not None]
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(w.run()) for w in self.workers]
        if self.onec is not None:
            self._tasks.append(asyncio.create_task(self.onec.run_payments()))
        if self.catalogue is not None:
            self._tasks.append(asyncio.create_task(self.catalogue.run()))
        if self.settings.scheduler_enabled:
            self.scheduler.start()
        if self.settings.documents_warm_up:
            self._tasks.append(asyncio.create_task(asyncio.to_thread(warm_up_print_forms)))

    async def stop(self) -> None:
        await self.scheduler.stop()
        for worker in self.workers:
            await worker.stop()
        for system in (self.bitrix24, self.onec, self.catalogue):
            if system is not None:
                await system.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
