"""Bank files in chat: the /pay queue's Bank file button sends the payment orders file; a statement
sent by an accountant marks requests paid (their initiators are told) and gets a report back."""

from __future__ import annotations

from datetime import timedelta

from backend.integrations.bank.clientbank import parse
from backend.models import Employee
from sandbox.telegram import MessageRecord, SentUpdate
from tests.bank_helpers import approved_request, give_accounts, incoming, load, payment, statement
from tests.bot.conftest import Viza, texts_of
from tests.factories import today

BUTTON = "🏦 Выгрузить в банк"


async def reply(viza: Viza, who: str, since: SentUpdate, expected: str) -> MessageRecord:
    user = viza[who]
    return await viza.tg.wait_for(
        lambda: next((m for m in user.chat.bot_messages if m.seq > since.seq and expected in (m.text or "")), None),
        message=f"{who} got no reply with {expected!r}")


async def document_after(viza: Viza, who: str, since) -> MessageRecord:
    user = viza[who]
    return await viza.tg.wait_for(
        lambda: next((m for m in user.chat.bot_messages if m.seq > since.seq and m.document is not None), None),
        message=f"{who} got no file")


async def test_the_accountant_taps_bank_file_and_gets_the_payment_orders(viza: Viza):
    accounts = await give_accounts(viza.db, viza.company)
    due = await approved_request(viza.db, viza.company, pay_by=today(), amount="15000.50")
    await approved_request(viza.db, viza.company, pay_by=today() + timedelta(days=20), amount="700.00")  # not today
    await viza.bind("accountant")
    accountant = viza["accountant"]

    queue = await reply(viza, "accountant", await accountant.send("/pay"), "К оплате — Сегодня (1)")
    assert BUTTON in queue.button_texts
    tap = await accountant.tap(queue, text=BUTTON)
    sent = await document_after(viza, "accountant", tap)
    await tap.wait()

    number = (await load(viza.db, due)).number
    assert sent.document.file_name == f"1c_to_kl-{today().isoformat()}.txt"
    assert sent.caption.startswith("🏦 Платёжные поручения: 1 шт. на 15\u00a0000,50\u00a0₽")
    assert f"ООО «Ромашка», счёт {accounts.main}" in sent.caption
    content = viza.tg.download(sent.document.file_id)
    assert "Кодировка=Windows\r\n".encode("cp1251") in content
    [order] = parse(content).documents
    assert (order.number, order.amount, order.payer.account) == (str(int(number[-5:])), 15_000_50, accounts.main)

    # The "All" tab exports both.
    await (await accountant.tap(queue, text="Все")).wait()
    await viza.tg.wait_for(lambda: "К оплате — Все (2)" in queue.text)
    tap = await accountant.tap(queue, text=BUTTON)
    sent = await document_after(viza, "accountant", tap)
    assert len(parse(viza.tg.download(sent.document.file_id)).documents) == 2


async def test_with_several_legal_entities_the_bot_asks_which(viza: Viza):
    accounts = await give_accounts(viza.db, viza.company)
    await approved_request(viza.db, viza.company, pay_by=today())
    theirs = await approved_request(viza.db, viza.company, pay_by=today(), amount="700.00",
                                    legal_entity_id=accounts.other_entity_id)
    await viza.bind("accountant")
    accountant = viza["accountant"]
    queue = await reply(viza, "accountant", await accountant.send("/pay"), "К оплате — Сегодня (2)")

    tap = await accountant.tap(queue, text=BUTTON)
    question = await reply(viza, "accountant", tap, "Из какого юрлица выгрузить?")
    assert question.button_texts == ["ООО «Лютик» · 1 шт. · 700,00\u00a0₽", "ООО «Ромашка» · 1 шт. · 15\u00a0000,00\u00a0₽"]
    tap = await accountant.tap(question, text="ООО «Лютик» · 1 шт. · 700,00\u00a0₽")
    sent = await document_after(viza, "accountant", tap)
    [order] = parse(viza.tg.download(sent.document.file_id)).documents
    assert (order.amount, order.payer.account, order.payer.name) == (700_00, accounts.other, "ООО «Лютик»")
    assert order.number == str(int((await load(viza.db, theirs)).number[-5:]))
    await viza.tg.wait_for(lambda: question.buttons == [])


async def test_a_statement_marks_requests_paid_and_the_initiator_is_told(viza: Viza):
    accounts = await give_accounts(viza.db, viza.company)
    request_id = await approved_request(viza.db, viza.company)
    number = (await load(viza.db, request_id)).number
    await viza.bind("accountant", "manager")
    accountant = viza["accountant"]
    yesterday = today() - timedelta(days=1)
    data = statement(payment(payer_account=accounts.main, paid_on=yesterday, number="41"),
                     payment(payer_account=accounts.main, paid_on=yesterday, number="42", amount=999_00),
                     incoming(to_account=accounts.main))

    sent = await accountant.send_document(data, filename="kl_to_1c.txt", mime_type="text/plain")
    report = await reply(viza, "accountant", sent, "Отмечены оплаченными — 1")
    assert f"/r{request_id} {number} · 15\u00a0000,00\u00a0₽ · ООО «Поставщик» · оплачено {yesterday:%d.%m.%Y}" in report.text
    assert (f"п/п № 42 от {yesterday:%d.%m.%Y} · 999,00\u00a0₽ · ООО «Поставщик»: нет согласованной заявки на "
            f"999,00\u00a0₽ для ИНН") in report.text
    assert "Пропущены — 1: входящий платёж (1)." in report.text
    request = await load(viza.db, request_id)
    assert (request.status, request.paid_on) == ("paid", yesterday)
    await viza.tg.wait_for(lambda: f"{number}" in texts_of(viza, "manager") and "оплачена" in texts_of(viza, "manager"),
                           message="the initiator was not told")

    again = await accountant.send_document(data, filename="KL_TO_1C.TXT")
    report = await reply(viza, "accountant", again, "Уже были оплачены — 1")
    assert "Отмечены оплаченными" not in report.text and f"/r{request_id} {number}" in report.text


async def test_refusals_in_chat(viza: Viza):
    accounts = await give_accounts(viza.db, viza.company)
    request_id = await approved_request(viza.db, viza.company)
    await viza.bind("accountant", "manager")
    data = statement(payment(payer_account=accounts.main, paid_on=today()))

    sent = await viza["manager"].send_document(data, filename="выписка.txt")
    await reply(viza, "manager", sent, "Это может сделать только бухгалтерия.")
    assert (await load(viza.db, request_id)).status == "approved"

    broken = data.replace(b"=15000.00", b"=15 000,00")
    sent = await viza["accountant"].send_document(broken, filename="выписка.txt")
    await reply(viza, "accountant", sent, "Файл, строка 12: Сумма=15 000,00 — сумма записана не по формату")
    sent = await viza["accountant"].send_document(b"just some notes", filename="notes.txt")
    await reply(viza, "accountant", sent, "это не файл обмена с 1С")
    assert (await load(viza.db, request_id)).status == "approved"


async def test_in_english(viza: Viza):
    accounts = await give_accounts(viza.db, viza.company)
    request_id = await approved_request(viza.db, viza.company, pay_by=today())
    async with viza.db.session() as session:
        (await session.get(Employee, viza.company.people["accountant"].id)).language = "en"
        await session.commit()
    await viza.bind("accountant")
    accountant = viza["accountant"]
    queue = await reply(viza, "accountant", await accountant.send("/pay"), "To pay")
    tap = await accountant.tap(queue, text="🏦 Bank file")
    sent = await document_after(viza, "accountant", tap)
    assert sent.caption.startswith("🏦 Payment orders: 1 for 15,000.00 ₽")

    sent = await accountant.send_document(statement(payment(payer_account=accounts.main, paid_on=today())),
                                          filename="statement.txt")
    report = await reply(viza, "accountant", sent, "Marked paid — 1")
    assert f"/r{request_id}" in report.text and (await load(viza.db, request_id)).status == "paid"
