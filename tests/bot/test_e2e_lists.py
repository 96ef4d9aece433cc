"""Lists in chat: /my with pages, /inbox with approving several at once, the accountant's /pay
queue by pay-by date; and the card's Closing documents, Add approver and Files buttons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.models import HistoryEvent, PaymentRequest
from backend.services.attachments import FileStore, attach
from backend.services.payment_requests import act
from backend.workflows.lifecycle import Action
from bot.keyboards.callbacks import PageCb, RequestCb
from sandbox.telegram import FakeUser, MessageRecord, SentUpdate
from tests.bot.conftest import Viza, card_of, submitted_request, texts_of
from tests.factories import new_request, today

MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def act_as(viza: Viza, who: str, request_id: int, action: Action, **data) -> None:
    async with viza.db.session() as session:
        await act(session, viza.company.actor(who), request_id, action, **data)
        await session.commit()


async def approved_request(viza: Viza, **overrides) -> int:
    request_id = await submitted_request(viza, **overrides)
    await act_as(viza, "north_head", request_id, Action.APPROVE)
    await act_as(viza, "cfo", request_id, Action.APPROVE)
    return request_id


async def load(viza: Viza, request_id: int) -> PaymentRequest:
    async with viza.db.session() as session:
        return await session.get(PaymentRequest, request_id)


async def events(viza: Viza, request_id: int, action: str) -> list[HistoryEvent]:
    async with viza.db.session() as session:
        return list(await session.scalars(select(HistoryEvent).where(
            HistoryEvent.request_id == request_id, HistoryEvent.action == action).order_by(HistoryEvent.id)))


async def reply(viza: Viza, user: FakeUser, since: SentUpdate, expected: str) -> MessageRecord:
    return await viza.tg.wait_for(
        lambda: next((m for m in user.chat.bot_messages if m.seq > since.seq and expected in (m.text or "")), None),
        message=f"no reply with {expected!r}")


def lines_of(message: MessageRecord) -> list[str]:
    """The request lines of a list message (each starts with its /r command)."""
    return [line for line in (message.text or "").splitlines() if line.startswith("/r")]


def ids_in(message: MessageRecord) -> list[int]:
    return [int(line.split(" ", 1)[0][2:]) for line in lines_of(message)]


# --- /my -------------------------------------------------------------------------------------------

async def test_my_lists_own_requests_with_statuses_and_pages(viza: Viza):
    await viza.bind("manager")
    ids = [await new_request(viza.db, viza.company, amount=f"{1000 + i}.00") for i in range(10)]
    for request_id in ids[-2:]:
        await act_as(viza, "manager", request_id, Action.SUBMIT)
    await new_request(viza.db, viza.company, "manager2")  # someone else's: never listed
    manager = viza["manager"]

    sent = await manager.send("/my")
    page = await reply(viza, manager, sent, "Мои заявки (10)")
    assert ids_in(page) == ids[::-1][:8], "newest first, eight to a page"
    assert all("На согласовании" in line for line in lines_of(page)[:2])
    assert all("Черновик" in line for line in lines_of(page)[2:])
    assert "1\u00a0009,00\u00a0₽" in lines_of(page)[0]
    assert page.button_texts == ["1/2", "»"]

    forward = await manager.tap(page, text="»")
    await forward.wait()
    await viza.tg.wait_for(lambda: ids_in(page) == ids[1::-1])
    assert page.button_texts == ["«", "2/2"] and "Мои заявки (10)" in page.text

    back = await manager.tap(page, text="«")
    await back.wait()
    await viza.tg.wait_for(lambda: ids_in(page) == ids[::-1][:8])
    assert page.button_texts == ["1/2", "»"]
    same = await manager.tap(page, text="1/2")  # the page it shows: answered, nothing to change
    await same.wait()


# --- /inbox ------------------------------------------------------------------------------------------

async def test_inbox_approves_the_selected_ones_each_on_its_own(viza: Viza):
    await viza.bind("north_head")
    first, second, third = [await submitted_request(viza, amount=f"{n}000.00") for n in (1, 2, 3)]
    head = viza["north_head"]
    await viza.tg.wait_for(lambda: len([m for m in head.chat.bot_messages if m.buttons]) == 3)

    sent = await head.send("/inbox")
    inbox = await reply(viza, head, sent, "Ждут вашего решения (3)")
    assert ids_in(inbox) == [first, second, third], "oldest first"
    assert [b[:1] for b in inbox.button_texts] == ["☐", "☐", "☐"]
    numbers = {r: (await load(viza, r)).number for r in (first, second, third)}

    await (await head.tap(inbox, text=f"☐ {numbers[first]} · 1\u00a0000,00\u00a0₽")).wait()
    await viza.tg.wait_for(lambda: f"☑ {numbers[first]} · 1\u00a0000,00\u00a0₽" in inbox.button_texts)
    await (await head.tap(inbox, text=f"☐ {numbers[second]} · 2\u00a0000,00\u00a0₽")).wait()
    await viza.tg.wait_for(lambda: "✅ Согласовать выбранные (2)" in inbox.button_texts)
    assert await events(viza, first, "approve") == [], "selecting decides nothing"

    ask = await head.tap(inbox, text="✅ Согласовать выбранные (2)")
    confirm = await reply(viza, head, ask, "Согласовать 2 заявк(и) на 3\u00a0000,00\u00a0₽?")
    assert numbers[first] in confirm.text and numbers[second] in confirm.text and numbers[third] not in confirm.text
    yes = await head.tap(confirm, text="✅ Да, согласовать")
    done = await reply(viza, head, yes, "Готово:")
    assert f"✅ {numbers[first]}" in done.text and f"✅ {numbers[second]}" in done.text
    assert numbers[third] not in done.text

    approvals = [await events(viza, r, "approve") for r in (first, second, third)]
    assert [len(a) for a in approvals] == [1, 1, 0]
    assert approvals[0][0].id != approvals[1][0].id
    assert all(a[0].actor_id == viza.company.people["north_head"].id for a in approvals[:2])
    assert [(await load(viza, r)).current_stage for r in (first, second, third)] == [2, 2, 1]
    # The confirmation is spent; the list shows what still waits.
    await viza.tg.wait_for(lambda: not confirm.buttons)
    sent = await head.send("/inbox")
    again = await reply(viza, head, sent, "Ждут вашего решения (1)")
    assert ids_in(again) == [third]


async def test_inbox_reports_selected_requests_that_changed_meanwhile(viza: Viza):
    await viza.bind("north_head")
    first, second, third = [await submitted_request(viza, amount=f"{n}00.00") for n in (1, 2, 3)]
    numbers = {r: (await load(viza, r)).number for r in (first, second, third)}
    head = viza["north_head"]
    sent = await head.send("/inbox")
    inbox = await reply(viza, head, sent, "Ждут вашего решения (3)")
    for row in list(inbox.buttons[:3]):
        text = row[0][0]
        await (await head.tap(inbox, text=text)).wait()
        await viza.tg.wait_for(lambda text=text: "☑" + text[1:] in inbox.button_texts)
    ask = await head.tap(inbox, text="✅ Согласовать выбранные (3)")
    confirm = await reply(viza, head, ask, "Согласовать 3")

    # Meanwhile the first is approved from its card, and the second is withdrawn by its author.
    card = await viza.tg.wait_for(lambda: next((m for m in head.chat.bot_messages if numbers[first] in (m.text or "")
                                                and "✅ Согласовать" in m.button_texts), None))
    assert await (await head.tap(card, text="✅ Согласовать")).wait() == "Согласовано ✅"
    await act_as(viza, "manager", second, Action.CANCEL)

    yes = await head.tap(confirm, text="✅ Да, согласовать")
    done = await reply(viza, head, yes, "Готово:")
    report = done.text.splitlines()
    assert report[1].startswith(f"▫️ {numbers[first]}") and "ничего не изменилось" in report[1], report
    assert report[2].startswith(f"⚠️ {numbers[second]}"), report
    assert report[3] == f"✅ {numbers[third]}", report
    assert [len(await events(viza, r, "approve")) for r in (first, second, third)] == [1, 0, 1]
    assert [(await load(viza, r)).status for r in (first, second, third)] == ["pending", "cancelled", "pending"]
    assert (await load(viza, first)).current_stage == 2, "approved once, not twice"


# --- /pay ----------------------------------------------------------------------------------------------

async def test_pay_queue_by_pay_by_date_for_the_accountant_only(viza: Viza):
    await viza.bind("accountant", "manager")
    due_today = await approved_request(viza, pay_by=today(), amount="100.00")
    this_week = await approved_request(viza, pay_by=today() + timedelta(days=3), amount="200.00")
    later = await approved_request(viza, pay_by=today() + timedelta(days=30), amount="300.00")
    overdue = await approved_request(viza, pay_by=today() + timedelta(days=1), amount="400.00")
    pending = await submitted_request(viza, pay_by=today(), amount="500.00")  # not approved yet: not queued
    async with viza.db.session() as session:
        (await session.get(PaymentRequest, overdue)).pay_by = today() - timedelta(days=2)
        await session.commit()
    accountant = viza["accountant"]

    sent = await accountant.send("/pay")
    queue = await reply(viza, accountant, sent, "К оплате — Сегодня (1)")
    assert ids_in(queue) == [due_today]
    assert queue.button_texts[:4] == ["• Сегодня", "Неделя", "Просрочено", "Все"]

    for tab, title, expected in (("Неделя", "Неделя (2)", [due_today, this_week]),
                                 ("Просрочено", "Просрочено (1)", [overdue]),
                                 ("Все", "Все (4)", [overdue, due_today, this_week, later])):
        await (await accountant.tap(queue, text=tab)).wait()
        await viza.tg.wait_for(lambda title=title: f"К оплате — {title}" in queue.text)
        assert ids_in(queue) == expected, (tab, queue.text)
        assert f"• {tab}" in queue.button_texts
    assert pending not in ids_in(queue)

    manager = viza["manager"]
    sent = await manager.send("/pay")
    refusal = await reply(viza, manager, sent, "только бухгалтерия")
    assert not refusal.buttons
    forged = await manager.tap(refusal, data=PageCb(list="pay-all", page=0).pack(), forged=True)
    assert "только бухгалтерия" in (await forged.wait())
    assert "К оплате" not in texts_of(viza, "manager")


# --- card buttons ---------------------------------------------------------------------------------------

async def test_closing_documents_close_a_paid_request(viza: Viza):
    await viza.bind("accountant", "manager")
    request_id = await approved_request(viza)
    await act_as(viza, "accountant", request_id, Action.MARK_PAID, paid_on=today())
    accountant = viza["accountant"]
    sent = await accountant.send(f"/r{request_id}")
    card = await reply(viza, accountant, sent, "Оплачен")
    close = next(d for t, d in (b for row in card.buttons for b in row) if t == "📑 Закрывающие получены")
    tap = await accountant.tap(card, data=close)
    assert await tap.wait() == "Отмечено: закрывающие документы получены 📑"
    await viza.tg.wait_for(lambda: not card.buttons and "Закрыт" in card.text)
    assert (await load(viza, request_id)).status == "closed"
    await viza.tg.wait_for(lambda: "закрывающие документы получены, заявка закрыта" in texts_of(viza, "manager"))

    again = await accountant.tap(card, data=close, forged=True)  # the same button once more
    assert "недоступно" in await again.wait()
    assert len(await events(viza, request_id, "close")) == 1


async def test_add_approver_from_the_card_gives_them_a_card(viza: Viza):
    await viza.bind("north_head", "head")
    request_id = await submitted_request(viza)
    head_of_north, sales_head = viza["north_head"], viza["head"]
    card = await card_of(viza, "north_head")
    tap = await head_of_north.tap(card, text="➕ Согласующий")
    await reply(viza, head_of_north, tap, "Кого добавить согласующим?")
    sent = await head_of_north.send("Зззз")
    await reply(viza, head_of_north, sent, "Никого не нашёл")
    sent = await head_of_north.send("петров")
    pick = await reply(viza, head_of_north, sent, "Выберите сотрудника")
    assert pick.button_texts == ["Петров П.П.", "Отмена"]
    chosen = await head_of_north.tap(pick, text="Петров П.П.")
    assert await chosen.wait() == "Согласующий добавлен ➕"
    await viza.tg.wait_for(lambda: not pick.buttons)

    new_card = await card_of(viza, "head")
    assert (await load(viza, request_id)).number in new_card.text and "Петров П.П." in new_card.text
    added = await events(viza, request_id, "add_approver")
    assert len(added) == 1 and added[0].actor_id == viza.company.people["north_head"].id
    assert await (await sales_head.tap(new_card, text="✅ Согласовать")).wait() == "Согласовано ✅"


async def test_files_button_sends_the_invoice(viza: Viza):
    request_id = await new_request(viza.db, viza.company)
    async with viza.db.session() as session:
        request = await session.get(PaymentRequest, request_id)
        await attach(session, FileStore(viza.settings.files_dir), viza.company.actor("manager"), request,
                     kind="invoice", filename="счёт-15.pdf", content=MINIMAL_PDF, max_bytes=10 * 1024 * 1024)
        await act(session, viza.company.actor("manager"), request_id, Action.SUBMIT)
        await session.commit()
    await viza.bind("north_head", "outsider")
    head = viza["north_head"]
    card = await card_of(viza, "north_head", button="📎 Файлы")
    assert "счёт-15.pdf" in card.text

    tap = await head.tap(card, text="📎 Файлы")
    await tap.wait()
    sent = await viza.tg.wait_for(lambda: next((m for m in head.chat.bot_messages
                                                if m.seq > tap.seq and m.document is not None), None))
    assert sent.caption == "Счёт" and sent.document.file_name == "счёт-15.pdf"
    assert viza.tg.download(sent.document.file_id) == MINIMAL_PDF

    # Someone who may not see the request replays the button: no file reaches her.
    outsider = viza["outsider"]
    files = next(d for t, d in (b for row in card.buttons for b in row) if t == "📎 Файлы")
    outsider.chat.messages.append(card)
    forged = await outsider.tap(card, data=files, forged=True)
    assert "не найдена" in await forged.wait()
    await viza.tg.idle(quiet=0.05)
    assert not any(m.document for m in outsider.chat.bot_messages)
    assert RequestCb.unpack(files).id == request_id


async def test_a_handler_that_fails_tells_the_person_and_the_bot_goes_on(viza: Viza, monkeypatch, caplog):
    """A bug in a handler: the person hears that it failed (not silence), the log has it, and the
    next message is answered as usual."""
    import bot.handlers.lists as lists

    await viza.bind("manager")
    manager = viza["manager"]

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug in /my")

    monkeypatch.setattr(lists, "render_my", broken)
    sent = await manager.send("/my")
    reply = await manager.wait_bot_message(since=sent)
    assert "Внутренняя ошибка" in reply.text
    assert any("a bug in /my" in (r.exc_text or "") or "a bug in /my" in str(r.exc_info) for r in caplog.records)
    monkeypatch.undo()
    sent = await manager.send("/my")
    assert "Внутренняя ошибка" not in (await manager.wait_bot_message(since=sent)).text
