"""The scheduled jobs against a real database, with the clock in the test's hands.

The engine stamps stages with the wall clock, so each test moves the stage's start (and the
pay-by dates) to the days it is about: March 2026, when 2 March is a Monday and 6 March a Friday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from backend.models import ApprovalTask, Employee, OutboxMessage, PaymentRequest, RequestStage
from backend.notifications.jobs import (
    RETENTION_DAYS, digests, escalations, pay_reminders, purge_outbox, sla_reminders,
)
from backend.services import payment_requests as service
from backend.services.transactions import in_transaction
from backend.workflows.lifecycle import Action
from bot.notices import notice_text
from bot.texts import Texts
from tests.factories import new_request, setup_company

MSK = ZoneInfo("Europe/Moscow")


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=MSK)


async def act(db, company, who, request_id, action, **kw):
    return await in_transaction(db, lambda s: service.act(s, company.actor(who), request_id, action, **kw))


async def run(db, settings, job, now: datetime) -> int:
    return await in_transaction(db, lambda s: job(s, now, settings))


async def pending(db, company, started: datetime, **overrides) -> int:
    """A submitted request whose first stage became active at ``started``."""
    rid = await new_request(db, company, **overrides)
    await act(db, company, "manager", rid, Action.SUBMIT)
    await restart_stage(db, rid, started)
    return rid


async def restart_stage(db, rid: int, started: datetime) -> None:
    async with db.session() as session:
        await session.execute(update(RequestStage)
                              .where(RequestStage.request_id == rid, RequestStage.status == "active")
                              .values(started_at=started))
        await session.commit()


async def approved(db, company, pay_by: date, **overrides) -> int:
    rid = await new_request(db, company, **overrides)
    await act(db, company, "manager", rid, Action.SUBMIT)
    await act(db, company, "north_head", rid, Action.APPROVE)
    await act(db, company, "cfo", rid, Action.APPROVE)
    async with db.session() as session:
        await session.execute(update(PaymentRequest).where(PaymentRequest.id == rid).values(pay_by=pay_by))
        await session.commit()
    return rid


async def set_person(db, company, who: str, **values) -> None:
    async with db.session() as session:
        await session.execute(update(Employee).where(Employee.id == company.people[who].id).values(**values))
        await session.commit()


async def scheduled(db, kind: str | None = None) -> list[dict]:
    """Notices the jobs queued (the engine's carry a history event), oldest first."""
    async with db.session() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "notify")
                                     .order_by(OutboxMessage.id))
        return [{**r.payload, "status": r.status} for r in rows
                if "history_id" not in r.payload and kind in (None, r.payload["event"])]


def to(company, who: str) -> int:
    return company.people[who].id


class TestSlaReminders:
    async def test_not_before_the_sla_and_exactly_once_after(self, db, settings):
        company = await setup_company(db)
        rid = await pending(db, company, started=msk(2, 11))  # 8 working hours: 7 on Monday, 1 on Tuesday
        assert await run(db, settings, sla_reminders, msk(3, 9, 59)) == 0
        assert await run(db, settings, sla_reminders, msk(3, 10)) == 1
        for later in (msk(3, 10, 1), msk(3, 15), msk(4, 10)):
            assert await run(db, settings, sla_reminders, later) == 0
        [reminder] = await scheduled(db)
        async with db.session() as session:
            task = await session.scalar(select(ApprovalTask).where(ApprovalTask.request_id == rid,
                                                                   ApprovalTask.status == "pending"))
        assert reminder["event"] == "sla_reminder" and reminder["recipient_id"] == to(company, "north_head")
        assert reminder["request_id"] == rid and reminder["urgent"] is False
        assert reminder["data"] == {"with_card": True, "task_id": task.id}

    async def test_not_at_night_or_on_the_weekend_then_on_monday_morning(self, db, settings):
        company = await setup_company(db)
        await pending(db, company, started=msk(6, 10))  # due Friday 18:00, as working time ends
        for moment in (msk(6, 18), msk(6, 23), msk(7, 12), msk(8, 12), msk(9, 8, 59)):
            assert await run(db, settings, sla_reminders, moment) == 0, moment
        assert await run(db, settings, sla_reminders, msk(9, 9)) == 1
        assert await run(db, settings, sla_reminders, msk(9, 9, 1)) == 0

    async def test_a_holiday_is_not_working_time(self, db, settings):
        company = await setup_company(db)
        await pending(db, company, started=msk(6, 10))
        holidays = settings.model_copy(update={"holidays": [date(2026, 3, 9)]})
        assert await run(db, holidays, sla_reminders, msk(9, 12)) == 0
        assert await run(db, holidays, sla_reminders, msk(10, 9)) == 1

    async def test_the_sla_runs_in_the_assignees_time_zone(self, db, settings):
        company = await setup_company(db)
        await set_person(db, company, "north_head", timezone="Asia/Yekaterinburg")
        # Monday 17:00 in Moscow is 19:00 in Yekaterinburg: the clock starts there on Tuesday at
        # 09:00 (07:00 Moscow) and runs out at 17:00 (15:00 Moscow) — an hour before Moscow's would.
        await pending(db, company, started=msk(2, 17))
        assert await run(db, settings, sla_reminders, msk(3, 14, 59)) == 0
        assert await run(db, settings, sla_reminders, msk(3, 15)) == 1

    async def test_a_longer_sla_or_a_decision_stops_the_reminder(self, db, settings):
        company = await setup_company(db)
        longer = await pending(db, company, started=msk(2, 11))
        decided = await pending(db, company, started=msk(2, 11))
        async with db.session() as session:
            await session.execute(update(RequestStage).where(RequestStage.request_id == longer).values(sla_hours=16))
            await session.commit()
        await act(db, company, "north_head", decided, Action.APPROVE)
        assert await run(db, settings, sla_reminders, msk(3, 10)) == 0
        # 16 working hours from Monday 11:00 end on Tuesday 18:00: Wednesday morning it is.
        assert await run(db, settings, sla_reminders, msk(3, 17, 59)) == 0
        assert await run(db, settings, sla_reminders, msk(4, 9)) == 1
        assert [n["request_id"] for n in await scheduled(db)] == [longer]

    async def test_a_returned_request_reminds_nobody(self, db, settings):
        company = await setup_company(db)
        rid = await pending(db, company, started=msk(2, 11))
        await act(db, company, "north_head", rid, Action.RETURN, comment="Приложите счёт")
        assert await run(db, settings, sla_reminders, msk(4, 10)) == 0


class TestEscalation:
    async def test_the_approvers_head_is_told_after_twice_the_sla_once(self, db, settings):
        company = await setup_company(db)
        # 16 working hours from Monday 12:00: 6 on Monday, 9 on Tuesday, the last on Wednesday.
        rid = await pending(db, company, started=msk(2, 12))
        assert await run(db, settings, escalations, msk(4, 9, 59)) == 0
        assert await run(db, settings, escalations, msk(4, 10)) == 2
        assert await run(db, settings, escalations, msk(4, 10, 30)) == 0
        assert await run(db, settings, escalations, msk(5, 10)) == 0
        [escalation] = await scheduled(db, "escalation")
        [escalated] = await scheduled(db, "escalated")
        # Sidorov heads sales.north; the head above him is Petrov, the head of sales.
        assert escalation["recipient_id"] == to(company, "head") and escalation["urgent"] is True
        assert escalation["request_id"] == rid and escalation["data"]["head_id"] == to(company, "head")
        assert escalated["recipient_id"] == to(company, "north_head") and escalated["data"]["with_card"] is True

    async def test_an_explicit_manager_comes_before_the_department_tree(self, db, settings):
        company = await setup_company(db)
        await set_person(db, company, "north_head", manager_id=to(company, "cfo"))
        await pending(db, company, started=msk(2, 12))
        await run(db, settings, escalations, msk(4, 10))
        assert [n["recipient_id"] for n in await scheduled(db, "escalation")] == [to(company, "cfo")]

    async def test_nobody_above_the_top_means_no_escalation(self, db, settings):
        company = await setup_company(db)
        rid = await new_request(db, company, request_type_id=company.types["salary"].id)  # CFO, then director
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "cfo", rid, Action.APPROVE)
        await restart_stage(db, rid, msk(2, 12))
        assert await run(db, settings, escalations, msk(6, 12)) == 0
        assert await run(db, settings, sla_reminders, msk(6, 12)) == 1  # the director is still reminded

    async def test_a_deputy_whose_head_is_the_one_above_is_not_escalated_to_themself(self, db, settings):
        company = await setup_company(db)
        rid = await pending(db, company, started=msk(2, 12))
        async with db.session() as session:  # Petrov stands in for Sidorov, whose head he is
            await session.execute(update(ApprovalTask).where(ApprovalTask.request_id == rid)
                                  .values(assignee_id=to(company, "head")))
            await session.commit()
        assert await run(db, settings, escalations, msk(4, 10)) == 0

    async def test_the_head_is_told_during_their_own_working_time(self, db, settings):
        company = await setup_company(db)
        await set_person(db, company, "head", timezone="America/New_York")
        await pending(db, company, started=msk(2, 12))
        assert await run(db, settings, escalations, msk(4, 10)) == 0  # 02:00 in New York
        assert await run(db, settings, escalations, msk(4, 17)) == 2  # 09:00 there


class TestPayReminders:
    async def test_next_working_day_today_and_overdue_batched_once_a_day(self, db, settings):
        company = await setup_company(db)
        monday = [await approved(db, company, date(2026, 3, 9)) for _ in range(2)]
        friday = await approved(db, company, date(2026, 3, 6))
        thursday = await approved(db, company, date(2026, 3, 5))
        sunday = await approved(db, company, date(2026, 3, 8))  # banks do not pay on Sunday: due Friday
        later = await approved(db, company, date(2026, 3, 20))

        assert await run(db, settings, pay_reminders, msk(6, 8, 59)) == 0  # before digest time
        assert await run(db, settings, pay_reminders, msk(6, 9)) == 6  # two accountants, three kinds
        assert await run(db, settings, pay_reminders, msk(6, 15)) == 0
        friday_notices = {(n["recipient_id"], n["event"]): n for n in await scheduled(db)}
        for who in ("accountant", "accountant2"):
            assert set(friday_notices[to(company, who), "pay_due_next"]["data"]["request_ids"]) == set(monday)
            assert set(friday_notices[to(company, who), "pay_due_today"]["data"]["request_ids"]) == {friday, sunday}
            assert friday_notices[to(company, who), "pay_overdue"]["data"]["request_ids"] == [thursday]
        assert {kind: n["urgent"] for (_, kind), n in friday_notices.items()} == {
            "pay_due_next": False, "pay_due_today": True, "pay_overdue": True}
        assert all(later not in n["data"]["request_ids"] for n in friday_notices.values())

        assert await run(db, settings, pay_reminders, msk(7, 10)) == 0  # Saturday
        assert await run(db, settings, pay_reminders, msk(9, 9)) == 4
        monday_overdue = (await scheduled(db, "pay_overdue"))[-1]["data"]["request_ids"]
        assert set(monday_overdue) == {friday, thursday, sunday}

        await act(db, company, "accountant", thursday, Action.MARK_PAID)
        assert await run(db, settings, pay_reminders, msk(10, 9, 30)) == 2  # overdue again, once a day
        tuesday = (await scheduled(db, "pay_overdue"))[-1]["data"]["request_ids"]
        assert set(tuesday) == {*monday, friday, sunday}

    async def test_a_holiday_moves_the_reminders_to_the_working_day_before(self, db, settings):
        company = await setup_company(db)
        holidays = settings.model_copy(update={"holidays": [date(2026, 3, 9)]})
        on_holiday = await approved(db, company, date(2026, 3, 9))
        after_holiday = await approved(db, company, date(2026, 3, 10))
        await run(db, holidays, pay_reminders, msk(6, 10))
        mine = {n["event"]: n["data"]["request_ids"] for n in await scheduled(db)
                if n["recipient_id"] == to(company, "accountant")}
        assert mine == {"pay_due_today": [on_holiday], "pay_due_next": [after_holiday]}
        assert await run(db, holidays, pay_reminders, msk(9, 10)) == 0

    async def test_digest_time_is_each_accountants_own(self, db, settings):
        company = await setup_company(db)
        await set_person(db, company, "accountant2", timezone="Asia/Yekaterinburg")
        await approved(db, company, date(2026, 3, 6))
        assert await run(db, settings, pay_reminders, msk(6, 7)) == 1  # 09:00 in Yekaterinburg
        assert [n["recipient_id"] for n in await scheduled(db)] == [to(company, "accountant2")]
        assert await run(db, settings, pay_reminders, msk(6, 9)) == 1

    async def test_nothing_when_nothing_is_approved(self, db, settings):
        company = await setup_company(db)
        await pending(db, company, started=msk(2, 11))
        assert await run(db, settings, pay_reminders, msk(6, 10)) == 0


class TestDigest:
    async def _morning(self, db, company) -> dict[str, int]:
        for n, who in enumerate(("north_head", "manager", "manager2", "accountant"), start=1):
            await set_person(db, company, who, telegram_user_id=1000 + n)
        waiting = await pending(db, company, started=msk(2, 10))
        returned = await pending(db, company, started=msk(2, 10))
        await act(db, company, "north_head", returned, Action.RETURN, comment="Нет счёта")
        due = await approved(db, company, date(2026, 3, 3))
        return {"waiting": waiting, "returned": returned, "due": due}

    async def test_once_a_working_day_with_what_waits(self, db, settings):
        company = await setup_company(db)
        ids = await self._morning(db, company)
        assert await run(db, settings, digests, msk(3, 8, 59)) == 0
        assert await run(db, settings, digests, msk(3, 9)) == 3
        assert await run(db, settings, digests, msk(3, 9, 1)) == 0
        assert await run(db, settings, digests, msk(3, 17)) == 0
        sent = {n["recipient_id"]: n for n in await scheduled(db, "digest") if n["status"] == "pending"}
        assert sent[to(company, "north_head")]["data"] == {
            "inbox": 1, "oldest_request_id": ids["waiting"], "oldest_since": msk(2, 10).astimezone(UTC).isoformat()}
        assert sent[to(company, "manager")]["data"] == {"returned": [ids["returned"]]}
        assert sent[to(company, "accountant")]["data"] == {"pay_today": 1, "pay_overdue": 0}
        assert all(not n["urgent"] for n in sent.values())
        # Nothing waits for manager2: decided once (a skipped row), never sent.
        [quiet] = [n for n in await scheduled(db, "digest") if n["recipient_id"] == to(company, "manager2")]
        assert quiet["status"] == "skipped"

        assert await run(db, settings, digests, msk(7, 10)) == 0  # Saturday
        assert await run(db, settings, digests, msk(4, 9, 30)) == 3  # a new day
        wednesday = {n["recipient_id"]: n["data"] for n in await scheduled(db, "digest") if n["status"] == "pending"}
        assert wednesday[to(company, "accountant")] == {"pay_today": 0, "pay_overdue": 1}

    async def test_off_without_telegram_or_when_blocked(self, db, settings):
        company = await setup_company(db)
        await self._morning(db, company)
        await set_person(db, company, "north_head", digest_enabled=False)
        await set_person(db, company, "manager", telegram_user_id=None)
        await set_person(db, company, "accountant", telegram_blocked_at=msk(1, 12))
        assert await run(db, settings, digests, msk(3, 9)) == 0
        assert {n["status"] for n in await scheduled(db, "digest")} == {"skipped"}  # manager2's empty day

    async def test_the_morning_is_the_persons_own(self, db, settings):
        company = await setup_company(db)
        await self._morning(db, company)
        await set_person(db, company, "manager", timezone="Asia/Yekaterinburg")
        assert await run(db, settings, digests, msk(3, 7)) == 1
        assert [n["recipient_id"] for n in await scheduled(db, "digest")] == [to(company, "manager")]
        assert await run(db, settings, digests, msk(3, 9)) == 2


class TestRetention:
    async def test_only_old_sent_and_skipped_rows_go(self, db, settings):
        now = datetime(2026, 3, 31, 12, tzinfo=UTC)
        old, recent = now - timedelta(days=RETENTION_DAYS, minutes=1), now - timedelta(days=RETENTION_DAYS - 1)
        rows = {
            "old-sent": ("sent", old), "old-skipped": ("skipped", old), "old-failed": ("failed", old),
            "old-pending": ("pending", old), "recent-sent": ("sent", recent),
        }
        async with db.session() as session:
            for key, (status, at) in rows.items():
                session.add(OutboxMessage(topic="notify", dedup_key=key, payload={}, status=status, created_at=at,
                                          sent_at=at if status in ("sent", "skipped") else None,
                                          next_attempt_at=at, progress={}))
            # Created long ago, sent yesterday (it waited in quiet hours, or for a retry): kept.
            session.add(OutboxMessage(topic="notify", dedup_key="late-sent", payload={}, status="sent",
                                      created_at=old, sent_at=recent, next_attempt_at=old, progress={}))
            await session.commit()
        assert await run(db, settings, purge_outbox, now) == 2
        async with db.session() as session:
            left = set(await session.scalars(select(OutboxMessage.dedup_key)))
        assert left == {"old-failed", "old-pending", "recent-sent", "late-sent"}

    async def test_old_rows_of_an_integration_nobody_configured_go_while_a_configured_ones_wait(self, db, settings):
        now = datetime(2026, 3, 31, 12, tzinfo=UTC)
        old, recent = now - timedelta(days=RETENTION_DAYS, minutes=1), now - timedelta(days=1)
        async with db.session() as session:
            for topic in ("bitrix24", "onec"):
                for key, at in (("old", old), ("recent", recent)):
                    session.add(OutboxMessage(topic=topic, dedup_key=f"{topic}-{key}", payload={}, status="pending",
                                              created_at=at, next_attempt_at=at, progress={}))
            await session.commit()
        with_portal = settings.model_copy(update={"bitrix24_webhook_url": "https://a.bitrix24.ru/rest/1/x/"})
        assert await run(db, with_portal, purge_outbox, now) == 1  # 1C is not configured: its old row goes
        async with db.session() as session:
            left = set(await session.scalars(select(OutboxMessage.dedup_key)))
        assert left == {"bitrix24-old", "bitrix24-recent", "onec-recent"}


async def test_a_paid_request_tells_its_initiator(db, settings):
    """Paid → the initiator hears of it: the engine's notice, rendered in chat words."""
    company = await setup_company(db)
    rid = await approved(db, company, date(2026, 3, 6))
    outcome = await act(db, company, "accountant", rid, Action.MARK_PAID)
    async with db.session() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "notify"))).all()
        [paid] = [r.payload for r in rows if r.payload["event"] == "paid"]
        assert paid["recipient_id"] == to(company, "manager") and paid["history_id"] == outcome.event.id
        request = await session.get(PaymentRequest, rid)
        text = await notice_text(session, Texts("ru"), "paid", outcome.event, request)
    assert request.number in text and "15\u00a0000,00\u00a0₽" in text and "оплачена" in text
