"""A request's whole story for the page that shows it: every round's stages with their
approvers and decisions, and the history as a timeline with how long each step took."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.models import ApprovalTask, Attachment, Department, Employee, HistoryEvent, LegalEntity, RequestStage, RequestType
from backend.models import ExpenseItem, PaymentRequest
from backend.services import payment_requests
from backend.services.views import available_actions, history_view
from backend.workflows.actors import Actor


@dataclass
class StageView:
    round: int
    position: int
    name: str
    mode: str
    required_count: int
    status: str
    sla_hours: int
    reason: str
    started_at: datetime | None
    finished_at: datetime | None
    seconds: float | None  # how long it took, or has taken so far
    over_sla: bool
    tasks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Timeline:
    request: PaymentRequest
    names: dict[str, str]
    stages: list[StageView]
    events: list[dict[str, Any]]
    files: list[Attachment]
    actions: list[str]
    approval_seconds: float | None


async def request_timeline(session: AsyncSession, actor: Actor, request_id: int) -> Timeline:
    request = await payment_requests.get_visible(session, actor, request_id)
    now = utcnow()
    stage_rows = list(await session.scalars(select(RequestStage).where(RequestStage.request_id == request.id)
                                            .order_by(RequestStage.round, RequestStage.position)))
    task_rows = list(await session.scalars(select(ApprovalTask).where(ApprovalTask.request_id == request.id)
                                           .order_by(ApprovalTask.id)))
    events = list(await session.scalars(select(HistoryEvent).where(HistoryEvent.request_id == request.id)
                                        .order_by(HistoryEvent.id)))
    people_ids = {t.approver_id for t in task_rows} | {t.assignee_id for t in task_rows} | \
        {t.decided_by_id for t in task_rows} | {request.initiator_id}
    people_ids.discard(None)
    people = dict((await session.execute(select(Employee.id, Employee.full_name)
                                         .where(Employee.id.in_(people_ids)))).all())
    stages = []
    for s in stage_rows:
        end = s.finished_at or (now if s.status == "active" else None)
        seconds = (end - s.started_at).total_seconds() if s.started_at and end else None
        tasks = [
            {"approver": people.get(t.approver_id, "?"), "assignee": people.get(t.assignee_id)
             if t.assignee_id != t.approver_id else None, "status": t.status,
             "decided_by": people.get(t.decided_by_id), "decided_at": t.decided_at, "comment": t.comment,
             "added": t.added_by_id is not None}
            for t in task_rows if t.stage_id == s.id
        ]
        stages.append(StageView(
            round=s.round, position=s.position, name=s.name, mode=s.mode, required_count=s.required_count,
            status=s.status, sla_hours=s.sla_hours, reason=s.reason, started_at=s.started_at,
            finished_at=s.finished_at, seconds=seconds,
            over_sla=seconds is not None and seconds > s.sla_hours * 3600, tasks=tasks,
        ))
    event_views = await history_view(session, events)
    previous: datetime | None = None
    for view in event_views:
        view["since_previous"] = (view["at"] - previous).total_seconds() if previous else None
        previous = view["at"]
    # Time to approve: from the first submit to approval, or so far while it waits.
    end = request.approved_at or (now if request.status == "pending" else None)
    total = (end - request.submitted_at).total_seconds() if request.submitted_at and end else None
    files = list(await session.scalars(select(Attachment).where(Attachment.request_id == request.id)
                                       .order_by(Attachment.id)))
    names = await _reference_names(session, actor, request, people)
    actions = [a.value for a in await available_actions(session, actor, request)]
    return Timeline(request=request, names=names, stages=stages, events=event_views, files=files,
                    actions=actions, approval_seconds=total)


async def _reference_names(session: AsyncSession, actor: Actor, request: PaymentRequest,
                           people: dict[int, str]) -> dict[str, str]:
    async def name_of(model, row_id):
        if row_id is None:
            return ""
        row = await session.get(model, row_id)
        return "" if row is None else (row.name(actor.language) if model is RequestType else row.name)

    return {
        "legal_entity": await name_of(LegalEntity, request.legal_entity_id),
        "department": await name_of(Department, request.department_id),
        "request_type": await name_of(RequestType, request.request_type_id),
        "expense_item": await name_of(ExpenseItem, request.expense_item_id),
        "initiator": people.get(request.initiator_id, ""),
    }
