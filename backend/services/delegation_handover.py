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
    if not tasks:
        return 0
    in_force = await _delegations_in_force(session, {t.approver_id for t, _ in tasks}, now, default_zone)
    held: dict[tuple[int, int], set[int]] = {}  # (request, approver) → who holds the tasks now
    moves: dict[tuple[int, int], int] = {}  # (request, approver) → who should hold them
    for task, initiator_id in tasks:
        key = (task.request_id, task.approver_id)
        held.setdefault(key, set()).add(task.assignee_id)
        delegation = in_force.get(task.approver_id)
        # Nobody approves their own request, not even as somebody's deputy.
        holder = delegation.deputy_id if delegation and delegation.deputy_id != initiator_id else task.approver_id
        if task.assignee_id != holder:
            moves[key] = holder
    if not moves:
        return 0
    requests = {r.id: r for r in await session.scalars(
        select(PaymentRequest).where(PaymentRequest.id.in_({request_id for request_id, _ in moves})))}
    for (request_id, approver_id), holder in sorted(moves.items()):
        delegation = in_force.get(approver_id)
        if holder == approver_id:  # handed back: name the delegation that ended
            delegation = await _latest_delegation(session, approver_id, held[(request_id, approver_id)])
        await transition(session, requests[request_id], Action.DELEGATE, actor, data={
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


async def _delegations_in_force(session: AsyncSession, approver_ids: set[int], now: datetime,
                                default_zone: str) -> dict[int, Delegation]:
    """Per approver, the same choice as the engine's ``active_deputy`` on the approver's own
    today: the newest delegation in force whose deputy still works here. Two queries for all."""
    zones = dict((await session.execute(
        select(Employee.id, Employee.timezone).where(Employee.id.in_(approver_ids))
    )).all())
    local_today = {a: now.astimezone(_zone(zones[a], default_zone)).date() for a in approver_ids}
    delegations = await session.scalars(
        select(Delegation).join(Employee, Employee.id == Delegation.deputy_id)
        .where(Delegation.employee_id.in_(approver_ids), Delegation.starts_on <= max(local_today.values()),
               Delegation.ends_on >= min(local_today.values()), Delegation.cancelled_at.is_(None),
               Employee.active.is_(True))
        .order_by(Delegation.id)
    )
    in_force: dict[int, Delegation] = {}
    for delegation in delegations:  # by id: the newest in force wins
        if delegation.starts_on <= local_today[delegation.employee_id] <= delegation.ends_on:
            in_force[delegation.employee_id] = delegation
    return in_force


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
