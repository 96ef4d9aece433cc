"""Scheduled notices: SLA reminders, escalation, pay-by reminders, the morning digest, and
keeping the outbox small.

Each job reads the database as it is when it runs — a restart, a changed SLA or a decided task
is simply seen — and names every notice by what it is about (the task; the accountant, kind and
local date), so the outbox's dedup key makes a job run twice, on two replicas, or again after
the service was down, queue each notice once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, cast, delete, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.integrations.outbox_rows import BITRIX24, ONEC
from backend.models import ApprovalTask, Employee, OutboxMessage, PaymentRequest, RequestStage
from backend.notifications import queue_notice
from backend.notifications.working_time import WorkingCalendar
from backend.services.tokens import actor_of
from backend.services.worklists import payment_queue, waiting_for
from backend.settings import Settings
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import Status
from backend.workflows.routing import Directory

Job = Callable[[AsyncSession, datetime, Settings], Awaitable[int]]

RETENTION_DAYS = 30  # sent and skipped outbox rows are kept this long
ESCALATION_FACTOR = 2  # escalate once a task has waited this many SLAs
PAY_KINDS = ("pay_due_next", "pay_due_today", "pay_overdue")


def zone_of(employee: Employee, settings: Settings) -> str:
    try:
        ZoneInfo(employee.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return settings.default_timezone
    return employee.timezone


# --- SLA reminders and escalation -----------------------------------------------------------------

async def _open_tasks(session: AsyncSession, kind: str) -> list[Any]:
    """Pending tasks of active stages with no ``kind`` notice yet, with their stage's clock and assignee."""
    already = exists().where(OutboxMessage.dedup_key == literal(f"{kind}:", String) + cast(ApprovalTask.id, String))
    return list((await session.execute(
        select(ApprovalTask.id.label("task_id"), ApprovalTask.request_id, ApprovalTask.approver_id,
               ApprovalTask.assignee_id, RequestStage.started_at, RequestStage.sla_hours, Employee)
        .join(RequestStage, RequestStage.id == ApprovalTask.stage_id)
        .join(PaymentRequest, PaymentRequest.id == ApprovalTask.request_id)
        .join(Employee, Employee.id == ApprovalTask.assignee_id)
        .where(ApprovalTask.status == "pending", RequestStage.status == "active",
               RequestStage.started_at.is_not(None), PaymentRequest.status == Status.PENDING.value, ~already)
        .order_by(ApprovalTask.id)
    )).all())


async def sla_reminders(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Remind an assignee once of a task whose stage has been active for its SLA in working hours,
    during the assignee's working time."""
    calendar = WorkingCalendar.from_settings(settings)
    queued = 0
    for row in await _open_tasks(session, "sla_reminder"):
        zone = zone_of(row.Employee, settings)
        if not calendar.is_working(now, zone) or calendar.add_hours(row.started_at, row.sla_hours, zone) > now:
            continue
        queued += await queue_notice(session, row.assignee_id, "sla_reminder", dedup_key=f"sla_reminder:{row.task_id}",
                                     request_id=row.request_id, data={"with_card": True, "task_id": row.task_id})
    return queued


async def escalations(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Once a task has waited twice its SLA (the assignee's working hours), tell the approver's head
    (urgent; during the head's working time) and the assignee that it was escalated."""
    calendar = WorkingCalendar.from_settings(settings)
    directory = Directory(session)
    queued = 0
    for row in await _open_tasks(session, "escalation"):
        due = calendar.add_hours(row.started_at, ESCALATION_FACTOR * row.sla_hours, zone_of(row.Employee, settings))
        if due > now:
            continue
        approver = await directory.employee(row.approver_id)
        head = await directory.manager_of(approver) if approver is not None else None
        # Nobody above, or the one above is already the one who should decide.
        if head is None or head.id in (row.approver_id, row.assignee_id):
            continue
        if not calendar.is_working(now, zone_of(head, settings)):
            continue
        data = {"task_id": row.task_id, "head_id": head.id}
        queued += await queue_notice(session, head.id, "escalation", dedup_key=f"escalation:{row.task_id}",
                                     request_id=row.request_id, urgent=True, data=data)
        queued += await queue_notice(session, row.assignee_id, "escalated", dedup_key=f"escalated:{row.task_id}",
                                     request_id=row.request_id, data={**data, "with_card": True})
    return queued


# --- pay-by reminders to accounting -----------------------------------------------------------------

def pay_kind(calendar: WorkingCalendar, pay_by: date, today: date) -> str | None:
    """Which reminder an approved request due on ``pay_by`` calls for on the working day ``today``.

    A pay-by date on a weekend or holiday is due on the working day before it (banks do not pay
    then); "next" is the working day before that; overdue starts the day after ``pay_by``."""
    if pay_by < today:
        return "pay_overdue"
    due = calendar.working_day_on_or_before(pay_by)
    if today == due:
        return "pay_due_today"
    if today == calendar.previous_working_day(due):
        return "pay_due_next"
    return None


def _morning_of(calendar: WorkingCalendar, now: datetime, zone: str, digest_time: time) -> date | None:
    """The person's local date when it is a working day and digest time has come, else None."""
    local = now.astimezone(ZoneInfo(zone))
    if calendar.is_working_day(local.date()) and local.time().replace(tzinfo=None) >= digest_time:
        return local.date()
    return None


async def pay_reminders(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """One notice per accountant, kind and local working day, listing the approved requests due
    the next working day, due today, or overdue; from digest time on."""
    calendar = WorkingCalendar.from_settings(settings)
    accountants = await Directory(session).with_role("accountant")
    if not accountants:
        return 0
    approved = (await session.execute(
        select(PaymentRequest.id, PaymentRequest.pay_by).where(PaymentRequest.status == Status.APPROVED.value,
                                                               PaymentRequest.kind == "payment")
        .order_by(PaymentRequest.pay_by, PaymentRequest.id)
    )).all()
    digest_time = time.fromisoformat(settings.digest_time)
    by_day: dict[date, dict[str, list[int]]] = {}  # accountants in one zone share a day: sort the requests once
    queued = 0
    for accountant in accountants:
        today = _morning_of(calendar, now, zone_of(accountant, settings), digest_time)
        if today is None:
            continue
        if today not in by_day:
            batches = by_day[today] = {}
            for request_id, pay_by in approved:
                kind = pay_kind(calendar, pay_by, today)
                if kind is not None:
                    batches.setdefault(kind, []).append(request_id)
        for kind, ids in by_day[today].items():
            queued += await queue_notice(session, accountant.id, kind, dedup_key=f"{kind}:{accountant.id}:{today}",
                                         urgent=kind != "pay_due_next", data={"request_ids": ids})
    return queued


# --- the morning digest ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _ActorOn(Actor):
    """An actor whose "today" is the job's date, not the wall clock's."""

    on: date | None = None

    def today(self) -> date:
        return self.on


async def digest_of(session: AsyncSession, employee: Employee, today: date) -> dict[str, Any]:
    """What waits for the employee this morning; empty when nothing does."""
    actor = _ActorOn(**vars(actor_of(employee)), on=today)
    summary: dict[str, Any] = {}
    inbox = await waiting_for(session, actor, size=1)
    if inbox.total:
        oldest = inbox.items[0]
        since = await session.scalar(select(func.min(RequestStage.started_at)).where(
            RequestStage.request_id == oldest.id, RequestStage.status == "active"))
        summary.update(inbox=inbox.total, oldest_request_id=oldest.id,
                       oldest_since=since.isoformat() if since else None)
    returned = list(await session.scalars(
        select(PaymentRequest.id).where(PaymentRequest.initiator_id == employee.id,
                                        PaymentRequest.status == Status.RETURNED.value).order_by(PaymentRequest.id)))
    if returned:
        summary["returned"] = returned
    if employee.has_role("accountant"):
        due_today = (await payment_queue(session, actor, "today", size=1)).total
        overdue = (await payment_queue(session, actor, "overdue", size=1)).total
        if due_today or overdue:
            summary.update(pay_today=due_today, pay_overdue=overdue)
    return summary


async def digests(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Once per working day, from digest time in the person's zone: what waits for them. A day
    with nothing to say is recorded as a skipped row, so it is decided once, not every minute."""
    calendar = WorkingCalendar.from_settings(settings)
    digest_time = time.fromisoformat(settings.digest_time)
    people = await session.scalars(
        select(Employee).where(Employee.active.is_(True), Employee.digest_enabled.is_(True),
                               Employee.telegram_user_id.is_not(None), Employee.telegram_blocked_at.is_(None))
        .order_by(Employee.id))
    due: dict[str, tuple[Employee, date]] = {}
    for person in people:
        today = _morning_of(calendar, now, zone_of(person, settings), digest_time)
        if today is not None:
            due[f"digest:{person.id}:{today}"] = (person, today)
    if not due:
        return 0
    decided = set(await session.scalars(
        select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key.in_(list(due)))))
    queued = 0
    for key, (person, today) in due.items():
        if key in decided:
            continue
        summary = await digest_of(session, person, today)
        if not await queue_notice(session, person.id, "digest", dedup_key=key, data=summary):
            continue  # another replica decided it first
        if summary:
            queued += 1
        else:
            await session.execute(update(OutboxMessage).where(OutboxMessage.dedup_key == key)
                                  .values(status="skipped", last_error="nothing waits", sent_at=now))
    return queued


# --- retention -----------------------------------------------------------------------------------------------

async def purge_outbox(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Delete sent and skipped outbox rows older than RETENTION_DAYS; failed ones stay for admins.
    Rows for an integration that is not configured wait RETENTION_DAYS for it (connected later, it
    catches up), then go too: a full sync (``/api/v1/integrations/{system}/full-sync``) brings an
    integration connected later up to date. Returns how many rows went (it queues nothing)."""
    cutoff = now - timedelta(days=RETENTION_DAYS)
    result = await session.execute(delete(OutboxMessage).where(
        OutboxMessage.status.in_(("sent", "skipped")),
        func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < cutoff))
    unconsumed = [topic for topic, configured in ((BITRIX24, settings.bitrix24_webhook_url),
                                                   (ONEC, settings.onec_odata_url)) if not configured]
    dropped = await session.execute(delete(OutboxMessage).where(
        OutboxMessage.topic.in_(unconsumed), OutboxMessage.status == "pending", OutboxMessage.created_at < cutoff))
    return (result.rowcount or 0) + (dropped.rowcount or 0)


JOBS: dict[str, Job] = {
    "sla_reminders": sla_reminders,
    "escalations": escalations,
    "pay_reminders": pay_reminders,
    "digests": digests,
    "purge_outbox": purge_outbox,
}
