"""The one transition function: every change of a registry item (a payment request or a
contract approval) goes through ``transition``.

It checks that the action is allowed from the current status and by this actor, applies
the change, appends the history event and writes the follow-up work (notifications,
sync) to the outbox — all in the caller's transaction, so either everything happens or
nothing does. The request row carries a version column: two decisions made at once on
the same request cannot both commit (the loser's UPDATE finds a newer version).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.errors import Conflict, Forbidden, InvalidInput
from backend.models import (
    ApprovalTask, Counterparty, Employee, HistoryEvent, OutboxMessage, PaymentRequest, RequestStage, RequestType,
)
from backend.integrations.outbox_rows import request_rows
from backend.notifications import EMAIL, notice_row
from backend.observability.metrics import note_decision
from backend.workflows.actors import Actor
from backend.workflows import contracts
from backend.workflows.lifecycle import Action, Kind, Party, Status, Transition, find_transition
from backend.workflows.policies import PolicyResult, run_submit_policies
from backend.workflows.routing import Directory, RouteContext, active_deputy, resolve_route
from backend.workflows.visibility import can_see

# Fields whose change after an approval voids it: what the money is and where it goes.
MATERIAL_FIELDS = ("amount", "currency", "contractor_inn", "contractor_kpp", "bik", "account", "corr_account")


@dataclass
class Outcome:
    request: PaymentRequest
    changed: bool
    event: HistoryEvent | None = None


@dataclass
class Step:
    """What a handler works with, and what it leaves for the history event and the outbox."""

    session: AsyncSession
    request: PaymentRequest
    actor: Actor
    transition: Transition
    parties: frozenset[Party]
    comment: str
    data: dict[str, Any]
    now: datetime
    today: date
    on_behalf_of: int | None = None
    stage: int | None = None  # the stage the action was about; the current one when unset
    details: dict[str, Any] = field(default_factory=dict)
    notices: list[tuple[int, str]] = field(default_factory=list)  # (employee id, event)
    emails: list[dict[str, Any]] = field(default_factory=list)  # to people outside the company

    def notify(self, recipients: list[int] | set[int], event: str, *, include_actor: bool = False) -> None:
        """Queue a notice per recipient; the actor knows what they just did, unless it is
        new work for them (an approver of two stages in a row gets the second task)."""
        for recipient in recipients:
            if (include_actor or recipient != self.actor.employee_id) and (recipient, event) not in self.notices:
                self.notices.append((recipient, event))


Handler = Callable[[Step], Awaitable[Status]]


async def transition(
    session: AsyncSession, request: PaymentRequest, action: Action, actor: Actor, *,
    comment: str = "", expected_version: int | None = None, data: dict[str, Any] | None = None,
) -> Outcome:
    """Apply ``action`` to ``request`` on behalf of ``actor``, inside the caller's transaction."""
    source = Status(request.status) if action != Action.CREATE else None
    found = find_transition(action, source, Kind(request.kind))
    if action in DECISION_STATUS and await _is_repeat(session, actor, request, action):
        return Outcome(request=request, changed=False)
    if found is None:
        raise Conflict("transition.not_allowed", action=action.value, status=str(source or ""))
    if expected_version is not None and expected_version != request.version:
        raise Conflict("request.stale_version", expected=expected_version, actual=request.version)
    comment = (comment or "").strip()
    if found.needs_comment and not comment:
        raise InvalidInput(f"comment.required_for_{action.value}", field="comment")
    if len(comment) > 4000:
        raise InvalidInput("comment.too_long", field="comment", max=4000)

    parties = await parties_of(session, actor, request, found.parties)
    now = utcnow()
    step = Step(
        session=session, request=request, actor=actor, transition=found, parties=parties,
        comment=comment, data=data or {}, now=now, today=actor.today(),
    )
    if not parties & found.parties:
        raise Forbidden(_forbidden_code(found), action=action.value)
    target = await HANDLERS[action](step)
    if target not in found.targets:  # a handler bug, never a user's mistake
        raise RuntimeError(f"{action} led to {target}, not one of {found.targets}")

    request.status = target.value
    request.updated_at = now  # also bumps the version, so concurrent writers collide
    event = HistoryEvent(
        request_id=request.id, at=now, action=action.value, actor_id=actor.employee_id,
        actor_label=actor.label, on_behalf_of_id=step.on_behalf_of,
        from_status=source.value if source else None, to_status=target.value,
        stage=step.stage if step.stage is not None else request.current_stage,
        round=request.round, comment=comment, details=step.details,
    )
    session.add(event)
    if action in DECISION_STATUS:
        note_decision(session, action.value)  # counted in viza_decisions_total if this commits
    await session.flush()
    _enqueue(session, request, event, step)
    await session.flush()
    return Outcome(request=request, changed=True, event=event)


def _forbidden_code(t: Transition) -> str:
    if t.parties == {Party.APPROVER} or t.parties == {Party.APPROVER, Party.ADMIN}:
        return "forbidden.not_current_approver"
    if Party.INITIATOR in t.parties:
        return "forbidden.not_initiator"
    if Party.ACCOUNTANT in t.parties:
        return "forbidden.not_accountant"
    return "forbidden.action"


async def parties_of(session: AsyncSession, actor: Actor, request: PaymentRequest,
                     wanted: frozenset[Party] = frozenset(Party)) -> frozenset[Party]:
    """How ``actor`` relates to ``request``; the parties that cost a query are looked up
    only when ``wanted``."""
    parties: set[Party] = set()
    if actor.employee_id is not None and actor.employee_id == request.initiator_id:
        parties.add(Party.INITIATOR)
    if actor.is_admin:
        parties.add(Party.ADMIN)
    if actor.has("accountant"):
        parties.add(Party.ACCOUNTANT)
    if Party.APPROVER in wanted and request.status == Status.PENDING.value:
        if await actor_task(session, actor, request, pending_only=True) is not None:
            parties.add(Party.APPROVER)
    if Party.VIEWER in wanted and request.id is not None and await can_see(session, actor, request):
        parties.add(Party.VIEWER)
    return frozenset(parties)


# --- approval tasks -------------------------------------------------------------------------

ROUND_STAGES = "viza.round_stages"


async def round_stages(session: AsyncSession, request: PaymentRequest) -> list[RequestStage]:
    """The stages of the request's current round, in order, read once per transaction.

    One decision asks "which stage is active?" several times (repeat check, parties, the
    handler, advancing); the rows are in the session already and change only in memory
    until the commit, so the list is kept on the session and dropped when the transaction ends.
    """
    cache = session.info.setdefault(ROUND_STAGES, {})
    key = (request.id, request.round)
    if key not in cache:
        cache[key] = list(await session.scalars(
            select(RequestStage).where(RequestStage.request_id == request.id, RequestStage.round == request.round)
            .order_by(RequestStage.position)
        ))
    return cache[key]


@event.listens_for(Session, "after_transaction_end")
def _forget_round_stages(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction, not a savepoint
        session.info.pop(ROUND_STAGES, None)


async def active_stage(session: AsyncSession, request: PaymentRequest) -> RequestStage | None:
    return next((s for s in await round_stages(session, request) if s.status == "active"), None)


async def actor_task(session: AsyncSession, actor: Actor, request: PaymentRequest, *,
                     pending_only: bool) -> ApprovalTask | None:
    """The actor's task in the active stage: their own, or one they hold as a deputy."""
    if actor.employee_id is None:
        return None
    stage = await active_stage(session, request)
    if stage is None:
        return None
    me = actor.employee_id
    for task in stage.tasks:
        if pending_only and task.status != "pending":
            continue
        if me in (task.approver_id, task.assignee_id):
            return task
    if me == request.initiator_id:
        return None  # not even as someone's deputy
    today = actor.today()
    for task in stage.tasks:
        if pending_only and task.status != "pending":
            continue
        # A delegation made after the task was assigned still lets the deputy act.
        if await active_deputy(session, task.approver_id, today) == me:
            return task
    return None


async def _is_repeat(session: AsyncSession, actor: Actor, request: PaymentRequest, action: Action) -> bool:
    """The actor already made this decision in this round and has nothing pending now:
    a double tap or a retried call, answered "nothing changed"."""
    if actor.employee_id is None:
        return False
    if request.status == Status.PENDING.value and await actor_task(session, actor, request, pending_only=True):
        return False
    found = await session.scalar(
        select(ApprovalTask.id).join(RequestStage, RequestStage.id == ApprovalTask.stage_id).where(
            ApprovalTask.request_id == request.id, RequestStage.round == request.round,
            ApprovalTask.decided_by_id == actor.employee_id,
            ApprovalTask.status == DECISION_STATUS[action],
        ).limit(1)
    )
    return found is not None


DECISION_STATUS = {Action.APPROVE: "approved", Action.REJECT: "rejected", Action.RETURN: "returned"}


async def _my_pending_task(step: Step) -> ApprovalTask:
    task = await actor_task(step.session, step.actor, step.request, pending_only=True)
    if task is None:  # parties_of found one a moment ago in this transaction
        raise RuntimeError("the approver's task vanished")
    return task


async def _stage_of(step: Step, task: ApprovalTask) -> RequestStage:
    return await step.session.get(RequestStage, task.stage_id)  # already in the identity map


def _decide(step: Step, task: ApprovalTask, status: str) -> None:
    task.status = status
    task.decided_by_id = step.actor.employee_id
    task.decided_at = step.now
    task.comment = step.comment
    if task.approver_id != step.actor.employee_id:
        step.on_behalf_of = task.approver_id


def stage_complete(stage: RequestStage) -> bool:
    """Whether the stage's mode is satisfied; approvers added by hand must all approve."""
    route_tasks = [t for t in stage.tasks if t.added_by_id is None and t.status != "void"]
    added = [t for t in stage.tasks if t.added_by_id is not None and t.status != "void"]
    approved = sum(1 for t in route_tasks if t.status == "approved")
    if stage.mode == "all":
        enough = approved == len(route_tasks)
    else:
        enough = approved >= max(1, stage.required_count if stage.mode == "n_of_m" else 1)
    return enough and all(t.status == "approved" for t in added)


async def _activate(step: Step, stage: RequestStage) -> None:
    """Start a stage: its tasks go to the approvers, or to their deputies if away today."""
    stage.status = "active"
    stage.started_at = step.now
    for task in stage.tasks:
        if task.status == "waiting":
            task.status = "pending"
            task.assignee_id = await _deputy_for(step, task.approver_id) or task.approver_id
    step.request.current_stage = stage.position
    step.notify([t.assignee_id for t in stage.tasks if t.status == "pending"], "task_assigned", include_actor=True)


async def _deputy_for(step: Step, approver_id: int) -> int | None:
    """The approver's deputy today — never the initiator, who may not approve their own request."""
    deputy = await active_deputy(step.session, approver_id, step.today)
    return None if deputy == step.request.initiator_id else deputy


def _close_stage(step: Step, stage: RequestStage, status: str) -> None:
    stage.status = status
    stage.finished_at = step.now
    for task in stage.tasks:
        if task.status in ("pending", "waiting"):
            task.status = "void"


async def _round_stages(step: Step) -> list[RequestStage]:
    return await round_stages(step.session, step.request)


async def _advance(step: Step) -> Status:
    """Move to the next stage that still waits, or approve the request when none is left."""
    for stage in await _round_stages(step):
        if stage.status == "waiting":
            await _activate(step, stage)
            return Status.PENDING
    step.request.current_stage = None
    step.request.approved_at = step.now
    if _is_contract(step):
        await contracts.on_approved(step)
        step.notify([step.request.initiator_id], "contract_approved")
        return Status.APPROVED
    step.notify([step.request.initiator_id], "approved")
    step.notify([e.id for e in await Directory(step.session).with_role("accountant")], "approved_for_payment")
    return Status.APPROVED


def _is_contract(step: Step) -> bool:
    return step.request.kind == Kind.CONTRACT.value


async def _policies(step: Step) -> PolicyResult:
    """The submit-time checks of a payment (budget, duplicate invoice, changed account); a
    contract spends nothing, so none of them applies to it."""
    if _is_contract(step):
        return PolicyResult()
    return await run_submit_policies(step.session, step.request)


# --- handlers, one per action -----------------------------------------------------------------

async def _create(step: Step) -> Status:
    return Status.DRAFT


async def _update(step: Step) -> Status:
    request = step.request
    changes: dict[str, tuple[Any, Any]] = step.data.get("changes", {})
    step.details["changes"] = {k: [_plain(old), _plain(new)] for k, (old, new) in changes.items()}
    status = Status(request.status)
    if status in (Status.PENDING, Status.APPROVED) and set(changes) & set(MATERIAL_FIELDS):
        # The corrected request is judged as a new submit would be: budget, duplicates, account.
        policy = await _policies(step)
        request.flags = policy.flags
        step.details["flags"] = [f["code"] for f in policy.flags]
        step.details["approvals_voided"] = await _void_round(step, "void")
        return await _start_round(step, policy_over_budget=policy.over_budget)
    return status


async def _void_round(step: Step, stage_status: str) -> int:
    """End every open stage of the current round; returns how many approvals it voids."""
    voided = 0
    for stage in await _round_stages(step):
        voided += sum(1 for t in stage.tasks if t.status == "approved")
        if stage.status in ("active", "waiting", "approved"):
            _close_stage(step, stage, stage_status if stage.status != "approved" else "void")
    return voided


async def _void_open_stages(step: Step) -> None:
    """The route ends here: stages still active or waiting will never be asked."""
    for stage in await _round_stages(step):
        if stage.status in ("active", "waiting"):
            _close_stage(step, stage, "void")


def material_fingerprint(request: PaymentRequest) -> str:
    text = "|".join(str(getattr(request, f) or "") for f in MATERIAL_FIELDS)
    return hashlib.sha256(text.encode()).hexdigest()


async def _submit(step: Step) -> Status:
    request = step.request
    policy = await _policies(step)
    request.flags = policy.flags
    step.details["flags"] = [f["code"] for f in policy.flags]
    request.submitted_at = step.now
    if _is_contract(step):
        await contracts.on_submit(step)
    fingerprint = material_fingerprint(request)
    returned_at = request.current_stage if request.status == Status.RETURNED.value else None
    if returned_at is not None and fingerprint == request.material_fingerprint:
        # Only words changed since the return: earlier approvals stand, the stage that
        # returned it looks again.
        step.details["resumed_at_stage"] = returned_at
        for stage in await _round_stages(step):
            if stage.position == returned_at:
                stage.status, stage.finished_at = "waiting", None
                for task in stage.tasks:
                    if task.status in ("returned", "void"):
                        # The remark stays in the history; the task asks afresh.
                        task.status, task.decided_at, task.decided_by_id, task.comment = "waiting", None, None, ""
        return await _advance(step)
    if returned_at is not None:
        step.details["approvals_voided"] = await _void_round(step, "void")
    request.material_fingerprint = fingerprint
    return await _start_round(step, policy_over_budget=policy.over_budget)


async def _start_round(step: Step, *, policy_over_budget: bool) -> Status:
    """Resolve the route afresh and open its first stage (a new round of stages)."""
    request = step.request
    session = step.session
    request_type = await session.get(RequestType, request.request_type_id)
    initiator = await session.get(Employee, request.initiator_id)
    resolved = await resolve_route(session, list(request_type.stages), request, request_type.code,
                                   initiator, RouteContext(over_budget=policy_over_budget))
    request.round += 1
    request.material_fingerprint = material_fingerprint(request)
    step.details["route"] = [{"stage": s.position, "name": s.name, "approvers": s.approver_ids} for s in resolved]
    for r in resolved:
        stage = RequestStage(
            request_id=request.id, round=request.round, position=r.position, name=r.name, mode=r.mode,
            required_count=r.required_count, sla_hours=r.sla_hours, reason=r.reason,
            status="approved" if r.skipped_because_initiator else "waiting",
            finished_at=step.now if r.skipped_because_initiator else None,
        )
        stage.tasks = [
            ApprovalTask(request_id=request.id, approver_id=i, assignee_id=i,
                         status="approved" if r.skipped_because_initiator else "waiting",
                         decided_by_id=i if r.skipped_because_initiator else None,
                         decided_at=step.now if r.skipped_because_initiator else None,
                         comment="auto: initiator" if r.skipped_because_initiator else "")
            for i in r.approver_ids
        ]
        session.add(stage)
    await session.flush()
    return await _advance(step)


async def _approve(step: Step) -> Status:
    task = await _my_pending_task(step)
    _decide(step, task, "approved")
    stage = await _stage_of(step, task)
    step.stage = stage.position
    step.notify([step.request.initiator_id], "stage_decided")
    if not stage_complete(stage):
        return Status.PENDING
    _close_stage(step, stage, "approved")
    return await _advance(step)


async def _reject(step: Step) -> Status:
    task = await _my_pending_task(step)
    _decide(step, task, "rejected")
    stage = await _stage_of(step, task)
    step.stage = stage.position
    _close_stage(step, stage, "rejected")
    await _void_open_stages(step)
    if _is_contract(step):
        await contracts.on_route_ended(step, was_approved=False)
    step.request.current_stage = None
    step.notify([step.request.initiator_id], "rejected")
    return Status.REJECTED


async def _return(step: Step) -> Status:
    task = await _my_pending_task(step)
    _decide(step, task, "returned")
    stage = await _stage_of(step, task)
    step.stage = stage.position
    _close_stage(step, stage, "returned")
    step.notify([step.request.initiator_id], "returned")
    return Status.RETURNED  # current_stage keeps the stage that returned it


async def _comment(step: Step) -> Status:
    stage = await active_stage(step.session, step.request)
    recipients = {step.request.initiator_id}
    if stage is not None:
        recipients |= {t.assignee_id for t in stage.tasks if t.status == "pending"}
    step.notify(recipients, "comment")
    return Status(step.request.status)


async def _add_approver(step: Step) -> Status:
    employee_id = step.data.get("employee_id")
    employee = await step.session.get(Employee, employee_id) if isinstance(employee_id, int) else None
    if employee is None or not employee.active:
        raise InvalidInput("add_approver.unknown_employee", field="employee_id")
    if employee.id == step.request.initiator_id:
        raise InvalidInput("add_approver.initiator", field="employee_id")
    stage = await active_stage(step.session, step.request)
    if any(t.approver_id == employee.id and t.status in ("pending", "approved") for t in stage.tasks):
        raise Conflict("add_approver.already", field="employee_id", name=employee.full_name)
    deputy = await _deputy_for(step, employee.id)
    task = ApprovalTask(request_id=step.request.id, approver_id=employee.id, assignee_id=deputy or employee.id,
                        added_by_id=step.actor.employee_id, status="pending")
    stage.tasks.append(task)
    step.details["added_approver_id"] = employee.id
    step.notify([task.assignee_id], "task_assigned", include_actor=True)
    return Status.PENDING


async def _mark_paid(step: Step) -> Status:
    paid_on = step.data.get("paid_on") or step.today
    if paid_on > step.today:
        raise InvalidInput("mark_paid.future_date", field="paid_on")
    step.request.paid_on = paid_on
    step.request.paid_at = step.now
    step.details["paid_on"] = paid_on.isoformat()
    step.notify([step.request.initiator_id], "paid")
    if step.request.counterparty_id is not None:  # the contractor is told the money is on its way
        email = await step.session.scalar(select(Counterparty.email).where(Counterparty.id == step.request.counterparty_id))
        if email:
            step.emails.append({"kind": "payment_sent", "to": email})
    return Status.PAID


async def _close(step: Step) -> Status:
    step.request.closed_at = step.now
    step.notify([step.request.initiator_id], "closed")
    return Status.CLOSED


async def _cancel(step: Step) -> Status:
    was = Status(step.request.status)
    stage = await active_stage(step.session, step.request)
    if stage is not None:
        step.notify([t.assignee_id for t in stage.tasks if t.status == "pending"], "cancelled")
    await _void_open_stages(step)
    if _is_contract(step):
        await contracts.on_route_ended(step, was_approved=was == Status.APPROVED)
    elif was == Status.APPROVED:
        step.notify([e.id for e in await Directory(step.session).with_role("accountant")], "cancelled")
    step.notify([step.request.initiator_id], "cancelled")
    step.request.current_stage = None
    return Status.CANCELLED


async def _attach(step: Step) -> Status:
    attachment = step.data["attachment"]
    accounting_kind = attachment.kind in ("payment_order", "closing")
    if accounting_kind and not ({Party.ACCOUNTANT, Party.ADMIN} & step.parties):
        raise Forbidden("attachment.accounting_only")
    step.details["attachment"] = {"id": attachment.id, "kind": attachment.kind, "filename": attachment.filename,
                                  "sha256": attachment.sha256, "size": attachment.size}
    if attachment.version is not None:
        step.details["attachment"]["version"] = attachment.version
    if attachment.kind == "payment_order":
        step.notify([step.request.initiator_id], "payment_order_attached")
    return Status(step.request.status)


async def _delegate(step: Step) -> Status:
    """Hand the approver's pending tasks of the active stage to ``assignee_id``: their deputy
    while a delegation is in force, or the approver again once it ends."""
    approver_id, assignee_id = step.data["approver_id"], step.data["assignee_id"]
    if Party.ADMIN not in step.parties and step.actor.employee_id != approver_id:
        raise Forbidden("delegation.not_yours", field="employee_id")  # a deputy may not pass work on
    if assignee_id == step.request.initiator_id:
        raise InvalidInput("delegation.deputy_is_initiator", field="deputy_id")
    assignee = await step.session.get(Employee, assignee_id)
    if assignee is None or not assignee.active:
        raise InvalidInput("add_approver.unknown_employee", field="deputy_id")
    stage = await active_stage(step.session, step.request)
    tasks = [t for t in stage.tasks if t.status == "pending" and t.approver_id == approver_id
             and t.assignee_id != assignee_id]
    if not tasks:
        raise Conflict("delegation.nothing_pending", field="employee_id")
    delegation = step.data.get("delegation") or {}
    step.details["delegation"] = {
        "id": delegation.get("id"), "approver_id": approver_id, "to_id": assignee_id,
        "from_ids": sorted({t.assignee_id for t in tasks}), "handed_back": assignee_id == approver_id,
        "starts_on": _plain(delegation.get("starts_on")), "ends_on": _plain(delegation.get("ends_on")),
    }
    for task in tasks:
        task.assignee_id = assignee_id
    step.stage = stage.position
    step.notify([assignee_id], "task_assigned", include_actor=True)  # the card with the buttons
    return Status.PENDING


HANDLERS: dict[Action, Handler] = {
    Action.CREATE: _create, Action.UPDATE: _update, Action.SUBMIT: _submit, Action.APPROVE: _approve,
    Action.REJECT: _reject, Action.RETURN: _return, Action.COMMENT: _comment,
    Action.ADD_APPROVER: _add_approver, Action.MARK_PAID: _mark_paid, Action.CLOSE: _close,
    Action.CANCEL: _cancel, Action.ATTACH: _attach, Action.DELEGATE: _delegate,
}


# --- outbox -----------------------------------------------------------------------------------

def _enqueue(session: AsyncSession, request: PaymentRequest, event: HistoryEvent, step: Step) -> None:
    """Follow-up work of this event, in its transaction: one notice per recipient, a card refresh,
    e-mails to outsiders, the integrations' rows."""
    urgent = request.pay_by <= step.today  # the money is due: quiet hours do not hold it back
    for recipient, kind in step.notices:
        session.add(notice_row(recipient, kind, dedup_key=f"notify:{event.id}:{recipient}:{kind}",
                               request_id=request.id, history_id=event.id, urgent=urgent))
    # Every card shown about this request (in chat) is brought up to date once, in event order.
    session.add(OutboxMessage(
        topic="cards", dedup_key=f"cards:{event.id}", ordering_key=f"request:{request.id}", progress={},
        payload={"request_id": request.id, "history_id": event.id},
    ))
    for email in step.emails:
        session.add(OutboxMessage(
            topic=EMAIL, dedup_key=f"email:{email['kind']}:{event.id}", ordering_key=f"request:{request.id}",
            progress={}, payload={**email, "request_id": request.id, "history_id": event.id},
        ))
    session.add_all(request_rows(request, event))


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
