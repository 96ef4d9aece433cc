"""Measure the proposed core fixes on the 1M-row databases, without touching the core.

    python -m benchmarks.experiments --db sqlite|postgresql|both [--runs 50] [--only NAME,...]

Each experiment runs some registry cases twice: as the core is ("baseline") and with the
fix applied *only in this process and in the benchmark database*: an index created by
hand (dropped again afterwards), and/or the service function the fix would change,
monkeypatched here with the proposed code. The cases, parameters and actors are exactly
those of registry_queries.py. Results: results/experiments-<db>.md and .json.

The PostgreSQL "stored tsvector column" experiment rewrites the table (ALTER TABLE ... ADD
COLUMN ... STORED, ~1 min) and drops the column afterwards; run it last, and regenerate
the database before taking new baseline numbers (the dropped column's bytes stay in the
heap until the rows are rewritten).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, column, or_, select, table, text, union_all

from backend.db import Database
from backend.models import ApprovalTask, Department, PaymentRequest
from backend.services import registry
from backend.workflows.lifecycle import Status
from benchmarks.common import PG_DBNAME, RESULTS, StatementCounter, kinds, load_org, row_count, url_for
from benchmarks.registry_queries import ACTORS, TARGET_MS, load_params, run_cases


# --- the fixes, as they would be written in the core --------------------------------------------

@contextmanager
def patched(obj: Any, name: str, value: Any):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


@contextmanager
def created_bound():
    """registry.filters: a pay-by upper bound implies a created_at upper bound, because
    pay_by is never before the day the request was made (_clean and _check_submittable
    refuse a past pay_by). created_at < pay_by_to + 2 days (slack for time zones) lets the
    (created_at, id) index start at the right place instead of at the newest row."""
    original = registry.filters

    async def filters(session, actor, query):
        clauses = await original(session, actor, query)
        if query.sort.lstrip("-") == "created":
            high = query.pay_by_to
            if query.pay_by:
                _, period_high = registry.period_bounds(query.pay_by, actor.today())
                high = min(high, period_high) if high else period_high
            if high is not None:
                bound = datetime.combine(high + timedelta(days=2), time(), UTC)
                clauses.append(PaymentRequest.created_at < bound)
        return clauses

    with patched(registry, "filters", filters):
        yield


@contextmanager
def sort_created_by_id():
    """SORTS["created"] = PaymentRequest.id: ids are given in creation order, so "newest
    first" is ORDER BY id DESC, and every index ending in id — (contractor_inn, id),
    (initiator_id, id), (department_id, id), the FTS rowid — serves the default sort."""
    original_decode = registry.decode_cursor

    def decode_cursor(cursor: str, sort: str):
        if sort.lstrip("-") == "created":
            try:
                value, row_id = registry.json.loads(registry.base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
                return int(value), int(row_id)
            except (ValueError, TypeError):
                raise registry.InvalidInput("registry.cursor", field="cursor") from None
        return original_decode(cursor, sort)

    sorts = dict(registry.SORTS)
    sorts["created"] = PaymentRequest.id
    with patched(registry, "SORTS", sorts), patched(registry, "decode_cursor", decode_cursor):
        yield


FTS = table("payment_requests_fts", column("rowid"))


@contextmanager
def sqlite_fts_join():
    """SQLite: drive a text search from the FTS index in rowid order (FTS5 streams
    ``ORDER BY rowid DESC`` and stops at the LIMIT) instead of materialising every match in
    ``id IN (SELECT rowid ... MATCH)`` and sorting them all. Needs newest-first = id order."""
    original = registry.select_page

    async def select_page(session, actor, query):
        if not query.q or session.bind.dialect.name != "sqlite" or query.sort.lstrip("-") != "created":
            return await original(session, actor, query)
        words = [w.lower() for w in registry.WORD.findall(query.q)][:8]
        plain = query.model_copy(update={"q": None})
        descending = query.sort.startswith("-")
        statement = (
            select(PaymentRequest).join(FTS, FTS.c.rowid == PaymentRequest.id)
            .where(*await registry.filters(session, actor, plain))
            .where(text("payment_requests_fts MATCH :fts").bindparams(fts=" ".join(f'"{w}"*' for w in words)))
        )
        if query.cursor:
            _, row_id = registry.decode_cursor(query.cursor, query.sort)
            statement = statement.where(FTS.c.rowid < row_id if descending else FTS.c.rowid > row_id)
        order = FTS.c.rowid.desc() if descending else FTS.c.rowid.asc()
        return statement.order_by(order), PaymentRequest.id, descending

    with patched(registry, "select_page", select_page):
        yield


NUMBER = re.compile(r"^\s*([A-Za-zА-Яа-яЁё]{1,10})-(\d{2})-(\d{3,})\s*$")


@contextmanager
def number_exact():
    """registry._text_clause: a q that is a request number ("РМ-26-00042") is looked up by
    the unique index on number (exact, case-folded), not as three prefix words."""
    original = registry._text_clause

    def text_clause(session, q):
        if NUMBER.match(q):
            return PaymentRequest.number == q.strip().upper()
        return original(session, q)

    with patched(registry, "_text_clause", text_clause):
        yield


@contextmanager
def pg_tsv_column():
    """PostgreSQL: match against a stored tsvector column (GIN-indexed) instead of
    recomputing to_tsvector('simple', search_text) for every row the plan filters or rechecks."""
    original = registry._text_clause

    def text_clause(session, q):
        if session.bind.dialect.name != "postgresql":
            return original(session, q)
        words = [w.lower() for w in registry.WORD.findall(q)][:8]
        if not words:
            return None
        return text("payment_requests.bench_search_tsv @@ to_tsquery('simple', :tsq)").bindparams(
            tsq=" & ".join(f"{w}:*" for w in words))

    with patched(registry, "_text_clause", text_clause):
        yield


@contextmanager
def asked_union():
    """visibility.visible_filter: "asked" as a UNION of two single-column lookups, each
    answered by a covering index (approver_id|assignee_id, status, request_id), instead of
    one OR that needs the task rows themselves."""
    from backend.workflows import visibility

    async def visible_filter(session, actor):
        if actor.is_admin:
            return visibility.true()
        clauses = []
        not_draft = PaymentRequest.status != Status.DRAFT.value
        if actor.has("cfo", "director"):
            clauses.append(not_draft)
        if actor.has("accountant"):
            clauses.append(PaymentRequest.status.in_(visibility.ACCOUNTING_STATUSES))
        me = actor.employee_id
        if me is not None:
            clauses.append(PaymentRequest.initiator_id == me)
            asked = union_all(
                select(ApprovalTask.request_id).where(ApprovalTask.approver_id == me, ApprovalTask.status != "waiting"),
                select(ApprovalTask.request_id).where(ApprovalTask.assignee_id == me, ApprovalTask.status != "waiting"),
            )
            clauses.append(PaymentRequest.id.in_(asked))
            paths = await visibility.headed_paths(session, me)
            if paths:
                subtree = select(Department.id).where(or_(*(Department.path.like(p + "%") for p in paths)))
                clauses.append(and_(not_draft, PaymentRequest.department_id.in_(subtree)))
        return or_(*clauses) if clauses else visibility.false()

    with patched(registry, "visible_filter", visible_filter):
        yield


@contextmanager
def can_see_exists():
    """visibility.can_see: for ONE request, ask "was I asked about it?" with an EXISTS on
    that request's tasks (ix_tasks_request), instead of ``id IN (every request I was ever
    asked about)``, which reads all of the approver's tasks on every approve."""
    from sqlalchemy import exists

    from backend.services import payment_requests as pr_service
    from backend.workflows import engine, visibility

    original = visibility.can_see

    async def can_see(session, actor, request):
        if actor.is_admin or actor.employee_id == request.initiator_id:
            return True
        me = actor.employee_id
        if me is not None:
            asked = await session.scalar(select(exists().where(
                ApprovalTask.request_id == request.id,
                or_(ApprovalTask.approver_id == me, ApprovalTask.assignee_id == me),
                ApprovalTask.status != "waiting")))
            if asked:
                return True
        return await original(session, actor, request)

    with ExitStack() as stack:
        for module in (visibility, engine, pr_service):
            if hasattr(module, "can_see"):
                stack.enter_context(patched(module, "can_see", can_see))
        yield


def _has_pay_by_filter(query) -> bool:
    return bool(query.pay_by or query.pay_by_from or query.pay_by_to)


@contextmanager
def pay_by_sort_by_default():
    """registry: when the filters name a pay-by period or range and the caller chose no
    sort, list by pay_by (then id), which the (pay_by, id) / (status, pay_by, id) indexes
    serve in order. (Prototype for one page; the real change sets the default in RegistryQuery.)"""
    original = registry.select_page

    async def select_page(session, actor, query):
        if _has_pay_by_filter(query) and "sort" not in query.model_fields_set:
            query = query.model_copy(update={"sort": "pay_by"})
        return await original(session, actor, query)

    with patched(registry, "select_page", select_page):
        yield


@contextmanager
def deferred_join():
    """registry.select_page: with a pay-by filter and a created sort, pick the page's ids
    from a covering index (status, pay_by, created_at, id) — sorting only the keys — and
    only then read the 51 rows ("deferred join")."""
    original = registry.select_page

    async def select_page(session, actor, query):
        if not _has_pay_by_filter(query) or query.sort.lstrip("-") != "created" or query.cursor:
            return await original(session, actor, query)
        inner, column, descending = await original(session, actor, query)
        order = (column.desc(), PaymentRequest.id.desc()) if descending else (column.asc(), PaymentRequest.id.asc())
        ids = inner.with_only_columns(PaymentRequest.id).limit(query.limit + 1)
        return select(PaymentRequest).where(PaymentRequest.id.in_(ids)).order_by(*order), column, descending

    with patched(registry, "select_page", select_page):
        yield


# --- the experiments ------------------------------------------------------------------------------

@dataclass
class Experiment:
    name: str
    title: str
    cases: set[str]
    fixes: list[Callable] = field(default_factory=list)
    ddl: dict[str, list[str]] = field(default_factory=dict)  # db kind -> statements to create
    undo: dict[str, list[str]] = field(default_factory=dict)  # db kind -> statements to drop
    only: set[str] = field(default_factory=lambda: {"sqlite", "postgresql"})
    actors: tuple = ACTORS
    cycle: bool = False  # run benchmarks.cycle instead of registry cases


INN_INDEX = "CREATE INDEX bench_pr_inn_created ON payment_requests (contractor_inn, created_at, id)"
TASK_INDEXES = [
    "CREATE INDEX bench_tasks_approver_cov ON approval_tasks (approver_id, status, request_id)",
    "CREATE INDEX bench_tasks_assignee_cov ON approval_tasks (assignee_id, status, request_id)",
]
STAGE_INDEX = "CREATE INDEX bench_tasks_stage ON approval_tasks (stage_id)"
LAST_PAID_INDEX = ("CREATE INDEX bench_pr_inn_kpp_paid ON payment_requests "
                   "(contractor_inn, contractor_kpp, paid_at, id)")
BOTH = ("sqlite", "postgresql")
EXPERIMENTS = [
    Experiment("cycle_stage_index", "cycle: index approval_tasks (stage_id)", set(), cycle=True,
               ddl={k: [STAGE_INDEX] for k in BOTH}, undo={k: ["DROP INDEX bench_tasks_stage"] for k in BOTH}),
    Experiment("cycle_all", "cycle: + index (contractor_inn, contractor_kpp, paid_at, id) + can_see EXISTS",
               set(), [can_see_exists], cycle=True,
               ddl={k: [STAGE_INDEX, LAST_PAID_INDEX] for k in BOTH},
               undo={k: ["DROP INDEX bench_tasks_stage", "DROP INDEX bench_pr_inn_kpp_paid"] for k in BOTH}),
    Experiment("created_bound", "a: add created_at < pay_by_to + 2 days (query change)", {"a"}, [created_bound]),
    Experiment("pay_by_sort", "a: sort by pay_by when a pay-by filter is given and no sort (default change)", {"a"},
               [pay_by_sort_by_default]),
    Experiment("deferred_join", "a: index (status, pay_by, created_at, id) + deferred join + created bound",
               {"a"}, [created_bound, deferred_join],
               ddl={k: ["CREATE INDEX bench_pr_status_pay_by_created ON payment_requests (status, pay_by, created_at, id)"]
                    for k in ("sqlite", "postgresql")},
               undo={k: ["DROP INDEX bench_pr_status_pay_by_created"] for k in ("sqlite", "postgresql")}),
    Experiment("inn_index", "b: index (contractor_inn, created_at, id)", {"b1", "b2"},
               ddl={k: [INN_INDEX] for k in ("sqlite", "postgresql")},
               undo={k: ["DROP INDEX bench_pr_inn_created"] for k in ("sqlite", "postgresql")}),
    Experiment("sort_id", "b, c, d, e: newest-first sorts by id (query change)", {"b2", "c1", "c2", "d", "e"},
               [sort_created_by_id]),
    Experiment("fts_join", "c: FTS-driven join in rowid order + sort by id (query change)", {"c1", "c2", "c3"},
               [sort_created_by_id, sqlite_fts_join], only={"sqlite"}),
    Experiment("number_exact", "c3: a request number looked up by its unique index (query change)", {"c3"},
               [number_exact]),
    Experiment("asked_union", "approver visibility: covering task indexes + UNION (index + query change)",
               {"b1", "d", "e", "f"}, [asked_union],
               ddl={k: TASK_INDEXES for k in ("sqlite", "postgresql")},
               undo={k: ["DROP INDEX bench_tasks_approver_cov", "DROP INDEX bench_tasks_assignee_cov"]
                     for k in ("sqlite", "postgresql")},
               actors=(("head", "approver (dept head)"), ("accountant", "accountant"))),
    Experiment("pg_tsv", "c: stored tsvector column + GIN (schema + query change)", {"c1", "c2", "c3"},
               [pg_tsv_column], only={"postgresql"},
               ddl={"postgresql": [
                   "SET maintenance_work_mem = '1GB'",
                   "ALTER TABLE payment_requests ADD COLUMN IF NOT EXISTS bench_search_tsv tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
                   "CREATE INDEX IF NOT EXISTS bench_pr_search_tsv ON payment_requests USING gin (bench_search_tsv)",
                   "VACUUM ANALYZE payment_requests"]},
               undo={}),  # the next experiment reuses the column, then drops it
    Experiment("pg_tsv_tuned", "c: stored tsvector column + GIN + approver visibility fix + random_page_cost 1.1",
               {"c1", "c2"}, [pg_tsv_column, asked_union], only={"postgresql"},
               ddl={"postgresql": [
                   "SET maintenance_work_mem = '1GB'",
                   "ALTER TABLE payment_requests ADD COLUMN IF NOT EXISTS bench_search_tsv tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
                   "CREATE INDEX IF NOT EXISTS bench_pr_search_tsv ON payment_requests USING gin (bench_search_tsv)",
                   *TASK_INDEXES, f"ALTER DATABASE \"{PG_DBNAME}\" SET random_page_cost = 1.1",
                   "VACUUM ANALYZE payment_requests"]},
               undo={"postgresql": [f"ALTER DATABASE \"{PG_DBNAME}\" RESET random_page_cost",
                                    "DROP INDEX bench_tasks_approver_cov", "DROP INDEX bench_tasks_assignee_cov"]}),
    Experiment("pg_tsv_sort_id", "c: stored tsvector column + GIN + sort by id", {"c1", "c2", "c3"},
               [pg_tsv_column, sort_created_by_id], only={"postgresql"},
               ddl={"postgresql": [
                   "SET maintenance_work_mem = '1GB'",
                   "ALTER TABLE payment_requests ADD COLUMN IF NOT EXISTS bench_search_tsv tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
                   "CREATE INDEX IF NOT EXISTS bench_pr_search_tsv ON payment_requests USING gin (bench_search_tsv)",
                   "VACUUM ANALYZE payment_requests"]},
               undo={"postgresql": ["DROP INDEX IF EXISTS bench_pr_search_tsv",
                                    "ALTER TABLE payment_requests DROP COLUMN IF EXISTS bench_search_tsv"]}),
]


async def execute_ddl(db: Database, statements: list[str]) -> None:
    if not statements:
        return
    if db.dialect == "postgresql":
        import asyncpg

        from benchmarks.common import pg_dsn

        connection = await asyncpg.connect(pg_dsn(db.url))
        try:
            for statement in statements:
                await connection.execute(statement)
            await connection.execute("ANALYZE payment_requests")
            await connection.execute("ANALYZE approval_tasks")
        finally:
            await connection.close()
    else:
        async with db.engine.begin() as connection:
            for statement in statements:
                await connection.exec_driver_sql(statement)
            await connection.exec_driver_sql("ANALYZE")
    await db.engine.dispose()  # new connections see the new schema (and no cached statements)


async def run_experiments(kind: str, names: set[str] | None, runs: int, warmup: int, max_case_s: float,
                          skip_baseline: bool) -> dict[str, Any]:
    db = Database(url_for(kind))
    counter = StatementCounter(db)
    counter.keep = True
    report: dict[str, Any] = {"db": kind, "experiments": []}
    try:
        report["requests"] = await row_count(db)
        org = await load_org(db)
        params = await load_params(db)
        print(f"\n[{kind}] {report['requests']:,} payment requests; {runs} runs per case")
        for experiment in EXPERIMENTS:
            if kind not in experiment.only or (names and experiment.name not in names):
                continue
            print(f"\n== {experiment.name}: {experiment.title}")
            if experiment.cycle:
                report["experiments"].append(await cycle_experiment(db, kind, experiment, skip_baseline))
                continue
            kw = dict(runs=runs, warmup=warmup, cases=experiment.cases, max_case_s=max_case_s,
                      actors=experiment.actors, explain_slow=False)
            baseline = [] if skip_baseline else (await run_cases(db, counter, org, params, label="before", **kw))[0]
            await execute_ddl(db, experiment.ddl.get(kind, []))
            try:
                with ExitStack() as stack:
                    for fix in experiment.fixes:
                        stack.enter_context(fix())
                    after, plans = await run_cases(db, counter, org, params, label="after ", **{**kw, "explain_slow": True})
            finally:
                await execute_ddl(db, experiment.undo.get(kind, []))
            report["experiments"].append({"name": experiment.name, "title": experiment.title, "before": baseline,
                                          "after": after, "plans": plans})
        return report
    finally:
        await db.dispose()


async def cycle_experiment(db: Database, kind: str, experiment: Experiment, skip_baseline: bool) -> dict[str, Any]:
    from benchmarks import cycle

    cycles, warmup = 60, 5
    before = None if skip_baseline else await cycle.bench_db(kind, cycles, warmup)
    await execute_ddl(db, experiment.ddl.get(kind, []))
    try:
        with ExitStack() as stack:
            for fix in experiment.fixes:
                stack.enter_context(fix())
            after = await cycle.bench_db(kind, cycles, warmup)
    finally:
        await execute_ddl(db, experiment.undo.get(kind, []))
    return {"name": experiment.name, "title": experiment.title, "cycle_before": before, "cycle_after": after,
            "before": [], "after": [], "plans": []}


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Experiments on {report['db']}, {report['requests']:,} requests (p95 ms before → after; "
             f"p50 in brackets)", ""]
    for e in report["experiments"]:
        if "cycle_after" in e:
            b, a = e["cycle_before"], e["cycle_after"]
            lines += [f"**{e['name']}** — {e['title']}: "
                      f"{b['cycles_per_s'] if b else '–'} → **{a['cycles_per_s']} cycles/s**", "",
                      "| step | before p50 / p95 ms | after p50 / p95 ms | SQL statements |", "|---|---:|---:|---:|"]
            before_steps = {r["step"]: r for r in (b or {}).get("steps", [])}
            for r in a["steps"]:
                was = before_steps.get(r["step"])
                was_text = f"{was['p50']:.1f} / {was['p95']:.1f}" if was else "–"
                lines.append(f"| {r['step']} | {was_text} | {r['p50']:.1f} / {r['p95']:.1f} | "
                             f"{', '.join(map(str, r['statements']))} |")
            lines.append("")
            continue
        lines += [f"**{e['name']}** — {e['title']}", "", "| | query | actor | before p95 (p50) | after p95 (p50) | rows |",
                  "|---|---|---|---:|---:|---:|"]
        before = {(r["case"], r["actor"]): r for r in e["before"]}
        for r in e["after"]:
            b = before.get((r["case"], r["actor"]))
            was = f"{b['p95']:.1f} ({b['p50']:.1f})" if b else "–"
            mark = " ✗" if r["p95"] > TARGET_MS else ""
            lines.append(f"| {r['case']} | {r['query']} | {r['actor']} | {was} | {r['p95']:.1f} ({r['p50']:.1f}){mark} | "
                         f"{r['rows_avg']:g} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated experiment names")
    parser.add_argument("--max-case-seconds", type=float, default=40.0)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    names = {n.strip() for n in args.only.split(",") if n.strip()} or None
    for kind in kinds(args.db):
        report = asyncio.run(run_experiments(kind, names, args.runs, args.warmup, args.max_case_seconds,
                                             args.skip_baseline))
        table = markdown(report)
        print()
        print(table)
        suffix = "" if not names else "-" + "-".join(sorted(names))
        (RESULTS / f"experiments-{kind}{suffix}.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False, default=str))
        (RESULTS / f"experiments-{kind}{suffix}.md").write_text(table + "\n")
        (RESULTS / f"experiments-plans-{kind}{suffix}.txt").write_text(
            "\n".join(p for e in report["experiments"] for p in e["plans"]) or "(all within target)\n")


if __name__ == "__main__":
    main()
