"""/vacation: an approver names a deputy in chat; what waits for them moves to the deputy at once,
the deputy approves "for" them, and cancelling gives it back. Bad dates and deputies are named."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.models import ApprovalTask, Delegation, Employee, HistoryEvent
from backend.services.company.delegations import DelegationFields, create_delegation
from backend.services.transactions import in_transaction
from bot.handlers.vacation import VacationCb
from bot.keyboards.callbacks import CalendarCb
from tests.bot.conftest import Viza, card_of, say, submitted_request, texts_of
from tests.factories import today


def ru(day) -> str:
    return day.strftime("%d.%m.%Y")


async def holder(viza: Viza, request_id: int) -> int:
    async with viza.db.session() as session:
        return await session.scalar(select(ApprovalTask.assignee_id).where(
            ApprovalTask.request_id == request_id, ApprovalTask.status == "pending"))


async def open_new(viza: Viza, who: str):
    """/vacation, then New: the start-date calendar."""
    listing = await say(viza, who, "/vacation", "Замещение на время отсутствия")
    before = len(viza[who].chat.bot_messages)
    await (await viza[who].tap(listing, text="➕ Новое замещение")).wait()
    return await viza.tg.wait_for(lambda: next((m for m in viza[who].chat.bot_messages[before:]
                                                 if "С какого дня" in (m.text or "")), None))


async def delegate_in_core(viza: Viza, who: str, deputy: str, *, starts: int = 0, days: int = 7):
    fields = DelegationFields(deputy_id=viza.company.people[deputy].id, starts_on=today() + timedelta(days=starts),
                              ends_on=today() + timedelta(days=starts + days))
    return await in_transaction(viza.db, lambda s: create_delegation(s, viza.company.actor(who), fields))


async def test_a_waiting_approval_moves_to_the_deputy_who_approves_for_the_approver(viza: Viza):
    await viza.bind("manager", "north_head", "deputy", "cfo")
    request_id = await submitted_request(viza)
    await card_of(viza, "north_head")
    head = viza["north_head"]

    calendar = await open_new(viza, "north_head")
    await head.tap(calendar, data=CalendarCb(act="day", value=today().strftime("%Y%m%d")).pack())
    await viza.tg.wait_for(lambda: f"→ {ru(today())}" in (calendar.text or ""))
    await say(viza, "north_head", ru(today() + timedelta(days=3)), "Кто будет согласовывать за вас")
    picks = await say(viza, "north_head", "орлов", "Выберите заместителя")
    assert picks.button_texts == ["Орлова О.О.", "Отмена"]
    await head.tap(picks, text="Орлова О.О.")
    summary = await viza.tg.wait_for(lambda: next((m for m in head.chat.bot_messages
                                                   if (m.text or "").startswith("Проверьте")), None))
    assert f"с {ru(today())} по {ru(today() + timedelta(days=3))}" in summary.text and "Орлова О.О." in summary.text
    await head.tap(summary, text="✅ Подтвердить")
    await viza.tg.wait_for(lambda: "Готово" in (head.last_bot_message.text or ""))

    # The deputy gets the card at once, and approves for the head of department.
    card = await card_of(viza, "deputy")
    assert "Орлова О.О. (за Сидоров С.С.)" in card.text
    assert await holder(viza, request_id) == viza.company.people["deputy"].id
    await viza["deputy"].tap(card, text="✅ Согласовать")
    await viza.tg.wait_for(lambda: "Орлова О.О. (за Сидоров С.С.) — согласовано" in texts_of(viza, "manager"))
    await card_of(viza, "cfo")  # the next stage goes on as usual
    async with viza.db.session() as session:
        actions = list(await session.scalars(select(HistoryEvent.action).where(
            HistoryEvent.request_id == request_id).order_by(HistoryEvent.id)))
    assert actions == ["create", "submit", "delegate", "approve"]

    listing = await say(viza, "north_head", "/vacation", "Замещение на время отсутствия")
    assert "за вас согласует Орлова О.О. (действует сейчас)" in listing.text
    covering = await say(viza, "deputy", "/vacation", "Замещение на время отсутствия")
    assert f"Вы замещаете:\n• Сидоров С.С.: {ru(today())} – {ru(today() + timedelta(days=3))}" in covering.text


async def test_cancelling_in_chat_gives_the_approval_back(viza: Viza):
    await viza.bind("manager", "north_head", "deputy")
    request_id = await submitted_request(viza)
    await card_of(viza, "north_head")
    await delegate_in_core(viza, "north_head", "deputy")
    deputy_card = await card_of(viza, "deputy")
    head = viza["north_head"]
    cards_before = len([m for m in head.chat.bot_messages if "✅ Согласовать" in m.button_texts])

    listing = await say(viza, "north_head", "/vacation", "Замещение на время отсутствия")
    cancel = next(text for text in listing.button_texts if text.startswith("🚫 Отменить"))
    assert cancel == f"🚫 Отменить {ru(today())} – {ru(today() + timedelta(days=7))}"
    tap = await head.tap(listing, text=cancel)
    assert await tap.wait() == "Замещение отменено — согласования снова приходят вам."
    await viza.tg.wait_for(lambda: "Замещений нет" in (listing.text or ""))

    # A fresh card for the approver; the deputy's loses its buttons.
    await viza.tg.wait_for(lambda: len([m for m in head.chat.bot_messages
                                        if "✅ Согласовать" in m.button_texts]) == cards_before + 1)
    await viza.tg.wait_for(lambda: "✅ Согласовать" not in deputy_card.button_texts)
    assert await holder(viza, request_id) == viza.company.people["north_head"].id


async def test_bad_dates_and_deputies_are_named(viza: Viza):
    await viza.bind("north_head")
    head = viza["north_head"]
    first = await open_new(viza, "north_head")
    await say(viza, "north_head", "когда-нибудь", "Дата начала: не понял дату")
    await say(viza, "north_head", ru(today() + timedelta(days=5)), "По какой день")
    old = await head.tap(first, data=CalendarCb(act="day", value=today().strftime("%Y%m%d")).pack())
    assert await old.wait() == "Эта кнопка уже неактуальна."  # the start is typed: not taken for the end
    await say(viza, "north_head", ru(today() + timedelta(days=2)),
              f"Дата окончания: дата окончания раньше даты начала ({ru(today() + timedelta(days=5))})")

    await open_new(viza, "north_head")  # started last week, ended yesterday: already over
    await say(viza, "north_head", ru(today() - timedelta(days=7)), "По какой день")
    await say(viza, "north_head", ru(today() - timedelta(days=1)), "Дата окончания: период уже закончился")

    planned = await delegate_in_core(viza, "north_head", "deputy", starts=10, days=5)
    await open_new(viza, "north_head")
    await say(viza, "north_head", ru(today() + timedelta(days=12)), "По какой день")
    await say(viza, "north_head", ru(today() + timedelta(days=20)), f"уже назначено замещение (№ {planned.id})")

    # Dates that fit, then deputies the list never offers (an old or forged button).
    await open_new(viza, "north_head")
    await say(viza, "north_head", ru(today() + timedelta(days=1)), "По какой день")
    await say(viza, "north_head", ru(today() + timedelta(days=3)), "Кто будет согласовывать за вас")
    await say(viza, "north_head", "Несуществующий", "Никого не нашёл")
    picks = await say(viza, "north_head", "Сидор", "Никого не нашёл")  # only himself: not offered
    myself = await head.tap(picks, data=VacationCb(act="deputy", id=viza.company.people["north_head"].id).pack(),
                            forged=True)
    assert "заместителем не может быть тот же сотрудник" in await myself.wait()
    async with viza.db.session() as session:
        gone = Employee(full_name="Уволенный У.У.", roles=["approver"], active=False)
        session.add(gone)
        await session.commit()
    inactive = await head.tap(picks, data=VacationCb(act="deputy", id=gone.id).pack(), forged=True)
    assert "«Уволенный У.У.» отключён" in await inactive.wait()
    async with viza.db.session() as session:
        assert [d.id for d in await session.scalars(select(Delegation))] == [planned.id]
