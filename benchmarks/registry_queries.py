"""Time registry queries through the real service, as the API runs them.

    python -m benchmarks.registry_queries --db sqlite|postgresql|both [--runs 50]

Every call is ``in_transaction(db, work)`` with ``work`` = ``registry.list_page`` + the API's
``summary`` of each row: a fresh AsyncSession per query, committed, like
``GET /api/v1/payment-requests``. Each case runs for an admin, an accountant and a
department head (approver, "Петров П.П.", head of the sales subtree), warmed up first, then
``--runs`` times with varied parameters. SQL statements per call are counted with a
``before_cursor_execute`` listener. For every case over the target the SQL of its slowest
run is explained (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE) into results/plans-<db>.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from backend.db import Database
from backend.services.registry import RegistryQuery, list_page
from backend.services.transactions import in_transaction
from backend.services.views import summary
from benchmarks import vocab
from benchmarks.common import RESULTS, core_fingerprint, StatementCounter, kinds, load_org, row_count, summarize, url_for

TARGET_MS = 50.0
ACTORS = (("admin", "admin"), ("accountant", "accountant"), ("head", "approver (dept head)"))


class Params:
    """Parameter pools read from the data, so queries hit real values."""

    def __init__(self, inns_uniform: list[str], inns_weighted: list[str], subjects: list[str], numbers: list[str],
                 today: date) -> None:
        # Request numbers as the core makes them (LE-YY-NNNNN, 5 digits padded, more past 99,999
        # a year): the two lengths take different paths (an exact lookup, or text search).
        self.numbers5 = [n for n in numbers if len(n.rsplit("-", 1)[-1]) == 5]
        self.numbers6 = [n for n in numbers if len(n.rsplit("-", 1)[-1]) > 5]
        self.inns_uniform = inns_uniform
        self.inns_weighted = inns_weighted
        self.subjects = subjects
        self.today = today
        self.words = sorted({w.lower() for w in vocab.ITEMS + vocab.ACTIONS} |
                            {r.lower() for r in vocab.NAME_ROOTS})


async def load_params(db: Database) -> Params:
    async with db.session() as session:
        counts = (await session.execute(text(
            "SELECT contractor_inn, count(*) FROM payment_requests GROUP BY contractor_inn"))).all()
        sample = (await session.execute(text(
            "SELECT subject, number FROM payment_requests WHERE id % 997 = 0"))).all()
    rng = random.Random(7)
    inns = [inn for inn, _ in counts]
    weighted = rng.choices(inns, weights=[c for _, c in counts], k=2000)
    return Params(inns, weighted, [r[0] for r in sample], [r[1] for r in sample], date.today())


def _status_pay_by(rng: random.Random, p: Params) -> dict[str, Any]:
    statuses = rng.choice([["pending"], ["approved"], ["paid"], ["closed"], ["approved", "paid"]])
    span = rng.choice((7, 31, 92))
    start = p.today - timedelta(days=rng.randint(0, 730 - span))
    return {"status": statuses, "pay_by_from": start, "pay_by_to": start + timedelta(days=span - 1)}


def _one_word(rng: random.Random, p: Params) -> dict[str, Any]:
    word = rng.choice(p.words)
    if len(word) > 6 and rng.random() < 0.3:
        word = word[: rng.randint(4, len(word) - 1)]  # typed as a prefix
    return {"q": word}


def _two_words(rng: random.Random, p: Params) -> dict[str, Any]:
    for _ in range(20):
        words = [w for w in rng.choice(p.subjects).lower().split() if len(w) > 2 and w.isalpha()]
        if len(words) >= 2:
            first, second = rng.sample(words, 2)
            return {"q": f"{first} {second}"}
    return {"q": "оплата бумаги"}


def _status_pay_by_newest(rng: random.Random, p: Params) -> dict[str, Any]:
    return {**_status_pay_by(rng, p), "sort": "-created"}


# A case leaves ``sort`` unset wherever a user would (the registry's own default applies).
CASES: list[tuple[str, str, Callable[[random.Random, Params], dict[str, Any]]]] = [
    ("a", "status + pay_by range (default sort)", _status_pay_by),
    ("a2", "status + pay_by range, sort -created", _status_pay_by_newest),
    ("b1", "contractor INN, any contractor", lambda rng, p: {"contractor": rng.choice(p.inns_uniform)}),
    ("b2", "contractor INN, by request share", lambda rng, p: {"contractor": rng.choice(p.inns_weighted)}),
    ("c1", "text, one word", _one_word),
    ("c2", "text, two words", _two_words),
    ("c3", "text, a request number (5 digits)", lambda rng, p: {"q": rng.choice(p.numbers5)}),
    ("c3b", "text, a request number (6 digits)", lambda rng, p: {"q": rng.choice(p.numbers6)}),
    ("d", "deep keyset page (after 200×50)", lambda rng, p: {}),
    ("e", "default listing (-created, page 1)", lambda rng, p: {}),
    ("f", "status=approved sort pay_by (queue)", lambda rng, p: {"status": ["approved"], "sort": "pay_by"}),
]


async def timed_call(db: Database, counter: StatementCounter, actor, query: RegistryQuery):
    async def work(session):
        rows, next_cursor = await list_page(session, actor, query)
        return [summary(r) for r in rows], next_cursor

    counter.take()
    counter.statements.clear()
    started = time.perf_counter()
    items, next_cursor = await in_transaction(db, work)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, len(items), next_cursor, counter.take(), list(counter.statements)


async def deep_cursors(db: Database, counter: StatementCounter, actor, depth: int, count: int) -> tuple[list[str], float]:
    """Follow next_cursor ``depth`` pages of 50, then collect the next ``count`` cursors."""
    cursors: list[str] = []
    cursor = None
    started = time.perf_counter()
    walk_ms = 0.0
    for page in range(depth + count):
        query = RegistryQuery(cursor=cursor, limit=50)
        _, _, cursor, _, _ = await timed_call(db, counter, actor, query)
        if page + 1 == depth:
            walk_ms = (time.perf_counter() - started) * 1000
        if cursor is None:
            break
        if page + 1 >= depth:
            cursors.append(cursor)
    return cursors, walk_ms


async def explain(db: Database, statements: list[str], parameters: Any) -> str:
    if not statements:
        return "(no statement captured)"
    sql = statements[-1]
    shown = re.sub(r"SELECT payment_requests\.id, .*? \nFROM", "SELECT payment_requests.* \nFROM", sql, flags=re.S)
    async with db.engine.connect() as connection:
        if db.dialect == "sqlite":
            rows = (await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)).all()
            plan = "\n".join(f"{'  ' * 0}{r[-1]}" for r in rows)
        else:
            rows = (await connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, parameters)).all()
            plan = "\n".join(r[0] for r in rows)
    return f"{shown}\n-- parameters: {parameters}\n{plan}"


async def run_cases(db: Database, counter: StatementCounter, org, params: Params, *, runs: int, warmup: int,
                    cases: set[str] | None, max_case_s: float, actors=ACTORS, explain_slow: bool = True,
                    label: str = "") -> tuple[list[dict[str, Any]], list[str]]:
    """Run the cases (all, or the ids in ``cases``) for each actor; returns the rows and the plans of slow ones."""
    results: list[dict[str, Any]] = []
    plans: list[str] = []
    for case_id, title, make in CASES:
        if cases and case_id not in cases:
            continue
        for actor_key, actor_title in actors:
            actor = org.actors[actor_key]
            rng = random.Random(f"{case_id}-{actor_key}")
            if case_id == "d":
                cursors, walk_ms = await deep_cursors(db, counter, actor, 200, warmup + runs)
                queries = [RegistryQuery(cursor=c, limit=50) for c in cursors]
            else:
                walk_ms = None
                try:
                    queries = [RegistryQuery(**make(rng, params)) for _ in range(warmup + runs)]
                except IndexError:  # e.g. no 6-digit request numbers in a small data set
                    print(f"  {case_id:<3} {title:<38} {actor_title:<21} skipped: no parameters in this data set")
                    continue
            if len(queries) <= warmup:
                print(f"  {case_id:<3} {title:<38} {actor_title:<21} skipped: fewer than 200 pages visible")
                continue
            times: list[float] = []
            rows_returned: list[int] = []
            statements: list[int] = []
            slowest: tuple[float, list[str], Any, RegistryQuery | None] = (0.0, [], None, None)
            case_started = time.perf_counter()
            for index, query in enumerate(queries):
                elapsed, n, _, count, sqls = await timed_call(db, counter, actor, query)
                if index < warmup:
                    continue
                times.append(elapsed)
                rows_returned.append(n)
                statements.append(count)
                if elapsed > slowest[0]:
                    slowest = (elapsed, sqls, counter.last_parameters, query)
                if time.perf_counter() - case_started > max_case_s and len(times) >= 10:
                    break
            stats = summarize(times)
            row = {
                "case": case_id, "query": title, "actor": actor_title, **{k: round(v, 2) for k, v in stats.items()},
                "rows_min": min(rows_returned), "rows_max": max(rows_returned),
                "rows_avg": round(sum(rows_returned) / len(rows_returned), 1),
                "statements": sorted(set(statements)),
                "walk_200_pages_ms": round(walk_ms, 1) if walk_ms is not None else None,
                "slowest_query": slowest[3].model_dump(mode="json", exclude_defaults=True) if slowest[3] else None,
            }
            if label:
                row["variant"] = label
            results.append(row)
            flag = "  << over target" if stats["p95"] > TARGET_MS else ""
            print(f"  {label + ' ' if label else ''}{case_id:<3} {title:<38} {actor_title:<21} p50 {stats['p50']:8.1f}  "
                  f"p95 {stats['p95']:8.1f}  max {stats['max']:8.1f} ms  rows {row['rows_avg']:>5}  "
                  f"sql {row['statements']}{flag}", flush=True)
            if explain_slow and stats["p95"] > TARGET_MS:
                try:
                    plan = await explain(db, slowest[1], slowest[2])
                except Exception as exc:  # noqa: BLE001 - a plan is a bonus, never a failure
                    plan = f"(explain failed: {exc})"
                plans.append(f"=== {case_id} {title} / {actor_title}: slowest {slowest[0]:.1f} ms, "
                             f"query {row['slowest_query']}\n{plan}\n")
    return results, plans


async def bench_db(kind: str, runs: int, warmup: int, cases: set[str] | None, max_case_s: float) -> dict[str, Any]:
    db = Database(url_for(kind))
    counter = StatementCounter(db)
    counter.keep = True
    try:
        total = await row_count(db)
        org = await load_org(db)
        params = await load_params(db)
        print(f"\n[{kind}] {total:,} payment requests; {runs} runs per case after {warmup} warm-up runs")
        results, plans = await run_cases(db, counter, org, params, runs=runs, warmup=warmup, cases=cases,
                                         max_case_s=max_case_s)
        return {"db": kind, "core": core_fingerprint(), "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "requests": total, "runs": runs, "warmup": warmup, "results": results, "plans": plans}
    finally:
        await db.dispose()


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Registry queries on {report['db']}, {report['requests']:,} requests "
        f"({report['runs']} timed runs per row after {report['warmup']} warm-up runs; ms)",
        "",
        "| | query | actor | p50 | p95 | max | rows returned (avg) | SQL statements / call |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        over = " **✗**" if r["p95"] > TARGET_MS else ""
        runs = "" if r["runs"] >= report["runs"] else f" ({r['runs']} runs)"
        lines.append(f"| {r['case']} | {r['query']}{runs} | {r['actor']} | {r['p50']:.1f} | {r['p95']:.1f}{over} | "
                     f"{r['max']:.1f} | {r['rows_avg']:g} | {', '.join(map(str, r['statements']))} |")
    walks = [r for r in report["results"] if r["walk_200_pages_ms"] is not None]
    if walks:
        lines.append("")
        lines.append("Walking the 200 pages before the deep page took: " + "; ".join(
            f"{r['actor']} {r['walk_200_pages_ms'] / 1000:.1f} s" for r in walks) + ".")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--cases", default="", help="comma-separated case ids (a,a2,b1,b2,c1,c2,c3,c3b,d,e,f); default all")
    parser.add_argument("--max-case-seconds", type=float, default=40.0,
                        help="stop a case early (after at least 10 runs) when it has run this long")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    cases = {c.strip() for c in args.cases.split(",") if c.strip()} or None
    for kind in kinds(args.db):
        report = asyncio.run(bench_db(kind, args.runs, args.warmup, cases, args.max_case_seconds))
        table = markdown(report)
        print()
        print(table)
        (RESULTS / f"registry-{kind}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        (RESULTS / f"registry-{kind}.md").write_text(table + "\n")
        (RESULTS / f"plans-{kind}.txt").write_text("\n".join(report["plans"]) or "(every case within target)\n")


if __name__ == "__main__":
    main()
