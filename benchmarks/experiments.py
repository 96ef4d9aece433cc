"""Measure the core fixes still proposed, on the 1M-row databases, without touching the core.

    python -m benchmarks.experiments --db sqlite|postgresql|both [--runs 50] [--only NAME,...]

Each experiment runs some registry cases twice: as the core is ("before") and with the fix
applied *only in this process*: the service function the fix would change, monkeypatched
here with the proposed code (no experiment here changes the schema). The cases, parameters
and actors are exactly those of registry_queries.py. Results: results/experiments-<db>.md
and .json. The fixes measured earlier and since applied to the core (task indexes, id
order, pay-by default sort, exact number lookup, stored tsvector, indexed can_see) are gone
from this file; their before/after numbers are kept in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import column, select, table, text

from backend.db import Database
from backend.models import PaymentRequest
from backend.services import registry
from benchmarks.common import RESULTS, StatementCounter, kinds, load_org, row_count, url_for
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


FTS = table("payment_requests_fts", column("rowid"))


@contextmanager
def sqlite_fts_join():
    """SQLite: drive a text search from the FTS index in rowid order (FTS5 streams
    ``ORDER BY rowid DESC`` and stops at the LIMIT) instead of materialising every match in
    ``id IN (SELECT rowid ... MATCH)`` and sorting them all. Newest first is id order now."""
    original = registry.select_page

    async def select_page(session, actor, query):
        sort = registry.effective_sort(query)
        if (not query.q or session.bind.dialect.name != "sqlite" or sort.lstrip("-") != "created"
                or registry.REQUEST_NUMBER.match(query.q.strip())):
            return await original(session, actor, query)
        words = [w.lower() for w in registry.WORD.findall(query.q)][:8]
        if not words:
            return await original(session, actor, query)
        plain = query.model_copy(update={"q": None})
        descending = sort.startswith("-")
        statement = (
            select(PaymentRequest).join(FTS, FTS.c.rowid == PaymentRequest.id)
            .where(*await registry.filters(session, actor, plain))
            .where(text("payment_requests_fts MATCH :fts").bindparams(fts=" ".join(f'"{w}"*' for w in words)))
        )
        if query.cursor:
            _, row_id = registry.decode_cursor(query.cursor, sort)
            statement = statement.where(FTS.c.rowid < row_id if descending else FTS.c.rowid > row_id)
        order = FTS.c.rowid.desc() if descending else FTS.c.rowid.asc()
        return statement.order_by(order), PaymentRequest.id, descending

    with patched(registry, "select_page", select_page):
        yield


@contextmanager
def number_any_length():
    """registry.REQUEST_NUMBER: accept 5 *or more* digits. The core pads to 5 digits but a
    legal entity past 99,999 requests a year gets 6-digit numbers ("РМ-26-180943"), which
    the current pattern (exactly 5) sends to text search instead of the unique index."""
    with patched(registry, "REQUEST_NUMBER", re.compile(r"^\w{1,10}-\d{2}-\d{5,}$")):
        yield


@contextmanager
def deferred_join():
    """registry.select_page: with a pay-by filter and an explicit newest-first sort, pick
    the page's ids from the covering (status, pay_by, id) / (pay_by, id) index first,
    sorting only the keys, and only then read the 51 rows ("deferred join")."""
    original = registry.select_page

    async def select_page(session, actor, query):
        has_pay_by = bool(query.pay_by or query.pay_by_from or query.pay_by_to)
        if not has_pay_by or registry.effective_sort(query).lstrip("-") != "created":
            return await original(session, actor, query)
        inner, column_, descending = await original(session, actor, query)
        order = (column_.desc(), PaymentRequest.id.desc()) if descending else (column_.asc(), PaymentRequest.id.asc())
        # "id + 0": no index gives this order, so the planner cannot walk the primary key
        # backwards hoping to meet the pay-by range early; it reads the range from the
        # covering index and sorts just the ids (top-N).
        key = column_ + 0 if column_ is PaymentRequest.id else column_
        inner_order = (key.desc(), PaymentRequest.id.desc()) if descending else (key.asc(), PaymentRequest.id.asc())
        ids = inner.with_only_columns(PaymentRequest.id).order_by(None).order_by(*inner_order).limit(query.limit + 1)
        return select(PaymentRequest).where(PaymentRequest.id.in_(ids)).order_by(*order), column_, descending

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


EXPERIMENTS = [
    Experiment("fts_join", "c: FTS-driven join in rowid order (query change, SQLite)", {"c1", "c2", "c3b"},
               [sqlite_fts_join], only={"sqlite"}),
    Experiment("number_any_length", "c3b: request numbers of 6+ digits looked up by the unique index", {"c3b"},
               [number_any_length]),
    Experiment("deferred_join", "a2: explicit -created with a pay-by range: ids from the index first", {"a2"},
               [deferred_join]),
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


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Experiments on {report['db']}, {report['requests']:,} requests (p95 ms before → after; "
             f"p50 in brackets)", ""]
    for e in report["experiments"]:
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
