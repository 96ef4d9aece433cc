"""The approval engine through the service functions the bot and the API share."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.db import utcnow
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound, ValidationFailed
from backend.models import (
    ApprovalTask, Budget, Delegation, HistoryEvent, OutboxMessage, PaymentRequest, RequestType,
)
from backend.services import payment_requests as service
from backend.services.request_types import RequestTypeIn, create_request_type
from backend.services.transactions import in_transaction
from backend.workflows.lifecycle import Action
from tests.factories import today, account, new_request, request_fields, setup_company


async def act(db, company, who, request_id, action, **kw):
    return await in_transaction(db, lambda s: service.act(s, company.actor(who), request_id, action, **kw))


async def load(db, request_id) -> PaymentRequest:
    async with db.session() as session:
        return await session.get(PaymentRequest, request_id)


async def events(db, request_id) -> list[HistoryEvent]:
    async with db.session() as session:
        return list(await session.scalars(
            select(HistoryEvent).where(HistoryEvent.request_id == request_id).order_by(HistoryEvent.id)))


async def notices(db, request_id) -> list[tuple[int, str]]:
    async with db.session() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "notify"))
        return [(m.payload["recipient_id"], m.payload["event"]) for m in rows if m.payload["request_id"] == request_id]


class TestSubmit:
    async def test_route_resolves_by_rule_and_first_approver_is_told(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        outcome = await act(db, company, "manager", rid, Action.SUBMIT)
        assert outcome.request.status == "pending" and outcome.request.current_stage == 1
        async with db.session() as session:
            stage_names = [s["name"] for s in (await session.get(HistoryEvent, outcome.event.id)).details["route"]]
        # 15 000 ₽: head of the initiator's department, then the CFO; no director below 100 000 ₽.
        assert stage_names == ["Руководитель отдела", "Финансовый директор"]
        assert (company.people["north_head"].id, "task_assigned") in await notices(db, rid)
        assert [e.action for e in await events(db, rid)] == ["create", "submit"]

    async def test_amount_threshold_adds_the_director(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company, amount="100000.00")
        outcome = await act(db, company, "manager", rid, Action.SUBMIT)
        route = outcome.event.details["route"]
        assert route[-1]["approvers"] == [company.people["director"].id]

    async def test_route_to_nobody_is_an_error_and_the_request_stays_a_draft(self, db):
        company = await setup_company(db)
        async with db.session() as session:
            await create_request_type(session, RequestTypeIn(
                code="legal", name_ru="Юр", name_en="Legal",
                stages=[{"name": "Юрист", "approvers": {"kind": "role", "role": "lawyer"}}]))
            await session.commit()
        async with db.session() as session:
            legal = await session.scalar(select(RequestType).where(RequestType.code == "legal"))
        rid = await new_request(db, company, request_type_id=legal.id)
        with pytest.raises(InvalidInput) as error:
            await act(db, company, "manager", rid, Action.SUBMIT)
        assert error.value.code == "route.nobody" and error.value.params["stage"] == "Юрист"
        assert (await load(db, rid)).status == "draft"
        assert [e.action for e in await events(db, rid)] == ["create"]

    async def test_only_the_initiator_submits(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        with pytest.raises(NotFound):  # cannot even see someone else's draft
            await act(db, company, "manager2", rid, Action.SUBMIT)
        with pytest.raises(Forbidden):
            await act(db, company, "admin", rid, Action.SUBMIT)

    async def test_head_as_initiator_goes_to_the_head_above(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company, who="north_head")
        outcome = await act(db, company, "north_head", rid, Action.SUBMIT)
        assert outcome.event.details["route"][0]["approvers"] == [company.people["head"].id]

    async def test_past_pay_by_date_is_refused_at_submit(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        async with db.session() as session:
            request = await session.get(PaymentRequest, rid)
            request.pay_by = today() - timedelta(days=2)
            await session.commit()
        with pytest.raises(ValidationFailed) as error:
            await act(db, company, "manager", rid, Action.SUBMIT)
        assert [e.field for e in error.value.errors] == ["pay_by"]


class TestApprove:
    async def test_full_route_approves_and_tells_initiator_and_accounting(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        first = await act(db, company, "north_head", rid, Action.APPROVE, comment="ок")
        assert first.request.status == "pending" and first.request.current_stage == 2
        last = await act(db, company, "cfo", rid, Action.APPROVE)
        assert last.request.status == "approved" and last.request.current_stage is None
        sent = await notices(db, rid)
        assert (company.people["manager"].id, "approved") in sent
        assert {(company.people[a].id, "approved_for_payment") for a in ("accountant", "accountant2")} <= set(sent)

    async def test_second_tap_changes_nothing(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "north_head", rid, Action.APPROVE)
        before = await load(db, rid)
        again = await act(db, company, "north_head", rid, Action.APPROVE)
        assert again.changed is False
        after = await load(db, rid)
        assert (after.version, after.current_stage) == (before.version, before.current_stage)
        assert [e.action for e in await events(db, rid)].count("approve") == 1

    async def test_stranger_cannot_approve(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        with pytest.raises(Forbidden) as error:
            await act(db, company, "head", rid, Action.APPROVE)  # sees it (subtree), is not the approver
        assert error.value.code == "forbidden.not_current_approver"
        with pytest.raises(NotFound):
            await act(db, company, "outsider", rid, Action.APPROVE)

    async def test_stale_version_is_refused(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        old = (await load(db, rid)).version
        await act(db, company, "manager", rid, Action.COMMENT, comment="Срочно, пожалуйста")
        with pytest.raises(Conflict):
            await act(db, company, "north_head", rid, Action.APPROVE, expected_version=old)

    async def test_two_approvers_at_once_cannot_both_win(self, db):
        company = await setup_company(db)
        async with db.session() as session:
            rt = await create_request_type(session, RequestTypeIn(
                code="pool", name_ru="Пул", name_en="Pool",
                stages=[{"name": "Любой бухгалтер", "approvers": {"kind": "role", "role": "accountant"}},
                        {"name": "ФД", "approvers": {"kind": "role", "role": "cfo"}}]))
            await session.commit()
        rid = await new_request(db, company, request_type_id=rt.id)
        await act(db, company, "manager", rid, Action.SUBMIT)
        results = await asyncio.gather(
            act(db, company, "accountant", rid, Action.APPROVE),
            act(db, company, "accountant2", rid, Action.REJECT, comment="нет"),
            return_exceptions=True,
        )
        winners = [r for r in results if not isinstance(r, Exception) and r.changed]
        assert len(winners) == 1
        decisions = [e.action for e in await events(db, rid) if e.action in ("approve", "reject")]
        assert len(decisions) == 1
        request = await load(db, rid)
        assert request.status == ("pending" if decisions == ["approve"] else "rejected")

    async def test_all_mode_waits_for_everyone(self, db):
        company = await setup_company(db)
        async with db.session() as session:
            rt = await create_request_type(session, RequestTypeIn(
                code="both", name_ru="Оба", name_en="Both",
                stages=[{"name": "Оба бухгалтера", "mode": "all", "approvers": {"kind": "role", "role": "accountant"}}]))
            await session.commit()
        rid = await new_request(db, company, request_type_id=rt.id)
        await act(db, company, "manager", rid, Action.SUBMIT)
        assert (await act(db, company, "accountant", rid, Action.APPROVE)).request.status == "pending"
        assert (await act(db, company, "accountant2", rid, Action.APPROVE)).request.status == "approved"


class TestRejectAndReturn:
    async def test_reject_needs_a_reason(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        with pytest.raises(InvalidInput) as error:
            await act(db, company, "north_head", rid, Action.REJECT, comment="  ")
        assert error.value.field == "comment"
        outcome = await act(db, company, "north_head", rid, Action.REJECT, comment="Нет в бюджете")
        assert outcome.request.status == "rejected"
        assert (company.people["manager"].id, "rejected") in await notices(db, rid)

    async def test_returned_request_fixed_in_words_resumes_at_the_returning_stage(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "north_head", rid, Action.APPROVE)
        await act(db, company, "cfo", rid, Action.RETURN, comment="Уточните назначение")
        await in_transaction(db, lambda s: service.update_request(
            s, company.actor("manager"), rid, request_fields(company, purpose="Оплата бумаги по счёту № 15")))
        outcome = await act(db, company, "manager", rid, Action.SUBMIT)
        assert outcome.request.current_stage == 2  # the head's approval stands
        assert outcome.event.details["resumed_at_stage"] == 2

    async def test_changed_amount_after_return_restarts_the_route(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "north_head", rid, Action.APPROVE)
        await act(db, company, "cfo", rid, Action.RETURN, comment="Сумма не та")
        await in_transaction(db, lambda s: service.update_request(
            s, company.actor("manager"), rid, request_fields(company, amount="14000.00")))
        outcome = await act(db, company, "manager", rid, Action.SUBMIT)
        assert outcome.request.current_stage == 1 and outcome.request.round == 2
        assert outcome.event.details["approvals_voided"] == 1

    async def test_initiator_cannot_edit_a_submitted_request(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        with pytest.raises(InvalidInput) as error:
            await in_transaction(db, lambda s: service.update_request(
                s, company.actor("manager"), rid, request_fields(company, amount="1.00")))
        assert error.value.code == "request.not_editable"
        assert (await load(db, rid)).amount == 1_500_000

    async def test_admin_correction_of_amount_voids_approvals(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "north_head", rid, Action.APPROVE)
        await act(db, company, "cfo", rid, Action.APPROVE)
        outcome = await in_transaction(db, lambda s: service.update_request(
            s, company.actor("admin"), rid, request_fields(company, amount="15500.00")))
        assert outcome.request.status == "pending" and outcome.request.current_stage == 1
        assert outcome.event.details["approvals_voided"] == 2


class TestDelegationAndAddedApprovers:
    async def test_deputy_gets_the_task_and_history_says_on_behalf_of(self, db):
        company = await setup_company(db)
        async with db.session() as session:
            session.add(Delegation(employee_id=company.people["north_head"].id, deputy_id=company.people["deputy"].id,
                                   starts_on=today() - timedelta(days=1), ends_on=today() + timedelta(days=7)))
            await session.commit()
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        assert (company.people["deputy"].id, "task_assigned") in await notices(db, rid)
        outcome = await act(db, company, "deputy", rid, Action.APPROVE)
        assert outcome.event.actor_id == company.people["deputy"].id
        assert outcome.event.on_behalf_of_id == company.people["north_head"].id

    async def test_added_approver_must_approve_too(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "north_head", rid, Action.ADD_APPROVER, employee_id=company.people["head"].id)
        assert (await act(db, company, "north_head", rid, Action.APPROVE)).request.current_stage == 1
        assert (await act(db, company, "head", rid, Action.APPROVE)).request.current_stage == 2

    async def test_a_deputy_still_sees_what_they_decided_so_a_double_tap_changes_nothing(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)  # the task goes to north_head
        async with db.session() as session:
            delegation = Delegation(employee_id=company.people["north_head"].id,
                                    deputy_id=company.people["manager2"].id,
                                    starts_on=today() - timedelta(days=1), ends_on=today() + timedelta(days=7))
            session.add(delegation)
            await session.commit()
        await act(db, company, "manager2", rid, Action.APPROVE)  # on behalf of north_head
        # Nothing pending for manager2 now, yet a deputy sees what was asked of the person they
        # stand in for: the repeat answers "nothing changed", not "not found".
        again = await act(db, company, "manager2", rid, Action.APPROVE)
        assert again.changed is False
        assert [e.action for e in await events(db, rid)].count("approve") == 1
        async with db.session() as session:
            (await session.get(Delegation, delegation.id)).cancelled_at = utcnow()
            await session.commit()
        with pytest.raises(NotFound):  # back from leave: the deputy sees it no more
            await act(db, company, "manager2", rid, Action.APPROVE)

    async def test_an_added_approver_asked_again_after_a_return_is_told_through_the_deputy(self, db):
        company = await setup_company(db)
        cfo, director = company.people["cfo"].id, company.people["director"].id
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "north_head", rid, Action.ADD_APPROVER, employee_id=cfo)  # the CFO is told
        async with db.session() as session:
            session.add(Delegation(employee_id=cfo, deputy_id=director,
                                   starts_on=today() - timedelta(days=1), ends_on=today() + timedelta(days=7)))
            await session.commit()
        await act(db, company, "director", rid, Action.RETURN, comment="Уточните")  # for the CFO
        resumed = await act(db, company, "manager", rid, Action.SUBMIT)  # words unchanged: stage 1 again
        assert resumed.event.details["resumed_at_stage"] == 1
        async with db.session() as session:
            added = await session.scalar(select(ApprovalTask).where(
                ApprovalTask.request_id == rid, ApprovalTask.approver_id == cfo, ApprovalTask.status == "pending"))
            told = [(m.payload["recipient_id"], m.payload["event"])
                    for m in await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "notify"))
                    if m.payload["history_id"] == resumed.event.id]
        assert added.assignee_id == director  # the CFO is still away: the deputy gets it now…
        assert (director, "task_assigned") in told  # …and is told by the resubmit, not the old add_approver


class TestPolicies:
    async def test_budget_block_names_the_numbers(self, db):
        company = await setup_company(db)
        month = today().replace(day=1)
        async with db.session() as session:
            session.add(Budget(department_id=company.departments["north"].id, month=month, amount=1_000_000,
                               on_exceed="block"))
            await session.commit()
        rid = await new_request(db, company, pay_by=max(today(), month))
        with pytest.raises(InvalidInput) as error:
            await act(db, company, "manager", rid, Action.SUBMIT)
        assert error.value.code == "policy.budget_blocked"
        assert error.value.params["over"] == "5\u00a0000,00"

    async def test_over_budget_routes_to_the_director(self, db):
        company = await setup_company(db)
        async with db.session() as session:
            session.add(Budget(department_id=company.departments["north"].id,
                               month=today().replace(day=1), amount=1_000_000, on_exceed="route"))
            await session.commit()
        rid = await new_request(db, company, pay_by=today())
        outcome = await act(db, company, "manager", rid, Action.SUBMIT)
        assert outcome.event.details["route"][-1]["approvers"] == [company.people["director"].id]
        assert "over_budget" in outcome.event.details["flags"]

    async def test_duplicate_invoice_and_changed_account_are_flagged(self, db):
        company = await setup_company(db)
        first = await new_request(db, company)
        await act(db, company, "manager", first, Action.SUBMIT)
        await act(db, company, "north_head", first, Action.APPROVE)
        await act(db, company, "cfo", first, Action.APPROVE)
        await act(db, company, "accountant", first, Action.MARK_PAID)
        second = await new_request(db, company, account=account(99))
        outcome = await act(db, company, "manager", second, Action.SUBMIT)
        codes = {f["code"] for f in outcome.request.flags}
        assert codes == {"duplicate_invoice", "changed_bank_details"}


class TestPaymentAndCancel:
    async def test_only_accounting_marks_paid_and_closes(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "north_head", rid, Action.APPROVE)
        await act(db, company, "cfo", rid, Action.APPROVE)
        with pytest.raises(Forbidden):
            await act(db, company, "manager", rid, Action.MARK_PAID)
        with pytest.raises(InvalidInput):
            await act(db, company, "accountant", rid, Action.MARK_PAID, paid_on=today() + timedelta(days=3))
        paid = await act(db, company, "accountant", rid, Action.MARK_PAID)
        assert paid.request.status == "paid" and paid.request.paid_on == today()
        assert (company.people["manager"].id, "paid") in await notices(db, rid)
        assert (await act(db, company, "accountant", rid, Action.CLOSE)).request.status == "closed"
        with pytest.raises(Conflict):
            await act(db, company, "manager", rid, Action.CANCEL)

    async def test_cancel_voids_the_pending_task(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        await act(db, company, "manager", rid, Action.SUBMIT)
        await act(db, company, "manager", rid, Action.CANCEL)
        async with db.session() as session:
            statuses = set(await session.scalars(select(ApprovalTask.status).where(ApprovalTask.request_id == rid)))
        assert statuses == {"void"}
        with pytest.raises(Conflict):
            await act(db, company, "north_head", rid, Action.APPROVE)


class TestAtomicity:
    async def test_a_failed_action_leaves_no_history_and_no_outbox(self, db):
        company = await setup_company(db)
        rid = await new_request(db, company)
        async with db.session() as session:
            before = await session.scalar(select(func.count()).select_from(OutboxMessage))
        with pytest.raises(InvalidInput):
            await act(db, company, "manager", rid, Action.SUBMIT, expected_version=None, comment="x" * 5000)
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == before
        assert [e.action for e in await events(db, rid)] == ["create"]

    async def test_history_rows_cannot_be_changed_in_the_database(self, db):
        company = await setup_company(db)
        await new_request(db, company)
        from sqlalchemy import text
        with pytest.raises(Exception, match="append-only"):
            async with db.engine.begin() as connection:
                await connection.execute(text("UPDATE history_events SET comment = 'forged'"))


class TestNumbering:
    async def test_concurrent_drafts_get_distinct_consecutive_numbers(self, db):
        company = await setup_company(db)
        ids = await asyncio.gather(*(new_request(db, company, who=who) for who in ["manager", "manager2"] * 6))
        async with db.session() as session:
            numbers = sorted(await session.scalars(select(PaymentRequest.number).where(PaymentRequest.id.in_(ids))))
        prefix = f"РМ-{today().year % 100:02d}-"
        assert numbers == [f"{prefix}{n:05d}" for n in range(1, 13)]
