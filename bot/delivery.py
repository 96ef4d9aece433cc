"""Delivering the outbox to Telegram: notices to people and card refreshes.

The engine writes ``notify`` and ``cards`` rows in the transaction of each change; this worker,
running inside ``viza serve`` next to the bot, sends them in order and marks each one done.
Telegram's answers steer it: 429 waits the ``retry_after`` it was told, 403 (the user blocked
the bot) marks the employee unreachable and stops, anything else retries with backoff up to a
limit. (Rate shaping, exactly-once across crashes and several replicas are the notifications
issue's work; this is the delivery the chat needs now.)
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BufferedInputFile
from sqlalchemy import select

from backend.db import Database, utcnow
from backend.models import Attachment, Employee, HistoryEvent, OutboxMessage, PaymentRequest
from backend.services.attachments import FileStore
from backend.services.tokens import actor_of
from bot.card_messages import refresh_cards, send_card
from bot.cards import load_card
from bot.notices import notice_text
from bot.texts import Texts

log = logging.getLogger("viza.delivery")
TOPICS = ("notify", "cards")
MAX_ATTEMPTS = 8
CARD_EVENTS = {"task_assigned", "approved_for_payment", "returned"}


class OutboxDelivery:
    def __init__(self, bot: Bot, db: Database, store: FileStore, *, batch: int = 50, idle_poll: float = 0.5) -> None:
        self.bot = bot
        self.db = db
        self.store = store
        self.batch = batch
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was just committed: look at the outbox now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                done = await self.deliver_due()
            except TelegramRetryAfter as error:  # the whole bot is held back for a while
                await asyncio.sleep(error.retry_after)
                continue
            except Exception:  # noqa: BLE001 — a bad row or a database hiccup must not stop delivery
                log.exception("outbox delivery failed; retrying shortly")
                done = 0
            if done:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll)
            except TimeoutError:
                pass

    async def deliver_due(self) -> int:
        """Deliver what is due now, oldest first; returns how many rows were handled."""
        async with self.db.session() as session:
            rows = (await session.scalars(
                select(OutboxMessage).where(OutboxMessage.topic.in_(TOPICS), OutboxMessage.status == "pending",
                                            OutboxMessage.next_attempt_at <= utcnow())
                .order_by(OutboxMessage.id).limit(self.batch)
            )).all()
            ids = [(r.id, r.topic, dict(r.payload)) for r in rows]
        for message_id, topic, payload in ids:
            await self._deliver_one(message_id, topic, payload)
        return len(ids)

    async def _deliver_one(self, message_id: int, topic: str, payload: dict) -> None:
        status, error, retry_in = "sent", "", None
        try:
            if topic == "cards":
                await refresh_cards(self.bot, self.db, payload["request_id"], history_id=payload.get("history_id"))
            else:
                status, error = await self._notify(payload)
        except TelegramRetryAfter as exc:
            await self._finish(message_id, "pending", f"429 retry after {exc.retry_after}s",
                               retry_in=exc.retry_after, count=False)
            raise
        except TelegramForbiddenError as exc:
            await self._mark_blocked(payload.get("recipient_id"))
            status, error = "failed", exc.message
        except Exception as exc:  # noqa: BLE001 — recorded on the row, retried with backoff
            log.warning("outbox %s: %s", message_id, exc)
            status, error, retry_in = "pending", f"{type(exc).__name__}: {exc}"[:1000], 0.0
        await self._finish(message_id, status, error, retry_in=retry_in)

    async def _finish(self, message_id: int, status: str, error: str, *, retry_in: float | None,
                      count: bool = True) -> None:
        async with self.db.session() as session:
            row = await session.get(OutboxMessage, message_id)
            if count:
                row.attempts += 1
            row.last_error = error
            if status == "pending" and count and row.attempts >= MAX_ATTEMPTS:
                status = "failed"
            row.status = status
            if status == "pending":
                delay = retry_in if not count else min(3600, 2 ** row.attempts) * (0.5 + random.random())
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            elif status == "sent":
                row.sent_at = utcnow()
            await session.commit()

    async def _mark_blocked(self, employee_id: int | None) -> None:
        if employee_id is None:
            return
        async with self.db.session() as session:
            employee = await session.get(Employee, employee_id)
            if employee is not None and employee.telegram_blocked_at is None:
                employee.telegram_blocked_at = utcnow()
                await session.commit()

    async def _notify(self, payload: dict) -> tuple[str, str]:
        async with self.db.session() as session:
            recipient = await session.get(Employee, payload["recipient_id"])
            if recipient is None or not recipient.active or recipient.telegram_user_id is None:
                return "skipped", "no Telegram account bound"
            if recipient.telegram_blocked_at is not None:
                return "skipped", "the user blocked the bot"
            chat_id = recipient.telegram_user_id
            t = Texts(recipient.language)
            actor = actor_of(recipient)
            event = await session.get(HistoryEvent, payload["history_id"])
            request = await session.get(PaymentRequest, payload["request_id"])
            kind = payload["event"]
            notice = await notice_text(session, t, kind, event, request)
            card = await load_card(session, actor, request.id, t) if kind in CARD_EVENTS else None
            invoices = []
            if kind == "task_assigned":
                invoices = (await session.scalars(select(Attachment).where(
                    Attachment.request_id == request.id, Attachment.kind == "invoice").order_by(Attachment.id))).all()
                invoices = [(a.filename, a.sha256) for a in invoices]
        if notice:
            await self.bot.send_message(chat_id, notice)
        for filename, sha256 in invoices:
            await self.bot.send_document(chat_id, BufferedInputFile(self.store.read(sha256), filename=filename),
                                         caption=t("file.invoice_of", number=request.number))
        if card is not None and (card.live or kind == "task_assigned"):
            await send_card(self.bot, self.db, recipient.id, chat_id, card)
        return "sent", ""
