"""Approval analytics (PRODUCT §8, seed 003's "where approvals slow down").

One use case, ``analytics``, answers for one person and one set of filters:

- **time to approve** by stage name, by approver (the person who decided) and by request type:
  how many, the median and the 90th percentile, in seconds;
- **where requests wait now**: the active stages by stage name and by the person who must act,
  with the oldest wait and how many are past their stage's SLA;
- **approved amounts by week and department** (ISO weeks in the viewer's time zone);
- **overdue payments**: approved, not yet paid, pay-by date before the viewer's today.

Only requests the viewer may see are counted (``visible_filter``, the registry's rule), so a
department head's numbers are their subtree's and an accountant's are those of approved requests.

What the period (``since`` … ``until``, days in the viewer's calendar) selects:
stage times by when the stage was decided, approver times by when the approver decided, type
times and approved amounts by when the request was approved. "Waiting now" and "overdue" are the
state of today and ignore the period; the other filters apply to every part. The department
filter is the request's own department, exactly as in the registry, so the numbers reconcile.

Percentiles are computed here in Python from the durations themselves, with **linear
interpolation between closest ranks** (the method of Excel's MEDIAN and PERCENTILE.INC and
numpy's default), so an accountant who exports the numbers gets the same figures. Each list of
durations is fetched with a bounded query (``ROW_CAP`` rows, the most recent first); when a cap is
reached the answer says so in ``truncated`` instead of silently showing part of the picture.

Money is never added across currencies (Viza keeps no exchange rates): approved amounts come per
currency, RUB first, and overdue sums are per currency. Amounts count payment requests only — a
contract's price is not a payment.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import Forbidden, InvalidInput
from backend.models import ApprovalTask, Department, Employee, PaymentRequest, RequestStage, RequestType
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import Kind, Status
from backend.workflows.visibility import headed_paths, visible_filter

# At most this many rows are read for any one list of durations or amounts: enough for years of
# a large company's approvals, and a bound on the memory and time of one page view.
ROW_CAP = 200_000
DEFAULT_DAYS = 90
MAX_DAYS = 731  # two years: 105 weekly bars are about as many as a chart can show
MAX_ID = 2**63 - 1
OVERDUE_LIST = 20
# Days late: (key, first day, last day or None for "and more").
OVERDUE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1-3", 1, 3), ("4-7", 4, 7), ("8-30", 8, 30), ("31+", 31, None),
)
DECIDED = ("approved", "rejected", "returned")
AMOUNT_STATUSES = (Status.APPROVED.value, Status.PAID.value, Status.CLOSED.value)


class AnalyticsQuery(BaseModel):
    """The period (the viewer's calendar days, both included; the last 90 days by default) and
    the filters, all optional and combined with AND."""

    model_config = ConfigDict(extra="forbid")

    since: date | None = Field(default=None, description="First day of the period (default: 89 days before until)")
    until: date | None = Field(default=None, description="Last day of the period (default: today)")
    legal_entity_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    request_type_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    kind: Kind | None = Field(default=None, description="payment | contract; both when omitted")


@dataclass
class DurationStats:
    """How long something took: ``count`` durations, their median and 90th percentile in seconds."""

    key: Any  # the stage's name, the approver's employee id, the request type's id
    label: str
    count: int
    median: float
    p90: float


@dataclass
class WaitingStats:
    key: Any  # the stage's name, or the employee id of whoever must act
    label: str
    count: int
    oldest_seconds: float
    over_sla: int


@dataclass
class DepartmentSeries:
    department_id: int | None  # None: requests with no department
    label: str
    amounts: list[int]  # minor units per week, aligned with ``WeeklyAmounts.weeks``
    total: int
    count: int


@dataclass
class WeeklyAmounts:
    """Approved amounts in one currency, per ISO week (Mondays) and department."""

    currency: str
    weeks: list[date]
    series: list[DepartmentSeries]  # largest total first
    totals: list[int]  # per week, all departments
    total: int
    count: int


@dataclass
class OverdueBucket:
    key: str
    first_day: int
    last_day: int | None
    count: int = 0
    amounts: dict[str, int] = field(default_factory=dict)  # currency → minor units


@dataclass
class OverdueItem:
    id: int
    number: str
    contractor_name: str
    amount: int
    currency: str
    pay_by: date
    days_late: int


@dataclass
class Overdue:
    count: int
    amounts: dict[str, int]
    buckets: list[OverdueBucket]
    items: list[OverdueItem]  # the most overdue first


@dataclass
class Analytics:
    since: date
    until: date
    today: date
    timezone: str
    generated_at: datetime
    by_stage: list[DurationStats]
    by_approver: list[DurationStats]
    by_type: list[DurationStats]
    waiting_by_stage: list[WaitingStats]
    waiting_by_approver: list[WaitingStats]
    amounts: list[WeeklyAmounts]
    overdue: Overdue
    truncated: list[str] = field(default_factory=list)  # the parts that reached ROW_CAP


# --- percentiles -------------------------------------------------------------------------------

def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th quantile (0 ≤ q ≤ 1) of values sorted ascending, by linear interpolation between
    closest ranks: position (n − 1)·q, e.g. the median of 1, 2, 3, 4 is 2.5 and the 90th
    percentile of 1 … 10 is 9.1 (Excel's PERCENTILE.INC, numpy's default)."""
    if not sorted_values:
        raise ValueError("no values")
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def summarize(groups: dict[Any, list[float]], labels: dict[Any, str]) -> list[DurationStats]:
    """Count, median and p90 per group; the slowest (by median, then p90) first."""
    stats = []
    for key, values in groups.items():
        values = sorted(values)
        stats.append(DurationStats(key=key, label=labels.get(key, str(key)), count=len(values),
                                   median=percentile(values, 0.5), p90=percentile(values, 0.9)))
    stats.sort(key=lambda s: (-s.median, -s.p90, s.label))
    return stats


# --- the use case ------------------------------------------------------------------------------

async def check_access(session: AsyncSession, actor: Actor) -> None:
    """Analytics is for admins, the CFO, the director, accounting and department heads (and
    their deputies); an initiator or an approver heading nothing has no numbers to compare."""
    if actor.is_admin or actor.has("cfo", "director", "accountant"):
        return
    if actor.employee_id is not None and await headed_paths(session, actor.employee_id):
        return
    raise Forbidden("analytics.forbidden")


def resolve_period(query: AnalyticsQuery, today: date) -> tuple[date, date]:
    """The period's first and last days: "since March 1" runs to today; "until May 31" covers the
    90 days ending then; neither is the last 90 days."""
    until = query.until or today
    since = query.since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise InvalidInput("analytics.range", field="until")
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidInput("analytics.range_too_long", field="since", max_days=MAX_DAYS)
    return since, until


async def analytics(session: AsyncSession, actor: Actor, query: AnalyticsQuery, *,
                    now: datetime | None = None) -> Analytics:
    """Everything the analytics page and ``GET /api/v1/analytics`` show, for ``actor``."""
    await check_access(session, actor)
    now = now or utcnow()
    zone = ZoneInfo(actor.timezone)
    today = now.astimezone(zone).date()
    since, until = resolve_period(query, today)
    start = datetime.combine(since, time.min, zone).astimezone(UTC)
    end = datetime.combine(until + timedelta(days=1), time.min, zone).astimezone(UTC)

    scope = [await visible_filter(session, actor), *_filters(query)]
    truncated: list[str] = []
    lang = actor.language

    by_stage, cut = await _stage_times(session, scope, start, end)
    if cut:
        truncated.append("by_stage")
    by_approver, cut = await _approver_times(session, scope, start, end)
    if cut:
        truncated.append("by_approver")
    by_type, cut = await _type_times(session, scope, start, end, lang)
    if cut:
        truncated.append("by_type")
    waiting_by_stage, waiting_by_approver, cut = await _waiting(session, scope, now)
    if cut:
        truncated.append("waiting")
    amounts, cut = await _amounts(session, scope, start, end, since, until, zone)
    if cut:
        truncated.append("amounts")
    overdue = await _overdue(session, scope, today)

    people = await _names(session, Employee, Employee.full_name,
                          [s.key for s in by_approver] + [w.key for w in waiting_by_approver])
    for item in [*by_approver, *waiting_by_approver]:
        item.label = people.get(item.key, f"#{item.key}")
    departments = await _names(session, Department, Department.name,
                               [s.department_id for a in amounts for s in a.series])
    for weekly in amounts:
        for series in weekly.series:
            series.label = departments.get(series.department_id, "") if series.department_id else ""
    return Analytics(
        since=since, until=until, today=today, timezone=actor.timezone, generated_at=now,
        by_stage=by_stage, by_approver=by_approver, by_type=by_type, waiting_by_stage=waiting_by_stage,
        waiting_by_approver=waiting_by_approver, amounts=amounts, overdue=overdue, truncated=truncated,
    )


def _filters(query: AnalyticsQuery) -> list[ColumnElement[bool]]:
    pr = PaymentRequest
    clauses: list[ColumnElement[bool]] = []
    for name in ("legal_entity_id", "department_id", "request_type_id"):
        value = getattr(query, name)
        if value is not None:
            clauses.append(getattr(pr, name) == value)
    if query.kind is not None:
        clauses.append(pr.kind == query.kind.value)
    return clauses


async def _bounded(session: AsyncSession, statement) -> tuple[list[Any], bool]:
    rows = list(await session.execute(statement.limit(ROW_CAP + 1)))
    return rows[:ROW_CAP], len(rows) > ROW_CAP


def _seconds(later: datetime, earlier: datetime) -> float:
    return max((later - earlier).total_seconds(), 0.0)


async def _stage_times(session: AsyncSession, scope, start: datetime, end: datetime) -> tuple[list[DurationStats], bool]:
    """Decided stages (approved, rejected or returned): from the stage's start to its decision.
    A stage passed at once because the initiator was its approver never started: not counted."""
    st = RequestStage
    statement = (
        select(st.name, st.started_at, st.finished_at)
        .join(PaymentRequest, PaymentRequest.id == st.request_id)
        .where(st.status.in_(DECIDED), st.started_at.is_not(None), st.finished_at >= start, st.finished_at < end,
               *scope)
        .order_by(st.finished_at.desc())
    )
    rows, cut = await _bounded(session, statement)
    groups: dict[str, list[float]] = defaultdict(list)
    for name, started, finished in rows:
        groups[name].append(_seconds(finished, started))
    return summarize(groups, {name: name for name in groups}), cut


async def _approver_times(session: AsyncSession, scope, start: datetime, end: datetime) -> tuple[list[DurationStats], bool]:
    """Each decision, by the person who made it (a deputy's own name): from when they were asked —
    the stage's start, or later for an approver added to a running stage — to their decision."""
    t, st = ApprovalTask, RequestStage
    statement = (
        select(t.decided_by_id, st.started_at, t.created_at, t.decided_at)
        .join(st, st.id == t.stage_id)
        .join(PaymentRequest, PaymentRequest.id == t.request_id)
        .where(t.status.in_(DECIDED), t.decided_by_id.is_not(None), st.started_at.is_not(None),
               t.decided_at >= start, t.decided_at < end, *scope)
        .order_by(t.decided_at.desc())
    )
    rows, cut = await _bounded(session, statement)
    groups: dict[int, list[float]] = defaultdict(list)
    for who, started, created, decided in rows:
        asked = max(started, created) if created is not None else started
        groups[who].append(_seconds(decided, asked))
    return summarize(groups, {}), cut


async def _type_times(session: AsyncSession, scope, start: datetime, end: datetime,
                      lang: str) -> tuple[list[DurationStats], bool]:
    """From the first submit to approval (rework after a return included: the requester waited)."""
    pr = PaymentRequest
    statement = (
        select(pr.request_type_id, pr.submitted_at, pr.approved_at)
        .where(pr.approved_at.is_not(None), pr.submitted_at.is_not(None), pr.approved_at >= start,
               pr.approved_at < end, *scope)
        .order_by(pr.approved_at.desc())
    )
    rows, cut = await _bounded(session, statement)
    groups: dict[int, list[float]] = defaultdict(list)
    for type_id, submitted, approved in rows:
        groups[type_id].append(_seconds(approved, submitted))
    labels = {}
    if groups:
        for request_type in await session.scalars(select(RequestType).where(RequestType.id.in_(groups))):
            labels[request_type.id] = request_type.name(lang)
    return summarize(groups, labels), cut


async def _waiting(session: AsyncSession, scope, now: datetime) -> tuple[list[WaitingStats], list[WaitingStats], bool]:
    """Active stages of pending requests, by stage name and by whoever must act now (the deputy
    when the task was handed to one)."""
    st, t = RequestStage, ApprovalTask
    pending = PaymentRequest.status == Status.PENDING.value
    stages, cut_stages = await _bounded(session, (
        select(st.name, st.started_at, st.sla_hours)
        .join(PaymentRequest, PaymentRequest.id == st.request_id)
        .where(st.status == "active", st.started_at.is_not(None), pending, *scope)
        .order_by(st.started_at)
    ))
    tasks, cut_tasks = await _bounded(session, (
        select(t.assignee_id, st.started_at, t.created_at, st.sla_hours)
        .join(st, st.id == t.stage_id)
        .join(PaymentRequest, PaymentRequest.id == t.request_id)
        .where(t.status == "pending", st.status == "active", st.started_at.is_not(None), pending, *scope)
        .order_by(st.started_at)
    ))
    by_stage = _waiting_stats((name, started, sla) for name, started, sla in stages)
    by_person = _waiting_stats((who, max(started, created) if created else started, sla)
                               for who, started, created, sla in tasks)
    return _finish_waiting(by_stage, now, labels=True), _finish_waiting(by_person, now), cut_stages or cut_tasks


def _waiting_stats(rows: Iterable[tuple[Any, datetime, int]]) -> dict[Any, list[tuple[datetime, int]]]:
    groups: dict[Any, list[tuple[datetime, int]]] = defaultdict(list)
    for key, started, sla_hours in rows:
        groups[key].append((started, sla_hours))
    return groups


def _finish_waiting(groups: dict[Any, list[tuple[datetime, int]]], now: datetime, *,
                    labels: bool = False) -> list[WaitingStats]:
    stats = []
    for key, items in groups.items():
        ages = [(_seconds(now, started), sla) for started, sla in items]
        stats.append(WaitingStats(
            key=key, label=str(key) if labels else "", count=len(ages),
            oldest_seconds=max(age for age, _ in ages),
            over_sla=sum(1 for age, sla in ages if age > sla * 3600),
        ))
    stats.sort(key=lambda w: (-w.over_sla, -w.oldest_seconds, -w.count))
    return stats


def week_of(moment: datetime, zone: ZoneInfo) -> date:
    """The Monday of the ISO week ``moment`` falls in, in ``zone``'s calendar."""
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


async def _amounts(session: AsyncSession, scope, start: datetime, end: datetime, since: date, until: date,
                   zone: ZoneInfo) -> tuple[list[WeeklyAmounts], bool]:
    """Payment requests approved in the period (and not withdrawn since), per currency, ISO week
    of their approval in the viewer's zone, and department."""
    pr = PaymentRequest
    rows, cut = await _bounded(session, (
        select(pr.approved_at, pr.department_id, pr.currency, pr.amount)
        .where(pr.kind == Kind.PAYMENT.value, pr.status.in_(AMOUNT_STATUSES), pr.approved_at >= start,
               pr.approved_at < end, *scope)
        .order_by(pr.approved_at.desc())
    ))
    first = since - timedelta(days=since.weekday())
    weeks = [first + timedelta(weeks=i) for i in range((until - first).days // 7 + 1)]
    index = {week: i for i, week in enumerate(weeks)}
    sums: dict[str, dict[int | None, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0] * len(weeks)))
    counts: dict[str, dict[int | None, int]] = defaultdict(lambda: defaultdict(int))
    for approved, department_id, currency, amount in rows:
        position = index.get(week_of(approved, zone))
        if position is None:  # cannot happen: the period's bounds are whole local days
            continue
        sums[currency][department_id][position] += amount
        counts[currency][department_id] += 1
    result = []
    for currency in sorted(sums, key=lambda c: (c != "RUB", c)):
        series = [DepartmentSeries(department_id=d, label="", amounts=values, total=sum(values),
                                   count=counts[currency][d]) for d, values in sums[currency].items()]
        series.sort(key=lambda s: (-s.total, s.department_id or 0))
        totals = [sum(s.amounts[i] for s in series) for i in range(len(weeks))]
        result.append(WeeklyAmounts(currency=currency, weeks=weeks, series=series, totals=totals,
                                    total=sum(totals), count=sum(s.count for s in series)))
    return result, cut


def bucket_of(days_late: int) -> str:
    for key, first, last in OVERDUE_BUCKETS:
        if days_late >= first and (last is None or days_late <= last):
            return key
    raise ValueError(days_late)


async def _overdue(session: AsyncSession, scope, today: date) -> Overdue:
    """Approved payment requests not yet paid whose pay-by date is before today."""
    pr = PaymentRequest
    where = [pr.status == Status.APPROVED.value, pr.kind == Kind.PAYMENT.value, pr.pay_by < today, *scope]
    # Grouped by day in SQL: at most a row per day and currency, however many requests.
    grouped = await session.execute(
        select(pr.pay_by, pr.currency, func.count(), func.sum(pr.amount)).where(*where)
        .group_by(pr.pay_by, pr.currency)
    )
    buckets = {key: OverdueBucket(key=key, first_day=first, last_day=last) for key, first, last in OVERDUE_BUCKETS}
    amounts: dict[str, int] = defaultdict(int)
    count = 0
    for pay_by, currency, n, total in grouped:
        bucket = buckets[bucket_of((today - pay_by).days)]
        bucket.count += n
        bucket.amounts[currency] = bucket.amounts.get(currency, 0) + int(total or 0)
        amounts[currency] += int(total or 0)
        count += n
    rows = await session.execute(
        select(pr.id, pr.number, pr.contractor_name, pr.amount, pr.currency, pr.pay_by).where(*where)
        .order_by(pr.pay_by, pr.id).limit(OVERDUE_LIST)
    )
    items = [OverdueItem(id=i, number=number, contractor_name=name, amount=amount, currency=currency,
                         pay_by=pay_by, days_late=(today - pay_by).days)
             for i, number, name, amount, currency, pay_by in rows]
    ordered = dict(sorted(amounts.items(), key=lambda kv: (kv[0] != "RUB", kv[0])))
    return Overdue(count=count, amounts=ordered, buckets=list(buckets.values()), items=items)


async def _names(session: AsyncSession, model, column, ids: Iterable[Any]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict((await session.execute(select(model.id, column).where(model.id.in_(wanted)))).all())
