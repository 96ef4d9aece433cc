"""Delegation hands over what already waits: to the deputy while it is in force, back after it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from backend.errors import Conflict, Forbidden
from backend.models import ApprovalTask, HistoryEvent, OutboxMessage, PaymentRequest
from backend.services import payment_requests as service
from backend.services.company.delegations import (
    DelegationFields, cancel_delegation, create_delegation, update_delegation,
)
from backend.services.company.employees import deactivate_employee
from backend.services.delegation_handover import sync_delegations
from backend.services.transactions import in_transaction
from backend.services.views import detail
from backend.workflows.engine import transition
from backend.workflows.lifecycle import Action
from tests.factories import new_request, setup_company, today


async def submitted(db, company) -> int:
    rid = await new_request(db, company)
    await in_transaction(db, lambda s: service.act(s, company.actor("manager"), rid, Action.SUBMIT))
    return rid  # stage 1 waits for north_head


async def delegate(db, company, who, deputy, *, starts=0, days=7, by=None):
    fields = DelegationFields(deputy_id=company.people[deputy].id, starts_on=today() + timedelta(days=starts),
                              ends_on=today() + timedelta(days=starts + days),
                              **({"employee_id": company.people[who].id} if by else {}))
    return await in_transaction(db, lambda s: create_delegation(s, company.actor(by or who), fields))


async def holders(db, request_id) -> dict[int, int]:
    """approver → assignee of the pending tasks."""
    async with db.session() as session:
        tasks = await session.scalars(select(ApprovalTask).where(
            ApprovalTask.request_id == request_id, ApprovalTask.status == "pending"))
        return {t.approver_id: t.assignee_id for t in tasks}


async def delegate_events(db, request_id) -> list[HistoryEvent]:
    async with db.session() as session:
        return list(await session.scalars(select(HistoryEvent).where(
            HistoryEvent.request_id == request_id, HistoryEvent.action == "delegate").order_by(HistoryEvent.id)))


async def told(db, event: HistoryEvent) -> list[tuple[int, str]]:
    async with db.session() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "notify"))
        return [(m.payload["recipient_id"], m.payload["event"]) for m in rows if m.payload.get("history_id") == event.id]


def noon(day) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


class TestHandOver:
    async def test_a_delegation_from_today_moves_what_waits_and_the_deputy_decides_for_the_approver(self, db):
        company = await setup_company(db)
        head, deputy = company.people["north_head"].id, company.people["deputy"].id
        rid = await submitted(db, company)

        delegation = await delegate(db, company, "north_head", "deputy")

        assert await holders(db, rid) == {head: deputy}
        [event] = await delegate_events(db, rid)
        assert (event.actor_id, event.from_status, event.to_status, event.stage) == (head, "pending", "pending", 1)
        assert event.details["delegation"] == {
            "id": delegation.id, "approver_id": head, "to_id": deputy, "from_ids": [head], "handed_back": False,
            "starts_on": today().isoformat(), "ends_on": (today() + timedelta(days=7)).isoformat()}
        assert await told(db, event) == [(deputy, "task_assigned")]
        decided = await in_transaction(db, lambda s: service.act(s, company.actor("deputy"), rid, Action.APPROVE))
        assert (decided.event.actor_id, decided.event.on_behalf_of_id) == (deputy, head)

    async def test_cancelling_brings_it_back_and_tells_the_approver(self, db):
        company = await setup_company(db)
        head, deputy = company.people["north_head"].id, company.people["deputy"].id
        rid = await submitted(db, company)
        delegation = await delegate(db, company, "north_head", "deputy")

        await in_transaction(db, lambda s: cancel_delegation(s, company.actor("north_head"), delegation.id))

        assert await holders(db, rid) == {head: head}
        back = (await delegate_events(db, rid))[-1]
        assert back.details["delegation"]["handed_back"] is True
        assert back.details["delegation"]["from_ids"] == [deputy]
        assert await told(db, back) == [(head, "task_assigned")]
        with pytest.raises(Forbidden):  # the deputy holds nothing now
            await in_transaction(db, lambda s: service.act(s, company.actor("deputy"), rid, Action.APPROVE))

    async def test_a_planned_delegation_waits_for_its_day_and_ends_by_itself(self, db, settings):
        company = await setup_company(db)
        head, deputy = company.people["north_head"].id, company.people["deputy"].id
        rid = await submitted(db, company)
        await delegate(db, company, "north_head", "deputy", starts=1, days=2)  # tomorrow … in three days
        assert await holders(db, rid) == {head: head}

        async def job(day):
            return await in_transaction(db, lambda s: sync_delegations(s, noon(day), settings))

        assert await job(today()) == 0
        assert await job(today() + timedelta(days=1)) == 1
        assert await holders(db, rid) == {head: deputy}
        assert await job(today() + timedelta(days=2)) == 0  # nothing out of place: nothing done
        assert await job(today() + timedelta(days=4)) == 1  # the day after the last one
        assert await holders(db, rid) == {head: head}
        over, back = await delegate_events(db, rid)
        assert [over.details["delegation"]["handed_back"], back.details["delegation"]["handed_back"]] == [False, True]
        assert (over.actor_id, back.actor_id) == (None, None)  # the system's job
        assert await told(db, over) == [(deputy, "task_assigned")] and await told(db, back) == [(head, "task_assigned")]

    async def test_the_day_is_the_approvers_own(self, db, settings):
        """21:30 UTC is already tomorrow in Moscow: the delegation starting tomorrow is in force."""
        company = await setup_company(db)
        head, deputy = company.people["north_head"].id, company.people["deputy"].id
        rid = await submitted(db, company)
        await delegate(db, company, "north_head", "deputy", starts=1)
        late = datetime.combine(today(), time(21, 30), tzinfo=UTC)
        assert await in_transaction(db, lambda s: sync_delegations(s, late, settings)) == 1
        assert await holders(db, rid) == {head: deputy}

    async def test_the_initiator_never_gets_their_own_request(self, db):
        company = await setup_company(db)
        head = company.people["north_head"].id
        rid = await submitted(db, company)
        await delegate(db, company, "north_head", "manager")  # the manager submitted it
        assert await holders(db, rid) == {head: head}
        assert await delegate_events(db, rid) == []

    async def test_a_deputy_who_leaves_gives_it_back(self, db, settings):
        company = await setup_company(db)
        head, deputy = company.people["north_head"].id, company.people["deputy"].id
        rid = await submitted(db, company)
        await delegate(db, company, "north_head", "deputy")
        await in_transaction(db, lambda s: deactivate_employee(s, deputy))  # cancels the delegation
        assert await holders(db, rid) == {head: head}  # at once, not at the next scheduler tick
        assert await in_transaction(db, lambda s: sync_delegations(s, noon(today()), settings)) == 0

    async def test_an_admin_delegates_for_someone_and_history_names_the_admin(self, db):
        company = await setup_company(db)
        rid = await submitted(db, company)
        await delegate(db, company, "north_head", "deputy", by="admin")
        [event] = await delegate_events(db, rid)
        assert event.actor_id == company.people["admin"].id
        assert await holders(db, rid) == {company.people["north_head"].id: company.people["deputy"].id}

    async def test_a_new_deputy_takes_over_from_the_old_one(self, db):
        company = await setup_company(db)
        head = company.people["north_head"].id
        rid = await submitted(db, company)
        delegation = await delegate(db, company, "north_head", "deputy")
        await in_transaction(db, lambda s: update_delegation(s, company.actor("north_head"), delegation.id,
                                                             DelegationFields(deputy_id=company.people["head"].id)))
        assert await holders(db, rid) == {head: company.people["head"].id}
        last = (await delegate_events(db, rid))[-1]
        assert last.details["delegation"]["from_ids"] == [company.people["deputy"].id]


class TestDelegateAction:
    async def test_a_deputy_may_not_pass_the_work_on(self, db):
        company = await setup_company(db)
        rid = await submitted(db, company)
        await delegate(db, company, "north_head", "deputy")

        async def pass_on(session):
            request = await session.get(PaymentRequest, rid)
            await transition(session, request, Action.DELEGATE, company.actor("deputy"), data={
                "approver_id": company.people["north_head"].id, "assignee_id": company.people["head"].id})

        with pytest.raises(Forbidden) as error:
            await in_transaction(db, pass_on)
        assert error.value.code == "delegation.not_yours"

    async def test_it_is_never_offered_as_a_button(self, db):
        company = await setup_company(db)
        rid = await submitted(db, company)

        async def actions(session):
            request = await session.get(PaymentRequest, rid)
            return (await detail(session, company.actor("north_head"), request))["available_actions"]

        offered = await in_transaction(db, actions)
        assert "approve" in offered and "delegate" not in offered

    async def test_a_refused_delegation_hands_nothing_over(self, db):
        company = await setup_company(db)
        head = company.people["north_head"].id
        rid = await submitted(db, company)
        await delegate(db, company, "north_head", "deputy", starts=3)
        with pytest.raises(Conflict) as error:  # overlaps the one planned: refused, nothing moves
            await delegate(db, company, "north_head", "head")
        assert error.value.code == "delegation.overlap"
        assert await holders(db, rid) == {head: head}
        assert await delegate_events(db, rid) == []
