"""The registry page (GET /registry) at 1,000,000 requests: time to first byte (issue 7).

    python -m benchmarks.web_registry [--reuse] [--rows 1000000] [--n 200]
        [--data-dir /tmp/viza-web-registry] [--database-url postgresql+asyncpg://…@127.0.0.1/db]
        [--cases a,b,c,c2,d1,d2] [--explain] [--try-index "CREATE INDEX …"] [--json PATH]

Target (issue 7): p95 time to first byte under 150 ms for the default view and for a
filtered deep page, with 1,000,000 requests in the database.

1. The database. A fresh SQLite file under --data-dir (never in the repository), migrated with
   ``backend.migrate.upgrade`` and filled by the bulk loader of ``benchmarks/generate.py``
   (``build_org`` + ``load_sqlite``): the make_company people (admin, accountant, approvers…)
   plus 20 departments, a second legal entity, --contractors counterparties with valid INNs;
   then the requests with their history, stages and tasks, inserted with stdlib sqlite3
   ``executemany`` in batches of 20,000 requests with the secondary indexes and the FTS
   triggers dropped; then the same DDL replayed, ``payment_requests_fts`` rebuilt
   (``'rebuild'`` reads every row's ``search_text``, exactly what the triggers would have
   written), ANALYZE. Statuses: paid 40 %, closed 25 %, approved 10 %, pending 10 %, draft
   5 %, the rest returned / rejected / cancelled; pay-by over two years; ids follow
   created_at; search_text and contractor_name_lc from the service's own code. The script
   checks the FTS index afterwards (one docsize row per request, and 50 random requests found
   by a word of their own text). With --reuse a database built before with the same
   --rows / --seed / --contractors is kept (a build takes 2-3 minutes). With --database-url
   (PostgreSQL on 127.0.0.1 only) the named database is dropped and created again on that
   server and loaded with COPY; its ``search_tsv`` is the server's generated column.
2. ``viza serve`` runs as its own process on 127.0.0.1 (a free port) against that database,
   with the scheduler, the print-form warm-up, the bot and every integration off (only the
   e-mail worker's idle poll remains, as it does in production).
3. Sign-in: the admin with an API token (POST /login/token), the accountant (Бухова Б.Б., the
   seed's user, who sees approved / paid / closed requests and her own) with a one-time link
   (POST /login/link/{code}). One client, one request at a time, keep-alive.
4. Each case: --warmup requests, then --n timed ones. TTFB is the time from sending the GET
   until the first byte of the body arrived (httpx streaming, ``iter_raw``); "full" is until
   the last byte. The page streams the rows first and the totals of everything selected (a
   count and sum over all pages) after the table, so "full" includes the totals query.
   Cases:
     a   default view, admin: /registry?view=all (newest first, everything)
     b   default view, accountant: /registry (no saved view: everything she may see)
     c   deep filtered page: status=paid, the main legal entity, pay-by over the last 12
         months, sort by pay-by; reached by following the page's "next" link --depth times,
         then the pages at depth-9…depth are timed in turn (admin and accountant)
     c2  the same filters sorted by amount, largest first (sort=-amount)
     d1  text search q= (one or two words taken from random requests' subjects)
     d2  contractor INN filter (INNs of random requests, so big contractors come often)
   Peak RSS of the server (VmHWM) and its CPU time are read from /proc.
5. For every case whose p95 TTFB is over the target, or all with --explain, the page's SQL is
   replayed in this process (the route's own calls, statements captured from the engine) and
   each statement is timed and explained (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE), for the
   case's slowest page (by median TTFB) when it cycles through several.
   --try-index copies the SQLite database, applies the given DDL and ANALYZE to the copy,
   and runs the benchmark on the copy: the measured effect of a proposed index.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import event, text
from starlette.datastructures import QueryParams

from backend.db import Database
from backend.migrate import upgrade
from benchmarks.common import (
    core_fingerprint,
    machine_info,
    percentile,
    pg_dsn,
    wait_http,
)
from sandbox.local_server import free_port

TARGET_MS = 150.0
DEFAULT_DIR = Path(os.environ.get("VIZA_BENCH_WEB_DIR", "/tmp/viza-web-registry"))
ACCOUNTANT = "Бухова Б.Б."  # tests.factories.make_company's accountant
CASES = {
    "a": "default view (view=all)",
    "b": "default view (no saved view)",
    "c": "deep page: paid + entity + 12 months pay-by, sort pay_by",
    "c2": "deep page: paid + entity + 12 months pay-by, sort -amount",
    "d1": "text search q=",
    "d2": "contractor INN",
}
ACTORS = {"a": ("admin",), "b": ("accountant",), "c": ("accountant", "admin"), "c2": ("accountant", "admin"),
          "d1": ("accountant", "admin"), "d2": ("accountant", "admin")}


# --- the database -------------------------------------------------------------------------------

def sqlite_file(url: str) -> Path | None:
    return Path(url.split(":///", 1)[1]) if url.startswith("sqlite") else None


def check_local(url: str) -> None:
    host = urlsplit(url.replace("+asyncpg", "")).hostname
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"only a database on 127.0.0.1 may be used, not {host!r}")


def build_key(args) -> dict[str, Any]:
    return {"rows": args.rows, "seed": args.seed, "contractors": args.contractors}


def reusable(url: str, marker: Path, args) -> dict[str, Any] | None:
    if not marker.exists():
        return None
    info = json.loads(marker.read_text())
    if {k: info.get(k) for k in build_key(args)} != build_key(args):
        print(f"  the database in {marker.parent} was built with {info.get('rows')} rows / seed {info.get('seed')} "
              f"/ {info.get('contractors')} contractors: building again")
        return None
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return None
    try:
        count = asyncio.run(scalar(url, "SELECT count(*) FROM payment_requests"))
    except Exception as exc:  # noqa: BLE001 — anything wrong means: build again
        print(f"  cannot read the kept database ({exc}): building again")
        return None
    if count < args.rows:
        return None
    return {**info, "reused": True}


async def scalar(url: str, sql: str) -> Any:
    db = Database(url)
    try:
        async with db.session() as session:
            return await session.scalar(text(sql))
    finally:
        await db.dispose()


async def recreate_pg(url: str) -> None:
    import asyncpg

    dsn = pg_dsn(url)
    name = urlsplit(dsn).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name) or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to drop the database {name!r}: name one for the benchmark only")
    con = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await con.execute(f'CREATE DATABASE "{name}"')
    finally:
        await con.close()


def build(url: str, args) -> dict[str, Any]:
    """Migrate a fresh database and bulk-load --rows requests (generate.py's loader)."""
    from benchmarks import generate

    marker = args.data_dir / ("build-sqlite.json" if url.startswith("sqlite") else "build-postgresql.json")
    if args.reuse and (kept := reusable(url, marker, args)) is not None:
        print(f"[db] reusing {url} ({kept['rows']:,} requests, built {kept.get('built_at')})")
        return kept
    path = sqlite_file(url)
    if path is not None:
        generate.recreate_sqlite(path)
    else:
        asyncio.run(recreate_pg(url))
    marker.unlink(missing_ok=True)
    print(f"[db] building {args.rows:,} requests in {url.split('@')[-1]}")
    t0 = time.perf_counter()
    upgrade(url)
    plan = asyncio.run(generate.build_org(url, random.Random(args.seed), args.contractors))
    org_s = time.perf_counter() - t0
    print(f"[db] org: {len(plan.initiators)} initiators, {len(plan.contractors)} contractors, "
          f"{len(plan.routes)} routes resolved, {org_s:.1f} s")
    counters: dict[tuple[int, int], int] = {}
    if path is not None:
        counts, timings = generate.load_sqlite(path, plan, args.rows, args.seed, 20_000, counters)
    else:
        counts, timings = asyncio.run(generate.load_postgresql(url, plan, args.rows, args.seed, 20_000, counters))
    print()
    asyncio.run(generate.save_counters(url, counters))
    total_s = time.perf_counter() - t0
    info = {**build_key(args), "built_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "counts": counts,
            "org_s": round(org_s, 1), **{k: round(v, 1) for k, v in timings.items()}, "total_s": round(total_s, 1),
            "reused": False}
    info["fts_check"] = check_search_index(url)
    if path is not None:
        info["file_mib"] = round(path.stat().st_size / 2**20)
    print(f"[db] built in {total_s:.0f} s: {counts['payment_requests']:,} requests, "
          f"{sum(counts.values()):,} rows in all; {info['fts_check']}"
          + (f"; file {info['file_mib']:,} MiB" if path is not None else ""))
    args.data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(info, indent=1, ensure_ascii=False))
    return info


def check_search_index(url: str) -> str:
    """The full-text index holds every request, and finds random requests by their own words."""
    path = sqlite_file(url)
    rng = random.Random(7)
    if path is None:
        nulls = asyncio.run(scalar(url, "SELECT count(*) FROM payment_requests WHERE search_tsv IS NULL"))
        if nulls:
            raise RuntimeError(f"{nulls} requests have no search_tsv")
        return "search_tsv filled for every request"
    con = sqlite3.connect(path)
    try:
        total = con.execute("SELECT count(*) FROM payment_requests").fetchone()[0]
        indexed = con.execute("SELECT count(*) FROM payment_requests_fts_docsize").fetchone()[0]
        if indexed != total:
            raise RuntimeError(f"the FTS index holds {indexed} documents for {total} requests")
        top = con.execute("SELECT max(id) FROM payment_requests").fetchone()[0]
        found = 0
        for _ in range(50):
            row_id = rng.randint(1, top)
            search_text = con.execute("SELECT search_text FROM payment_requests WHERE id = ?", (row_id,)).fetchone()[0]
            words = [w for w in re.findall(r"\w+", search_text.lower()) if len(w) >= 4] or ["x"]
            match = f'"{rng.choice(words)}"*'
            found += con.execute("SELECT count(*) FROM payment_requests_fts WHERE payment_requests_fts MATCH ? "
                                 "AND rowid = ?", (match, row_id)).fetchone()[0]
        if found != 50:
            raise RuntimeError(f"the FTS index found only {found} of 50 requests by their own words")
        return f"FTS: {indexed:,} documents, 50 of 50 sampled requests found by a word of their text"
    finally:
        con.close()


def experiment_copy(url: str, args) -> str:
    """A copy of the SQLite database with the --try-index DDL applied, for measuring a fix."""
    path = sqlite_file(url)
    if path is None:
        raise SystemExit("--try-index works on the SQLite database only")
    copy = args.data_dir / "experiment.sqlite3"
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    shutil.copyfile(path, copy)
    con = sqlite3.connect(copy)
    for ddl in args.try_index:
        t1 = time.perf_counter()
        con.execute(ddl)
        print(f"[experiment] {ddl}: {time.perf_counter() - t1:.1f} s")
    con.execute("ANALYZE")
    con.commit()
    con.close()
    print(f"[experiment] copy at {copy} ready in {time.perf_counter() - t0:.0f} s")
    return f"sqlite+aiosqlite:///{copy}"


# --- the server and the people ------------------------------------------------------------------

def start_server(url: str, data_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIZA_")}
    env.update({
        "VIZA_DATABASE_URL": url, "VIZA_DATA_DIR": str(data_dir / "serve"),
        "VIZA_SCHEDULER_ENABLED": "false", "VIZA_DOCUMENTS_WARM_UP": "false",
        "VIZA_WEB_URL": f"http://127.0.0.1:{port}",
    })
    log = open(log_path, "w")  # noqa: SIM115 — the process owns it; closed by the OS when we exit
    # cwd = the data folder: no .env of the working tree is read.
    return subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir)


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def proc_stats(pid: int) -> dict[str, float]:
    """Peak and current RSS (MiB) and CPU seconds of a process, from /proc."""
    result: dict[str, float] = {}
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        for key in ("VmHWM", "VmRSS"):
            m = re.search(rf"{key}:\s+(\d+) kB", status)
            if m:
                result[key] = int(m.group(1)) / 1024
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        result["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
    return result


async def credentials(url: str) -> dict[str, Any]:
    """An admin API token and a one-time sign-in link for the accountant; the ids the cases use."""
    from sqlalchemy import select

    from backend.models import Employee, LegalEntity
    from backend.services import tokens, web_login

    db = Database(url)
    try:
        async with db.session() as session:
            _, secret = await tokens.create_token(session, name="web_registry benchmark", role="admin")
            accountant_id = await session.scalar(select(Employee.id).where(Employee.full_name == ACCOUNTANT))
            accountant = await tokens.actor_for_employee(session, accountant_id)
            _, code = await web_login.issue_link(session, accountant, minutes=30)
            admin, _ = await web_login.sign_in_with_token(session, secret)
            entity = await session.scalar(select(LegalEntity.id).order_by(LegalEntity.id).limit(1))
            await session.commit()
        return {"secret": secret, "code": code, "entity": entity,
                "actors": {"admin": admin, "accountant": accountant}}
    finally:
        await db.dispose()


async def pick_values(url: str, seed: int) -> dict[str, list[str]]:
    """Search words and INNs as people would type them: taken from random requests."""
    db = Database(url)
    rng = random.Random(seed)
    try:
        async with db.session() as session:
            top = await session.scalar(text("SELECT max(id) FROM payment_requests"))
            ids = [rng.randint(1, top) for _ in range(60)]
            rows = (await session.execute(text(
                f"SELECT id, subject, contractor_inn FROM payment_requests WHERE id IN ({','.join(map(str, ids))})"
            ))).all()
    finally:
        await db.dispose()
    rows.sort(key=lambda r: ids.index(r[0]))
    words: list[str] = []
    for _, subject, _inn in rows:
        candidates = [w for w in re.findall(r"[^\W\d_]+", subject.lower()) if len(w) >= 4]
        if candidates:
            words.append(rng.choice(candidates))
    queries = list(dict.fromkeys(words[:15]))
    queries += [f"{a} {b}" for a, b in zip(words[15:20], words[20:25], strict=False)]  # two words
    inns = list(dict.fromkeys(r[2] for r in rows))[:20]
    return {"q": queries, "inns": inns}


def totals_count(body: str) -> int:
    """How many requests the totals below the table count (all currencies)."""
    section = body.split('data-test="totals"', 1)[1].split("</section>", 1)[0]
    return sum(int(re.sub(r"\D", "", count)) for count in re.findall(r"<span>([^<]*?):\s*<b>", section))


class Client:
    """One signed-in person: keep-alive, one request at a time."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=120, follow_redirects=False)

    def sign_in_admin(self, secret: str) -> None:
        r = self.http.post("/login/token", data={"token": secret, "next": "/registry"})
        if r.status_code != 303:
            raise RuntimeError(f"admin sign-in: {r.status_code} {r.text[:300]}")

    def sign_in_link(self, code: str) -> None:
        r = self.http.post(f"/login/link/{code}")
        if r.status_code != 303:
            raise RuntimeError(f"link sign-in: {r.status_code} {r.text[:300]}")

    def get(self, path: str) -> dict[str, Any]:
        """TTFB and full time of one page, and what the page holds."""
        chunks: list[bytes] = []
        first = None
        t0 = time.perf_counter()
        with self.http.stream("GET", path) as response:
            headers = time.perf_counter()
            for chunk in response.iter_raw():
                if first is None and chunk:
                    first = time.perf_counter()
                chunks.append(chunk)
            end = time.perf_counter()
        body = b"".join(chunks).decode()
        if response.status_code != 200 or 'data-test="registry"' not in body or 'data-test="totals"' not in body:
            raise RuntimeError(f"GET {path}: {response.status_code}, not the registry page:\n{body[:500]}")
        problem = re.search(r'class="flash error" role="alert">([^<]*)<', body)
        if problem:
            raise RuntimeError(f"GET {path}: the page says {html.unescape(problem.group(1))!r}")
        link = re.search(r'<a class="button" href="([^"]+)" data-test="next-page">', body)
        return {"ttfb": ((first or end) - t0) * 1000, "headers": (headers - t0) * 1000, "full": (end - t0) * 1000,
                "rows": body.count("<tr data-id="), "bytes": len(body),
                "next": html.unescape(link.group(1)) if link else None,
                "totals_count": totals_count(body)}

    def close(self) -> None:
        self.http.close()


# --- the cases ----------------------------------------------------------------------------------

def deep_filters(entity: int, sort: str, today: date) -> str:
    return (f"/registry?status=paid&legal_entity_id={entity}&pay_by_from={(today - timedelta(days=365)).isoformat()}"
            f"&pay_by_to={(today - timedelta(days=1)).isoformat()}&sort={sort}")


def walk(client: Client, first: str, depth: int) -> tuple[list[str], float]:
    """Follow the page's "next" link ``depth - 1`` times; the paths of the last 10 pages reached."""
    path, seen = first, [first]
    t0 = time.perf_counter()
    for _ in range(depth - 1):
        page = client.get(path)
        if page["next"] is None:
            break
        path = page["next"]
        seen.append(path)
    return seen[-10:], time.perf_counter() - t0


def case_paths(case: str, actor: str, client: Client, creds: dict, values: dict, args) -> tuple[list[str], str]:
    today = date.today()
    if case == "a":
        return ["/registry?view=all"], "page 1"
    if case == "b":
        return ["/registry"], "page 1"
    if case in ("c", "c2"):
        sort = "pay_by" if case == "c" else "-amount"
        paths, seconds = walk(client, deep_filters(creds["entity"], sort, today), args.depth)
        pages = len(paths)
        if pages < 10 or "cursor=" not in paths[-1]:
            raise RuntimeError(f"{case}: the walk stopped early, the filters select too few rows")
        print(f"    reached page {args.depth} by its next links in {seconds:.1f} s")
        return paths, f"pages {args.depth - 9}–{args.depth}"
    if case == "d1":
        return [f"/registry?{QueryParams({'view': 'all', 'q': q})}" for q in values["q"]], \
            f"page 1, {len(values['q'])} queries"
    if case == "d2":
        return [f"/registry?view=all&contractor={inn}" for inn in values["inns"]], f"page 1, {len(values['inns'])} INNs"
    raise ValueError(case)


def measure(client: Client, paths: list[str], n: int, warmup: int) -> dict[str, Any]:
    for i in range(warmup):
        client.get(paths[i % len(paths)])
    samples = [client.get(paths[i % len(paths)]) for i in range(n)]
    ttfb = [s["ttfb"] for s in samples]
    full = [s["full"] for s in samples]
    per_path = {path: statistics.median(ttfb[i::len(paths)]) for i, path in enumerate(paths) if ttfb[i::len(paths)]}
    return {
        "per_path_ttfb_p50": per_path, "slowest_path": max(per_path, key=per_path.get),
        "n": n, "ttfb_p50": statistics.median(ttfb), "ttfb_p95": percentile(ttfb, 95), "ttfb_max": max(ttfb),
        "full_p50": statistics.median(full), "full_p95": percentile(full, 95), "full_max": max(full),
        "headers_p95": percentile([s["headers"] for s in samples], 95),
        "rows": statistics.mean(s["rows"] for s in samples), "kib": statistics.mean(s["bytes"] for s in samples) / 1024,
        "selected": statistics.median(s["totals_count"] for s in samples),
    }


# --- why a case is slow: the page's SQL replayed and explained ----------------------------------

async def replay(url: str, actor, path: str, runs: int = 5) -> list[dict[str, Any]]:
    """The statements the registry route runs for ``path``, each timed (median of ``runs``) and explained."""
    from sqlalchemy import select

    from backend.models import Employee
    from backend.services import registry, saved_views
    from backend.services.export import Names
    from backend.web.registry_params import filter_params, parse_query

    params = QueryParams(urlsplit(path).query)
    db = Database(url)
    captured: list[tuple[str, str, Any]] = []
    where = ["?"]

    def on_execute(_conn, _cursor, statement, parameters, _context, _many) -> None:
        captured.append((where[0], statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        given = filter_params(params)
        if not given and params.get("view") != "all":
            async with db.session() as session:
                where[0] = "saved view"
                saved = await saved_views.get_default_view(session, actor)
            if saved is not None:
                given = saved_views.view_dump(saved)
        query, _ = parse_query(given, "ru")
        async with db.session() as session:
            where[0] = "names"
            await Names().load_reference(session, "ru")
            where[0] = "rows (list_page)"
            rows, _ = await registry.list_page(session, actor, query)
            where[0] = "initiators"
            if rows:
                await session.execute(select(Employee.id, Employee.full_name).where(
                    Employee.id.in_({r.initiator_id for r in rows})))
            where[0] = "saved view"
            await saved_views.get_default_view(session, actor)
        async with db.session() as session:
            where[0] = "totals"
            await registry.totals(session, actor, query)
        event.remove(db.engine.sync_engine, "before_cursor_execute", on_execute)
        results = []
        sqlite = url.startswith("sqlite")
        async with db.engine.connect() as conn:
            for part, statement, parameters in captured:
                times = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    (await conn.exec_driver_sql(statement, parameters)).fetchall()
                    times.append((time.perf_counter() - t0) * 1000)
                explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
                plan_rows = (await conn.exec_driver_sql(explain + statement, parameters)).fetchall()
                plan = "\n".join(f"{r[0]:>3} {r[1]:>3} {r[3]}" for r in plan_rows) if sqlite else \
                    "\n".join(r[0] for r in plan_rows)
                results.append({"part": part, "ms": statistics.median(times), "sql": statement,
                                "parameters": list(parameters) if parameters else [], "plan": plan})
        return results
    finally:
        await db.dispose()


# --- the run ------------------------------------------------------------------------------------

def run(args) -> dict[str, Any]:
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.database_url:
        check_local(args.database_url)
        url = args.database_url
    else:
        url = f"sqlite+aiosqlite:///{args.data_dir / 'viza.sqlite3'}"
    built = build(url, args)
    if args.try_index:
        url = experiment_copy(url, args)
    creds = asyncio.run(credentials(url))
    values = asyncio.run(pick_values(url, args.seed))
    path = sqlite_file(url)
    size = (path.stat().st_size / 2**20) if path else None
    port = free_port()
    log_path = args.data_dir / f"serve-{'sqlite' if path else 'postgresql'}.log"
    (args.data_dir / "serve").mkdir(exist_ok=True)
    print(f"[serve] viza serve on 127.0.0.1:{port} (log {log_path})")
    server = start_server(url, args.data_dir, port, log_path)
    results: list[dict[str, Any]] = []
    clients: dict[str, Client] = {}
    try:
        asyncio.run(wait_http(f"http://127.0.0.1:{port}/healthz", server, timeout=120))
        base = f"http://127.0.0.1:{port}"
        clients["admin"] = Client(base)
        clients["admin"].sign_in_admin(creds["secret"])
        clients["accountant"] = Client(base)
        clients["accountant"].sign_in_link(creds["code"])
        started = proc_stats(server.pid)
        for case in args.cases:
            for actor in ACTORS[case]:
                print(f"[{case}] {CASES[case]}, {actor}", flush=True)
                paths, where = case_paths(case, actor, clients[actor], creds, values, args)
                row = {"case": case, "what": CASES[case], "actor": actor, "where": where, "paths": paths,
                       **measure(clients[actor], paths, args.n, args.warmup), "load": os.getloadavg()[0]}
                results.append(row)
                print(f"    TTFB p50 {row['ttfb_p50']:.1f} p95 {row['ttfb_p95']:.1f} max {row['ttfb_max']:.1f} ms; "
                      f"full p50 {row['full_p50']:.1f} p95 {row['full_p95']:.1f} ms; {row['rows']:.0f} rows, "
                      f"{row['selected']:,.0f} selected; load average {row['load']:.1f}", flush=True)
        server_stats = proc_stats(server.pid)
        server_stats["cpu_s_measuring"] = server_stats.get("cpu_s", 0) - started.get("cpu_s", 0)
    finally:
        for client in clients.values():
            client.close()
        stop_server(server)
    explained: list[dict[str, Any]] = []
    for row in results:
        if args.explain or row["ttfb_p95"] >= TARGET_MS:
            actor = creds["actors"][row["actor"]]
            statements = asyncio.run(replay(url, actor, row["slowest_path"]))
            explained.append({"case": row["case"], "actor": row["actor"], "path": row["slowest_path"],
                              "statements": statements})
    return {"database": url.split("@")[-1], "db_kind": "sqlite" if path else "postgresql", "build": built,
            "file_mib": round(size) if size else None, "try_index": args.try_index, "server": server_stats,
            "results": results, "explained": explained, "machine": machine_info(), "core": core_fingerprint(),
            "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "n": args.n, "warmup": args.warmup,
            "depth": args.depth}


def table(report: dict[str, Any]) -> str:
    lines = [("| case | actor | page | TTFB p50 | TTFB p95 | TTFB max | full p50 | full p95 | full max | rows | "
              "selected (totals) | KiB | load |"),
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["results"]:
        mark = " **✗**" if r["ttfb_p95"] >= TARGET_MS else ""
        lines.append(f"| {r['case']}: {r['what']} | {r['actor']} | {r['where']} | {r['ttfb_p50']:.1f} | "
                     f"{r['ttfb_p95']:.1f}{mark} | {r['ttfb_max']:.1f} | {r['full_p50']:.1f} | {r['full_p95']:.1f} | "
                     f"{r['full_max']:.1f} | {r['rows']:.0f} | {r['selected']:,.0f} | {r['kib']:.0f} | {r['load']:.1f} |")
    s = report["server"]
    lines.append("")
    lines.append(f"Server: peak RSS (VmHWM) {s.get('VmHWM', float('nan')):.0f} MiB, RSS at the end "
                 f"{s.get('VmRSS', float('nan')):.0f} MiB, CPU {s.get('cpu_s_measuring', float('nan')):.0f} s while measuring.")
    return "\n".join(lines)


def explained_text(report: dict[str, Any]) -> str:
    out = []
    for e in report["explained"]:
        out.append(f"## {e['case']} / {e['actor']}: {e['path']}")
        for s in e["statements"]:
            out.append(f"-- {s['part']}: {s['ms']:.1f} ms (median of 5)\n{s['sql']}\n-- parameters: {s['parameters']}\n"
                       f"{s['plan']}\n")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR, help="where the database and logs go")
    parser.add_argument("--database-url", help="PostgreSQL on 127.0.0.1 (the named database is dropped and recreated "
                        "unless --reuse finds it built)")
    parser.add_argument("--reuse", action="store_true", help="keep a database built before with the same parameters")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--contractors", type=int, default=200)
    parser.add_argument("--n", type=int, default=200, help="timed requests per case and actor")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--depth", type=int, default=200, help="page number of the deep page")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    parser.add_argument("--explain", action="store_true", help="explain every case, not only those over the target")
    parser.add_argument("--try-index", action="append", default=[], metavar="DDL",
                        help="run on a copy of the SQLite database with this DDL applied (repeatable)")
    parser.add_argument("--json", type=Path, help="write the full report here")
    args = parser.parse_args()
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}")
    if not 1 <= args.n <= 10_000 or not 0 <= args.warmup <= 1000 or not 10 <= args.depth <= 2000:
        parser.error("--n 1..10000, --warmup 0..1000, --depth 10..2000")
    report = run(args)
    info = report["machine"]
    print()
    print(f"Database: {report['database']}; {report['build'].get('counts', {}).get('payment_requests', args.rows):,} "
          f"requests; built in {report['build'].get('total_s')} s"
          + (" (reused)" if report["build"].get("reused") else "")
          + (f"; file {report['file_mib']:,} MiB" if report["file_mib"] else ""))
    if report["try_index"]:
        print(f"Experiment copy with: {'; '.join(report['try_index'])}")
    print(f"Machine: {info['cpu']}, nproc {info['nproc']}, RAM {info['ram']}, Python {info['python']}, "
          f"SQLite {info['sqlite']}; core {report['core']}; finished {report['finished_at']}")
    print(f"n = {args.n} timed requests per row after {args.warmup} warm-up; one client; ms")
    print()
    print(table(report))
    if report["explained"]:
        plans = args.data_dir / f"plans-{report['db_kind']}{'-experiment' if args.try_index else ''}.txt"
        plans.write_text(explained_text(report))
        print()
        print(f"Statements of the cases explained (time, plan) in {plans}:")
        for e in report["explained"]:
            parts: dict[str, list[float]] = {}
            for s in e["statements"]:
                parts.setdefault(s["part"], []).append(s["ms"])
            print(f"  {e['case']}/{e['actor']}: " + "; ".join(
                f"{part} {sum(ms):.1f} ms ({len(ms)} statement{'s' if len(ms) > 1 else ''})" for part, ms in parts.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
