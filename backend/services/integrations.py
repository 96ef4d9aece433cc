"""The integrations as admins and accountants use them: status, a full sync to a newly connected
system, and the accountant's confirmations of a deal that its stage gates read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Forbidden, InvalidInput
from backend.integrations.bitrix24.gates import CONFIRMATIONS, confirm
from backend.integrations.outbox_rows import BITRIX24, ONEC, TOPICS, counterparty_rows
from backend.db import utcnow
from backend.models import Bitrix24Deal, Counterparty, HistoryEvent, OutboxMessage, PaymentRequest
from backend.money import to_decimal
from backend.outbox import enqueue
from backend.services.contracts import contracts_of_deal
from backend.settings import Settings
from backend.workflows.actors import Actor


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("forbidden.admin_only")


async def integration_status(session: AsyncSession, actor: Actor, settings: Settings) -> dict[str, Any]:
    _admin(actor)
    counts: dict[str, dict[str, int]] = {t: {} for t in TOPICS}
    rows = await session.execute(select(OutboxMessage.topic, OutboxMessage.status, func.count())
                                 .where(OutboxMessage.topic.in_(TOPICS))
                                 .group_by(OutboxMessage.topic, OutboxMessage.status))
    for topic, status, count in rows:
        counts[topic][status] = count
    oldest = dict((await session.execute(select(OutboxMessage.topic, func.min(OutboxMessage.created_at))
                                         .where(OutboxMessage.topic.in_(TOPICS), OutboxMessage.status == "pending")
                                         .group_by(OutboxMessage.topic))).all())
    last_error = {}
    for topic in TOPICS:
        last_error[topic] = await session.scalar(
            select(OutboxMessage.last_error).where(OutboxMessage.topic == topic, OutboxMessage.last_error != "",
                                                   OutboxMessage.status.in_(("pending", "failed")))
            .order_by(OutboxMessage.id.desc()).limit(1)) or ""
    configured = {BITRIX24: bool(settings.bitrix24_webhook_url), ONEC: bool(settings.onec_odata_url)}
    return {topic: {"configured": configured[topic], "rows": counts[topic], "last_error": last_error[topic],
                    "oldest_pending_at": oldest.get(topic).isoformat() if oldest.get(topic) else None}
            for topic in TOPICS}


async def full_sync(session: AsyncSession, actor: Actor, topic: str) -> dict[str, int]:
    """Queue what a system connected after the fact should hold: every contractor, and every
    request's latest event for Bitrix24, or the approved requests' payment orders for 1C.
    Running it again queues nothing new."""
    _admin(actor)
    if topic not in TOPICS:
        raise InvalidInput("integrations.unknown_system", field="system", known=", ".join(TOPICS))
    queued = {"counterparties": 0, "requests": 0}
    for counterparty in await session.scalars(select(Counterparty).order_by(Counterparty.id)):
        for row in counterparty_rows(counterparty):
            if row.topic == topic and await enqueue(session, row.topic, f"{row.dedup_key}:full", row.payload,
                                                    ordering_key=row.ordering_key):
                queued["counterparties"] += 1
    # Each request's latest event: for 1C only the approved ones (their payment orders).
    kind, only = {BITRIX24: ("request", true()), ONEC: ("payment_order", and_(PaymentRequest.status == "approved",
                                                                            PaymentRequest.kind == "payment"))}[topic]
    latest = (select(HistoryEvent.request_id, func.max(HistoryEvent.id).label("history_id"))
              .join(PaymentRequest, PaymentRequest.id == HistoryEvent.request_id)
              .where(only).group_by(HistoryEvent.request_id).subquery())
    for request_id, history_id in await session.execute(select(latest.c.request_id, latest.c.history_id)):
        if await enqueue(session, topic, f"{topic}:request:{history_id}:full",
                         {"kind": kind, "request_id": request_id, "history_id": history_id, "full": True},
                         ordering_key=f"request:{request_id}"):
            queued["requests"] += 1
    return queued


async def confirm_deal(session: AsyncSession, actor: Actor, deal_id: str, what: str, confirmed: bool) -> dict[str, Any]:
    """The accountant's contract approval or closing confirmation of a Bitrix24 deal, which the
    stage gates read; the closing is also written to the deal's field (VIZA_BITRIX24_CLOSING_FIELD)."""
    if what not in CONFIRMATIONS:
        raise InvalidInput("deal.unknown_confirmation", field="what", known=", ".join(CONFIRMATIONS))
    if not (deal_id.isascii() and deal_id.isdigit()):  # "²" is a digit to Python, not to Bitrix24
        raise InvalidInput("deal.bad_id", field="deal_id")
    deal = await confirm(session, actor, deal_id, what, confirmed=confirmed)
    if what == "closing":
        stamp = deal.closing_confirmed_at.isoformat() if deal.closing_confirmed_at else utcnow().isoformat()
        await enqueue(session, BITRIX24, f"bitrix24:closing:{deal_id}:{confirmed}:{stamp}",
                      {"kind": "deal_closing", "deal_id": deal_id, "confirmed": confirmed}, ordering_key=f"deal:{deal_id}")
    return await deal_view(session, actor, deal_id)


async def get_deal(session: AsyncSession, actor: Actor, deal_id: str) -> dict[str, Any]:
    if not actor.has("accountant", "admin", "manager"):
        raise Forbidden("forbidden.admin_only")
    if not (deal_id.isascii() and deal_id.isdigit()):  # "²" is a digit to Python, not to Bitrix24
        raise InvalidInput("deal.bad_id", field="deal_id")
    return await deal_view(session, actor, deal_id)


async def deal_view(session: AsyncSession, actor: Actor, deal_id: str) -> dict[str, Any]:
    """The deal's gates, its payment requests by status, and the contracts of it the actor may see."""
    deal = await session.get(Bitrix24Deal, deal_id)
    requests = (await session.execute(select(PaymentRequest.status, func.count(), func.sum(PaymentRequest.amount))
                                      .where(PaymentRequest.bitrix24_deal_id == deal_id,
                                             PaymentRequest.kind == "payment")
                                      .group_by(PaymentRequest.status))).all()

    def stamp(value):
        return value.isoformat() if value else None

    return {"deal_id": deal_id, "stage_id": deal.stage_id if deal else "",
            "contract_approved_at": stamp(deal and deal.contract_approved_at),
            "closing_confirmed_at": stamp(deal and deal.closing_confirmed_at),
            "requests": {status: {"count": count, "amount": str(to_decimal(int(total or 0)))}
                         for status, count, total in requests},
            "contracts": (await contracts_of_deal(session, actor, deal_id))["contracts"]}
