"""Who may see which requests (PRODUCT §1): one rule, used as a check and as a query filter."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import ApprovalTask, Delegation, Department, PaymentRequest
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import Status

ACCOUNTING_STATUSES = (Status.APPROVED.value, Status.PAID.value, Status.CLOSED.value)


async def headed_paths(session: AsyncSession, employee_id: int) -> list[str]:
    """Materialised paths of the departments this employee heads or deputises."""
    rows = await session.scalars(
        select(Department.path).where(or_(Department.head_id == employee_id, Department.deputy_id == employee_id))
    )
    return list(rows)


def _asked(me: int) -> Select:
    """Requests whose approval was asked of ``me`` (as approver or as assignee): a UNION ALL,
    so each half is served by its covering index."""
    return union_all(
        select(ApprovalTask.request_id).where(ApprovalTask.approver_id == me, ApprovalTask.status != "waiting"),
        select(ApprovalTask.request_id).where(ApprovalTask.assignee_id == me, ApprovalTask.status != "waiting"),
    )


def standing_in_for(me: int, today) -> Select:
    """Whom ``me`` stands in for today as a deputy."""
    return select(Delegation.employee_id).where(
        Delegation.deputy_id == me, Delegation.starts_on <= today, Delegation.ends_on >= today,
        Delegation.cancelled_at.is_(None),
    )


async def visible_filter(session: AsyncSession, actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause selecting the requests ``actor`` may see."""
    if actor.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = []
    not_draft = PaymentRequest.status != Status.DRAFT.value
    if actor.has("cfo", "director"):
        clauses.append(not_draft)
    if actor.has("accountant"):
        clauses.append(PaymentRequest.status.in_(ACCOUNTING_STATUSES))
    me = actor.employee_id
    if me is not None:
        clauses.append(PaymentRequest.initiator_id == me)
        clauses.append(PaymentRequest.id.in_(_asked(me)))
        # A deputy sees what was asked of the people they stand in for, even before they took over.
        clauses.append(PaymentRequest.id.in_(
            select(ApprovalTask.request_id).where(
                ApprovalTask.approver_id.in_(standing_in_for(me, actor.today())), ApprovalTask.status != "waiting")
        ))
        paths = await headed_paths(session, me)
        if paths:
            subtree = select(Department.id).where(or_(*(Department.path.like(p + "%") for p in paths)))
            clauses.append(and_(not_draft, PaymentRequest.department_id.in_(subtree)))
    return or_(*clauses) if clauses else false()


async def can_see(session: AsyncSession, actor: Actor, request: PaymentRequest) -> bool:
    """The same rule as ``visible_filter``, checked for one request with cheap, indexed lookups."""
    me = actor.employee_id
    status = request.status
    if actor.is_admin or (me is not None and me == request.initiator_id):
        return True
    if actor.has("cfo", "director") and status != Status.DRAFT.value:
        return True
    if actor.has("accountant") and status in ACCOUNTING_STATUSES:
        return True
    if me is None:
        return False
    tasks = select(ApprovalTask.id).where(ApprovalTask.request_id == request.id, ApprovalTask.status != "waiting")
    asked = tasks.where(or_(
        ApprovalTask.approver_id == me, ApprovalTask.assignee_id == me,
        ApprovalTask.approver_id.in_(standing_in_for(me, actor.today())),
    ))
    if await session.scalar(select(exists(asked))):
        return True
    if status == Status.DRAFT.value or request.department_id is None:
        return False
    paths = await headed_paths(session, me)
    if not paths:
        return False
    department_path = await session.scalar(select(Department.path).where(Department.id == request.department_id))
    return any((department_path or "").startswith(p) for p in paths)
