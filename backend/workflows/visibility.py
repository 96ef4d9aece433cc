"""Who may see which requests (PRODUCT §1): one rule, used as a check and as a query filter."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import ApprovalTask, Department, PaymentRequest
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import Status

ACCOUNTING_STATUSES = (Status.APPROVED.value, Status.PAID.value, Status.CLOSED.value)


async def headed_paths(session: AsyncSession, employee_id: int) -> list[str]:
    """Materialised paths of the departments this employee heads or deputises."""
    rows = await session.scalars(
        select(Department.path).where(or_(Department.head_id == employee_id, Department.deputy_id == employee_id))
    )
    return list(rows)


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
        asked = select(ApprovalTask.request_id).where(
            or_(ApprovalTask.approver_id == me, ApprovalTask.assignee_id == me),
            ApprovalTask.status != "waiting",
        )
        clauses.append(PaymentRequest.id.in_(asked))
        paths = await headed_paths(session, me)
        if paths:
            subtree = select(Department.id).where(or_(*(Department.path.like(p + "%") for p in paths)))
            clauses.append(and_(not_draft, PaymentRequest.department_id.in_(subtree)))
    return or_(*clauses) if clauses else false()


async def can_see(session: AsyncSession, actor: Actor, request: PaymentRequest) -> bool:
    if actor.is_admin or actor.employee_id == request.initiator_id:
        return True
    clause = await visible_filter(session, actor)
    found = await session.scalar(select(PaymentRequest.id).where(PaymentRequest.id == request.id, clause))
    return found is not None
