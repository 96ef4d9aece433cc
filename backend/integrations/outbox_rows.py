"""Which outbox rows a change leaves for the integrations, written in the change's transaction.

A row says what changed, not what to send: the handler reads the record as it is when the row
runs and makes the other side match it, so rows written while an integration was off or down
still bring it up to date, and a later row never undoes an earlier one.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Counterparty, HistoryEvent, OutboxMessage, PaymentRequest
from backend.outbox import enqueue

BITRIX24 = "bitrix24"
ONEC = "onec"
TOPICS = (BITRIX24, ONEC)

_PAID = ("paid", "closed")


def request_rows(request: PaymentRequest, event: HistoryEvent) -> list[OutboxMessage]:
    """Bitrix24 mirrors every event (item stage, a timeline comment on the deal, tasks); the
    deal's expenses follow paid requests; 1C gets a payment order when a request is approved.
    A contract approval gets the comments and tasks only."""
    base = {"request_id": request.id, "history_id": event.id}
    rows = [_row(BITRIX24, f"bitrix24:request:{event.id}", f"request:{request.id}", kind="request", **base)]
    if request.kind == "contract":  # comments and tasks on the deal; no money moves, so nothing for 1C
        return rows
    if request.bitrix24_deal_id and (event.to_status in _PAID or event.from_status in _PAID):
        deal = request.bitrix24_deal_id
        rows.append(_row(BITRIX24, f"bitrix24:deal:{deal}:{event.id}", f"deal:{deal}", kind="deal_expenses",
                         deal_id=deal, **base))
    entered_approved = event.to_status == "approved" and event.from_status != "approved"
    # Paid here or in 1C, the order stays; cancelled or changed, it is voided.
    left_approved = event.from_status == "approved" and event.to_status not in ("approved", *_PAID)
    if entered_approved or left_approved:
        rows.append(_row(ONEC, f"onec:request:{event.id}", f"request:{request.id}", kind="payment_order", **base))
    return rows


def counterparty_rows(counterparty: Counterparty) -> list[OutboxMessage]:
    """A contractor added or changed: the company in Bitrix24, and in 1C once its requisites are complete."""
    stamp = f"{counterparty.id}:{counterparty.updated_at.timestamp() if counterparty.updated_at else 0}"
    key = f"counterparty:{counterparty.id}"
    return [_row(BITRIX24, f"bitrix24:company:{stamp}", key, kind="company", counterparty_id=counterparty.id),
            _row(ONEC, f"onec:counterparty:{stamp}", key, kind="counterparty", counterparty_id=counterparty.id)]


async def queue_counterparty(session: AsyncSession, counterparty: Counterparty) -> None:
    """After the contractor is flushed (it has an id); an edit that changed nothing queues nothing."""
    for row in counterparty_rows(counterparty):
        await enqueue(session, row.topic, row.dedup_key, row.payload, ordering_key=row.ordering_key)


def deal_documents_row(deal_id: str, title: str, files: list[dict[str, str]]) -> OutboxMessage:
    """Print forms made for a deal, to attach to its timeline; the same files are attached once."""
    key = hashlib.sha256("|".join(f["sha256"] for f in files).encode()).hexdigest()[:16]
    return _row(BITRIX24, f"bitrix24:docs:{deal_id}:{key}", f"deal:{deal_id}", kind="deal_documents",
                deal_id=deal_id, key=key, title=title, files=files)


def deal_event_row(deal_id: str, event: str, stamp: str) -> OutboxMessage:
    return _row(BITRIX24, f"bitrix24:event:{deal_id}:{event}:{stamp}", f"deal:{deal_id}", kind="deal_event",
                deal_id=deal_id, event=event)


def _row(topic: str, dedup_key: str, ordering_key: str, **payload) -> OutboxMessage:
    return OutboxMessage(topic=topic, dedup_key=dedup_key[:200], ordering_key=ordering_key, payload=payload,
                         progress={})
