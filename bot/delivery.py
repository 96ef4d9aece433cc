"""Delivering the outbox to Telegram: notices to people and card refreshes.

The engine and the scheduled jobs write ``notify`` and ``cards`` rows in the transaction of each
change; this worker, running inside ``viza serve`` next to the bot, leases due rows
(``backend.outbox.OutboxQueue``: one at a time per person, oldest first), sends them under
Telegram's limits (``bot.pacing``) with up to ``concurrency`` sends in flight, and marks each one.

* A notice of several messages (the invoice files, then the card) records each part as it
  goes, so a retry or a restart sends only what is left.
* 429: the pacer holds every call back for ``retry_after``; the row stays leased and is tried
  again in place, so that person's later notices cannot overtake it (a wait longer than half a
  lease defers the row instead; no attempt is counted either way).
* 403 (the person blocked the bot): they are marked unreachable, the admins are told, the row
  fails and nothing more is sent to them until they write to the bot again.
* 400 (chat not found, bad request): fails at once — retrying will not change the answer.
* Anything else: exponential backoff with jitter; failed after ``max_attempts``, visible to
  admins with its last error (``/api/v1/outbox``), and retryable from there.
* Quiet hours: a non-urgent notice to someone in their quiet window waits until it ends.
* ``stop()`` finishes the sends in flight, so a restart loses and duplicates nothing. A hard
  crash after Telegram accepted a message but before it was marked leaves that one message
  to be sent again when its lease runs out (Telegram takes no idempotency key): never lost,
  at most one repeat per message in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BufferedInputFile
from sqlalchemy import select

from backend.db import Database, utcnow
from backend.errors import NotFound
from backend.models import Attachment, Employee, HistoryEvent, PaymentRequest
from backend.notifications.quiet_hours import quiet_until
from backend.outbox import MAX_ATTEMPTS, Claimed, OutboxQueue, OutboxSignal
from backend.services.attachments import FileStore
from backend.services.contracts import latest_version
from backend.services.telegram_reach import BLOCKED_NOTE, mark_unreachable
from backend.services.tokens import actor_of
from backend.services.transactions import in_transaction
from bot import notices
from bot.card_messages import refresh_cards, send_card
from bot.cards import Card, load_card
from bot.pacing import Pacer, bulk_sending
from bot.texts import Texts

log = logging.getLogger("viza.delivery")
TOPICS = ("notify", "cards")
CARD_EVENTS = {"task_assigned", "approved_for_payment", "returned"}
STOP_GRACE_SECONDS = 20.0
MAX_HELD_429S = 3


@dataclass
class Part:
    """One Telegram message of a notice."""

    kind: str  # text | document | card
    text: str = ""
    file: tuple[str, str] | None = None  # (filename, sha256)
    card: Card | None = None


class OutboxDelivery:
    def __init__(self, bot: Bot, db: Database, store: FileStore, *, concurrency: int = 32, poll: float = 0.5,
                 worker: str | None = None, lease: timedelta = timedelta(minutes=2), max_attempts: int = MAX_ATTEMPTS,
                 clock: Callable[[], datetime] = utcnow,
                 after_send: Callable[[Claimed, int], Awaitable[None]] | None = None, pacer: Pacer | None = None) -> None:
        self.bot = bot
        self.db = db
        self.store = store
        self.concurrency = concurrency
        self.poll = poll
        self.clock = clock
        self.queue = OutboxQueue(db, TOPICS, worker=f"tg-{worker or socket.gethostname()}"[:64],
                                        lease=lease, max_attempts=max_attempts)
        self.signal = OutboxSignal(TOPICS)
        # A test hook: called after a part was accepted by Telegram, before it is recorded.
        self.after_send = after_send
        self.pacer = pacer
        self._inflight: set[asyncio.Task] = set()
        self._active = 0  # tasks in flight that are not just waiting for their chat's turn
        self._stopping = False
        self._started = False
        self._loop_done = asyncio.Event()

    async def run(self) -> None:
        self._started = True
        try:
            if reclaimed := await self.queue.reclaim_own():
                log.warning("%s outbox rows were in flight when this instance last stopped; sending them again",
                            reclaimed)
        except Exception:  # noqa: BLE001 — the leases run out by themselves anyway
            log.exception("could not take back earlier leases")
        with bulk_sending():
            try:
                while not self._stopping:
                    await self._claim_and_start()
            finally:
                self._loop_done.set()

    async def _claim_and_start(self) -> None:
        claimed = []
        free = self.concurrency - self._active
        if free > 0:
            try:
                claimed = await self.queue.claim(free, now=self.clock())
            except Exception:  # noqa: BLE001 — a database hiccup must not stop delivery
                log.exception("outbox claim failed; retrying shortly")
        for row in claimed:
            if self._stopping:  # stop() came while claiming: give it back untouched
                await self.queue.release(row.id)
                continue
            task = asyncio.create_task(self._deliver(row))
            self._inflight.add(task)
            self._active += 1
            task.add_done_callback(self._finished)
        if not claimed or self._active >= self.concurrency:
            await self.signal.wait(self.poll)

    def _finished(self, task: asyncio.Task) -> None:
        self._inflight.discard(task)
        self._active -= 1
        self.signal.set()  # a slot is free, and the next row of that person may be due

    async def stop(self) -> None:
        """Claim nothing more; let the sends in flight finish and be recorded; then return."""
        self._stopping = True
        self.signal.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_GRACE_SECONDS
        if self._started:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._loop_done.wait(), timeout=STOP_GRACE_SECONDS)
        while self._inflight and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._inflight), timeout=left)
        for task in set(self._inflight):  # stuck past the grace: its lease, taken back at start, covers it
            task.cancel()

    async def deliver_due(self) -> int:
        """One pass over what is due now (tests and tools); returns how many rows were handled."""
        with bulk_sending():
            claimed = await self.queue.claim(self.concurrency, now=self.clock())
            await asyncio.gather(*(self._deliver(row) for row in claimed))
        return len(claimed)

    # --- one row ---------------------------------------------------------------------------------

    async def _deliver(self, row: Claimed) -> None:
        try:
            await self._attempt_holding_through_429s(row)
        except TelegramRetryAfter as error:  # held back longer than a lease is worth holding
            await self.queue.defer(row.id, utcnow() + timedelta(seconds=error.retry_after),
                                   f"429: retry after {error.retry_after}s")
        except TelegramForbiddenError as error:
            recipient = row.payload.get("recipient_id")
            if recipient is not None:
                await in_transaction(self.db, lambda s: mark_unreachable(s, recipient))
            await self.queue.fail(row.id, f"403: {error.message}", attempts=row.attempts)
        except TelegramBadRequest as error:
            await self.queue.fail(row.id, f"400: {error.message}", attempts=row.attempts)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 — recorded on the row, retried with backoff
            log.warning("outbox %s: %s", row.id, error)
            with contextlib.suppress(Exception):
                await self.queue.retry(row.id, f"{type(error).__name__}: {error}", attempts=row.attempts)

    async def _attempt_holding_through_429s(self, row: Claimed) -> None:
        """Telegram holding the bot back (a 429 the session's own retry did not wait out) keeps
        the row leased, so the person's later notices cannot overtake it; it is tried again in
        place, from the part it got to."""
        for held in range(MAX_HELD_429S + 1):
            try:
                await self._attempt(row)
                return
            except TelegramRetryAfter as error:
                if held == MAX_HELD_429S or error.retry_after > self.queue.lease.total_seconds() / 2:
                    raise
                await self._off_slot(asyncio.sleep(error.retry_after))
                if not await self.queue.extend(row.id):
                    return  # another worker took it over
                row = dataclasses.replace(row, progress=await self.queue.progress_of(row.id))

    async def _attempt(self, row: Claimed) -> None:
        if row.topic == "cards":
            await refresh_cards(self.bot, self.db, row.payload["request_id"], history_id=row.payload.get("history_id"))
            await self.queue.done(row.id)
        else:
            await self._notify(row)

    async def _notify(self, row: Claimed) -> None:
        payload = row.payload
        async with self.db.session() as session:
            recipient = await session.get(Employee, payload["recipient_id"])
            if recipient is None or not recipient.active or recipient.telegram_user_id is None:
                await self.queue.done(row.id, status="skipped", note="no Telegram account bound")
                return
            if recipient.telegram_blocked_at is not None:
                await self.queue.done(row.id, status="skipped", note=BLOCKED_NOTE)
                return
            if not payload.get("urgent"):
                until = quiet_until(recipient.quiet_hours, recipient.timezone, self.clock())
                if until is not None:
                    await self.queue.defer(row.id, until, "quiet hours")
                    return
            parts = await self._parts(session, recipient, payload)
        chat_id = recipient.telegram_user_id
        done = int(row.progress.get("done", 0))
        loop = asyncio.get_running_loop()
        renewed = loop.time()
        for index in range(done, len(parts)):
            if loop.time() - renewed > self.queue.lease.total_seconds() / 2:  # flood control held us long
                if not await self.queue.extend(row.id):
                    return  # another worker took the row over; it sends the rest
                renewed = loop.time()
            if self.pacer is not None:
                await self._off_slot(self.pacer.chat_ready(chat_id))
            await self._send(chat_id, recipient.id, parts[index])
            if self.after_send is not None:
                await self.after_send(row, index)
            if index + 1 < len(parts):
                await self.queue.save_progress(row.id, {"done": index + 1})
        await self.queue.done(row.id, status="sent" if parts else "skipped",
                              note="" if parts else "nothing to say any more")

    async def _off_slot(self, waiting: Awaitable[None]) -> None:
        """Wait without holding a slot: a person whose chat has used its ~1 message/s must not
        keep the others waiting (with a backlog on few people the slots would cap the rate)."""
        self._active -= 1
        self.signal.set()
        try:
            await waiting
        finally:
            self._active += 1

    async def _parts(self, session, recipient: Employee, payload: dict[str, Any]) -> list[Part]:
        t = Texts(recipient.language)
        kind = payload["event"]
        request_id = payload.get("request_id")
        if kind == "recipient_unreachable":
            return [Part("text", text=t("notice.recipient_unreachable", name=payload["data"]["name"]))]
        if payload.get("history_id") is None:  # a reminder or a digest, from the scheduled jobs
            text = await notices.scheduled_notice_text(session, t, payload, recipient)
            if not text:  # the reminder has become pointless (decided meanwhile): say nothing
                return []
            parts = [Part("text", text=text)]
            if request_id is not None and payload.get("data", {}).get("with_card"):
                card = await _card_or_none(session, recipient, request_id, t)
                if card is not None and card.live:
                    parts.append(Part("card", card=card))
            return parts
        event = await session.get(HistoryEvent, payload["history_id"])
        request = await session.get(PaymentRequest, request_id)
        parts = []
        text = await notices.notice_text(session, t, kind, event, request)
        if text:
            parts.append(Part("text", text=text))
        if kind == "task_assigned" and request.kind == "contract":
            # The approver reads the text itself: the version under approval comes with the card.
            latest = await latest_version(session, request.id)
            if latest is not None:
                parts.append(Part("document", text=t("file.contract_of", number=request.number, version=latest.version),
                                  file=(latest.filename, latest.sha256)))
        elif kind == "task_assigned":
            invoices = (await session.scalars(select(Attachment).where(
                Attachment.request_id == request.id, Attachment.kind == "invoice").order_by(Attachment.id))).all()
            parts += [Part("document", text=t("file.invoice_of", number=request.number), file=(a.filename, a.sha256))
                      for a in invoices]
        if kind in CARD_EVENTS:
            card = await _card_or_none(session, recipient, request.id, t)
            if card is not None and (card.live or kind == "task_assigned"):
                parts.append(Part("card", card=card))
        return parts

    async def _send(self, chat_id: int, employee_id: int, part: Part) -> None:
        if part.kind == "text":
            await self.bot.send_message(chat_id, part.text)
        elif part.kind == "document":
            filename, sha256 = part.file
            await self.bot.send_document(chat_id, BufferedInputFile(self.store.read(sha256), filename=filename),
                                         caption=part.text)
        else:
            await send_card(self.bot, self.db, employee_id, chat_id, part.card)


async def _card_or_none(session, recipient: Employee, request_id: int, t: Texts) -> Card | None:
    try:
        return await load_card(session, actor_of(recipient), request_id, t)
    except NotFound:  # no longer theirs to see
        return None
