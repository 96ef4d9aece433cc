"""The registry page: filters (and one's saved default), sorting, keyset pages, totals,
export of what is shown, and for accountants: mark paid and the bank file of a selection."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from backend.errors import DomainError
from backend.models import Employee
from backend.services import bank_files, bulk, export, registry, saved_views
from backend.services.export import Names
from backend.services.registry import RegistryQuery, effective_sort
from backend.web.context import Page, PageDep
from backend.web.registry_params import filter_params, parse_query
from backend.web.rendering import environment, helpers, query_string, redirect, with_session
from backend.workflows.lifecycle import Status

router = APIRouter()
TOTALS_SLOT = "<!--viza:totals-->"
SORT_COLUMNS = ("number", "pay_by", "amount", "created")


@router.get("/")
async def home(page: PageDep) -> Response:
    return redirect(page, "/registry")


@router.get("/registry")
async def registry_page(page: PageDep) -> Response:
    given = filter_params(page.request.query_params)
    saved = await page.core.call(saved_views.get_default_view, page.actor)
    using_saved = saved is not None and not given and page.request.query_params.get("view") != "all"
    if using_saved:
        given = saved_views.view_dump(saved)
    query, problems = parse_query(given, page.lang)

    async def first_part(session) -> dict[str, Any]:
        names = await Names().load_reference(session, page.lang)
        try:
            rows, next_cursor = await registry.list_page(session, page.actor, query)
        except DomainError as error:
            problems.append(error.message(page.lang))
            rows, next_cursor = [], None
        people = dict((await session.execute(select(Employee.id, Employee.full_name).where(
            Employee.id.in_({r.initiator_id for r in rows})))).all()) if rows else {}
        return {"rows": rows, "next_cursor": next_cursor, "names": names, "people": people,
                "has_view": saved is not None}

    data = await page.core.run(first_part)
    params = {k: v for k, v in given.items() if k != "cursor"}
    start = _int(page.request.query_params.get("start"), 1)
    context = {
        **helpers(page), "flash": page.take_flash(), "problems": problems, "query": query, "params": params,
        "using_saved": using_saved, "statuses": list(Status), "sort": effective_sort(query),
        "sort_columns": SORT_COLUMNS, "start": start, "today": page.actor.today(),
        "next_url": "/registry?" + query_string({**params, "cursor": data["next_cursor"],
                                                  "start": start + len(data["rows"])}) if data["next_cursor"] else None,
        "first_url": "/registry?" + query_string(params or {"view": "all"}),
        "export_qs": query_string(params), "periods": ("today", "week", "month", "overdue"),
        "totals_slot": TOTALS_SLOT, **data,
    }
    html = environment().get_template("registry.html").render(**context)
    head, tail = html.split(TOTALS_SLOT, 1)

    async def body():
        # The rows go out first; the totals of everything selected (all pages) follow below
        # the table as soon as they are summed, so a large registry never waits on them.
        yield head.encode()
        yield (await _totals_html(page, query, bool(problems) and not data["rows"])).encode()
        yield tail.encode()

    return with_session(page, StreamingResponse(body(), media_type="text/html; charset=utf-8"))


async def _totals_html(page: Page, query: RegistryQuery, failed: bool) -> str:
    sums: dict[str, dict[str, dict[str, Any]]] = {}
    if not failed:
        try:
            sums = await page.core.call(registry.totals_by_kind, page.actor, query)
        except DomainError:
            sums = {}
    return environment().get_template("registry_totals.html").render(**helpers(page), totals=sums)


def paid_on_date(page: Page, text: str) -> date | None | bool:
    """The payment date of a mark-paid form: None for "today", False (and a message) when unreadable;
    whether it may be that day is the core's rule."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        page.flash("error", page.t("registry.paid_on_invalid", value=text))
        return False


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value or default), 1)
    except ValueError:
        return default


def _back(params_qs: str) -> str:
    return "/registry" + (f"?{params_qs}" if params_qs else "?view=all")


@router.post("/registry/view")
async def save_view(page: PageDep, csrf: str = Form(""), filters: str = Form("")) -> Response:
    """Keep the filters now shown as the view the registry opens with."""
    page.check_csrf(csrf)
    from starlette.datastructures import QueryParams

    query, problems = parse_query(filter_params(QueryParams(filters)), page.lang)
    if problems:
        page.flash("error", "; ".join(problems))
        return redirect(page, _back(filters))
    await page.core.call(saved_views.save_default_view, page.actor, query)
    page.flash("ok", page.t("registry.view_saved"))
    return redirect(page, _back(filters))


@router.post("/registry/view/clear")
async def clear_view(page: PageDep, csrf: str = Form("")) -> Response:
    page.check_csrf(csrf)
    await page.core.call(saved_views.clear_default_view, page.actor)
    page.flash("ok", page.t("registry.view_cleared"))
    return redirect(page, "/registry?view=all")


@router.get("/registry/export.{fmt}")
async def export_registry(page: PageDep, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        from backend.errors import NotFound

        raise NotFound("web.not_found")
    query, problems = parse_query(filter_params(page.request.query_params), page.lang)
    if problems:
        page.flash("error", "; ".join(problems))
        return redirect(page, "/registry?" + page.request.url.query)
    use_case = export.export_csv if fmt == "csv" else export.export_xlsx
    try:
        content = await page.core.call(use_case, page.actor, query)
    except DomainError as error:
        page.flash("error", error.message(page.lang))
        return redirect(page, "/registry?" + page.request.url.query)
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"viza-registry-{date.today().isoformat()}.{fmt}"
    return with_session(page, Response(content, media_type=media,
                                       headers={"Content-Disposition": f'attachment; filename="{name}"'}))


@router.post("/registry/mark-paid")
async def mark_paid(page: PageDep, csrf: str = Form(""), ids: list[int] = Form(default_factory=list),
                    paid_on: str = Form(""), back: str = Form("")) -> Response:
    page.check_csrf(csrf)
    if not ids:
        page.flash("error", page.t("registry.nothing_selected"))
        return redirect(page, _back(back))
    day = paid_on_date(page, paid_on)
    if day is False:
        return redirect(page, _back(back))
    results = await bulk.mark_paid_each(page.db, page.actor, ids, day)
    done = [r.number for r in results if r.error is None]
    if done:
        page.flash("ok", page.t("registry.marked_paid", count=len(done), numbers=", ".join(done)))
    for result in results:
        if result.error is not None:
            page.flash("error", f"{result.number or result.request_id}: {result.error.message(page.lang)}")
    return redirect(page, _back(back))


@router.post("/registry/bank-file")
async def bank_file(page: PageDep, csrf: str = Form(""), ids: list[int] = Form(default_factory=list),
                    back: str = Form("")) -> Response:
    """Payment orders of the selected approved requests, for the bank client."""
    page.check_csrf(csrf)
    if not ids:
        page.flash("error", page.t("registry.nothing_selected"))
        return redirect(page, _back(back))
    try:
        result = await page.core.call(bank_files.export_payment_orders, page.actor, RegistryQuery(ids=ids))
    except DomainError as error:
        page.flash("error", error.message(page.lang))
        return redirect(page, _back(back))
    return with_session(page, Response(result.content, media_type="text/plain; charset=windows-1251", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(result.filename)}"}))

