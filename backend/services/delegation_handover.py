"""Handing pending approvals to a deputy when a delegation starts, and back when it ends.

The engine gives a stage's tasks to the deputy when the stage starts. What was already waiting
for the approver is moved here: each task should be held by the approver's deputy while a
delegation is in force (in the approver's own calendar), and by the approver otherwise. Whatever
differs is reassigned through the engine's ``delegate`` action, which records the history event
and tells the new holder. Comparing with what should be makes it idempotent: run it every
minute, or right after a delegation changes, and it only moves what is out of place.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.models import ApprovalTask, Delegation, Employee, PaymentRequest, RequestStage
from backend.settings import Settings
from backend.workflows.actors import Actor
from backend.workflows.engine import transition
from backend.workflows.lifecycle import Action, Status


async def sync_delegations(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """The scheduler's job: move every pending task to whoever should hold it now; returns
    how many handovers it made (one per request and approver)."""
    return await hand_over(session, Actor.system(), now=now, default_zone=settings.default_timezone)


async def hand_over(session: AsyncSession, actor: Actor, *, now: datetime | None = None,
                    approver_ids: Iterable[int] | None = None, default_zone: str = "Europe/Moscow") -> int:
    """Reassign the pending tasks (of ``approver_ids``, or everyone's) whose holder is not who
    it should be at ``now``, in the caller's transaction, as ``actor``. The day is the
    approver's own (``default_zone`` when their zone is unknown)."""
    now = now or utcnow()
    tasks = await _candidate_tasks(session, now, approver_ids)
    zones = dict((await session.execute(
        select(Employee.id, Employee.timezone).where(Employee.id.in_({t.approver_id for t, _ in tasks}))
    )).all())
    in_force: dict[int, Delegation | None] = {}
    moves: dict[tuple[int, int], int] = {}  # (request, approver) → who should hold the tasks
    for task, initiator_id in tasks:
        approver_id = task.approver_id
        if approver_id not in in_force:
            local_today = now.astimezone(_zone(zones[approver_id], default_zone)).date()
            in_force[approver_id] = await _delegation_in_force(session, approver_id, local_today)
        delegation = in_force[approver_id]
        # Nobody approves their own request, not even as somebody's deputy.
        holder = delegation.deputy_id if delegation and delegation.deputy_id != initiator_id else approver_id
        if task.assignee_id != holder:
            moves[(task.request_id, approver_id)] = holder
    for (request_id, approver_id), holder in sorted(moves.items()):
        request = await session.get(PaymentRequest, request_id)
        delegation = in_force[approver_id]
        if holder == approver_id:  # handed back: name the delegation that ended
            previous = {t.assignee_id for t, _ in tasks if t.request_id == request_id and t.approver_id == approver_id}
            delegation = await _latest_delegation(session, approver_id, previous)
        await transition(session, request, Action.DELEGATE, actor, data={
            "approver_id": approver_id, "assignee_id": holder, "delegation": _about(delegation)})
    return len(moves)


async def _candidate_tasks(session: AsyncSession, now: datetime,
                           approver_ids: Iterable[int] | None) -> list[tuple[ApprovalTask, int]]:
    """Pending tasks that may be out of place: those held by someone else than their approver,
    and those of approvers with a delegation around today (in any time zone)."""
    day = now.date()
    around_today = select(Delegation.employee_id).where(
        Delegation.cancelled_at.is_(None), Delegation.starts_on <= day + timedelta(days=1),
        Delegation.ends_on >= day - timedelta(days=1))
    query = (
        select(ApprovalTask, PaymentRequest.initiator_id)
        .join(RequestStage, RequestStage.id == ApprovalTask.stage_id)
        .join(PaymentRequest, PaymentRequest.id == ApprovalTask.request_id)
        .where(ApprovalTask.status == "pending", RequestStage.status == "active",
               RequestStage.round == PaymentRequest.round, PaymentRequest.status == Status.PENDING.value,
               or_(ApprovalTask.assignee_id != ApprovalTask.approver_id, ApprovalTask.approver_id.in_(around_today)))
        .order_by(ApprovalTask.request_id, ApprovalTask.id)
    )
    if approver_ids is not None:
        query = query.where(ApprovalTask.approver_id.in_(list(approver_ids)))
    return [(task, initiator_id) for task, initiator_id in (await session.execute(query)).all()]


async def _delegation_in_force(session: AsyncSession, employee_id: int, on) -> Delegation | None:
    """The same choice as the engine's ``active_deputy``: the newest delegation in force on
    the day whose deputy still works here."""
    return await session.scalar(
        select(Delegation).join(Employee, Employee.id == Delegation.deputy_id)
        .where(Delegation.employee_id == employee_id, Delegation.starts_on <= on, Delegation.ends_on >= on,
               Delegation.cancelled_at.is_(None), Employee.active.is_(True))
        .order_by(Delegation.id.desc()).limit(1)
    )


async def _latest_delegation(session: AsyncSession, employee_id: int, deputies: set[int]) -> Delegation | None:
    return await session.scalar(
        select(Delegation).where(Delegation.employee_id == employee_id, Delegation.deputy_id.in_(deputies))
        .order_by(Delegation.id.desc()).limit(1)
    )


def _zone(name: str, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def _about(delegation: Delegation | None) -> dict[str, Any] | None:
    if delegation is None:
        return None
    return {"id": delegation.id, "deputy_id": delegation.deputy_id,
            "starts_on": delegation.starts_on, "ends_on": delegation.ends_on}
