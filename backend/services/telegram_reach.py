"""Whether a person can be reached in Telegram: blocking the bot makes them unreachable (and
the admins are told, since approvals stop reaching them); writing to the bot again undoes it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.models import Employee
from backend.notifications import queue_notice
from backend.workflows.routing import Directory


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
    """They wrote to the bot: deliver to them again."""
    if employee.telegram_blocked_at is None:
        return False
    employee.telegram_blocked_at = None
    return True


async def unreachable_people(session: AsyncSession) -> list[Employee]:
    return list((await session.scalars(select(Employee).where(Employee.telegram_blocked_at.is_not(None))
                                       .order_by(Employee.id))).all())
