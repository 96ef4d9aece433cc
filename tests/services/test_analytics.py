"""Approval analytics: exact percentiles, who may see which numbers, weeks in the viewer's zone,
what waits now and the overdue buckets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from backend.db import utcnow
from backend.errors import Forbidden, InvalidInput
from backend.models import ApprovalTask, PaymentRequest, RequestStage
from backend.services import payment_requests as requests_service
from backend.services.analytics import AnalyticsQuery, analytics, percentile
from backend.services.transactions import in_transaction
from backend.workflows.lifecycle import Action
from tests.factories import inn, new_request, setup_company

HEAD_STAGE, CFO_STAGE = "Руководитель отдела", "Финансовый директор"


async def drive(db, company, rid: int, *steps: tuple[str, Action]) -> None:
    for who, action in steps:
        comment = "причина" if action in (Action.REJECT, Action.RETURN, Action.CANCEL) else ""
        await in_transaction(db, lambda s, who=who, action=action, comment=comment: requests_service.act(
            s, company.actor(who), rid, action, comment=comment))


async def approved_request(db, company, who: str = "manager", **fields) -> int:
    """Submitted and approved by the two stages of the supplier route: the department head, the CFO."""
    rid = await new_request(db, company, who=who, **fields)
    head = {"manager": "north_head", "manager2": "north_head", "outsider": "director"}[who]
    await drive(db, company, rid, (who, Action.SUBMIT), (head, Action.APPROVE), ("cfo", Action.APPROVE))
    return rid


async def set_times(db, rid: int, *, approved_at: datetime, stage_durations: list[timedelta],
                    to_approve: timedelta) -> None:
    """Rewrite the request's clock: stages back to back ending at ``approved_at``, each task
    decided when its stage finished, the first submit ``to_approve`` before approval."""
    async with db.session() as session:
        request = await session.get(PaymentRequest, rid)
        stages = list(await session.scalars(select(RequestStage).where(RequestStage.request_id == rid)
                                            .order_by(RequestStage.position)))
        assert len(stages) == len(stage_durations)
        submitted = approved_at - to_approve
        end = approved_at - sum(stage_durations, timedelta())
        for stage, took in zip(stages, stage_durations, strict=True):
            stage.started_at, stage.finished_at = end, end + took
            end += took
            await session.execute(update(ApprovalTask).where(ApprovalTask.stage_id == stage.id).values(
                decided_at=stage.finished_at, created_at=submitted))
        request.submitted_at, request.approved_at = submitted, approved_at
        await session.commit()


async def run(db, actor, query: AnalyticsQuery | None = None, **kwargs):
    return await in_transaction(db, lambda s: analytics(s, actor, query or AnalyticsQuery(), **kwargs))


class TestPercentile:
    def test_linear_interpolation_between_closest_ranks(self):
        ten = [float(i) for i in range(1, 11)]
        assert percentile(ten, 0.5) == 5.5
        assert percentile(ten, 0.9) == pytest.approx(9.1)
        assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
        assert percentile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)
        assert percentile([7.0], 0.5) == percentile([7.0], 0.9) == 7.0
        assert percentile([0.0, 100.0], 0.9) == pytest.approx(90.0)


class TestTimeToApprove:
    async def test_median_and_p90_by_stage_approver_and_type_are_exact(self, db):
        company = await setup_company(db)
        base = utcnow() - timedelta(days=20)
        for i in range(1, 11):
            rid = await approved_request(db, company, contractor_inn=inn(100 + i), invoice_number=str(i))
            await set_times(db, rid, approved_at=base + timedelta(days=i),
                            stage_durations=[timedelta(hours=i), timedelta(minutes=10 * i)],
                            to_approve=timedelta(days=i))
        result = await run(db, company.actor("admin"))

        by_stage = {s.key: s for s in result.by_stage}
        assert set(by_stage) == {HEAD_STAGE, CFO_STAGE}
        assert (by_stage[HEAD_STAGE].count, by_stage[HEAD_STAGE].median, by_stage[HEAD_STAGE].p90) == (
            10, 5.5 * 3600, pytest.approx(9.1 * 3600))
        assert (by_stage[CFO_STAGE].median, by_stage[CFO_STAGE].p90) == (55 * 60, pytest.approx(91 * 60))
        assert [s.key for s in result.by_stage] == [HEAD_STAGE, CFO_STAGE]  # the slowest first

        by_approver = {s.key: s for s in result.by_approver}
        north_head, cfo = company.people["north_head"], company.people["cfo"]
        assert set(by_approver) == {north_head.id, cfo.id}
        assert by_approver[north_head.id].label == north_head.full_name
        assert by_approver[north_head.id].median == 5.5 * 3600
        assert by_approver[cfo.id].p90 == pytest.approx(91 * 60)

        [supplier] = result.by_type
        assert (supplier.key, supplier.label, supplier.count) == (company.types["supplier"].id, "Оплата поставщику", 10)
        assert (supplier.median, supplier.p90) == (5.5 * 86400, pytest.approx(9.1 * 86400))

    async def test_the_period_selects_by_decision_time(self, db):
        company = await setup_company(db)
        now = utcnow()
        recent = await approved_request(db, company, contractor_inn=inn(201))
        old = await approved_request(db, company, contractor_inn=inn(202))
        await set_times(db, recent, approved_at=now - timedelta(days=3), stage_durations=[timedelta(hours=2)] * 2,
                        to_approve=timedelta(hours=5))
        await set_times(db, old, approved_at=now - timedelta(days=200), stage_durations=[timedelta(hours=50)] * 2,
                        to_approve=timedelta(days=5))
        result = await run(db, company.actor("admin"))  # the last 90 days
        assert {s.key: s.count for s in result.by_stage} == {HEAD_STAGE: 1, CFO_STAGE: 1}
        assert result.by_stage[0].median == 2 * 3600
        assert [s.median for s in result.by_type] == [5 * 3600]
        since = (now - timedelta(days=250)).date()
        result = await run(db, company.actor("admin"), AnalyticsQuery(since=since))
        assert {s.key: s.count for s in result.by_stage} == {HEAD_STAGE: 2, CFO_STAGE: 2}
        assert result.since == since and result.until == result.today

    async def test_rejected_and_returned_stages_count_auto_passed_and_waiting_ones_do_not(self, db):
        company = await setup_company(db)
        rejected = await new_request(db, company, contractor_inn=inn(301))
        await drive(db, company, rejected, ("manager", Action.SUBMIT), ("north_head", Action.REJECT))
        pending = await new_request(db, company, contractor_inn=inn(302))
        await drive(db, company, pending, ("manager", Action.SUBMIT))
        # The CFO's own salary request: the CFO's stage is passed at once (never started), then the director's.
        own = await new_request(db, company, who="cfo", contractor_inn=inn(303),
                                request_type_id=company.types["salary"].id)
        await drive(db, company, own, ("cfo", Action.SUBMIT), ("director", Action.APPROVE))
        async with db.session() as session:
            auto = (await session.scalars(select(RequestStage).where(RequestStage.request_id == own,
                                                                     RequestStage.position == 1))).one()
            assert (auto.name, auto.status, auto.started_at) == (CFO_STAGE, "approved", None)
        result = await run(db, company.actor("admin"))
        assert {s.key: s.count for s in result.by_stage} == {HEAD_STAGE: 1, "Директор": 1}
        assert {s.key: s.count for s in result.by_approver} == {company.people["north_head"].id: 1,
                                                                company.people["director"].id: 1}
        assert [(s.key, s.count) for s in result.by_type] == [(company.types["salary"].id, 1)]


    async def test_an_approver_added_to_a_running_stage_is_timed_from_being_asked(self, db):
        company = await setup_company(db)
        rid = await approved_request(db, company)
        approved_at = utcnow() - timedelta(days=1)
        await set_times(db, rid, approved_at=approved_at, stage_durations=[timedelta(hours=10), timedelta(hours=1)],
                        to_approve=timedelta(hours=12))
        async with db.session() as session:  # the head was asked 4 hours into their stage's 10
            stage = (await session.scalars(select(RequestStage).where(RequestStage.request_id == rid,
                                                                      RequestStage.position == 1))).one()
            await session.execute(update(ApprovalTask).where(ApprovalTask.stage_id == stage.id).values(
                created_at=stage.started_at + timedelta(hours=4)))
            await session.commit()
        result = await run(db, company.actor("admin"))
        by_approver = {s.key: s.median for s in result.by_approver}
        assert by_approver[company.people["north_head"].id] == 6 * 3600
        assert {s.key: s.median for s in result.by_stage}[HEAD_STAGE] == 10 * 3600


class TestAccess:
    async def test_a_plain_manager_is_refused(self, db):
        company = await setup_company(db)
        with pytest.raises(Forbidden) as refused:
            await run(db, company.actor("manager"))
        assert refused.value.code == "analytics.forbidden"

    @pytest.mark.parametrize("who", ["admin", "cfo", "director", "accountant", "head", "deputy", "north_head"])
    async def test_admins_finance_and_heads_may(self, db, who):
        company = await setup_company(db)
        assert (await run(db, company.actor(who))).by_stage == []

    async def test_a_head_sees_only_their_subtree(self, db):
        company = await setup_company(db)
        north = await approved_request(db, company, who="manager", contractor_inn=inn(401), amount="1000.00")
        management = await approved_request(db, company, who="outsider", contractor_inn=inn(402), amount="7000.00")
        for rid in (north, management):
            await set_times(db, rid, approved_at=utcnow() - timedelta(days=2), stage_durations=[timedelta(hours=1)] * 2,
                            to_approve=timedelta(hours=3))
        waiting = await new_request(db, company, who="outsider", contractor_inn=inn(403))
        await drive(db, company, waiting, ("outsider", Action.SUBMIT))  # waits for the director

        people = company.people
        everything = await run(db, company.actor("admin"))
        assert {s.key for s in everything.by_approver} == {people["north_head"].id, people["director"].id,
                                                          people["cfo"].id}
        assert everything.amounts[0].total == 800000
        assert [w.key for w in everything.waiting_by_approver] == [people["director"].id]

        head = await run(db, company.actor("north_head"))
        assert {s.key for s in head.by_approver} == {people["north_head"].id, people["cfo"].id}
        assert head.by_type[0].count == 1
        [rub] = head.amounts
        assert (rub.total, rub.count) == (100000, 1)
        assert [s.department_id for s in rub.series] == [company.departments["north"].id]
        assert rub.series[0].label == "Продажи Север"
        assert head.waiting_by_stage == [] and head.waiting_by_approver == []

        # Accounting sees approved requests and later: both amounts, nothing of what still waits.
        accounting = await run(db, company.actor("accountant"))
        assert accounting.amounts[0].total == 800000
        assert accounting.waiting_by_stage == []

    async def test_filters_narrow_every_part(self, db):
        company = await setup_company(db)
        north = await approved_request(db, company, who="manager", contractor_inn=inn(411), amount="1000.00")
        await approved_request(db, company, who="outsider", contractor_inn=inn(412), amount="7000.00")
        await set_times(db, north, approved_at=utcnow() - timedelta(days=2), stage_durations=[timedelta(hours=1)] * 2,
                        to_approve=timedelta(hours=3))
        admin = company.actor("admin")
        only_north = await run(db, admin, AnalyticsQuery(department_id=company.departments["north"].id))
        assert only_north.amounts[0].total == 100000
        assert {s.key for s in only_north.by_approver} == {company.people["north_head"].id, company.people["cfo"].id}
        contracts = await run(db, admin, AnalyticsQuery(kind="contract"))
        assert contracts.by_stage == [] and contracts.amounts == []
        other_type = await run(db, admin, AnalyticsQuery(request_type_id=company.types["rent"].id))
        assert other_type.by_type == [] and other_type.amounts == []


class TestPeriodAndWeeks:
    async def test_weeks_and_period_bounds_are_in_the_viewers_zone(self, db):
        company = await setup_company(db)
        now = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
        # Monday 9 March 00:30 in Moscow is still Sunday 8 March in UTC.
        monday_moscow = datetime(2026, 3, 8, 21, 30, tzinfo=UTC)
        # 2 March 01:00 in Moscow is 1 March in UTC: inside a period from 2 March for Moscow only.
        early = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
        a = await approved_request(db, company, contractor_inn=inn(501), amount="100.00")
        b = await approved_request(db, company, contractor_inn=inn(502), amount="20.00")
        await set_times(db, a, approved_at=monday_moscow, stage_durations=[timedelta(hours=1)] * 2,
                        to_approve=timedelta(hours=2))
        await set_times(db, b, approved_at=early, stage_durations=[timedelta(hours=1)] * 2,
                        to_approve=timedelta(hours=2))
        query = AnalyticsQuery(since=date(2026, 3, 4), until=date(2026, 3, 20))
        moscow = company.actor("admin")
        assert moscow.timezone == "Europe/Moscow"
        [rub] = (await run(db, moscow, query, now=now)).amounts
        assert rub.weeks == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
        assert rub.totals == [0, 10000, 0]

        utc = replace(moscow, timezone="UTC")
        [rub] = (await run(db, utc, query, now=now)).amounts
        assert rub.totals == [10000, 0, 0]

        from_second = AnalyticsQuery(since=date(2026, 3, 2), until=date(2026, 3, 8))
        assert (await run(db, moscow, from_second, now=now)).amounts[0].totals == [2000]
        assert (await run(db, utc, from_second, now=now)).amounts[0].totals == [10000]

    async def test_the_default_period_is_the_last_90_days_in_the_viewers_calendar(self, db):
        company = await setup_company(db)
        now = datetime(2026, 3, 20, 22, 0, tzinfo=UTC)  # already 21 March in Moscow
        result = await run(db, company.actor("admin"), now=now)
        assert (result.today, result.until) == (date(2026, 3, 21), date(2026, 3, 21))
        assert (result.until - result.since).days == 89

    async def test_a_period_ending_before_it_starts_or_too_long_is_refused(self, db):
        company = await setup_company(db)
        with pytest.raises(InvalidInput) as wrong:
            await run(db, company.actor("admin"), AnalyticsQuery(since=date(2026, 3, 10), until=date(2026, 3, 1)))
        assert (wrong.value.code, wrong.value.field) == ("analytics.range", "until")
        with pytest.raises(InvalidInput) as long:
            await run(db, company.actor("admin"), AnalyticsQuery(since=date(2020, 1, 1), until=date(2026, 3, 1)))
        assert (long.value.code, long.value.field) == ("analytics.range_too_long", "since")

    async def test_amounts_are_per_currency_and_only_of_approved_payments(self, db):
        company = await setup_company(db)
        await approved_request(db, company, contractor_inn=inn(601), amount="100.00")
        await approved_request(db, company, contractor_inn=inn(602), amount="50.00", currency="USD")
        cancelled = await approved_request(db, company, contractor_inn=inn(603), amount="999.00")
        await drive(db, company, cancelled, ("manager", Action.CANCEL))
        result = await run(db, company.actor("admin"))
        assert [(w.currency, w.total, w.count) for w in result.amounts] == [("RUB", 10000, 1), ("USD", 5000, 1)]


class TestWaitingAndOverdue:
    async def test_what_waits_now_by_stage_and_person_with_the_sla(self, db):
        company = await setup_company(db)
        now = utcnow()
        late = await new_request(db, company, contractor_inn=inn(701))
        fresh = await new_request(db, company, contractor_inn=inn(702))
        at_cfo = await new_request(db, company, contractor_inn=inn(703))
        for rid in (late, fresh, at_cfo):
            await drive(db, company, rid, ("manager", Action.SUBMIT))
        await drive(db, company, at_cfo, ("north_head", Action.APPROVE))
        async with db.session() as session:
            for rid, hours in ((late, 10), (fresh, 2), (at_cfo, 30)):  # the SLA of both stages is 8 hours
                await session.execute(update(RequestStage).where(
                    RequestStage.request_id == rid, RequestStage.status == "active").values(
                    started_at=now - timedelta(hours=hours)))
                # Tasks are made at submit, before their stage starts.
                await session.execute(update(ApprovalTask).where(ApprovalTask.request_id == rid).values(
                    created_at=now - timedelta(hours=40)))
            await session.commit()
        result = await run(db, company.actor("admin"), now=now)
        stages = {w.key: (w.count, w.over_sla, w.oldest_seconds) for w in result.waiting_by_stage}
        assert stages == {HEAD_STAGE: (2, 1, 10 * 3600), CFO_STAGE: (1, 1, 30 * 3600)}
        people = {w.key: (w.label, w.count, w.over_sla) for w in result.waiting_by_approver}
        assert people == {company.people["north_head"].id: ("Сидоров С.С.", 2, 1),
                          company.people["cfo"].id: ("Финансов Ф.Ф.", 1, 1)}
        assert result.waiting_by_stage[0].key == CFO_STAGE  # the longest over its limit first

    async def test_overdue_buckets_sums_and_the_most_overdue_first(self, db):
        company = await setup_company(db)
        today = company.actor("admin").today()
        lateness = [1, 3, 4, 7, 8, 30, 31, 100]
        ids = {}
        for n, days in enumerate(lateness):
            ids[days] = await approved_request(db, company, contractor_inn=inn(800 + n), invoice_number=str(n),
                                               contractor_name=f"Поставщик {days}", amount=f"{days}.00")
        usd = await approved_request(db, company, contractor_inn=inn(850), amount="5.00", currency="USD")
        paid = await approved_request(db, company, contractor_inn=inn(851), amount="777.00")
        await drive(db, company, paid, ("accountant", Action.MARK_PAID))
        due_today = await approved_request(db, company, contractor_inn=inn(852), amount="888.00")
        pending = await new_request(db, company, contractor_inn=inn(853), amount="999.00")
        await drive(db, company, pending, ("manager", Action.SUBMIT))
        async with db.session() as session:
            for days, rid in [*ids.items(), (2, usd), (50, paid), (0, due_today), (60, pending)]:
                await session.execute(update(PaymentRequest).where(PaymentRequest.id == rid).values(
                    pay_by=today - timedelta(days=days)))
            await session.commit()

        overdue = (await run(db, company.actor("accountant"))).overdue
        assert overdue.count == 9
        assert overdue.amounts == {"RUB": sum(lateness) * 100, "USD": 500}
        buckets = {b.key: (b.count, b.amounts) for b in overdue.buckets}
        assert buckets == {
            "1-3": (3, {"RUB": 400, "USD": 500}), "4-7": (2, {"RUB": 1100}),
            "8-30": (2, {"RUB": 3800}), "31+": (2, {"RUB": 13100}),
        }
        assert [i.days_late for i in overdue.items] == [100, 31, 30, 8, 7, 4, 3, 2, 1]
        first = overdue.items[0]
        assert (first.id, first.contractor_name, first.amount, first.currency, first.pay_by) == (
            ids[100], "Поставщик 100", 10000, "RUB", today - timedelta(days=100))

    async def test_the_overdue_list_stops_at_twenty(self, db):
        company = await setup_company(db)
        today = company.actor("admin").today()
        for n in range(22):
            rid = await approved_request(db, company, contractor_inn=inn(900 + n), invoice_number=str(n))
            async with db.session() as session:
                await session.execute(update(PaymentRequest).where(PaymentRequest.id == rid).values(
                    pay_by=today - timedelta(days=n + 1)))
                await session.commit()
        overdue = (await run(db, company.actor("admin"))).overdue
        assert overdue.count == 22 and len(overdue.items) == 20
        assert overdue.items[0].days_late == 22 and overdue.items[-1].days_late == 3
