"""The words of each notice a person gets in chat, in their language."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from backend.db import utcnow
from backend.models import ApprovalTask, Employee, HistoryEvent, PaymentRequest, RequestStage
from backend.notifications.jobs import PAY_KINDS
from bot.texts import Texts


async def notice_text(session, t: Texts, kind: str, event: HistoryEvent, request: PaymentRequest) -> str:
    """The words of a notice; empty when the card itself says it all (new work for an approver)."""
    if kind in ("task_assigned", "approved_for_payment"):
        return ""
    who = event.actor_label
    if event.actor_id is not None:
        who = await session.scalar(select(Employee.full_name).where(Employee.id == event.actor_id)) or who
    if event.on_behalf_of_id is not None:
        who = t("notice.on_behalf", deputy=who, approver=await _name(session, event.on_behalf_of_id))
    stage = ""
    if event.stage is not None:
        stage = await session.scalar(select(RequestStage.name).where(
            RequestStage.request_id == request.id, RequestStage.round == event.round,
            RequestStage.position == event.stage)) or ""
    if kind == "contract_approved":
        # The approval's event names the number it gave (workflows/contracts.py).
        number = (event.details or {}).get("contract_number")
        return t("notice.contract_approved", number=request.number, contract_number=number or "—")
    # A contract approval has its own words where a payment request's would mislead ("заявка", "оплата").
    key = f"notice.contract_{kind}" if request.kind == "contract" and t.has(f"notice.contract_{kind}") else f"notice.{kind}"
    text = t(key, number=request.number, who=who, stage=stage,
             amount=t.money(request.amount, request.currency), contractor=request.contractor_name,
             day=t.day(request.paid_on))
    if event.comment:
        text += "\n" + t("notice.comment_line", comment=event.comment)
    return text


# --- scheduled notices: reminders, escalation, pay-by deadlines, the morning digest ----------------

async def scheduled_notice_text(session, t: Texts, payload: dict, recipient: Employee) -> str:
    """The words of a notice queued by a scheduled job (no history event behind it).

    Empty when a reminder about a task has become moot (decided, or the stage moved on) while
    it waited in the outbox: nothing is worth sending then."""
    kind = payload["event"]
    data = payload.get("data") or {}
    if kind in ("sla_reminder", "escalation", "escalated"):
        return await _task_notice(session, t, kind, data, recipient.timezone)
    if kind in PAY_KINDS:
        return await _pay_notice(session, t, kind, data["request_ids"])
    if kind == "digest":
        return await _digest(session, t, data)
    if kind in INTEGRATION_KINDS:
        return integration_notice(t, kind, data)
    raise ValueError(f"not a scheduled notice: {kind!r}")


INTEGRATION_KINDS = ("deal_stage_blocked", "bitrix24_duplicates", "integration_unavailable")


def integration_notice(t: Texts, kind: str, data: dict) -> str:
    if kind == "deal_stage_blocked":
        text = t("notice.deal_stage_blocked", title=data.get("title") or "—", deal_id=data["deal_id"],
                 stage=data["stage"], reason=t(data["reason"]))
        moved = t("notice.deal_stage_moved_back", back_to=data["back_to"], deal_id=data["deal_id"]) if data.get("back_to") \
            else t("notice.deal_stage_left")
        return f"{text}\n{moved}"
    if kind == "bitrix24_duplicates":
        return t("notice.bitrix24_duplicates", inn=data["inn"], kpp=f"/{data['kpp']}" if data.get("kpp") else "",
                 companies=", ".join(f"#{c}" for c in data["companies"]), first=f"#{data['companies'][0]}")
    return t("notice.integration_unavailable", system=data.get("system", ""), error=data.get("error", ""))


def waited(t: Texts, delta: timedelta) -> str:
    """How long something has waited, as people say it: "2 дн. 3 ч", "5 h", "less than an hour"."""
    days, hours = divmod(max(0, int(delta.total_seconds() // 3600)), 24)
    if days:
        return t("notice.waited_days", days=days, hours=hours)
    if hours:
        return t("notice.waited_hours", hours=hours)
    return t("notice.waited_minutes")


async def _name(session, employee_id: int | None) -> str:
    return await session.scalar(select(Employee.full_name).where(Employee.id == employee_id)) or "—"


async def _task_notice(session, t: Texts, kind: str, data: dict, zone: str) -> str:
    task = await session.get(ApprovalTask, data["task_id"])
    if task is None or task.status != "pending":
        return ""
    stage = await session.get(RequestStage, task.stage_id)
    if stage.status != "active":
        return ""
    request = await session.get(PaymentRequest, task.request_id)
    about = dict(id=request.id, number=request.number, amount=t.money(request.amount, request.currency),
                 contractor=request.contractor_name, stage=stage.name, sla=stage.sla_hours,
                 since=t.moment(stage.started_at, zone), waited=waited(t, utcnow() - stage.started_at))
    if kind == "sla_reminder":
        return t("notice.sla_reminder", **about)
    if kind == "escalation":
        approver = await _name(session, task.approver_id)
        if task.assignee_id != task.approver_id:
            approver = t("notice.on_behalf", deputy=await _name(session, task.assignee_id), approver=approver)
        return t("notice.escalation", approver=approver, **about)
    return t("notice.escalated", head=await _name(session, data.get("head_id")), **about)


def _request_line(t: Texts, request: PaymentRequest) -> str:
    line = t("notice.request_line", id=request.id, number=request.number,
             amount=t.money(request.amount, request.currency), contractor=request.contractor_name,
             day=t.day(request.pay_by))
    if request.status != "approved":  # paid (or cancelled) since the reminder was queued
        line += f" · {t.status(request.status, request.kind)}"
    return line


async def _pay_notice(session, t: Texts, kind: str, request_ids: list[int]) -> str:
    requests = (await session.scalars(select(PaymentRequest).where(PaymentRequest.id.in_(request_ids))
                                      .order_by(PaymentRequest.pay_by, PaymentRequest.id))).all()
    return "\n".join([t(f"notice.{kind}", count=len(requests)), *(_request_line(t, r) for r in requests),
                      t("notice.pay_total", total=_totals(t, requests)), t("notice.pay_open")])


def _totals(t: Texts, requests) -> str:
    sums: dict[str, int] = {}
    for request in requests:
        sums[request.currency] = sums.get(request.currency, 0) + request.amount
    return " + ".join(t.money(amount, currency) for currency, amount in sums.items())


async def _digest(session, t: Texts, data: dict) -> str:
    lines = [t("notice.digest_title")]
    if data.get("inbox"):
        oldest = await session.get(PaymentRequest, data["oldest_request_id"])
        since = datetime.fromisoformat(data["oldest_since"]) if data.get("oldest_since") else None
        lines.append(t("notice.digest_inbox", count=data["inbox"], id=oldest.id, number=oldest.number,
                       amount=t.money(oldest.amount, oldest.currency), contractor=oldest.contractor_name,
                       waited=waited(t, utcnow() - since) if since else "—"))
    if data.get("returned"):
        numbers = (await session.scalars(select(PaymentRequest.number).where(PaymentRequest.id.in_(data["returned"]))
                                         .order_by(PaymentRequest.id))).all()
        lines.append(t("notice.digest_returned", count=len(data["returned"]), numbers=", ".join(numbers)))
    if data.get("pay_today") or data.get("pay_overdue"):
        lines.append(t("notice.digest_pay", today=data.get("pay_today", 0), overdue=data.get("pay_overdue", 0)))
    return "\n".join(lines)
