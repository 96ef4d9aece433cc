"""The admin page of deliveries: how many outbox rows per topic and status, the rows that
failed (what each is about, attempts, the last error) with a retry per row or of them all."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import DomainError
from backend.models import Counterparty, Employee, OutboxMessage, PaymentRequest
from backend.services import outbox_admin as service
from backend.web.context import AdminPageDep
from backend.web.rendering import redirect, render
from backend.web.texts import known
from backend.web.routes.admin_forms import MAX_ID, query_id, read_form, text_of

router = APIRouter(prefix="/admin")
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE_SIZE = 50


def _filters(params: Any) -> dict[str, Any]:
    status = (params.get("status") or "failed")[:20]
    return {"status_filter": status, "topic": (params.get("topic") or "").strip()[:50],
            "before_id": query_id(params.get("before_id"))}


def _address(status: str, topic: str, before_id: int | None = None) -> str:
    pairs = [("status", status)] + [("topic", topic)] * bool(topic) + [("before_id", before_id)] * bool(before_id)
    return "/admin/outbox?" + urlencode(pairs)


async def _about(session: AsyncSession, rows: list[OutboxMessage]) -> dict[int, dict[str, Any]]:
    """What each row is about, from its payload: the event, the person, the request, the contractor."""
    request_ids, people_ids, counterparty_ids = set(), set(), set()
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        for key, bucket in (("request_id", request_ids), ("recipient_id", people_ids), ("employee_id", people_ids),
                            ("counterparty_id", counterparty_ids)):
            if isinstance(payload.get(key), int):
                bucket.add(payload[key])

    async def lookup(model, column, ids):
        if not ids:
            return {}
        return dict((await session.execute(select(model.id, column).where(model.id.in_(ids)))).all())

    numbers = await lookup(PaymentRequest, PaymentRequest.number, request_ids)
    people = await lookup(Employee, Employee.full_name, people_ids)
    counterparties = await lookup(Counterparty, Counterparty.name, counterparty_ids)
    about: dict[int, dict[str, Any]] = {}
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        person_id = payload.get("recipient_id") or payload.get("employee_id")
        request_id = payload.get("request_id")
        about[row.id] = {
            "what": str(payload.get("event") or payload.get("kind") or ""),
            "person": people.get(person_id) if isinstance(person_id, int) else None,
            "person_id": person_id if isinstance(person_id, int) else None,
            "request_id": request_id if isinstance(request_id, int) else None,
            "request_number": numbers.get(request_id) if isinstance(request_id, int) else None,
            "counterparty": counterparties.get(payload.get("counterparty_id"))
            if isinstance(payload.get("counterparty_id"), int) else None,
            "deal_id": payload.get("deal_id"), "to": payload.get("to") if isinstance(payload.get("to"), str) else None,
        }
    return about


@router.get("/outbox")
async def outbox_page(page: AdminPageDep) -> Response:
    filters = _filters(page.request.query_params)
    problems: list[str] = []

    async def work(session: AsyncSession) -> dict[str, Any]:
        counts = await service.outbox_counts(session, page.actor)
        try:
            rows = await service.list_outbox(session, page.actor, status=None if filters["status_filter"] == "all"
                                             else filters["status_filter"], topic=filters["topic"] or None,
                                             before_id=filters["before_id"], limit=PAGE_SIZE)
        except DomainError as error:
            problems.append(error.message(page.lang))
            rows = []
        return {"counts": counts, "rows": [service.outbox_view(r) for r in rows], "about": await _about(session, rows)}

    data = await page.core.run(work)
    rows = data["rows"]
    topics = sorted(data["counts"])
    totals = {s: sum(c.get(s, 0) for c in data["counts"].values()) for s in service.STATUSES}
    next_url = _address(filters["status_filter"], filters["topic"], rows[-1]["id"]) if len(rows) == PAGE_SIZE else None
    names = {t: page.t(f"adm.outbox.topic.{t}") if known(page.lang, f"adm.outbox.topic.{t}") else t for t in topics}
    return render(page, "admin/outbox.html", **data, **filters, topics=topics, totals=totals, problems=problems,
                  topic_names=names,
                  statuses=service.STATUSES, next_url=next_url, here=page.request.url.path + "?" + page.request.url.query,
                  first_url=_address(filters["status_filter"], filters["topic"]) if filters["before_id"] else None,
                  failed_here=sum(c.get("failed", 0) for t, c in data["counts"].items()
                                  if not filters["topic"] or t == filters["topic"]))


def _back(value: str) -> str:
    """Back to the list the admin was looking at: only an address of that page."""
    return value if value.startswith("/admin/outbox?") or value == "/admin/outbox" else "/admin/outbox"


@router.post("/outbox/{message_id}/retry")
async def retry_row(page: AdminPageDep, message_id: Id) -> Response:
    form = await read_form(page)
    try:
        topic = await page.core.call(service.retry_outbox, page.actor, message_id, view=lambda row: row.topic)
        page.flash("ok", page.t("adm.outbox.retried_one", id=message_id, topic=topic))
    except DomainError as error:
        page.flash("error", error.message(page.lang))
    return redirect(page, _back(text_of(form, "back", 500)))


@router.post("/outbox/retry-failed")
async def retry_all(page: AdminPageDep) -> Response:
    form = await read_form(page)
    topic = text_of(form, "topic", 50).strip() or None
    count = await page.core.call(service.retry_failed, page.actor, topic=topic)
    page.flash("ok" if count else "warn", page.t("adm.outbox.retried_many", count=count) if count
               else page.t("adm.outbox.nothing_failed"))
    return redirect(page, _back(text_of(form, "back", 500)))
