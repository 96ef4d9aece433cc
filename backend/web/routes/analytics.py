"""The analytics page: where approvals slow down (seed 003), what waits now, what was approved
week by week, what is overdue — charts drawn here as SVG, with the exact numbers in tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from markupsafe import Markup

from backend.errors import InvalidInput
from backend.i18n import translate
from backend.money import CURRENCY_SIGNS, format_money
from backend.services import analytics as service
from backend.services.analytics import Analytics, AnalyticsQuery, DurationStats, WeeklyAmounts
from backend.services.export import Names
from backend.web import charts
from backend.web.context import Page, PageDep
from backend.web.rendering import duration_text, render
from backend.web.texts import page_text

router = APIRouter()
FILTERS = ("since", "until", "legal_entity_id", "department_id", "request_type_id", "kind")
CHART_ROWS = 15  # a chart shows the slowest this many; the table under it has them all
CHART_SERIES = 6  # departments drawn by name; the rest are one "other" part of each column
PERIODS = (30, 90, 365)
LABELS = {"since": "analytics.since", "until": "analytics.until", "legal_entity_id": "filter.legal_entity",
          "department_id": "filter.department", "request_type_id": "filter.request_type", "kind": "filter.kind"}


def parse_filters(params, lang: str) -> tuple[AnalyticsQuery, list[str]]:
    """The query from the page's parameters; a value that does not fit is named and left out."""
    data = {k: params.get(k, "").strip() for k in FILTERS if params.get(k, "").strip()}
    problems: list[str] = []
    for _ in range(len(FILTERS) + 1):
        try:
            return AnalyticsQuery(**data), problems
        except ValidationError as error:
            for item in error.errors():
                name = str(item["loc"][0]) if item.get("loc") else ""
                if name in data:
                    problems.append(translate("web.filter_invalid", lang, field=page_text(lang, LABELS[name]),
                                              value=data.pop(name)))
    return AnalyticsQuery(), problems


@router.get("/analytics")
async def analytics_page(page: PageDep) -> Response:
    query, problems = parse_filters(page.request.query_params, page.lang)
    viewer = replace(page.actor, language=page.lang)  # request types named in the page's language

    async def work(session) -> tuple[Names, Analytics, str | None]:
        names = await Names().load_reference(session, page.lang)
        try:
            return names, await service.analytics(session, viewer, query), None
        except InvalidInput as error:  # a period that makes no sense: say so, show the default one
            default = query.model_copy(update={"since": None, "until": None})
            return names, await service.analytics(session, viewer, default), error.message(page.lang)

    names, result, period_problem = await page.core.run(work)
    if period_problem:
        problems.append(period_problem)
    return render(page, "analytics.html", a=result, names=names, query=query, problems=problems,
                  charts=_charts(page, result), amounts=[_amount_table(page, w) for w in result.amounts],
                  periods=[(days, result.today - timedelta(days=days - 1)) for days in PERIODS],
                  buckets=result.overdue.buckets, kinds=("payment", "contract"), keep=_kept_filters(query),
                  row_cap=service.ROW_CAP, chart_rows=CHART_ROWS, overdue_list=service.OVERDUE_LIST)


def _kept_filters(query: AnalyticsQuery) -> dict[str, Any]:
    """The filters other than the period, for the quick "last N days" links."""
    return {"legal_entity_id": query.legal_entity_id, "department_id": query.department_id,
            "request_type_id": query.request_type_id, "kind": query.kind.value if query.kind else None}


def _charts(page: Page, a: Analytics) -> dict[str, Markup]:
    t = page.t
    no_data = t("analytics.no_data")
    drawn = {
        "by_stage": _duration_chart(page, a.by_stage, t("analytics.by_stage"), "analytics.n_decisions", "by-stage"),
        "by_approver": _duration_chart(page, a.by_approver, t("analytics.by_approver"), "analytics.n_decisions",
                                       "by-approver"),
        "by_type": _duration_chart(page, a.by_type, t("analytics.by_type"), "analytics.n_requests", "by-type"),
        "waiting_by_stage": _waiting_chart(page, a.waiting_by_stage, t("analytics.waiting_by_stage"), "waiting-stage"),
        "waiting_by_approver": _waiting_chart(page, a.waiting_by_approver, t("analytics.waiting_by_approver"),
                                              "waiting-approver"),
        "overdue": charts.bar_chart(
            [charts.Row(t(f"analytics.bucket.{b.key}"), [b.count]) for b in a.overdue.buckets]
            if a.overdue.count else [], [t("analytics.requests")], title=t("analytics.overdue_chart"),
            empty_text=t("analytics.no_overdue"), integer=True, axis_label=t("analytics.requests"),
            colours=(charts.WARN,), test="overdue"),
    }
    drawn["amounts"] = [_amounts_chart(page, w) for w in a.amounts] or [charts.bar_chart(
        [], [], title=t("analytics.amounts_title"), empty_text=no_data, test="amounts")]
    return {k: [Markup(x) for x in v] if isinstance(v, list) else Markup(v) for k, v in drawn.items()}


def _duration_chart(page: Page, stats: list[DurationStats], title: str, count_key: str, test: str) -> str:
    shown = stats[:CHART_ROWS]
    longest = max((s.p90 for s in shown), default=0)
    if longest >= 72 * 3600:
        unit, axis = 86400, "analytics.axis_days"
    elif longest >= 2 * 3600:
        unit, axis = 3600, "analytics.axis_hours"
    else:
        unit, axis = 60, "analytics.axis_minutes"
    rows = [charts.Row(s.label, [s.median / unit, s.p90 / unit], note=page.t(count_key, n=s.count)) for s in shown]
    return charts.bar_chart(
        rows, [page.t("analytics.median"), page.t("analytics.p90")], title=title,
        empty_text=page.t("analytics.no_data"), value_text=lambda v: duration_text(page, v * unit),
        axis_text=lambda v: f"{v:g}", axis_label=page.t(axis), axis_floor=1, test=test)


def _waiting_chart(page: Page, stats, title: str, test: str) -> str:
    rows = [charts.Row(s.label, [s.count, s.over_sla],
                       note=page.t("analytics.oldest_note", age=duration_text(page, s.oldest_seconds)))
            for s in stats[:CHART_ROWS]]
    return charts.bar_chart(rows, [page.t("analytics.waiting"), page.t("analytics.over_sla")], title=title,
                            empty_text=page.t("analytics.nothing_waits"), integer=True,
                            colours=(charts.PAIR[0], charts.WARN),
                            axis_label=page.t("analytics.requests"), test=test)


def compact_money(minor: float, currency: str, lang: str) -> str:
    """A short sum for a chart: 1,2 млн ₽ / 1.2M ₽; the exact sum is in the tooltip and the table."""
    sign = CURRENCY_SIGNS.get(currency, currency)
    units = minor / 100
    for size, ru, en, digits in ((1e9, "млрд", "B", 1), (1e6, "млн", "M", 1), (1e3, "тыс.", "K", 0)):
        if abs(units) >= size:
            number = f"{units / size:.{digits}f}"
            number = number.rstrip("0").rstrip(".") if "." in number else number
            return f"{number.replace('.', ',')}\u00a0{ru}\u00a0{sign}" if lang == "ru" else f"{number}{en} {sign}"
    number = f"{units:.0f}"
    return f"{number}\u00a0{sign}" if lang == "ru" else f"{number} {sign}"


def _series_label(page: Page, series) -> str:
    return series.label or page.t("analytics.no_department")


def _grouped(page: Page, weekly: WeeklyAmounts) -> list[tuple[str, list[int], bool]]:
    """The largest departments by name, the others summed as one part: (label, per week, other?)."""
    shown = weekly.series[:CHART_SERIES]
    rest = weekly.series[CHART_SERIES:]
    if len(rest) == 1:
        shown, rest = weekly.series, []
    groups = [(_series_label(page, s), list(s.amounts), False) for s in shown]
    if rest:
        groups.append((page.t("analytics.other_departments", n=len(rest)),
                       [sum(s.amounts[i] for s in rest) for i in range(len(weekly.weeks))], True))
    return groups


def week_label(monday: date) -> str:
    return monday.strftime("%d.%m")


def week_title(page: Page, monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return page.t("analytics.week_title", week=week, year=year, start=monday.strftime("%d.%m"),
                  end=(monday + timedelta(days=6)).strftime("%d.%m.%Y"))


def _amounts_chart(page: Page, weekly: WeeklyAmounts) -> str:
    series = [charts.Series(label, values, charts.OTHER if other else None)
              for label, values, other in _grouped(page, weekly)]
    return charts.stacked_chart(
        [week_label(w) for w in weekly.weeks], series,
        title=page.t("analytics.amounts_chart", currency=weekly.currency), empty_text=page.t("analytics.no_data"),
        value_text=lambda v: compact_money(v, weekly.currency, page.lang),
        tip_text=lambda v: format_money(int(v), weekly.currency, page.lang),
        category_titles=[week_title(page, w) for w in weekly.weeks], axis_label=page.t("analytics.week_axis"),
        width=960, height=340, test=f"amounts-{weekly.currency}")


def _amount_table(page: Page, weekly: WeeklyAmounts) -> dict[str, Any]:
    groups = _grouped(page, weekly)
    return {
        "currency": weekly.currency, "columns": [label for label, _, _ in groups],
        "rows": [{"week": f"{w:%d.%m}–{w + timedelta(days=6):%d.%m}", "title": week_title(page, w),
                  "cells": [g[1][i] for g in groups], "total": weekly.totals[i]}
                 for i, w in enumerate(weekly.weeks)],
        "column_totals": [sum(values) for _, values, _ in groups], "total": weekly.total, "count": weekly.count,
        "departments": [(_series_label(page, s), s.count, s.total) for s in weekly.series],
    }
