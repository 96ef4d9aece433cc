"""The words of each notice a person gets in chat, in their language."""

from __future__ import annotations

from sqlalchemy import select

from backend.models import Employee, HistoryEvent, PaymentRequest, RequestStage
from bot.texts import Texts


async def notice_text(session, t: Texts, kind: str, event: HistoryEvent, request: PaymentRequest) -> str:
    """The words of a notice; empty when the card itself says it all (new work for an approver)."""
    if kind in ("task_assigned", "approved_for_payment"):
        return ""
    who = event.actor_label
    if event.actor_id is not None:
        who = await session.scalar(select(Employee.full_name).where(Employee.id == event.actor_id)) or who
    if event.on_behalf_of_id is not None:
        absent = await session.scalar(select(Employee.full_name).where(Employee.id == event.on_behalf_of_id))
        who = t("notice.on_behalf", deputy=who, approver=absent or "—")
    stage = ""
    if event.stage is not None:
        stage = await session.scalar(select(RequestStage.name).where(
            RequestStage.request_id == request.id, RequestStage.round == event.round,
            RequestStage.position == event.stage)) or ""
    text = t(f"notice.{kind}", number=request.number, who=who, stage=stage,
             amount=t.money(request.amount, request.currency), contractor=request.contractor_name,
             day=t.day(request.paid_on))
    if event.comment:
        text += "\n" + t("notice.comment_line", comment=event.comment)
    return text
