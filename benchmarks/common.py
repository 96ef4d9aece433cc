"""Shared helpers: database URLs, the org in the benchmark database, statement counting, stats."""

from __future__ import annotations

import asyncio
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, select, text

from backend.db import Database
from backend.models import Employee
from backend.services.tokens import actor_for_employee
from backend.workflows.actors import Actor

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
SQLITE_PATH = Path(os.environ.get("VIZA_BENCH_SQLITE", RESULTS / "viza_bench.sqlite3"))
PG_SERVER = os.environ.get("VIZA_BENCH_PG_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5433/postgres")
PG_DBNAME = os.environ.get("VIZA_BENCH_PG_DB", "viza_bench")


def sqlite_url(path: Path = SQLITE_PATH) -> str:
    return f"sqlite+aiosqlite:///{path}"


def pg_url(dbname: str = PG_DBNAME) -> str:
    return PG_SERVER.rsplit("/", 1)[0] + f"/{dbname}"


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def url_for(kind: str) -> str:
    return sqlite_url() if kind == "sqlite" else pg_url()


def kinds(arg: str) -> list[str]:
    return ["sqlite", "postgresql"] if arg == "both" else [arg]


class StatementCounter:
    """Counts the SQL statements an engine sends (``before_cursor_execute``)."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        self.statements: list[str] = []
        self.keep = False
        self.last_parameters = None
        self.timings: list[tuple[str, float]] = []  # (statement, ms) while timing is on
        self.timing = False
        self._started = 0.0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._on_execute)
        event.listen(db.engine.sync_engine, "after_cursor_execute", self._after_execute)

    def _after_execute(self, _conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if self.timing:
            self.timings.append((statement, (time.perf_counter() - self._started) * 1000))

    def _on_execute(self, _conn, _cursor, statement, parameters, _context, _executemany) -> None:
        self.count += 1
        if self.timing:
            self._started = time.perf_counter()
        if self.keep:
            self.statements.append(statement)
            self.last_parameters = parameters

    def take(self) -> int:
        value, self.count = self.count, 0
        return value


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize(values_ms: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(values_ms), "p95": percentile(values_ms, 95), "max": max(values_ms),
            "runs": len(values_ms)}


@dataclass
class Org:
    """The benchmark's well-known people (as made by tests.factories.make_company)."""

    actors: dict[str, Actor]
    employee_ids: dict[str, int]


async def load_org(db: Database) -> Org:
    """Find the make_company people by their names; the benchmark data uses them."""
    names = {
        "director": "Директор Д.Д.", "cfo": "Финансов Ф.Ф.", "head": "Петров П.П.", "deputy": "Орлова О.О.",
        "north_head": "Сидоров С.С.", "manager": "Иванов И.И.", "manager2": "Смирнова А.А.",
        "accountant": "Бухова Б.Б.", "accountant2": "Счётова С.С.", "admin": "Админов А.А.",
    }
    async with db.session() as session:
        rows = {e.full_name: e.id for e in await session.scalars(select(Employee).where(
            Employee.full_name.in_(list(names.values()))))}
        ids = {key: rows[name] for key, name in names.items()}
        actors = {key: await actor_for_employee(session, employee_id) for key, employee_id in ids.items()}
    return Org(actors=actors, employee_ids=ids)


async def row_count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(text("SELECT count(*) FROM payment_requests")) or 0)


def core_fingerprint() -> str:
    """Which core was measured (others edit it meanwhile): a hash of backend/**/*.py."""
    import hashlib

    root = ROOT.parent / "backend"
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def machine_info() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pg = "?"
    return {
        "nproc": str(os.cpu_count()), "ram": mem, "cpu": cpu, "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version, "postgresql_client": pg, "platform": platform.platform(),
    }


async def pg_server_version() -> str:
    import asyncpg

    connection = await asyncpg.connect(pg_dsn(PG_SERVER))
    try:
        return await connection.fetchval("SELECT version()")
    finally:
        await connection.close()


def run(coro):
    return asyncio.run(coro)


async def wait_http(url: str, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Wait until ``url`` answers 200; fail early if ``process`` (the server) exits."""
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"viza serve exited with {process.returncode}; see its log")
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")
