"""Scheduled notices reach people in chat: the scheduler runs at chosen moments (a controllable
clock), the running service's delivery sends what it queued through the fake Bot API."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from backend.models import RequestStage
from backend.notifications.scheduler import NotificationScheduler
from backend.notifications.working_time import WorkingCalendar
from backend.services.payment_requests import act
from backend.workflows.lifecycle import Action
from tests.bot.conftest import Viza, card_of, submitted_request, texts_of

ZONE = "Europe/Moscow"


async def stage_started(viza: Viza, request_id: int) -> tuple:
    async with viza.db.session() as session:
        stage = await session.scalar(select(RequestStage).where(RequestStage.request_id == request_id,
                                                                RequestStage.status == "active"))
        return stage.started_at, stage.sla_hours


async def test_an_overdue_approval_is_reminded_then_escalated_and_the_reminder_card_works(viza: Viza):
    await viza.bind("manager", "north_head", "head", "cfo")
    request_id = await submitted_request(viza)
    await card_of(viza, "north_head")
    started, sla = await stage_started(viza, request_id)
    calendar = WorkingCalendar.from_settings(viza.settings)
    scheduler = NotificationScheduler(viza.db, viza.settings)

    before_due = calendar.add_hours(started, sla - 1, ZONE)
    assert (await scheduler.run_once(before_due))["sla_reminders"] == 0

    due = calendar.next_working_moment(calendar.add_hours(started, sla, ZONE) + timedelta(minutes=1), ZONE)
    assert (await scheduler.run_once(due))["sla_reminders"] == 1
    assert (await scheduler.run_once(due + timedelta(minutes=1)))["sla_reminders"] == 0  # once
    head = viza["north_head"]
    await viza.tg.wait_for(lambda: "⏰ Напоминание" in texts_of(viza, "north_head"))
    reminder_card = await viza.tg.wait_for(lambda: next(
        (m for m in reversed(head.chat.bot_messages) if "✅ Согласовать" in m.button_texts), None))

    late = calendar.next_working_moment(calendar.add_hours(started, 2 * sla, ZONE) + timedelta(minutes=1), ZONE)
    assert (await scheduler.run_once(late))["escalations"] == 2  # the head above, and the approver
    await viza.tg.wait_for(lambda: "🔺 Эскалация" in texts_of(viza, "head"))
    assert viza.company.people["north_head"].full_name in texts_of(viza, "head")
    await viza.tg.wait_for(lambda: "сообщено руководителю" in texts_of(viza, "north_head"))

    # The card that came with the reminder decides like any other.
    await head.tap(reminder_card, text="✅ Согласовать")
    await card_of(viza, "cfo")


async def test_accountants_hear_of_tomorrows_payments_and_people_get_a_morning_digest(viza: Viza):
    await viza.bind("manager", "north_head", "cfo", "accountant", "director")
    calendar = WorkingCalendar.from_settings(viza.settings)
    # A working morning, a few days ahead; the request must be paid by the next working day.
    local_day = calendar.working_day_on_or_before(date.today() + timedelta(days=7))
    morning = calendar.hours_on(local_day, ZONE)[0] + timedelta(hours=1)  # 10:00 there
    pay_by = local_day + timedelta(days=1)
    while not calendar.is_working_day(pay_by):
        pay_by += timedelta(days=1)
    request_id = await submitted_request(viza, pay_by=pay_by)
    for who in ("north_head", "cfo"):
        async with viza.db.session() as session:
            await act(session, viza.company.actor(who), request_id, Action.APPROVE)
            await session.commit()
    waiting = await submitted_request(viza)  # one more, waiting for the department head

    done = await NotificationScheduler(viza.db, viza.settings).run_once(morning)
    assert done["pay_reminders"] >= 1 and done["digests"] >= 1
    await viza.tg.wait_for(lambda: "📅 Срок оплаты — следующий рабочий день" in texts_of(viza, "accountant"))
    accountant_texts = texts_of(viza, "accountant")
    assert "15\u00a0000,00" in accountant_texts and "/pay" in accountant_texts
    await viza.tg.wait_for(lambda: "☀️ Доброе утро" in texts_of(viza, "north_head"))
    assert f"/r{waiting}" in texts_of(viza, "north_head")
    # Nothing waits for the director: no digest for them.
    assert "Доброе утро" not in texts_of(viza, "director")
    again = await NotificationScheduler(viza.db, viza.settings).run_once(morning + timedelta(minutes=5))
    assert again["pay_reminders"] == 0 and again["digests"] == 0
