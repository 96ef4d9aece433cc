"""Approval analytics as JSON: the numbers behind the analytics page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from backend.api.deps import CoreDep
from backend.money import format_amount
from backend.services import analytics as service
from backend.services.analytics import Analytics, AnalyticsQuery, DurationStats, WaitingStats

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
Filters = Annotated[AnalyticsQuery, Query()]


@router.get("", summary="Time to approve (median, p90), what waits now, approved amounts by week, overdue payments")
async def get_analytics(query: Filters, core: CoreDep) -> dict[str, Any]:
    """For admins, the CFO, the director, accounting and department heads; counts only the
    requests the caller may see. Durations are seconds; money is a decimal string with its
    ``_minor`` twin in kopecks, per currency (never added across currencies)."""
    return await core.call(service.analytics, core.actor, query, view=as_json)


def _money(minor: int) -> str:
    return format_amount(minor)


def _durations(items: list[DurationStats], key: str) -> list[dict[str, Any]]:
    return [{key: s.key, "name": s.label, "count": s.count, "median_seconds": s.median, "p90_seconds": s.p90}
            for s in items]


def _waiting(items: list[WaitingStats], key: str) -> list[dict[str, Any]]:
    return [{key: w.key, "name": w.label, "count": w.count, "oldest_seconds": w.oldest_seconds,
             "over_sla": w.over_sla} for w in items]


def as_json(a: Analytics) -> dict[str, Any]:
    return {
        "since": a.since, "until": a.until, "today": a.today, "timezone": a.timezone, "generated_at": a.generated_at,
        "truncated": a.truncated, "row_cap": service.ROW_CAP,
        "time_to_approve": {
            "by_stage": [{k: v for k, v in item.items() if k != "name"}
                         for item in _durations(a.by_stage, "stage")],
            "by_approver": _durations(a.by_approver, "employee_id"),
            "by_request_type": _durations(a.by_type, "request_type_id"),
        },
        "waiting": {
            "by_stage": [{k: v for k, v in item.items() if k != "name"}
                         for item in _waiting(a.waiting_by_stage, "stage")],
            "by_approver": _waiting(a.waiting_by_approver, "employee_id"),
        },
        "approved_amounts": [
            {
                "currency": w.currency, "count": w.count, "total": _money(w.total), "total_minor": w.total,
                "weeks": [{"week": f"{m.isocalendar().year}-W{m.isocalendar().week:02d}", "starts_on": m,
                           "total": _money(t), "total_minor": t} for m, t in zip(w.weeks, w.totals, strict=True)],
                "departments": [
                    {"department_id": s.department_id, "name": s.label or None, "count": s.count,
                     "total": _money(s.total), "total_minor": s.total,
                     "by_week": [_money(x) for x in s.amounts]}
                    for s in w.series
                ],
            }
            for w in a.amounts
        ],
        "overdue": {
            "count": a.overdue.count,
            "amounts": {c: _money(x) for c, x in a.overdue.amounts.items()},
            "buckets": [{"days": b.key, "first_day": b.first_day, "last_day": b.last_day, "count": b.count,
                         "amounts": {c: _money(x) for c, x in b.amounts.items()}} for b in a.overdue.buckets],
            "items": [{"id": i.id, "number": i.number, "contractor_name": i.contractor_name,
                       "amount": _money(i.amount), "amount_minor": i.amount, "currency": i.currency,
                       "pay_by": i.pay_by, "days_late": i.days_late} for i in a.overdue.items],
        },
    }
