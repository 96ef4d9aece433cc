"""Read models of a payment request: what the API returns and the bot shows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Employee, HistoryEvent, PaymentRequest
from backend.money import format_amount
from backend.workflows.actors import Actor
from backend.workflows.engine import parties_of, round_stages
from backend.workflows.lifecycle import Action, Kind, Party, Status, actions_available

SUMMARY_FIELDS = (
    "id", "number", "kind", "version", "status", "current_stage", "round", "legal_entity_id", "request_type_id",
    "department_id", "expense_item_id", "initiator_id", "subject", "counterparty_id", "contractor_name",
    "contractor_inn", "contractor_kpp", "bank_name", "bik", "account", "corr_account", "currency", "pay_by",
    "purpose", "invoice_number", "invoice_date", "is_prepayment", "bitrix24_deal_id", "flags", "paid_on",
    "created_at", "updated_at", "submitted_at", "approved_at", "paid_at", "closed_at",
)


def summary(request: PaymentRequest) -> dict[str, Any]:
    data = {f: getattr(request, f) for f in SUMMARY_FIELDS}
    data["amount"] = format_amount(request.amount)
    data["amount_minor"] = request.amount
    return data


async def detail(session: AsyncSession, actor: Actor, request: PaymentRequest) -> dict[str, Any]:
    """The request with its current route and what the caller may do with it now."""
    data = summary(request)
    stages = await round_stages(session, request)
    data["stages"] = [
        {
            "position": s.position, "name": s.name, "mode": s.mode, "required_count": s.required_count,
            "status": s.status, "sla_hours": s.sla_hours, "reason": s.reason,
            "started_at": s.started_at, "finished_at": s.finished_at,
            "tasks": [
                {"approver_id": t.approver_id, "assignee_id": t.assignee_id, "status": t.status,
                 "decided_by_id": t.decided_by_id, "decided_at": t.decided_at, "comment": t.comment,
                 "added_by_id": t.added_by_id}
                for t in s.tasks
            ],
        }
        for s in stages
    ]
    data["available_actions"] = [a.value for a in await available_actions(session, actor, request)]
    return data


async def available_actions(session: AsyncSession, actor: Actor, request: PaymentRequest) -> list[Action]:
    """What the caller, who already sees the request, may do with it now."""
    parties = await parties_of(session, actor, request, frozenset(Party) - {Party.VIEWER})
    return actions_available(Status(request.status), parties | {Party.VIEWER}, Kind(request.kind))


async def history_view(session: AsyncSession, events: list[HistoryEvent]) -> list[dict[str, Any]]:
    ids = {e.actor_id for e in events} | {e.on_behalf_of_id for e in events}
    ids.discard(None)
    names = dict((await session.execute(select(Employee.id, Employee.full_name).where(Employee.id.in_(ids)))).all())
    return [
        {"id": e.id, "at": e.at, "action": e.action, "actor_id": e.actor_id,
         "actor": names.get(e.actor_id, e.actor_label), "on_behalf_of_id": e.on_behalf_of_id,
         "on_behalf_of": names.get(e.on_behalf_of_id), "from_status": e.from_status,
         "to_status": e.to_status, "stage": e.stage, "round": e.round, "comment": e.comment,
         "details": e.details}
        for e in events
    ]
