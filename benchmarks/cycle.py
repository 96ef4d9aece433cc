"""Submit → approve → approve → mark-paid cycles per second on the big database.

    python -m benchmarks.cycle --db sqlite|postgresql|both [--cycles 200]

Each cycle makes a fresh draft with ``create_request`` (a manager of "Продажи Север", a
known contractor drawn by its share of the registry, an amount under 100 000 ₽ so the
supplier route is: head of the department, then the CFO), then drives ``act`` through
``in_transaction`` with the right actors: the manager submits, the department head and the
CFO approve, an accountant marks it paid. Every step is its own transaction, as in the API
and the bot. Reported: cycles/s (one client, steps back to back), per-step latency and the
number of SQL statements per step (counted with ``before_cursor_execute``; a change in
these numbers is a regression to look at).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, text

from backend.db import Database
from backend.models import LegalEntity, RequestType
from backend.services.payment_requests import act, create_request
from backend.services.transactions import in_transaction
from backend.workflows.lifecycle import Action
from benchmarks.common import RESULTS, core_fingerprint, StatementCounter, kinds, load_org, percentile, row_count, url_for
from tests.factories import request_fields

STEPS = ("create", "submit", "approve (dept head)", "approve (CFO)", "mark paid")


async def contractors(db: Database, rng: random.Random, k: int) -> list[dict[str, Any]]:
    """Known companies (with KPP), drawn by their share of the registry."""
    async with db.session() as session:
        rows = (await session.execute(text(
            "SELECT c.inn, c.kpp, c.name, c.bik, c.account, c.corr_account, count(*) AS n "
            "FROM payment_requests p JOIN counterparties c ON c.id = p.counterparty_id "
            "WHERE c.kpp <> '' GROUP BY c.inn, c.kpp, c.name, c.bik, c.account, c.corr_account"))).all()
    picked = rng.choices(rows, weights=[r.n for r in rows], k=k)
    return [dict(contractor_inn=r.inn, contractor_kpp=r.kpp, contractor_name=r.name, bik=r.bik, account=r.account,
                 corr_account=r.corr_account) for r in picked]


async def bench_db(kind: str, cycles: int, warmup: int) -> dict[str, Any]:
    db = Database(url_for(kind))
    counter = StatementCounter(db)
    try:
        total = await row_count(db)
        org = await load_org(db)
        async with db.session() as session:
            supplier = await session.scalar(select(RequestType).where(RequestType.code == "supplier"))
            entity = await session.scalar(select(LegalEntity).order_by(LegalEntity.id).limit(1))
        company = SimpleNamespace(types={"supplier": supplier}, legal_entity=entity)
        rng = random.Random(11)
        pool = await contractors(db, rng, cycles + warmup)
        a = org.actors
        latencies: dict[str, list[float]] = {s: [] for s in STEPS}
        sql_time: dict[str, dict[str, list[float]]] = {s: {} for s in STEPS}
        counter.timing = True
        statements: dict[str, list[int]] = {s: [] for s in STEPS}
        print(f"\n[{kind}] {total:,} payment requests; {cycles} cycles after {warmup} warm-up cycles")

        async def step(name: str, work, record: bool):
            counter.take()
            started = time.perf_counter()
            result = await in_transaction(db, work)
            elapsed = (time.perf_counter() - started) * 1000
            count = counter.take()
            if record:
                latencies[name].append(elapsed)
                statements[name].append(count)
                for sql, ms in counter.timings:
                    sql_time[name].setdefault(sql, []).append(ms)
            counter.timings.clear()
            return result

        measured_s = 0.0
        for index in range(warmup + cycles):
            record = index >= warmup
            fields = request_fields(
                company, **pool[index], amount=f"{rng.randint(1000, 99_000)}.{rng.randint(0, 99):02d}",
                invoice_number=str(rng.randint(1, 99999)), pay_by=date.today() + timedelta(days=rng.randint(1, 20)),
                subject=f"Поставка бумаги и картриджей, цикл {index}",
            )
            started = time.perf_counter()

            async def create(session, fields=fields):
                return (await create_request(session, a["manager"], fields)).id

            request_id = await step("create", create, record)
            for name, who, action in (("submit", "manager", Action.SUBMIT),
                                      ("approve (dept head)", "north_head", Action.APPROVE),
                                      ("approve (CFO)", "cfo", Action.APPROVE),
                                      ("mark paid", "accountant", Action.MARK_PAID)):
                async def work(session, who=who, action=action):
                    outcome = await act(session, a[who], request_id, action)
                    return outcome.request.status
                status = await step(name, work, record)
            if status != "paid":
                raise RuntimeError(f"cycle ended in {status}, not paid (request {request_id})")
            if record:
                measured_s += time.perf_counter() - started
        slow: dict[str, list[dict[str, Any]]] = {}
        for name in STEPS:
            per = sorted(((sum(v) / len(latencies[name]), sql) for sql, v in sql_time[name].items()), reverse=True)
            slow[name] = [{"ms_per_step": round(ms, 2), "sql": " ".join(sql.split())} for ms, sql in per[:3]]
        rows = []
        for name in STEPS:
            values = latencies[name]
            rows.append({"step": name, "p50": round(statistics.median(values), 2),
                         "p95": round(percentile(values, 95), 2), "max": round(max(values), 2),
                         "statements": sorted(set(statements[name]))})
        report = {"db": kind, "core": core_fingerprint(), "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "requests": total, "cycles": cycles, "cycles_per_s": round(cycles / measured_s, 2),
                  "cycle_ms_avg": round(measured_s / cycles * 1000, 1),
                  "statements_per_cycle": sum(statistics.median(statements[s]) for s in STEPS), "steps": rows,
                  "slowest_statements": slow}
        for r in rows:
            print(f"  {r['step']:<22} p50 {r['p50']:7.1f}  p95 {r['p95']:7.1f}  max {r['max']:7.1f} ms  "
                  f"SQL statements {r['statements']}")
        for name in STEPS:
            for item in slow[name][:2]:
                if item["ms_per_step"] >= 5:
                    print(f"     {name}: {item['ms_per_step']:7.1f} ms/step in: {item['sql'][:300]}")
        print(f"  => {report['cycles_per_s']} cycles/s ({report['cycle_ms_avg']} ms per cycle, "
              f"{report['statements_per_cycle']:g} SQL statements per cycle)")
        return report
    finally:
        await db.dispose()


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Cycle on {report['db']}, {report['requests']:,} requests: **{report['cycles_per_s']} cycles/s** "
        f"({report['cycle_ms_avg']} ms per create+submit+approve+approve+mark-paid, one client, "
        f"{report['cycles']} cycles; {report['statements_per_cycle']:g} SQL statements per cycle)",
        "",
        "| step | p50 ms | p95 ms | max ms | SQL statements |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report["steps"]:
        lines.append(f"| {r['step']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | "
                     f"{', '.join(map(str, r['statements']))} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for kind in kinds(args.db):
        report = asyncio.run(bench_db(kind, args.cycles, args.warmup))
        table = markdown(report)
        print()
        print(table)
        (RESULTS / f"cycle-{kind}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        (RESULTS / f"cycle-{kind}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
