"""The new-request dialog in chat: every bad answer is named and the same question stays open; the
dialog goes on after a good answer; /cancel leaves nothing behind; the summary's Edit changes one
field; a half-filled dialog survives a restart; a known INN fills the contractor in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import func, select

from backend.models import Attachment, BotState, PaymentRequest
from sandbox.telegram import FakeUser, MessageRecord, SentUpdate
from tests.bot.conftest import RestartableViza, Viza
from tests.factories import SBER_BIK, account, inn, new_request, today

MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(64) + b"\xff\xd9"

ASK_TYPE = "Какой тип?"
ASK_INN = "ИНН контрагента"
ASK_NAME = "Как он называется?"
ASK_KPP = "КПП контрагента"
ASK_BIK = "БИК банка"
ASK_ACCOUNT = "Расчётный счёт контрагента"
ASK_AMOUNT = "Сумма ("
ASK_PAY_BY = "Оплатить до какого числа?"
ASK_PURPOSE = "Назначение платежа (до 210"
ASK_FILE = "Пришлите счёт"
SUMMARY = "Проверьте заявку"
NEED_TEXT = "Здесь нужен текст"
NEED_BUTTON = "Выберите вариант кнопкой"
KNOWN_INN = inn(500)  # the contractor of tests.factories.request_fields


# --- talking ----------------------------------------------------------------------------------------

async def after(viza: Viza, user: FakeUser, since: SentUpdate, expected: str) -> MessageRecord:
    """The first message the bot sent ``user`` after ``since`` that contains ``expected``."""
    return await viza.tg.wait_for(
        lambda: next((m for m in user.chat.bot_messages if m.seq > since.seq and expected in (m.text or "")), None),
        message=f"no reply with {expected!r}")


async def say(viza: Viza, user: FakeUser, text: str, expected: str) -> MessageRecord:
    return await after(viza, user, await user.send(text), expected)


async def refused(viza: Viza, user: FakeUser, send: Callable[[], Awaitable[SentUpdate]], expected: str) -> None:
    """What ``send`` sends is answered with one message naming the problem; nothing new is asked
    and the dialog stays at the same step."""
    before = await step(viza, user)
    sent = await send()
    reply = await user.wait_bot_message(since=sent)
    assert expected in (reply.text or ""), f"{expected!r} not in {reply.text!r}"
    await viza.tg.idle(quiet=0.05)
    newer = [m.text or m.caption for m in user.chat.bot_messages if m.seq > sent.seq]
    assert newer == [reply.text], newer
    assert await step(viza, user) == before


async def wrong(viza: Viza, user: FakeUser, text: str, expected: str, *, state: str | None = None) -> None:
    if state is not None:
        assert await step(viza, user) == state
    await refused(viza, user, lambda: user.send(text), expected)


async def step(viza: Viza, user: FakeUser) -> str | None:
    """The dialog step the bot's storage holds for ``user`` (None: no dialog)."""
    async with viza.db.session() as session:
        rows = (await session.scalars(select(BotState))).all()
    return next((r.state for r in rows if f":{user.id}:{user.id}:" in r.key), None)


async def count_requests(viza: Viza) -> int:
    async with viza.db.session() as session:
        return await session.scalar(select(func.count()).select_from(PaymentRequest))


async def start_new(viza: Viza, user: FakeUser) -> MessageRecord:
    ask = await say(viza, user, "/new", ASK_TYPE)
    tap = await user.tap(ask, text="Оплата поставщику")
    return await after(viza, user, tap, ASK_INN)


async def new_contractor(viza: Viza, user: FakeUser, contractor_inn: str, *, name: str = "ООО «Новый поставщик»",
                         serial: int = 7) -> None:
    await say(viza, user, contractor_inn, ASK_NAME)
    await say(viza, user, name, ASK_KPP)
    await say(viza, user, "770201001", ASK_BIK)
    await say(viza, user, SBER_BIK, ASK_ACCOUNT)
    await say(viza, user, account(serial), ASK_AMOUNT)


async def known_contractor(viza: Viza, user: FakeUser) -> None:
    sent = await user.send(KNOWN_INN)
    await after(viza, user, sent, "Нашёл")
    await after(viza, user, sent, ASK_AMOUNT)


async def rest_of_dialog(viza: Viza, user: FakeUser, *, amount: str = "15 000,50", days: int = 10) -> MessageRecord:
    await say(viza, user, amount, ASK_PAY_BY)
    await say(viza, user, (today() + timedelta(days=days)).strftime("%d.%m.%Y"), ASK_PURPOSE)
    await say(viza, user, "Оплата по счёту № 15, в т.ч. НДС", ASK_FILE)
    return await after(viza, user, await user.send_document(MINIMAL_PDF, filename="счёт.pdf",
                                                             mime_type="application/pdf"), SUMMARY)


async def submit(viza: Viza, user: FakeUser, summary: MessageRecord) -> PaymentRequest:
    tap = await user.tap(summary, text="📤 Отправить на согласование")
    await after(viza, user, tap, "создана")
    async with viza.db.session() as session:
        return await session.scalar(select(PaymentRequest).order_by(PaymentRequest.id.desc()))


async def invoices(viza: Viza, request_id: int) -> list[tuple[str, str, str]]:
    async with viza.db.session() as session:
        rows = (await session.scalars(select(Attachment).where(Attachment.request_id == request_id))).all()
    return [(a.kind, a.content_type, a.filename) for a in rows]


# --- tests --------------------------------------------------------------------------------------------

async def test_bad_contractor_answers_are_named_and_asked_again(viza: Viza):
    await viza.bind("manager")
    manager = viza["manager"]
    ask = await say(viza, manager, "/new", ASK_TYPE)
    await wrong(viza, manager, "Оплата поставщику", NEED_BUTTON, state="NewRequest:type")  # typed, not tapped
    await refused(viza, manager, lambda: manager.send_photo(JPEG), NEED_BUTTON)
    await after(viza, manager, await manager.tap(ask, text="Оплата поставщику"), ASK_INN)

    good = inn(777)
    await wrong(viza, manager, good[:9] + str((int(good[9]) + 1) % 10), "ИНН: неверная контрольная цифра",
                state="NewRequest:inn")
    await wrong(viza, manager, "77012345", "а введено цифр: 8")
    await wrong(viza, manager, "7701234567890", "а введено цифр: 13")
    await wrong(viza, manager, "77ab123456", "только цифры")
    await refused(viza, manager, lambda: manager.send_photo(JPEG), NEED_TEXT)  # a picture where text is asked
    await say(viza, manager, good, ASK_NAME)

    await say(viza, manager, "ООО «Новый поставщик»", ASK_KPP)
    await wrong(viza, manager, "12345", "КПП: нужно 9 знаков", state="NewRequest:kpp")
    await wrong(viza, manager, "77AB01", "КПП: нужно 9 знаков")
    await say(viza, manager, "770201001", ASK_BIK)
    await wrong(viza, manager, "04452522", "БИК: нужно 9 цифр", state="NewRequest:bik")
    await wrong(viza, manager, "144525225", "БИК: нужно 9 цифр")
    await say(viza, manager, SBER_BIK, ASK_ACCOUNT)
    good_account = account(7)
    await wrong(viza, manager, "4070281", "ровно из 20 цифр", state="NewRequest:account")
    broken = good_account[:-1] + str((int(good_account[-1]) + 1) % 10)
    await wrong(viza, manager, broken, "не сходится с БИК")
    await say(viza, manager, good_account, ASK_AMOUNT)

    summary = await rest_of_dialog(viza, manager)
    request = await submit(viza, manager, summary)
    assert (request.contractor_inn, request.contractor_name, request.contractor_kpp, request.bik, request.account) == (
        good, "ООО «Новый поставщик»", "770201001", SBER_BIK, good_account)
    assert (request.amount, request.status) == (15_000_50, "pending")
    assert await step(viza, manager) is None


async def test_bad_amount_date_purpose_and_file_are_named_and_asked_again(viza: Viza):
    await new_request(viza.db, viza.company, "manager2")  # the contractor is known from here on
    await viza.bind("manager")
    manager = viza["manager"]
    await start_new(viza, manager)
    await known_contractor(viza, manager)

    for text, expected in (("abc", "Сумма: не похоже на сумму"), ("0", "больше нуля"), ("-5", "больше нуля"),
                           ("10.555", "не больше двух знаков"), ("1e9999", "слишком большая"),
                           ("100 XYZ", "Валюта: неизвестная валюта")):
        await wrong(viza, manager, text, expected, state="NewRequest:amount")
    await refused(viza, manager, lambda: manager.send_photo(JPEG), NEED_TEXT)
    await say(viza, manager, "1 500,50 ₽", ASK_PAY_BY)  # the rouble sign is understood

    await wrong(viza, manager, (today() - timedelta(days=1)).strftime("%d.%m.%Y"), "дата уже прошла",
                state="NewRequest:pay_by")
    await wrong(viza, manager, (today() + timedelta(days=400)).strftime("%d.%m.%Y"), "больше чем через год")
    await wrong(viza, manager, "32.13.2026", "не понял дату")
    await wrong(viza, manager, "в пятницу", "не понял дату")
    pay_by = today() + timedelta(days=20)
    await say(viza, manager, pay_by.strftime("%d.%m.%Y"), ASK_PURPOSE)

    await wrong(viza, manager, "Оплата " + "я" * 204, "не больше 210 знаков", state="NewRequest:purpose")
    await wrong(viza, manager, " \u00a0 ", "обязательное поле")
    await refused(viza, manager, lambda: manager.send_document(MINIMAL_PDF, filename="a.pdf"), NEED_TEXT)
    await say(viza, manager, "Оплата   по счёту № 7,\nв т.ч. НДС", ASK_FILE)

    await wrong(viza, manager, "счёт пришлю потом", "Пришлите файл счёта", state="NewRequest:file")
    await refused(viza, manager, lambda: manager.send_document(b"Invoice 15\nTotal: 1500.50 RUB\n",
                                                               filename="invoice.txt", mime_type="text/plain"),
                  "Такой файл не принимаем")
    summary = await after(viza, manager, await manager.send_photo(JPEG), SUMMARY)
    assert "1\u00a0500,50\u00a0₽" in summary.text and KNOWN_INN in summary.text and ".jpg" in summary.text
    await wrong(viza, manager, "всё верно", NEED_BUTTON, state="NewRequest:summary")

    request = await submit(viza, manager, summary)
    assert (request.amount, request.currency, request.pay_by, request.status) == (1500_50, "RUB", pay_by, "pending")
    assert request.purpose == "Оплата по счёту № 7, в т.ч. НДС"
    assert [(kind, mime) for kind, mime, _ in await invoices(viza, request.id)] == [("invoice", "image/jpeg")]


async def test_cancel_at_any_step_leaves_nothing(viza: Viza):
    await new_request(viza.db, viza.company, "manager2")  # a known contractor keeps the dialog short
    await viza.bind("manager")
    manager = viza["manager"]
    before = await count_requests(viza)

    async def cancel() -> None:
        await say(viza, manager, "/cancel", "Отменено.")
        assert await step(viza, manager) is None

    await say(viza, manager, "/new", ASK_TYPE)  # at the type buttons
    await cancel()
    await start_new(viza, manager)  # at the INN
    await cancel()
    await say(viza, manager, KNOWN_INN, "Не понял")  # the dialog is gone: an INN is just text now

    await start_new(viza, manager)
    await known_contractor(viza, manager)
    await say(viza, manager, "2500", ASK_PAY_BY)  # at the calendar
    await cancel()

    await start_new(viza, manager)
    await known_contractor(viza, manager)
    amount = manager.last_bot_message
    tap = await manager.tap(amount, text="Отмена")  # the Cancel button under a question
    assert await tap.wait() == "Отменено."
    await after(viza, manager, tap, "Отменено.")
    assert await step(viza, manager) is None

    await start_new(viza, manager)
    await known_contractor(viza, manager)
    summary = await rest_of_dialog(viza, manager)  # at the summary
    await cancel()
    stale = await manager.tap(summary, text="📤 Отправить на согласование")  # its button is dead now
    assert await stale.wait() == "Эта кнопка больше не работает."
    await say(viza, manager, "/cancel", "Сейчас нечего отменять")
    await viza.tg.idle(quiet=0.05)
    assert await count_requests(viza) == before


async def test_summary_edit_changes_one_field_and_comes_back(viza: Viza):
    await new_request(viza.db, viza.company, "manager2")
    await viza.bind("manager")
    manager = viza["manager"]
    await start_new(viza, manager)
    await known_contractor(viza, manager)
    summary = await rest_of_dialog(viza, manager, amount="15 000,50")
    assert "15\u00a0000,50\u00a0₽" in summary.text

    await manager.tap(summary, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Сумма и валюта" in summary.button_texts)
    assert summary.button_texts[:7] == ["Тип", "Плательщик", "Контрагент", "Сумма и валюта", "Срок оплаты",
                                        "Назначение", "Счёт"]
    await after(viza, manager, await manager.tap(summary, text="Сумма и валюта"), ASK_AMOUNT)
    await wrong(viza, manager, "две тысячи", "не похоже на сумму", state="NewRequest:amount")
    second = await say(viza, manager, "2 000 usd", SUMMARY)  # straight back to the summary
    assert "2\u00a0000,00\u00a0$" in second.text
    assert "счёт.pdf" in second.text and "Оплата по счёту № 15" in second.text and KNOWN_INN in second.text

    # The contractor: a new INN asks for the rest of its details, then the summary again.
    await manager.tap(second, text="✏️ Изменить")
    await viza.tg.wait_for(lambda: "Контрагент" in second.button_texts)
    await after(viza, manager, await manager.tap(second, text="Контрагент"), ASK_INN)
    other = inn(888)
    await say(viza, manager, other, ASK_NAME)
    await say(viza, manager, "ИП-шник ООО", ASK_KPP)
    await after(viza, manager, await manager.tap(manager.last_bot_message, text="Без КПП"), ASK_BIK)
    await say(viza, manager, SBER_BIK, ASK_ACCOUNT)
    third = await say(viza, manager, account(42), SUMMARY)
    assert other in third.text and "ИП-шник ООО" in third.text and "КПП —" in third.text
    assert "2\u00a0000,00\u00a0$" in third.text, "the amount changed before stays"

    request = await submit(viza, manager, third)
    assert (request.amount, request.currency) == (2000_00, "USD")
    assert (request.contractor_inn, request.contractor_name, request.contractor_kpp, request.account) == (
        other, "ИП-шник ООО", "", account(42))
    assert request.purpose == "Оплата по счёту № 15, в т.ч. НДС"


async def test_a_half_filled_dialog_survives_a_restart(restartable_viza: RestartableViza):
    viza = restartable_viza
    await viza.bind("manager")
    manager = viza["manager"]
    await start_new(viza, manager)
    good = inn(4242)
    await say(viza, manager, good, ASK_NAME)
    await say(viza, manager, "ООО «Переживший рестарт»", ASK_KPP)
    await say(viza, manager, "770201001", ASK_BIK)

    await viza.restart()
    assert await step(viza, manager) == "NewRequest:bik"
    await say(viza, manager, SBER_BIK, ASK_ACCOUNT)  # where it was, with what was said before
    await say(viza, manager, account(9), ASK_AMOUNT)
    summary = await rest_of_dialog(viza, manager, amount="777,77", days=3)
    request = await submit(viza, manager, summary)
    assert (request.contractor_inn, request.contractor_name, request.contractor_kpp, request.bik, request.account) == (
        good, "ООО «Переживший рестарт»", "770201001", SBER_BIK, account(9))
    assert (request.amount, request.currency, request.pay_by) == (777_77, "RUB", today() + timedelta(days=3))
    assert (request.purpose, request.status) == ("Оплата по счёту № 15, в т.ч. НДС", "pending")
    assert [f[2] for f in await invoices(viza, request.id)] == ["счёт.pdf"]


async def test_a_known_contractor_is_filled_in(viza: Viza):
    await viza.bind("manager")
    manager = viza["manager"]
    await start_new(viza, manager)
    fresh = inn(3131)
    await new_contractor(viza, manager, fresh, name="ООО «Постоянный»", serial=31)
    first = await submit(viza, manager, await rest_of_dialog(viza, manager))

    await start_new(viza, manager)
    sent = await manager.send(fresh)
    found = await after(viza, manager, sent, "Нашёл")
    assert "ООО «Постоянный»" in found.text and account(31) in found.text
    await after(viza, manager, sent, ASK_AMOUNT)
    asked = [m.text for m in manager.chat.bot_messages if m.seq > sent.seq]
    assert not any(q in t for t in asked for q in (ASK_NAME, ASK_KPP, ASK_BIK, ASK_ACCOUNT)), asked
    second = await submit(viza, manager, await rest_of_dialog(viza, manager, amount="10"))
    assert second.id != first.id
    assert (second.contractor_name, second.contractor_kpp, second.bik, second.account, second.counterparty_id) == (
        first.contractor_name, first.contractor_kpp, first.bik, first.account, first.counterparty_id)


async def test_answers_typed_faster_than_the_bot_replies_are_all_kept_in_order(viza):
    """Several answers sent at once reach the bot together; each is applied to the dialog in turn."""
    from tests.factories import SBER_BIK, account, inn

    await viza.bind("manager")
    manager = viza["manager"]
    await manager.send("/new")
    await manager.tap(await manager.wait_bot_message(), text="Оплата поставщику")
    await viza.tg.wait_for(lambda: "ИНН контрагента" in (manager.last_bot_message.text or ""))
    for answer in (inn(777), "ООО «Быстрый»", "770201001", SBER_BIK, account(3), "2500"):
        await manager.send(answer)  # no waiting for the replies
    await viza.tg.wait_for(lambda: "Оплатить до" in (manager.last_bot_message.text or ""), timeout=10)
    asked = [m.text.split("\n")[0] for m in manager.chat.bot_messages if m.text][-6:]
    assert asked == ["Контрагента с таким ИНН ещё нет. Как он называется?",
                     "КПП контрагента (9 знаков) — или «Без КПП»:", "БИК банка контрагента (9 цифр):",
                     "Расчётный счёт контрагента (20 цифр):",
                     "Сумма (RUB), например 125000,50. Валюту можно выбрать кнопкой или дописать: 1500 USD.",
                     "Оплатить до какого числа? Выберите день или напишите дату (28.11.2026)."], asked
