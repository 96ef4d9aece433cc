"""Whether a person can be reached in Telegram: blocking the bot makes them unreachable (and
the admins are told, since approvals stop reaching them); writing to the bot again undoes it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.models import Employee, OutboxMessage
from backend.notifications import NOTIFY, queue_notice, recipient_order
from backend.outbox import requeue
from backend.workflows.routing import Directory

BLOCKED_NOTE = "the person blocked the bot"
BACKLOG_DAYS = 7  # what they missed while blocked and still get when back


async def mark_unreachable(session: AsyncSession, employee_id: int) -> bool:
    """Telegram answered 403 for this person; False when they were already marked."""
    employee = await session.get(Employee, employee_id)
    if employee is None or employee.telegram_blocked_at is not None:
        return False
    employee.telegram_blocked_at = utcnow()
    since = employee.telegram_blocked_at.strftime("%Y%m%d%H%M%S")
    for admin in await Directory(session).with_role("admin"):
        if admin.id != employee.id and admin.active:
            await queue_notice(session, admin.id, "recipient_unreachable", dedup_key=f"unreachable:{employee.id}:{since}:{admin.id}",
                               urgent=True, data={"employee_id": employee.id, "name": employee.full_name})
    return True


async def mark_reachable(session: AsyncSession, employee: Employee) -> bool:
    """They wrote to the bot: deliver to them again — including, in their order, the notices of
    the last week that failed or were skipped because of the block."""
    if employee.telegram_blocked_at is None:
        return False
    since = min(employee.telegram_blocked_at, utcnow()) - timedelta(days=BACKLOG_DAYS)
    employee.telegram_blocked_at = None
    await requeue(session, OutboxMessage.topic == NOTIFY, OutboxMessage.ordering_key == recipient_order(employee.id),
                  OutboxMessage.created_at >= since,
                  or_(and_(OutboxMessage.status == "failed", OutboxMessage.last_error.like("403%")),
                      and_(OutboxMessage.status == "skipped", OutboxMessage.last_error == BLOCKED_NOTE)),
                  note="the person unblocked the bot")
    return True
