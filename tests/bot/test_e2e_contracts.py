"""Contract approvals in chat: /contract (or a DOCX sent to the bot) → summary → Submit; the accountant
gets the contract file with the card; a returned contract comes back as a new version from its card;
approval gives the contract its number and opens the Bitrix24 deal gate; refusals name the field; the
office's region is asked when our legal entity works in several; the summary's annual toggle makes a
contract for this whole year that lands in the annual contracts store once approved."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import docx
from sqlalchemy import func, select

from backend.models import Attachment, Bitrix24Deal, Contract, HistoryEvent, LegalEntity, PaymentRequest
from backend.services.contracts import annual_contracts
from bot.keyboards.callbacks import PickCb, RequestCb
from sandbox.telegram import FakeUser, MessageRecord, SentUpdate
from tests.bot.conftest import Viza, card_of, texts_of
from tests.factories import inn, today

SAMPLES = Path(__file__).resolve().parents[1] / "documents" / "samples"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(64) + b"\xff\xd9"

ASK_CLIENT_TYPE = "Клиент — компания или физлицо?"
ASK_INN = "ИНН клиента (10 цифр"
ASK_INN_INDIVIDUAL = "ИНН клиента-физлица"
ASK_NAME = "Как называется клиент?"
ASK_SUBJECT = "Предмет договора —"
ASK_AMOUNT = "Сумма договора"
ASK_DEAL = "Номер сделки в Битрикс24"
ASK_FILE = "Пришлите сам договор"
SUMMARY = "Проверьте согласование договора"
NEED_FILE = "Пришлите договор файлом DOCX или PDF"
SUBMIT = "📤 Отправить на согласование"
ASK_REGION = "Регион офиса?"
NEED_BUTTON = "Выберите вариант кнопкой"
ANNUAL_OFF = "📚 Годовой договор: нет"
ANNUAL_ON = "📚 Годовой договор: да"
REMARK = "п. 3.2 — срок оплаты 5 дней"


def docx_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- talking ----------------------------------------------------------------------------------------

async def after(viza: Viza, user: FakeUser, since: SentUpdate, expected: str) -> MessageRecord:
    """The first message the bot sent ``user`` after ``since`` that contains ``expected``."""
    return await viza.tg.wait_for(
        lambda: next((m for m in user.chat.bot_messages if m.seq > since.seq and expected in (m.text or "")), None),
        message=f"no reply with {expected!r}\n{viza.tg.dump()}")


async def say(viza: Viza, user: FakeUser, text: str, expected: str) -> MessageRecord:
    return await after(viza, user, await user.send(text), expected)


async def tap(viza: Viza, user: FakeUser, message: MessageRecord, button: str, expected: str) -> MessageRecord:
    return await after(viza, user, await user.tap(message, text=button), expected)


async def send_docx(user: FakeUser, filename: str, text: str = "Договор поставки") -> SentUpdate:
    return await user.send_document(docx_bytes(text), filename=filename, mime_type=DOCX_TYPE)


async def fill_company_contract(viza: Viza, who: str = "manager", *, client_inn: str | None = None,
                                filename: str = "Договор поставки.docx") -> MessageRecord:
    """/contract for a company client up to the summary: amount 150 000, deal 42, a DOCX."""
    user = viza[who]
    ask = await say(viza, user, "/contract", ASK_CLIENT_TYPE)
    return await fill_from_client_type(viza, user, ask, client_inn=client_inn, filename=filename)


async def fill_from_client_type(viza: Viza, user: FakeUser, ask: MessageRecord, *, client_inn: str | None = None,
                                filename: str = "Договор поставки.docx") -> MessageRecord:
    """From "Клиент — компания или физлицо?" up to the summary, as ``fill_company_contract``."""
    await tap(viza, user, ask, "Компания", ASK_INN)
    await say(viza, user, client_inn or inn(900), ASK_NAME)
    await say(viza, user, "ООО «Клиент»", ASK_SUBJECT)
    await say(viza, user, "Поставка оборудования по спецификации", ASK_AMOUNT)
    await say(viza, user, "150 000", ASK_DEAL)
    await say(viza, user, "42", ASK_FILE)
    return await after(viza, user, await send_docx(user, filename), SUMMARY)


async def submit(viza: Viza, who: str, summary: MessageRecord) -> int:
    await tap(viza, viza[who], summary, SUBMIT, "отправлен на согласование")
    async with viza.db.session() as session:
        return await session.scalar(select(func.max(PaymentRequest.id)).where(PaymentRequest.kind == "contract"))


async def contract_of(viza: Viza, request_id: int) -> tuple[PaymentRequest, Contract]:
    async with viza.db.session() as session:
        return await session.get(PaymentRequest, request_id), await session.get(Contract, request_id)


def documents(user: FakeUser) -> list[MessageRecord]:
    return [m for m in user.chat.bot_messages if m.document is not None]


# --- the whole way -------------------------------------------------------------------------------------

async def test_contract_from_dialog_returned_new_version_and_approved(viza: Viza):
    await viza.bind("manager", "accountant")
    manager, accountant = viza["manager"], viza["accountant"]
    summary = await fill_company_contract(viza)
    for shown in ("ООО «Ромашка»", "ООО «Клиент», ИНН " + inn(900), "Поставка оборудования по спецификации",
                  "150\u00a0000,00\u00a0₽", "Сделка Битрикс24: 42", "Договор поставки.docx"):
        assert shown in summary.text, (shown, summary.text)
    async with viza.db.session() as session:
        assert await session.scalar(select(PaymentRequest)) is None  # nothing before Submit
    request_id = await submit(viza, "manager", summary)
    request, contract = await contract_of(viza, request_id)
    assert (request.kind, request.status, request.amount, request.bitrix24_deal_id) == ("contract", "pending", 150_000_00, "42")
    assert (contract.client_type, contract.number) == ("company", None)
    assert "На согласовании" in manager.last_bot_message.text and request.number in manager.last_bot_message.text

    # The accountant gets the contract file and the card.
    card = await card_of(viza, "accountant")
    file = documents(accountant)[-1]
    assert file.caption == f"Договор {request.number}, версия 1" and file.document.file_name == "Договор поставки.docx"
    assert file.seq < card.seq
    for shown in (f"📄 Договор {request.number} — На согласовании", "Клиент: ООО «Клиент», ИНН " + inn(900),
                  "150\u00a0000,00\u00a0₽", "100 %", "Сделка Битрикс24 № 42", "Версия 1: Договор поставки.docx",
                  "Бухгалтерия"):
        assert shown in card.text, (shown, card.text)
    assert {"✅ Согласовать", "❌ Отклонить", "↩️ На доработку", "➕ Согласующий"} <= set(card.button_texts)

    # Returned with remarks: the manager reads them and sends a new version from the card.
    ask = await tap(viza, accountant, card, "↩️ На доработку", "исправить")
    await say(viza, accountant, REMARK, "Возвращено на доработку")
    returned_card = await card_of(viza, "manager", button="📎 Новая версия")
    assert "На доработке" in returned_card.text and "📤 Отправить снова" in returned_card.button_texts
    assert "вернул(а) договор на доработку" in texts_of(viza, "manager") and REMARK in texts_of(viza, "manager")
    assert ask
    await tap(viza, manager, returned_card, "📎 Новая версия", "Пришлите новую версию договора")
    sent = await send_docx(manager, "Договор поставки v2.docx", "Договор поставки, срок оплаты 5 дней")
    await after(viza, manager, sent, "версия 2 сохранена")
    fresh = await viza.tg.wait_for(lambda: next((m for m in manager.chat.bot_messages if m.seq > sent.seq
                                                 and "📤 Отправить снова" in m.button_texts), None))
    assert "Версия 2: Договор поставки v2.docx" in fresh.text
    resubmit = await manager.tap(fresh, text="📤 Отправить снова")
    assert await resubmit.wait() == "Отправлено на согласование 📤"

    # The accountant gets version 2 with a fresh card and approves.
    second = await viza.tg.wait_for(lambda: next((m for m in accountant.chat.bot_messages if m.seq > card.seq
                                                  and "✅ Согласовать" in m.button_texts), None))
    assert "Версия 2: Договор поставки v2.docx" in second.text
    assert documents(accountant)[-1].caption == f"Договор {request.number}, версия 2"
    approve = await accountant.tap(second, text="✅ Согласовать")
    assert await approve.wait() == "Согласовано ✅"

    await viza.tg.wait_for(lambda: "согласован, №" in texts_of(viza, "manager"))
    request, contract = await contract_of(viza, request_id)
    assert request.status == "approved" and contract.number_state == "confirmed"
    assert contract.number == f"РМ-Д-{today().year % 100:02d}/0001", contract.number
    assert f"✅ Договор {request.number} согласован, № {contract.number}." in texts_of(viza, "manager")
    await viza.tg.wait_for(lambda: f"№ договора: {contract.number}" in second.text and not second.buttons)
    assert "Согласован" in second.text
    async with viza.db.session() as session:
        deal = await session.get(Bitrix24Deal, "42")
        versions = (await session.execute(select(Attachment.version, Attachment.filename).where(
            Attachment.request_id == request_id, Attachment.kind == "contract").order_by(Attachment.version))).all()
        returns = (await session.scalars(select(HistoryEvent.comment).where(
            HistoryEvent.request_id == request_id, HistoryEvent.action == "return"))).all()
    assert deal is not None and deal.contract_approved_at is not None
    assert [tuple(v) for v in versions] == [(1, "Договор поставки.docx"), (2, "Договор поставки v2.docx")]
    assert returns == [REMARK]


async def test_an_added_approver_must_approve_too(viza: Viza):
    await viza.bind("manager", "accountant", "director")
    accountant, director = viza["accountant"], viza["director"]
    request_id = await submit(viza, "manager", await fill_company_contract(viza))
    card = await card_of(viza, "accountant")
    await tap(viza, accountant, card, "➕ Согласующий", "Кого добавить")
    people = await say(viza, accountant, "Директор", "Выберите сотрудника")
    added = await accountant.tap(people, text="Директор Д.Д.")
    assert await added.wait() == "Согласующий добавлен ➕"

    director_card = await card_of(viza, "director")
    assert any(m.caption and m.caption.endswith("версия 1") for m in documents(director))
    assert "📄 Договор" in director_card.text
    approve = await accountant.tap(await card_of(viza, "accountant"), text="✅ Согласовать")
    assert await approve.wait() == "Согласовано ✅"
    request, contract = await contract_of(viza, request_id)
    assert request.status == "pending" and contract.number is None  # the director has yet to approve

    await viza.tg.wait_for(lambda: "✅Бухова" in director_card.text)  # the card follows the accountant's approval
    approve = await director.tap(director_card, text="✅ Согласовать")
    assert await approve.wait() == "Согласовано ✅"
    await viza.tg.wait_for(lambda: "согласован, №" in texts_of(viza, "manager"))
    request, contract = await contract_of(viza, request_id)
    assert request.status == "approved" and contract.number


# --- starting from a file, and refusals --------------------------------------------------------------------

async def test_a_docx_sent_outside_a_dialog_starts_one_with_the_file(viza: Viza):
    await viza.bind("manager", "accountant")
    manager = viza["manager"]
    sent = await send_docx(manager, "Договор с физлицом.docx")
    await after(viza, manager, sent, "получил")
    ask = await after(viza, manager, sent, ASK_CLIENT_TYPE)
    ask_inn = await tap(viza, manager, ask, "Физлицо", ASK_INN_INDIVIDUAL)
    bad = inn(901)[:-1] + str((int(inn(901)[-1]) + 1) % 10)
    reply = await say(viza, manager, bad, "ИНН")
    assert "ИНН клиента" in reply.text and "контрольн" in reply.text, reply.text
    await tap(viza, manager, ask_inn, "Без ИНН", ASK_NAME)
    await say(viza, manager, "Петров Пётр Петрович", ASK_SUBJECT)
    ask = await say(viza, manager, "Оказание услуг по договору", ASK_AMOUNT)
    ask = await tap(viza, manager, ask, "Без суммы", ASK_DEAL)
    summary = await tap(viza, manager, ask, "Без сделки", SUMMARY)  # the file came first: not asked again
    for shown in ("Петров Пётр Петрович, физлицо", "без суммы", "Сделка Битрикс24: нет", "Договор с физлицом.docx"):
        assert shown in summary.text, (shown, summary.text)
    request_id = await submit(viza, "manager", summary)
    request, contract = await contract_of(viza, request_id)
    assert (contract.client_type, request.contractor_inn, request.amount, request.bitrix24_deal_id) == (
        "individual", "", 0, None)
    card = await card_of(viza, "accountant")
    assert "физлицо" in card.text and "без суммы" in card.text
    assert documents(viza["accountant"])[-1].document.file_name == "Договор с физлицом.docx"


async def test_refusals_name_the_field_and_the_dialog_stays(viza: Viza):
    await viza.bind("manager")
    manager = viza["manager"]
    ask = await say(viza, manager, "/contract", ASK_CLIENT_TYPE)
    await tap(viza, manager, ask, "Компания", ASK_INN)
    reply = await say(viza, manager, "12345", "ИНН")
    assert "ИНН клиента" in reply.text and "10 цифр" in reply.text, reply.text
    bad = inn(900)[:-1] + str((int(inn(900)[-1]) + 1) % 10)
    reply = await say(viza, manager, bad, "ИНН клиента")
    assert "контрольн" in reply.text
    await say(viza, manager, inn(900), ASK_NAME)
    await say(viza, manager, "ООО «Клиент»", ASK_SUBJECT)
    await say(viza, manager, "Поставка", ASK_AMOUNT)
    await say(viza, manager, "сто тысяч", "Сумма: не похоже на сумму")
    await say(viza, manager, "150000,50", ASK_DEAL)
    await say(viza, manager, "сделка сорок два", "Номер сделки Битрикс24 — это число")
    await say(viza, manager, "№42", ASK_FILE)
    # Anything but a DOCX, DOC or PDF at the file step is refused in words.
    refused = await after(viza, manager, await manager.send_document(b"just text", filename="договор.txt",
                                                                     mime_type="text/plain"), NEED_FILE)
    assert refused
    await after(viza, manager, await manager.send_photo(JPEG), NEED_FILE)
    await after(viza, manager, await manager.send_document(b"not a document at all", filename="fake.docx"), NEED_FILE)
    await say(viza, manager, "вот договор", NEED_FILE)
    summary = await after(viza, manager, await manager.send_document(MINIMAL_PDF, filename="договор.pdf",
                                                                     mime_type="application/pdf"), SUMMARY)
    assert "150\u00a0000,50\u00a0₽" in summary.text and "Сделка Битрикс24: 42" in summary.text
    async with viza.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(PaymentRequest)) == 0

    # Edit one field from the summary: back to the summary, the rest kept.
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сумма" in summary.button_texts)
    ask = await tap(viza, manager, summary, "Сумма", ASK_AMOUNT)
    fixed = await tap(viza, manager, ask, "Без суммы", SUMMARY)
    assert "без суммы" in fixed.text and "договор.pdf" in fixed.text and "ООО «Клиент»" in fixed.text


async def test_a_known_client_inn_fills_the_name(viza: Viza):
    from tests.factories import new_request

    await new_request(viza.db, viza.company, "manager")  # remembers ООО «Поставщик» as a counterparty
    await viza.bind("manager")
    manager = viza["manager"]
    ask = await say(viza, manager, "/contract", ASK_CLIENT_TYPE)
    await tap(viza, manager, ask, "Компания", ASK_INN)
    await say(viza, manager, inn(500), "Нашёл клиента: ООО «Поставщик»")
    await viza.tg.wait_for(lambda: ASK_SUBJECT in (manager.last_bot_message.text or ""))


async def test_a_pdf_outside_a_dialog_is_still_an_invoice(viza: Viza):
    await viza.bind("manager")
    manager = viza["manager"]
    sent = await manager.send_document((SAMPLES / "classic_1c.pdf").read_bytes(), filename="счёт.pdf",
                                       mime_type="application/pdf")
    await viza.tg.wait_for(lambda: any("Оплата поставщику" in m.button_texts for m in manager.chat.bot_messages
                                       if m.seq > sent.seq))
    assert "получил" not in texts_of(viza, "manager")


# --- reject, and who may send a new version ----------------------------------------------------------------

async def test_rejected_contract_takes_no_number_and_only_its_initiator_sends_versions(viza: Viza):
    await viza.bind("manager", "accountant")
    manager, accountant = viza["manager"], viza["accountant"]
    request_id = await submit(viza, "manager", await fill_company_contract(viza))
    request, _ = await contract_of(viza, request_id)

    # A new version of a contract on its way: not the accountant's, and not now.
    card = await card_of(viza, "accountant")
    assert "📎 Новая версия" not in card.button_texts
    forged = RequestCb(act="nv", id=request_id, v=request.version).pack()
    refused = await accountant.tap(card, data=forged, forged=True)
    assert "автор договора" in (await refused.wait() or "")
    manager.chat.messages.append(card)  # pretend the button reached the initiator while pending
    refused = await manager.tap(card, data=forged, forged=True)
    assert "автор договора" in (await refused.wait() or "")

    await tap(viza, accountant, card, "❌ Отклонить", "причину")
    await say(viza, accountant, "Клиент в стоп-листе", "Отклонено")
    await viza.tg.wait_for(lambda: "отклонил(а) договор" in texts_of(viza, "manager"))
    assert "Клиент в стоп-листе" in texts_of(viza, "manager")
    request, contract = await contract_of(viza, request_id)
    assert request.status == "rejected" and contract.number is None and contract.number_state == "none"
    await viza.tg.wait_for(lambda: not card.buttons and "Отклонён" in card.text)
    async with viza.db.session() as session:
        assert await session.get(Bitrix24Deal, "42") is None


async def test_a_returned_contract_is_corrected_in_the_dialog_and_sent_again(viza: Viza):
    await viza.bind("manager", "accountant")
    manager, accountant = viza["manager"], viza["accountant"]
    request_id = await submit(viza, "manager", await fill_company_contract(viza))
    await tap(viza, accountant, await card_of(viza, "accountant"), "↩️ На доработку", "исправить")
    await say(viza, accountant, "Сумма не та: 140 000", "Возвращено на доработку")
    returned = await card_of(viza, "manager", button="✏️ Изменить")
    summary = await tap(viza, manager, returned, "✏️ Изменить", "Исправление договора")
    assert "Договор поставки.docx (версия 1)" in summary.text and "150\u00a0000,00" in summary.text
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сделка" in summary.button_texts)
    ask = await tap(viza, manager, summary, "Сумма", "Сумма договора в рублях")
    assert "Без суммы" not in ask.button_texts  # the core keeps an amount once given
    summary = await after(viza, manager, await manager.send("140 000"), "Исправление договора")
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сделка" in summary.button_texts)
    ask = await tap(viza, manager, summary, "Сделка", ASK_DEAL)
    summary = await tap(viza, manager, ask, "Без сделки", "Исправление договора")
    assert "140\u00a0000,00" in summary.text and "Сделка Битрикс24: нет" in summary.text
    await tap(viza, manager, summary, SUBMIT, "отправлен на согласование")
    request, contract = await contract_of(viza, request_id)
    assert (request.status, request.amount, request.bitrix24_deal_id, contract.bitrix24_deal_id) == (
        "pending", 140_000_00, None, None)
    async with viza.db.session() as session:
        versions = (await session.scalars(select(Attachment.version).where(
            Attachment.request_id == request_id, Attachment.kind == "contract"))).all()
    assert versions == [1]  # the text did not change: no new version


# --- the office's region (seed 001: templates by legal entity, client type and region) --------------------

async def set_regions(viza: Viza, regions: list[str]) -> None:
    async with viza.db.session() as session:
        entity = await session.get(LegalEntity, viza.company.legal_entity.id)
        entity.regions = regions
        await session.commit()


async def test_an_entity_with_two_regions_asks_the_office_region(viza: Viza):
    await set_regions(viza, ["23", "61"])
    await viza.bind("manager")
    manager = viza["manager"]
    ask = await say(viza, manager, "/contract", ASK_REGION)
    assert ask.button_texts[:2] == ["23", "61"], ask.button_texts
    await say(viza, manager, "61", NEED_BUTTON)  # typed: the region is picked with a button
    forged = await manager.tap(ask, data=PickCb(step="c_reg", value="7").pack(), forged=True)
    assert await forged.wait() == "Эта кнопка уже неактуальна."
    ask_type = await tap(viza, manager, ask, "23", ASK_CLIENT_TYPE)
    assert "→ 23" in ask.text
    summary = await fill_from_client_type(viza, manager, ask_type)
    assert "Регион офиса: 23" in summary.text, summary.text

    # Corrected from the summary: back to the summary with the rest kept.
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Регион офиса" in summary.button_texts)
    again = await tap(viza, manager, summary, "Регион офиса", ASK_REGION)
    summary = await tap(viza, manager, again, "61", SUMMARY)
    assert "Регион офиса: 61" in summary.text and "ООО «Клиент»" in summary.text and "Договор поставки.docx" in summary.text
    request_id = await submit(viza, "manager", summary)
    _, contract = await contract_of(viza, request_id)
    assert contract.region == "61"


async def test_an_entity_with_one_region_is_not_asked(viza: Viza):
    await set_regions(viza, ["23"])
    await viza.bind("manager")
    manager = viza["manager"]
    summary = await fill_company_contract(viza)
    assert not any(ASK_REGION in (m.text or "") for m in manager.chat.bot_messages)
    assert "Регион офиса: 23" in summary.text, summary.text
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сумма" in summary.button_texts)
    assert "Регион офиса" not in summary.button_texts  # nothing to pick
    ask = await tap(viza, manager, summary, "Сделка", ASK_DEAL)
    summary = await tap(viza, manager, ask, "Без сделки", SUMMARY)
    assert "Регион офиса: 23" in summary.text
    request_id = await submit(viza, "manager", summary)
    _, contract = await contract_of(viza, request_id)
    assert contract.region == "23"


async def test_an_entity_without_regions_has_none(viza: Viza):
    await viza.bind("manager")
    summary = await fill_company_contract(viza)
    assert "Регион офиса" not in summary.text
    _, contract = await contract_of(viza, await submit(viza, "manager", summary))
    assert contract.region == ""


# --- the annual toggle -------------------------------------------------------------------------------------

async def test_the_annual_toggle_makes_a_contract_for_this_year_kept_in_the_store(viza: Viza):
    await viza.bind("manager", "accountant")
    manager, accountant = viza["manager"], viza["accountant"]
    year = today().year
    period = f"Годовой договор: да, с 01.01.{year} по 31.12.{year}"
    summary = await fill_company_contract(viza)
    assert ANNUAL_OFF in summary.button_texts and "Годовой договор: да" not in summary.text

    switched = await manager.tap(summary, text=ANNUAL_OFF)
    assert await switched.wait() == period
    await viza.tg.wait_for(lambda: period in summary.text and ANNUAL_ON in summary.button_texts)
    stale = await manager.tap(summary, data=PickCb(step="c_annual", value="on").pack(), forged=True)
    assert await stale.wait() == "Эта кнопка уже неактуальна."
    off = await manager.tap(summary, text=ANNUAL_ON)  # off and on again
    assert await off.wait() == "Годовой договор: нет — обычный договор."
    await viza.tg.wait_for(lambda: ANNUAL_OFF in summary.button_texts and "Годовой договор: да" not in summary.text)
    await manager.tap(summary, text=ANNUAL_OFF)
    await viza.tg.wait_for(lambda: period in summary.text)

    request_id = await submit(viza, "manager", summary)
    request, contract = await contract_of(viza, request_id)
    assert (contract.annual, contract.valid_from, contract.valid_until) == (True, date(year, 1, 1), date(year, 12, 31))

    # Returned and corrected in the dialog: the flag and its year stay.
    card = await card_of(viza, "accountant")
    await tap(viza, accountant, card, "↩️ На доработку", "исправить")
    await say(viza, accountant, "Сумма не та: 140 000", "Возвращено на доработку")
    returned = await card_of(viza, "manager", button="✏️ Изменить")
    summary = await tap(viza, manager, returned, "✏️ Изменить", "Исправление договора")
    assert period in summary.text and ANNUAL_ON in summary.button_texts, summary.text
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сумма" in summary.button_texts)
    await tap(viza, manager, summary, "Сумма", "Сумма договора в рублях")
    summary = await after(viza, manager, await manager.send("140 000"), "Исправление договора")
    assert period in summary.text
    await tap(viza, manager, summary, SUBMIT, "отправлен на согласование")
    request, contract = await contract_of(viza, request_id)
    assert (request.status, request.amount) == ("pending", 140_000_00)
    assert (contract.annual, contract.valid_from, contract.valid_until) == (True, date(year, 1, 1), date(year, 12, 31))

    # Approved: it is in the annual contracts store.
    second = await viza.tg.wait_for(lambda: next((m for m in accountant.chat.bot_messages if m.seq > card.seq
                                                  and "✅ Согласовать" in m.button_texts), None))
    approve = await accountant.tap(second, text="✅ Согласовать")
    assert await approve.wait() == "Согласовано ✅"
    async with viza.db.session() as session:
        stored = await annual_contracts(session, viza.company.actor("manager"), q="клиент")
    assert [(c["id"], c["valid_from"], c["valid_until"]) for c in stored] == [
        (request_id, date(year, 1, 1), date(year, 12, 31))]


async def test_a_contract_left_ordinary_is_not_annual(viza: Viza):
    await viza.bind("manager")
    _, contract = await contract_of(viza, await submit(viza, "manager", await fill_company_contract(viza)))
    assert (contract.annual, contract.valid_from, contract.valid_until) == (False, None, None)


async def test_the_region_follows_the_legal_entity_picked(viza: Viza):
    async with viza.db.session() as session:
        south = LegalEntity(name="ООО «Юг»", short_code="ЮГ", inn=inn(2), kpp="230101001", regions=["23", "61"])
        session.add(south)
        await session.commit()
        south_id = south.id
    await viza.bind("manager")
    manager = viza["manager"]
    ask = await say(viza, manager, "/contract", "Наше юрлицо")
    region = await tap(viza, manager, ask, "ООО «Юг»", ASK_REGION)
    summary = await fill_from_client_type(viza, manager, await tap(viza, manager, region, "61", ASK_CLIENT_TYPE))
    assert "ООО «Юг»" in summary.text and "Регион офиса: 61" in summary.text

    # Another legal entity without regions: no region; back to the south one: its region is asked again.
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Регион офиса" in summary.button_texts)
    ask = await tap(viza, manager, summary, "Наше юрлицо", "Наше юрлицо")
    summary = await tap(viza, manager, ask, "ООО «Ромашка»", SUMMARY)
    assert "Регион офиса" not in summary.text
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Наше юрлицо" in summary.button_texts)
    assert "Регион офиса" not in summary.button_texts
    ask = await tap(viza, manager, summary, "Наше юрлицо", "Наше юрлицо")
    region = await tap(viza, manager, ask, "ООО «Юг»", ASK_REGION)
    summary = await tap(viza, manager, region, "23", SUMMARY)
    assert "ООО «Юг»" in summary.text and "Регион офиса: 23" in summary.text
    request, contract = await contract_of(viza, await submit(viza, "manager", summary))
    assert (request.legal_entity_id, contract.region) == (south_id, "23")
