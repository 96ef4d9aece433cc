"""The contractor is told by e-mail when a request is paid: requests paid through the real
services and engine, ``EmailDelivery`` talking to a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from backend.db import utcnow
from backend.errors import InvalidInput
from backend.models import ApprovalTask, Counterparty, OutboxMessage, PaymentRequest
from backend.notifications import EMAIL
from backend.notifications.email import NOT_CONFIGURED, EmailDelivery, SmtpServer, message_id
from backend.outbox import enqueue
from backend.services import payment_requests as service
from backend.services.counterparties import CounterpartyFields, create_counterparty
from backend.services.transactions import in_transaction
from backend.settings import Settings
from backend.workflows.lifecycle import Action
from sandbox.local_server import free_port
from tests.factories import SBER_BIK, SBER_CORR, account, inn, new_request, setup_company, today

CONTRACTOR = "buh@postavshik.ru"
SENDER = "noreply@romashka.ru"


# --- a real SMTP server ------------------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Recorder:
    """aiosmtpd handler: keeps what it accepted; answers ``refuse`` to RCPT when set."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.refuse: str | None = None
        self.delay = 0.0
        self.receiving = threading.Event()  # set when DATA has begun

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.receiving.set()
        await asyncio.sleep(self.delay)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


class MailServer:
    def __init__(self, **smtp_options) -> None:
        self.port = free_port()
        self.handler = Recorder()
        self.options = smtp_options
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def mail():
    server = MailServer()
    server.start()
    yield server
    server.stop()


def smtp_settings(tmp_path, port: int | None, **overrides) -> Settings:
    values = dict(data_dir=tmp_path / "data", load_default_routes=False, smtp_from=SENDER,
                  smtp_url=f"smtp://127.0.0.1:{port}" if port else None)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def worker(db, mail, tmp_path):
    return EmailDelivery(db, smtp_settings(tmp_path, mail.port))


# --- requests paid through the real use cases --------------------------------------------------

async def add_contractor(db, email: str | None = CONTRACTOR) -> None:
    """The contractor is on file (with its e-mail) before the request names its INN."""
    async with db.session() as session:
        await create_counterparty(session, CounterpartyFields(
            name="ООО «Поставщик»", inn=inn(500), kpp="770201001", email=email,
            bik=SBER_BIK, account=account(7), corr_account=SBER_CORR))
        await session.commit()


async def act(db, company, who, request_id, action, **data):
    return await in_transaction(db, lambda s: service.act(s, company.actor(who), request_id, action, **data))


async def paid_request(db, company, *, paid_on=None, **fields) -> int:
    rid = await new_request(db, company, **fields)
    await act(db, company, "manager", rid, Action.SUBMIT)
    names = {person.id: name for name, person in company.people.items()}
    while True:  # every stage of the route its amount resolved to
        async with db.session() as session:
            assignee = await session.scalar(select(ApprovalTask.assignee_id).where(
                ApprovalTask.request_id == rid, ApprovalTask.status == "pending").order_by(ApprovalTask.id))
        if assignee is None:
            break
        await act(db, company, names[assignee], rid, Action.APPROVE)
    await act(db, company, "accountant", rid, Action.MARK_PAID, paid_on=paid_on or today())
    return rid


async def email_rows(db) -> list[OutboxMessage]:
    async with db.session() as session:
        return list(await session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == EMAIL).order_by(OutboxMessage.id)))


async def make_due(db) -> None:
    """The backoff has passed."""
    async with db.session() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.topic == EMAIL)
                              .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        await session.commit()


async def eventually(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def plain(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


# --- the letter --------------------------------------------------------------------------------

async def test_the_contractor_gets_the_payment_notice(db, mail, worker):
    company = await setup_company(db)
    await add_contractor(db)
    invoice_date, paid_on = today() - timedelta(days=10), today() - timedelta(days=1)
    rid = await paid_request(db, company, invoice_number="123", invoice_date=invoice_date, paid_on=paid_on,
                             amount="1234567.89", purpose="Оплата по счёту № 123, бумага & <картон>, в т.ч. НДС")

    assert await worker.deliver_due() == 1

    [received] = mail.messages
    assert received.rcpt_tos == [CONTRACTOR] and received.mail_from == SENDER
    letter = received.message
    assert letter["To"] == CONTRACTOR
    assert letter["From"].addresses[0].display_name == "ООО «Ромашка»"
    assert letter["From"].addresses[0].addr_spec == SENDER
    assert letter["Subject"] == f"Оплата по счёту № 123 от {invoice_date:%d.%m.%Y} — ООО «Ромашка»"
    assert letter["Auto-Submitted"] == "auto-generated"
    assert letter["Date"].datetime is not None
    [row] = await email_rows(db)
    assert letter["Message-ID"] == message_id(row.id, row.dedup_key, SENDER)
    assert letter["Message-ID"].endswith("@romashka.ru>")

    async with db.session() as session:
        request = await session.get(PaymentRequest, rid)
    text, page = plain(letter), html(letter)
    for body in (text, page):
        assert "1\u00a0234\u00a0567,89\u00a0₽" in body
        assert f"{paid_on:%d.%m.%Y}" in body
        assert f"№ 123 от {invoice_date:%d.%m.%Y}" in body
        assert request.number in body
        assert inn(1) in body  # the payer's INN
    assert "Оплата по счёту № 123, бумага & <картон>, в т.ч. НДС" in text
    assert "бумага &amp; &lt;картон&gt;" in page  # escaped in HTML

    assert (row.status, row.attempts, row.last_error, row.claimed_by) == ("sent", 0, "", None)
    assert row.sent_at is not None
    assert await worker.deliver_due() == 0
    assert len(mail.messages) == 1


async def test_without_an_invoice_number_the_subject_names_the_payer_only(db, mail, worker):
    company = await setup_company(db)
    await add_contractor(db)
    await paid_request(db, company, invoice_number="")
    assert await worker.deliver_due() == 1
    letter = mail.messages[0].message
    assert letter["Subject"] == "Оплата — ООО «Ромашка»"
    assert "Счёт:" not in plain(letter)


async def test_no_email_on_file_no_letter(db, mail, worker):
    company = await setup_company(db)
    await add_contractor(db, email=None)
    await paid_request(db, company)
    assert await email_rows(db) == []
    assert await worker.deliver_due() == 0
    assert mail.messages == []


async def test_a_counterparty_email_must_be_an_address(db):
    with pytest.raises(InvalidInput) as error:
        await add_contractor(db, email="buh at postavshik.ru")
    assert (error.value.code, error.value.field) == ("email.format", "email")
    assert error.value.message("ru").startswith("Эл. почта: проверьте адрес")
    await add_contractor(db, email="  buh@postavshik.ru ")
    async with db.session() as session:
        assert await session.scalar(select(Counterparty.email)) == "buh@postavshik.ru"


# --- what the server answers -------------------------------------------------------------------

async def test_recipient_refused_for_good_fails_at_once(db, mail, worker):
    company = await setup_company(db)
    await add_contractor(db)
    await paid_request(db, company)
    mail.handler.refuse = "550 5.1.1 <buh@postavshik.ru>: Recipient address rejected: User unknown"

    assert await worker.deliver_due() == 1
    [row] = await email_rows(db)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550 5.1.1 <buh@postavshik.ru>: Recipient address rejected: User unknown" in row.last_error

    mail.handler.refuse = None
    await make_due(db)
    assert await worker.deliver_due() == 0  # not retried
    assert mail.messages == []


async def test_recipient_refused_for_now_is_retried_later(db, mail, worker):
    company = await setup_company(db)
    await add_contractor(db)
    await paid_request(db, company)
    mail.handler.refuse = "451 4.3.0 Mailbox temporarily unavailable, try again later"

    before = utcnow()
    assert await worker.deliver_due() == 1
    [row] = await email_rows(db)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "451 4.3.0" in row.last_error
    assert row.next_attempt_at > before and row.claimed_by is None
    assert await worker.deliver_due() == 0  # backing off

    mail.handler.refuse = None
    await make_due(db)
    assert await worker.deliver_due() == 1
    [row] = await email_rows(db)
    assert (row.status, row.attempts) == ("sent", 1)
    assert len(mail.messages) == 1


async def test_server_down_then_up_delivers_once(db, mail, worker):
    company = await setup_company(db)
    await add_contractor(db)
    await paid_request(db, company)
    mail.stop()

    assert await worker.deliver_due() == 1
    [row] = await email_rows(db)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error and row.next_attempt_at > utcnow()

    mail.start()
    assert await worker.deliver_due() == 0  # not before its backoff
    await make_due(db)
    assert await worker.deliver_due() == 1
    await make_due(db)
    assert await worker.deliver_due() == 0
    assert len(mail.messages) == 1
    assert (await email_rows(db))[0].status == "sent"


async def test_without_smtp_the_row_is_skipped(db, tmp_path):
    company = await setup_company(db)
    await add_contractor(db)
    await paid_request(db, company)
    worker = EmailDelivery(db, smtp_settings(tmp_path, None))
    assert await worker.deliver_due() == 1
    [row] = await email_rows(db)
    assert (row.status, row.last_error, row.attempts) == ("skipped", NOT_CONFIGURED, 0)


async def test_a_vanished_request_is_skipped_and_a_bad_address_fails(db, mail, worker):
    async with db.session() as session:
        await enqueue(session, EMAIL, "email:payment_sent:gone", ordering_key="request:999999",
                      payload={"kind": "payment_sent", "to": CONTRACTOR, "request_id": 999999, "history_id": 1})
        await enqueue(session, EMAIL, "email:payment_sent:bad", ordering_key="request:999998",
                      payload={"kind": "payment_sent", "to": "buh at postavshik", "request_id": 999998,
                               "history_id": 2})
        await session.commit()
    assert await worker.deliver_due() == 2
    gone, bad = await email_rows(db)
    assert (gone.status, gone.last_error) == ("skipped", "the payment request no longer exists")
    assert (bad.status, bad.attempts) == ("failed", 1) and "buh at postavshik" in bad.last_error
    assert mail.messages == []


async def test_login_with_url_encoded_credentials(db, tmp_path):
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"viza@romashka.ru", b"p@ss:w/rd"))

    server = MailServer(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    server.start()
    try:
        company = await setup_company(db)
        await add_contractor(db)
        await paid_request(db, company)
        url = f"smtp://viza%40romashka.ru:p%40ss%3Aw%2Frd@127.0.0.1:{server.port}"
        assert await EmailDelivery(db, smtp_settings(tmp_path, None, smtp_url=url)).deliver_due() == 1
    finally:
        server.stop()
    assert seen == [("viza@romashka.ru", "p@ss:w/rd")]
    assert len(server.messages) == 1


def test_smtp_url_forms():
    assert SmtpServer.from_url("smtps://mail.example.ru") == SmtpServer("mail.example.ru", 465, True)
    plain_url = SmtpServer.from_url("smtp://u%40x:secret@mail.example.ru:587")
    assert (plain_url.port, plain_url.implicit_tls, plain_url.username, plain_url.password) == (
        587, False, "u@x", "secret")
    assert "secret" not in repr(plain_url)
    with pytest.raises(ValueError):
        SmtpServer.from_url("smtp://")


# --- once, and only once -----------------------------------------------------------------------

async def test_two_workers_send_each_row_once(db, mail, tmp_path):
    company = await setup_company(db)
    await add_contractor(db)
    for n in range(3):
        await paid_request(db, company, invoice_number=f"И-{n}")
    mail.handler.delay = 0.2  # both workers are mid-send at once
    settings = smtp_settings(tmp_path, mail.port)
    first, second = EmailDelivery(db, settings, batch=1), EmailDelivery(db, settings, batch=1)
    assert first.worker != second.worker

    handled = 0
    for _ in range(10):
        handled += sum(await asyncio.gather(first.deliver_due(), second.deliver_due()))
    assert handled == 3
    ids = [r.message["Message-ID"] for r in mail.messages]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert {r.status for r in await email_rows(db)} == {"sent"}


async def test_a_row_being_sent_is_not_taken_by_another_worker(db, mail, tmp_path):
    company = await setup_company(db)
    await add_contractor(db)
    await paid_request(db, company)
    mail.handler.delay = 0.5
    settings = smtp_settings(tmp_path, mail.port)
    first, second = EmailDelivery(db, settings), EmailDelivery(db, settings)
    sending = asyncio.create_task(first.deliver_due())
    await asyncio.to_thread(mail.handler.receiving.wait, 10)
    assert mail.handler.receiving.is_set() and not sending.done()
    assert await second.deliver_due() == 0  # the row is leased to the first worker
    assert await sending == 1
    assert await second.deliver_due() == 0
    assert len(mail.messages) == 1


async def test_run_wakes_when_an_email_row_is_committed(db, mail, tmp_path):
    company = await setup_company(db)
    await add_contractor(db)
    rid = await paid_request(db, company)
    worker = EmailDelivery(db, smtp_settings(tmp_path, mail.port), poll=60)  # only a commit wakes it in time
    task = asyncio.create_task(worker.run())
    try:
        await eventually(lambda: len(mail.messages) == 1)
        await asyncio.sleep(0.1)  # idle now
        async with db.session() as session:
            await enqueue(session, EMAIL, "email:payment_sent:again", ordering_key=f"request:{rid}",
                          payload={"kind": "payment_sent", "to": CONTRACTOR, "request_id": rid, "history_id": 0})
            await session.commit()
        await eventually(lambda: len(mail.messages) == 2, timeout=5)
    finally:
        await worker.stop()
    assert task.done()


async def test_stop_finishes_the_send_in_flight_and_gives_back_the_rest(db, mail, tmp_path):
    company = await setup_company(db)
    await add_contractor(db)
    await paid_request(db, company, invoice_number="1")
    await paid_request(db, company, invoice_number="2")
    mail.handler.delay = 0.5
    settings = smtp_settings(tmp_path, mail.port)
    worker = EmailDelivery(db, settings, poll=60)
    task = asyncio.create_task(worker.run())
    await asyncio.to_thread(mail.handler.receiving.wait, 10)  # the first of its batch of two is being sent
    assert mail.handler.receiving.is_set() and mail.messages == []
    await worker.stop()
    assert task.done()
    assert len(mail.messages) == 1
    rows = await email_rows(db)
    # The one in flight went; the other is back, unclaimed, with no attempt counted.
    assert sorted((r.status, r.claimed_by, r.attempts) for r in rows) == [("pending", None, 0), ("sent", None, 0)]

    assert await EmailDelivery(db, settings).deliver_due() == 1
    assert len(mail.messages) == 2
    assert len({r.message["Message-ID"] for r in mail.messages}) == 2


async def test_a_database_hiccup_does_not_stop_the_worker(db, mail, worker):
    company = await setup_company(db)
    await add_contractor(db)
    await paid_request(db, company)
    worker.poll = 0.05
    claim, calls = worker.queue.claim, []

    async def flaky_claim(limit):
        calls.append(limit)
        if len(calls) == 1:
            raise OperationalError("SELECT …", {}, ConnectionResetError("connection lost"))
        return await claim(limit)

    worker.queue.claim = flaky_claim
    task = asyncio.create_task(worker.run())
    try:
        await eventually(lambda: len(mail.messages) == 1)
    finally:
        await worker.stop()
    assert task.done() and task.exception() is None
    assert len(calls) > 1


async def test_not_held_back_by_card_refreshes(db, mail, worker):
    company = await setup_company(db)
    await add_contractor(db)
    rid = await new_request(db, company)
    for who, action in (("manager", Action.SUBMIT), ("north_head", Action.APPROVE), ("cfo", Action.APPROVE),
                        ("accountant", Action.MARK_PAID)):
        await act(db, company, who, rid, action)
    assert await worker.deliver_due() == 1
