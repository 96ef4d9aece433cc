"""The two shortcuts of /contract (seed 001): a new year's contract from the annual contracts store
(search by the client, pick, the year → the print form and the draft's card, Submit by the person's
tap), and the lines of a contract picked from the 1C catalogue (the amount is their total; the
core's refusal of a line that the legal entity does not sell names the line)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from backend.models import CatalogueItem, Contract, LegalEntity, PaymentRequest
from backend.services.attachments import FileStore
from backend.services.contracts import ContractFields, create_contract
from backend.services.payment_requests import act
from backend.workflows.lifecycle import Action
from tests.bot.conftest import Viza, card_of
from tests.bot.test_e2e_contracts import (
    ASK_AMOUNT, ASK_CLIENT_TYPE, ASK_DEAL, ASK_FILE, ASK_INN, ASK_NAME, ASK_SUBJECT, SUBMIT, SUMMARY, after,
    docx_bytes, documents, say, send_docx, tap,
)
from tests.factories import give_print_details, inn, today

FROM_STORE = "📚 Из годовых договоров"
FROM_CATALOGUE = "🛒 Позиции из номенклатуры 1С"
ASK_STORE = "Годовые договоры"
STORE_FOUND = "Нашёл договоры"
ASK_ITEM = "Какой товар или услугу найти"
ITEMS_FOUND = "Выберите позицию"
ADDED = "Итого по позициям"
NBSP = "\u00a0"


def rub(text: str) -> str:
    """"1 260,00" as the bot writes money: non-breaking spaces and the ruble sign."""
    return text.replace(" ", NBSP) + NBSP + "₽"


# --- the annual contracts store ---------------------------------------------------------------------------

async def approved_annual_contract(viza: Viza) -> tuple[int, str]:
    """An approved annual contract with ООО «Клиника» for this year, made through the core."""
    company = viza.company
    await give_print_details(viza.db, company)
    year = today().year
    async with viza.db.session() as session:
        fields = ContractFields(
            legal_entity_id=company.legal_entity.id, client_name="ООО «Клиника»", client_inn=inn(77),
            client_kpp="770301001", subject="Медицинские осмотры сотрудников", amount="120000",
            payment_terms="full", annual=True, valid_from=date(year, 1, 1), valid_until=date(year, 12, 31))
        request = await create_contract(session, FileStore(viza.settings.files_dir), company.actor("manager"), fields,
                                        file=("Договор Клиника.docx", docx_bytes("Договор с клиникой")))
        await act(session, company.actor("manager"), request.id, Action.SUBMIT)
        await act(session, company.actor("accountant"), request.id, Action.APPROVE)
        await session.commit()
        contract = await session.get(Contract, request.id)
        assert contract.number, "the approved contract has its number"
        return request.id, contract.number


async def open_store(viza: Viza, who: str = "manager"):
    user = viza[who]
    ask = await say(viza, user, "/contract", ASK_CLIENT_TYPE)
    assert FROM_STORE in ask.button_texts, ask.button_texts
    return await tap(viza, user, ask, FROM_STORE, ASK_STORE)


async def test_a_new_years_contract_from_the_annual_store(viza: Viza):
    source_id, number = await approved_annual_contract(viza)
    await viza.bind("manager", "accountant")
    manager = viza["manager"]
    year = today().year

    await open_store(viza)
    none = await say(viza, manager, "зеленоглазое такси", "Не нашёл")
    assert "📝 Новый договор" in none.button_texts
    found = await say(viza, manager, "клиника", STORE_FOUND)  # typing again searches again
    label = f"{number} · ООО «Клиника» · до 31.12.{year}"
    assert found.button_texts[0] == label, found.button_texts
    ask_year = await tap(viza, manager, found, label, "На какой год")
    assert {f"{year} — этот год", f"{year + 1} — следующий год"} <= set(ask_year.button_texts)

    picked = await manager.tap(ask_year, text=f"{year + 1} — следующий год")
    await after(viza, manager, picked, f"на {year + 1} год готов")
    card = await viza.tg.wait_for(lambda: next((m for m in manager.chat.bot_messages
                                                if m.seq > picked.seq and SUBMIT in m.button_texts), None),
                                  message=f"no draft card\n{viza.tg.dump()}")
    files = [m for m in documents(manager) if m.seq > picked.seq]
    assert sorted(f.document.file_name.rsplit(".", 1)[1] for f in files) == ["docx", "pdf"]
    assert all(f.seq < card.seq for f in files)
    assert "Черновик" in card.text and "ООО «Клиника», ИНН " + inn(77) in card.text
    assert rub("120 000,00") in card.text and "Версия 1:" in card.text
    assert {"✏️ Изменить", "📎 Новая версия", SUBMIT} <= set(card.button_texts)

    # Nothing is sent before the person's tap.
    async with viza.db.session() as session:
        new_id = await session.scalar(select(func.max(PaymentRequest.id)).where(PaymentRequest.kind == "contract"))
        request, contract = await session.get(PaymentRequest, new_id), await session.get(Contract, new_id)
    assert new_id != source_id and request.status == "draft"
    assert contract.based_on_id == source_id and contract.annual
    assert (contract.valid_from, contract.valid_until) == (date(year + 1, 1, 1), date(year + 1, 12, 31))
    assert request.amount == 120_000_00 and request.initiator_id == viza.company.people["manager"].id

    submitted = await manager.tap(card, text=SUBMIT)
    assert await submitted.wait() == "Отправлено на согласование 📤"
    accountant_card = await card_of(viza, "accountant")
    assert request.number in accountant_card.text and "На согласовании" in accountant_card.text
    assert documents(viza["accountant"])[-1].document.file_name.endswith(".docx")
    async with viza.db.session() as session:
        assert (await session.get(PaymentRequest, new_id)).status == "pending"

    # The same year again: refused in words, the year stays asked.
    found = await say(viza, manager, "/contract", ASK_CLIENT_TYPE)
    found = await tap(viza, manager, found, FROM_STORE, ASK_STORE)
    found = await say(viza, manager, inn(77), STORE_FOUND)  # by INN too
    ask_year = await tap(viza, manager, found, label, "На какой год")
    again = await manager.tap(ask_year, text=f"{year + 1} — следующий год")
    assert f"договор на {year + 1} год по этому договору уже сделан" in (await again.wait() or "")
    async with viza.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Contract).where(
            Contract.based_on_id == source_id)) == 1


async def test_nothing_in_the_store_leads_to_a_new_contract(viza: Viza):
    await viza.bind("manager")
    manager = viza["manager"]
    await open_store(viza)
    none = await say(viza, manager, "клиника", "Не нашёл")
    ask = await tap(viza, manager, none, "📝 Новый договор", ASK_CLIENT_TYPE)
    assert FROM_STORE not in ask.button_texts  # offered once
    await tap(viza, manager, ask, "Компания", ASK_INN)


# --- lines from the 1C catalogue ---------------------------------------------------------------------------

PAPER = "Бумага офисная А4"
PEN = "Ручка шариковая синяя"


async def catalogue(viza: Viza) -> dict[str, int]:
    async with viza.db.session() as session:
        items = [
            CatalogueItem(onec_ref="00000000-0000-0000-0000-000000000001", code="00-001", name=PAPER,
                          name_lc=PAPER.lower(), unit="пач", is_service=False, vat_rate=22, price=450_00,
                          group_code="G1"),
            CatalogueItem(onec_ref="00000000-0000-0000-0000-000000000002", code="00-002", name=PEN,
                          name_lc=PEN.lower(), unit="шт", is_service=False, vat_rate=22, price=None,
                          group_code="G2"),
            CatalogueItem(onec_ref="00000000-0000-0000-0000-000000000003", code="00-003", name="Бумага старая",
                          name_lc="бумага старая", unit="пач", vat_rate=22, price=100_00, group_code="G1",
                          deleted=True),
        ]
        session.add_all(items)
        await session.commit()
        return {item.name: item.id for item in items}


async def up_to_amount(viza: Viza, who: str = "manager"):
    user = viza[who]
    ask = await say(viza, user, "/contract", ASK_CLIENT_TYPE)
    await tap(viza, user, ask, "Компания", ASK_INN)
    await say(viza, user, inn(900), ASK_NAME)
    await say(viza, user, "ООО «Клиент»", ASK_SUBJECT)
    return await say(viza, user, "Поставка канцелярских товаров", ASK_AMOUNT)


async def pick_line(viza: Viza, ask, word: str, label: str, quantity: str, *, price: str | None = None,
                    onec_price: str | None = None):
    """From a message with 🛒 or ➕: search ``word``, pick ``label``, the quantity, then the price
    typed or the 1C one; returns the "added" message."""
    manager = viza["manager"]
    button = next(b for b in ask.button_texts if b in (FROM_CATALOGUE, "➕ Ещё позиция"))
    await tap(viza, manager, ask, button, ASK_ITEM)
    found = await say(viza, manager, word, ITEMS_FOUND)
    assert label in found.button_texts, found.button_texts
    await tap(viza, manager, found, label, "сколько")
    ask_price = await say(viza, manager, quantity, "Цена за")
    if onec_price is not None:
        return await tap(viza, manager, ask_price, f"по цене 1С: {onec_price}", ADDED)
    assert not any(b.startswith("по цене 1С") for b in ask_price.button_texts)
    return await say(viza, manager, price, ADDED)


async def test_contract_lines_from_the_catalogue(viza: Viza):
    ids = await catalogue(viza)
    await viza.bind("manager", "accountant")
    manager = viza["manager"]
    ask_amount = await up_to_amount(viza)
    assert FROM_CATALOGUE in ask_amount.button_texts and "Без суммы" in ask_amount.button_texts

    await tap(viza, manager, ask_amount, FROM_CATALOGUE, ASK_ITEM)
    found = await say(viza, manager, "бумага", ITEMS_FOUND)
    assert found.button_texts[0] == f"{PAPER} · пач · {rub('450,00')}"
    assert not any("старая" in b for b in found.button_texts)  # deleted in 1C: not offered
    await tap(viza, manager, found, found.button_texts[0], "сколько")
    refused = await say(viza, manager, "два", "Количество")
    assert "не похоже на количество" in refused.text, refused.text
    ask_price = await say(viza, manager, "2", "Цена за пач")
    added = await tap(viza, manager, ask_price, f"по цене 1С: {rub('450,00')}", ADDED)
    assert f"1. {PAPER} × 2 пач × {rub('450,00')} = {rub('900,00')}" in added.text
    assert {"➕ Ещё позиция", "✅ Готово"} <= set(added.button_texts)

    added = await pick_line(viza, added, "ручка", f"{PEN} · шт", "2,5", price="120 руб.")
    assert f"Итого по позициям: {rub('1 200,00')}" in added.text
    ask_deal = await tap(viza, manager, added, "✅ Готово", ASK_DEAL)
    await tap(viza, manager, ask_deal, "Без сделки", ASK_FILE)
    summary = await after(viza, manager, await send_docx(manager, "Договор поставки.docx"), SUMMARY)
    for shown in (f"Сумма: {rub('1 200,00')}", "Позиции:",
                  f"1. {PAPER} × 2 пач × {rub('450,00')} = {rub('900,00')}",
                  f"2. {PEN} × 2,5 шт × {rub('120,00')} = {rub('300,00')}"):
        assert shown in summary.text, (shown, summary.text)

    await tap(viza, manager, summary, SUBMIT, "отправлен на согласование")
    async with viza.db.session() as session:
        request = await session.scalar(select(PaymentRequest).where(PaymentRequest.kind == "contract"))
        contract = await session.get(Contract, request.id)
    assert (request.status, request.amount) == ("pending", 1_200_00)
    assert [(line["catalogue_item_id"], line["name"], line["quantity"], line["unit"], line["price"], line["amount"])
            for line in contract.lines] == [(ids[PAPER], PAPER, "2", "пач", 450_00, 900_00),
                                            (ids[PEN], PEN, "2.5", "шт", 120_00, 300_00)]
    assert await card_of(viza, "accountant")


async def test_a_line_the_entity_does_not_sell_is_refused_by_name_and_the_lines_restart(viza: Viza):
    await catalogue(viza)
    await viza.bind("manager")
    manager = viza["manager"]
    ask_amount = await up_to_amount(viza)
    added = await pick_line(viza, ask_amount, "бумага", f"{PAPER} · пач · {rub('450,00')}", "1",
                            onec_price=rub("450,00"))
    added = await pick_line(viza, added, "ручка", f"{PEN} · шт", "3", price="100")
    ask_deal = await tap(viza, manager, added, "✅ Готово", ASK_DEAL)
    await tap(viza, manager, ask_deal, "Без сделки", ASK_FILE)
    summary = await after(viza, manager, await send_docx(manager, "Договор.docx"), SUMMARY)
    assert f"Сумма: {rub('750,00')}" in summary.text

    # Meanwhile our legal entity sells only the paper's group: Submit is refused naming the pen.
    async with viza.db.session() as session:
        entity = await session.get(LegalEntity, viza.company.legal_entity.id)
        entity.catalogue_groups = ["G1"]
        await session.commit()
    refused = await tap(viza, manager, summary, SUBMIT, "Договор не отправлен")
    assert f"Позиция 2 «{PEN}»" in refused.text and "не продаётся от имени ООО «Ромашка»" in refused.text, refused.text
    assert PAPER not in refused.text
    async with viza.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(PaymentRequest)) == 0

    # Editing the amount: the lines can be picked afresh, or a sum typed instead.
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сумма" in summary.button_texts)
    ask = await tap(viza, manager, summary, "Сумма", "Сейчас сумма — итог позиций")
    ask = await tap(viza, manager, ask, FROM_CATALOGUE, ASK_ITEM)
    await say(viza, manager, "ручка", "ничего не нашлось")  # outside the entity's groups: not offered now
    ask = await tap(viza, manager, ask, "✍️ Ввести сумму", ASK_AMOUNT)
    summary = await say(viza, manager, "5 000", SUMMARY)
    assert f"Сумма: {rub('5 000,00')}" in summary.text and "Позиции:" not in summary.text

    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сумма" in summary.button_texts)
    ask = await tap(viza, manager, summary, "Сумма", ASK_AMOUNT)
    added = await pick_line(viza, ask, "А4", f"{PAPER} · пач · {rub('450,00')}", "3", onec_price=rub("450,00"))
    summary = await tap(viza, manager, added, "✅ Готово", SUMMARY)  # back to the summary, the rest kept
    assert f"Сумма: {rub('1 350,00')}" in summary.text and PEN not in summary.text and "Договор.docx" in summary.text
    await tap(viza, manager, summary, SUBMIT, "отправлен на согласование")
    async with viza.db.session() as session:
        request = await session.scalar(select(PaymentRequest).where(PaymentRequest.kind == "contract"))
        contract = await session.get(Contract, request.id)
    assert request.amount == 1_350_00 and [(line["name"], line["quantity"]) for line in contract.lines] == [(PAPER, "3")]


async def test_no_catalogue_no_lines_button(viza: Viza):
    await viza.bind("manager")
    ask_amount = await up_to_amount(viza)
    assert FROM_CATALOGUE not in ask_amount.button_texts


async def test_a_renewed_contract_with_lines_is_corrected_by_picking_the_lines_again(viza: Viza):
    from backend.services.catalogue import LineIn

    ids = await catalogue(viza)
    await give_print_details(viza.db, viza.company)
    company, year = viza.company, today().year
    async with viza.db.session() as session:
        fields = ContractFields(
            legal_entity_id=company.legal_entity.id, client_name="ООО «Клиника»", client_inn=inn(77),
            subject="Поставка бумаги", annual=True, valid_from=date(year, 1, 1), valid_until=date(year, 12, 31),
            lines=[LineIn(catalogue_item_id=ids[PAPER], quantity="10", price="400")])
        request = await create_contract(session, FileStore(viza.settings.files_dir), company.actor("manager"), fields,
                                        file=("Договор.docx", docx_bytes("Договор")))
        await act(session, company.actor("manager"), request.id, Action.SUBMIT)
        await act(session, company.actor("accountant"), request.id, Action.APPROVE)
        await session.commit()
    await viza.bind("manager")
    manager = viza["manager"]
    await open_store(viza)
    found = await say(viza, manager, "клиника", STORE_FOUND)
    ask_year = await tap(viza, manager, found, found.button_texts[0], "На какой год")
    picked = await manager.tap(ask_year, text=f"{year} — этот год")
    card = await viza.tg.wait_for(lambda: next((m for m in manager.chat.bot_messages
                                                if m.seq > picked.seq and SUBMIT in m.button_texts), None))
    assert rub("4 000,00") in card.text

    summary = await tap(viza, manager, card, "✏️ Изменить", "Исправление договора")
    assert f"1. {PAPER} × 10 пач × {rub('400,00')} = {rub('4 000,00')}" in summary.text
    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сумма" in summary.button_texts)
    ask = await tap(viza, manager, summary, "Сумма", "итог его позиций")
    assert "Без суммы" not in ask.button_texts
    await say(viza, manager, "5000", "считается по позициям")  # the core cannot drop a contract's lines
    added = await pick_line(viza, ask, "бумага", f"{PAPER} · пач · {rub('450,00')}", "12", onec_price=rub("450,00"))
    summary = await tap(viza, manager, added, "✅ Готово", "Исправление договора")
    assert f"1. {PAPER} × 12 пач × {rub('450,00')} = {rub('5 400,00')}" in summary.text
    await tap(viza, manager, summary, SUBMIT, "отправлен на согласование")
    async with viza.db.session() as session:
        new_id = await session.scalar(select(func.max(PaymentRequest.id)))
        request, contract = await session.get(PaymentRequest, new_id), await session.get(Contract, new_id)
    assert (request.status, request.amount) == ("pending", 5_400_00)
    assert [(line["quantity"], line["price"]) for line in contract.lines] == [("12", 450_00)]
