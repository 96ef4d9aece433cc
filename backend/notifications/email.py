"""E-mail to contractors: "the payment is on its way", sent when a request is marked paid.

The engine queues an ``email`` outbox row (kind ``payment_sent``, the counterparty's address at
that moment) in the transaction that marks the request paid. ``EmailDelivery``, running inside
``viza serve``, claims due rows through :class:`backend.outbox.OutboxQueue`, renders the letter
from ``templates/email/`` (Russian: the reader is outside the company) and hands it to the SMTP
server of ``VIZA_SMTP_URL``: ``smtp://user:password@host:port`` (STARTTLS when the server offers
it; port 25 by default) or ``smtps://…`` (TLS from the start; port 465). User and password are
optional and URL-decoded (a ``@`` in a password is written ``%40``).

Outcomes: accepted → ``sent``. A 5xx answer to the recipient or to the message, or an address
that is not one → ``failed`` at once with the server's reply (trying again changes nothing).
A 4xx answer, a refused connection, a timeout, TLS or login trouble → retried with backoff,
``failed`` after ``max_attempts``. No SMTP configured, or the request gone → ``skipped``.

Sent once while the worker lives: a row is leased to one worker at a time, and a worker gives a
row of its batch back, rather than start sending it, once less than one send's time is left of
its lease — so two live workers (or replicas) never send the same row. A crash (or a lost
database connection) after the SMTP server accepted the message but before ``done`` committed
leaves the row pending; when its lease runs out it is sent again, with the same Message-ID
(made from the row's id and dedup key), so the contractor may get that one letter twice — mail
systems that de-duplicate by Message-ID show it once — but it is never lost. A graceful
:meth:`EmailDelivery.stop` finishes the send in flight and gives back the rest, so a restart
duplicates nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import errors as email_errors
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from backend.db import Database, utcnow
from backend.models import LegalEntity, PaymentRequest
from backend.money import format_money
from backend.notifications import EMAIL
from backend.outbox import Claimed, OutboxQueue
from backend.outbox_worker import OutboxWorker
# The address rule a counterparty's e-mail was accepted by: what we can send to is a subset of it.
from backend.services.company.common import EMAIL_PATTERN
from backend.settings import Settings

log = logging.getLogger("viza.email")

NOT_CONFIGURED = "SMTP is not configured (VIZA_SMTP_URL)"
CONNECT_TIMEOUT = 10.0  # seconds to reach the server
SEND_TIMEOUT = 60.0  # the whole conversation: connect, STARTTLS, login, message
QUIT_TIMEOUT = 5.0
LEASE_MARGIN = 30.0  # time left after the last send of a batch to record its outcome
BATCH = 5


_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates" / "email"),
    autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
)
_worker_numbers = itertools.count(1)


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("VIZA_SMTP_URL must look like smtp://user:password@host:port or smtps://…")
        implicit = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=parts.port or (465 if implicit else 25), implicit_tls=implicit,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None)


class EmailDelivery(OutboxWorker):
    name = "e-mail delivery"

    def __init__(self, db: Database, settings: Settings, *, poll: float = 1.0, batch: int = BATCH) -> None:
        super().__init__([EMAIL], poll=poll)
        self.db = db
        self.batch = batch
        self.server = SmtpServer.from_url(settings.smtp_url) if settings.smtp_url else None
        self.sender = parseaddr(settings.smtp_from)[1] or settings.smtp_from
        # Unique per instance: two workers in one process must not share a claim.
        self.worker = f"email-{socket.gethostname()[:40]}-{os.getpid()}-{next(_worker_numbers)}"
        self.lease = timedelta(seconds=batch * SEND_TIMEOUT + 2 * LEASE_MARGIN)  # a batch sent one by one
        self.queue = OutboxQueue(db, [EMAIL], worker=self.worker, lease=self.lease)

    async def run_due(self) -> int:
        return await self.deliver_due()

    async def deliver_due(self) -> int:
        """One pass: claim what is due and send it one by one; returns how many rows were settled."""
        started = time.monotonic()
        rows = await self.queue.claim(self.batch)
        send_by = started + self.lease.total_seconds() - SEND_TIMEOUT - LEASE_MARGIN
        begun = 0  # rows[:begun] were taken up (a row whose send began is never given back)
        try:
            for row in rows:
                if self.stopping or time.monotonic() > send_by:
                    break
                begun += 1
                outcome, note = await self._attempt(row)
                await self._settle(row, outcome, note)
        finally:
            for row in rows[begun:]:
                try:
                    await self.queue.release(row.id)
                except Exception:  # noqa: BLE001 — its lease runs out and another pass takes it
                    log.exception("could not give back e-mail %s", row.id)
        return begun

    async def _attempt(self, row: Claimed) -> tuple[str, str]:
        """Send one row; (sent | skipped | failed | retry, note). Never raises for a bad row."""
        if self.server is None:
            return "skipped", NOT_CONFIGURED
        kind = row.payload.get("kind")
        if kind != "payment_sent":
            return "failed", f"unknown e-mail kind: {kind!r}"
        to = recipient(row.payload.get("to"))
        if to is None:
            return "failed", f"not an e-mail address we can send to: {row.payload.get('to')!r}"
        try:
            message = await self._compose(row, to)
        except Exception as error:  # noqa: BLE001 — recorded on the row, retried with backoff
            log.exception("e-mail %s could not be composed", row.id)
            return "retry", f"{type(error).__name__}: {error}"
        if message is None:
            return "skipped", "the payment request no longer exists"
        try:
            await self._send(message, to)
        except Exception as error:  # noqa: BLE001 — every SMTP or network trouble is an outcome
            return classify(error)
        return "sent", ""

    async def _settle(self, row: Claimed, outcome: str, note: str) -> None:
        if outcome in ("sent", "skipped"):
            await self.queue.done(row.id, status=outcome, note=note)
        elif outcome == "failed":
            log.warning("e-mail %s failed: %s", row.id, note)
            await self.queue.fail(row.id, note, attempts=row.attempts)
        else:
            status = await self.queue.retry(row.id, note, attempts=row.attempts)
            log.warning("e-mail %s not sent (%s), now %s", row.id, note, status)

    async def _compose(self, row: Claimed, to: str) -> EmailMessage | None:
        request_id = row.payload.get("request_id")
        if not isinstance(request_id, int):
            return None
        async with self.db.session() as session:
            request = await session.get(PaymentRequest, request_id)
            if request is None:
                return None
            payer = await session.get(LegalEntity, request.legal_entity_id)
        return payment_sent_message(request, payer, sender=self.sender, to=to,
                                    message_id=message_id(row.id, row.dedup_key, self.sender))

    async def _send(self, message: EmailMessage, to: str) -> None:
        server = self.server
        smtp = aiosmtplib.SMTP(hostname=server.host, port=server.port, use_tls=server.implicit_tls,
                               start_tls=False if server.implicit_tls else None,  # None: STARTTLS when offered
                               username=server.username, password=server.password, timeout=SEND_TIMEOUT)
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await smtp.connect(timeout=CONNECT_TIMEOUT)
                await smtp.send_message(message, sender=self.sender, recipients=[to])
        except BaseException:
            smtp.close()
            raise
        try:  # the message is accepted: how the goodbye goes changes nothing
            await smtp.quit(timeout=QUIT_TIMEOUT)
        except Exception:  # noqa: BLE001
            smtp.close()


def classify(error: BaseException) -> tuple[str, str]:
    """An SMTP or network error as an outcome: failed (trying again changes nothing) or retry."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:  # we send to one
        error = error.recipients[0]
    if isinstance(error, (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError)):
        return ("failed" if error.code >= 500 else "retry"), f"{error.code} {error.message}"
    if isinstance(error, aiosmtplib.SMTPResponseException):  # greeting, login, sender: the server or our settings
        return "retry", f"{error.code} {error.message}"
    if isinstance(error, TimeoutError) and not str(error):
        return "retry", f"no answer from the SMTP server within {SEND_TIMEOUT:.0f} s"
    return "retry", f"{type(error).__name__}: {error}"


def recipient(value: object) -> str | None:
    """The address as it goes on the envelope (a Cyrillic domain in punycode), or None when we
    cannot send to it: not an address, or letters other than Latin before the @ (that needs
    SMTPUTF8, which few servers offer)."""
    text = str(value or "").strip()
    if not EMAIL_PATTERN.fullmatch(text):
        return None
    local, _, domain = text.rpartition("@")
    try:
        return Address(addr_spec=f"{local}@{domain.encode('idna').decode('ascii')}").addr_spec
    except (UnicodeError, ValueError, email_errors.HeaderParseError):
        return None


def message_id(outbox_id: int, dedup_key: str, sender: str) -> str:
    """The same for every attempt at one row, so a repeat after a crash is recognisably the same letter."""
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:16]
    domain = sender.rpartition("@")[2] or "viza.localhost"
    return f"<viza.{outbox_id}.{digest}@{domain}>"


def payment_sent_message(request: PaymentRequest, payer: LegalEntity, *, sender: str, to: str,
                         message_id: str) -> EmailMessage:
    invoice = ""
    if request.invoice_number:
        invoice = f"№ {request.invoice_number}"
        if request.invoice_date:
            invoice += f" от {_day(request.invoice_date)}"
    subject = f"Оплата по счёту {invoice} — {payer.name}" if invoice else f"Оплата — {payer.name}"
    context = dict(
        subject=subject, payer_name=payer.name, payer_inn=payer.inn, paid_on=_day(request.paid_on),
        amount=format_money(request.amount, request.currency), purpose=request.purpose, invoice=invoice,
        number=request.number,
    )
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = Address(display_name=payer.name, addr_spec=sender)
    message["To"] = to
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to this
    message.set_content(_templates.get_template("payment_sent.txt").render(context))
    message.add_alternative(_templates.get_template("payment_sent.html").render(context), subtype="html")
    return message


def _day(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"

