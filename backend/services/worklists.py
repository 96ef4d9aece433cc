"""Personal lists: what waits for my decision, my own requests, the accountant's payment queue.

Each is one person's short list, so pages are numbered (OFFSET) rather than keyset cursors:
a page number fits in a chat button, a cursor does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Forbidden
from backend.models import ApprovalTask, PaymentRequest, RequestStage
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import Kind, Status
from backend.workflows.visibility import standing_in_for

PAGE_SIZE = 8
QueuePeriod = Literal["today", "week", "overdue", "all"]


@dataclass
class Page:
    items: list[PaymentRequest]
    page: int
    pages: int
    total: int


async def _paged(session: AsyncSession, query, page: int, size: int) -> Page:
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // size))
    page = min(max(page, 0), pages - 1)
    rows = await session.scalars(query.limit(size).offset(page * size))
    return Page(items=list(rows), page=page, pages=pages, total=total)


async def waiting_for(session: AsyncSession, actor: Actor, *, page: int = 0, size: int = PAGE_SIZE) -> Page:
    """Requests with a pending task of ``actor`` (their own, assigned to them, or of someone they
    stand in for today), oldest waiting first."""
    me = actor.employee_id
    waiting_since = (
        select(ApprovalTask.request_id, func.min(RequestStage.started_at).label("since"))
        .join(RequestStage, RequestStage.id == ApprovalTask.stage_id)
        .where(ApprovalTask.status == "pending", RequestStage.status == "active",
               or_(ApprovalTask.assignee_id == me, ApprovalTask.approver_id == me,
                   ApprovalTask.approver_id.in_(standing_in_for(me, actor.today()))))
        .group_by(ApprovalTask.request_id)
        .subquery()
    )
    query = (select(PaymentRequest).join(waiting_since, waiting_since.c.request_id == PaymentRequest.id)
             .where(PaymentRequest.status == Status.PENDING.value, PaymentRequest.initiator_id != me)
             .order_by(waiting_since.c.since, PaymentRequest.id))
    return await _paged(session, query, page, size)


async def own_requests(session: AsyncSession, actor: Actor, *, page: int = 0, size: int = PAGE_SIZE) -> Page:
    """The actor's own requests, newest first."""
    query = (select(PaymentRequest).where(PaymentRequest.initiator_id == actor.employee_id)
             .order_by(PaymentRequest.id.desc()))
    return await _paged(session, query, page, size)


async def payment_queue(session: AsyncSession, actor: Actor, period: QueuePeriod, *, page: int = 0,
                        size: int = PAGE_SIZE) -> Page:
    """Approved requests waiting for payment, by pay-by date: due today, this week (the next 7
    days, today included), overdue, or all of them. Accounting's list: others are refused."""
    if not actor.has("accountant", "admin"):
        raise Forbidden("forbidden.not_accountant")
    today = actor.today()
    query = select(PaymentRequest).where(PaymentRequest.status == Status.APPROVED.value,
                                         PaymentRequest.kind == Kind.PAYMENT.value)
    if period == "today":
        query = query.where(PaymentRequest.pay_by == today)
    elif period == "week":
        query = query.where(PaymentRequest.pay_by >= today, PaymentRequest.pay_by <= today + timedelta(days=6))
    elif period == "overdue":
        query = query.where(PaymentRequest.pay_by < today)
    return await _paged(session, query.order_by(PaymentRequest.pay_by, PaymentRequest.id), page, size)
