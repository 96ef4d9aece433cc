"""Approval taps per second with one and with two replicas of ``viza serve`` on PostgreSQL and
Redis, through the fake Bot API; and each replica's memory, idle and under load.

    python -m benchmarks.replicas [--taps 1200] [--concurrency 32] [--replicas 1 2]

Each replica is a separate ``viza serve`` process in webhook mode with ``VIZA_REDIS_URL`` set, as
in production (dialogs, update dedup, per-chat locks and Telegram buckets in Redis; outbox
claims with SKIP LOCKED). A tap is a callback_query update POSTed to a replica's webhook; the
load generator spreads taps round robin over the replicas (the load balancer's part), and a tap
is done when the webhook answers — by then the decision is committed, the callback answered and
the card edited through the fake Bot API. Every tap approves a different request; the 32
approvers each have a one-stage route of their own, so taps in flight come from different
chats. Each approval also queues notices (the initiator, both accountants) that the replicas'
outbox workers send while the taps go on. The fake's flood limits are off: we measure our
throughput, not Telegram's.

PostgreSQL is the one named by ``VIZA_BENCH_PG_SERVER`` (a database ``viza_bench_replicas`` is
made afresh); Redis is started on a free port unless ``VIZA_BENCH_REDIS_URL`` is given. Memory is
each replica's resident set from /proc: after start and a quiet second (idle), and its peak
(VmHWM) after the load. CPU is read from /proc too, during the taps: each replica's, PostgreSQL's,
this process's (the fake Bot API and the load generator) and the whole machine's — on a machine
where everything shares two cores, that says whether a second replica had a core to run on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

from backend.db import Database
from backend.migrate import upgrade
from backend.models import HistoryEvent, OutboxMessage
from benchmarks.bot_taps import APPROVERS, FIRST_APPROVER_TG, OTHERS_TG, SECRET, TOKEN, fire, prepare_company, tap_update
from benchmarks.common import PG_SERVER, RESULTS, machine_info, percentile, pg_dsn, wait_http
from bot.delivery import TOPICS as TELEGRAM_TOPICS
from sandbox.local_server import free_port
from sandbox.telegram import FakeTelegram, RateLimits

DBNAME = "viza_bench_replicas"


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process on this machine (the server and its backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    total += cpu_seconds(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def memory_mib(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


async def fresh_database() -> str:
    admin = await asyncpg.connect(pg_dsn(PG_SERVER))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DBNAME}"')
    finally:
        await admin.close()
    url = PG_SERVER.rsplit("/", 1)[0] + f"/{DBNAME}"
    await asyncio.to_thread(upgrade, url)
    return url


class RedisServer:
    """A throwaway redis-server on a free port, or the one named by VIZA_BENCH_REDIS_URL."""

    def __init__(self) -> None:
        self.url = os.environ.get("VIZA_BENCH_REDIS_URL")
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> RedisServer:
        if self.url is None:
            binary = shutil.which("redis-server")
            if binary is None:
                raise SystemExit("redis-server is not installed (apt-get install redis-server), "
                                 "or set VIZA_BENCH_REDIS_URL")
            port = free_port()
            self.process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
            self.url = f"redis://127.0.0.1:{port}/0"
            time.sleep(0.3)
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


class Replicas:
    def __init__(self, count: int, env: dict[str, str], log_dir: Path) -> None:
        self.ports = [free_port() for _ in range(count)]
        self.env = env
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []
        self.logs: list = []

    async def start(self) -> None:
        for index, port in enumerate(self.ports):
            log = open(self.log_dir / f"replicas.viza-{len(self.ports)}-{index + 1}.log", "w")  # noqa: SIM115
            env = {**self.env, "VIZA_INSTANCE_NAME": f"bench-{index + 1}",
                   "VIZA_PUBLIC_URL": f"http://127.0.0.1:{self.ports[0]}"}
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
                env=env, stdout=log, stderr=subprocess.STDOUT))
            self.logs.append(log)
        for port in self.ports:
            await wait_http(f"http://127.0.0.1:{port}/healthz")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()


async def settle(db: Database, timeout: float = 300) -> float:
    """Seconds until no notice is left to send (the replicas' outbox workers drain it)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        async with db.session() as session:
            left = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                        .where(OutboxMessage.status == "pending",
                                               OutboxMessage.topic.in_(TELEGRAM_TOPICS)))
        if not left:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise RuntimeError("the outbox did not drain")


async def run(taps: int, concurrency: int, counts: list[int]) -> list[dict]:
    rows: list[dict] = []
    url = await fresh_database()
    await prepare_company(url, taps * len(counts))
    db = Database(url)
    RESULTS.mkdir(exist_ok=True)
    with RedisServer() as redis, tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram(token=TOKEN, limits=RateLimits.off()) as tg:
            for index in range(APPROVERS):
                tg.user(FIRST_APPROVER_TG + index, f"Approver{index}", language_code="ru", started=True)
            for who, telegram_id in OTHERS_TG.items():
                tg.user(telegram_id, who, language_code="ru", started=True)
            env = {**os.environ, "VIZA_DATABASE_URL": url, "VIZA_REDIS_URL": redis.url,
                   "VIZA_DATA_DIR": str(Path(tmp) / "data"), "VIZA_TELEGRAM_TOKEN": TOKEN,
                   "VIZA_TELEGRAM_API_URL": tg.base_url, "VIZA_TELEGRAM_MODE": "webhook",
                   "VIZA_WEBHOOK_SECRET": SECRET, "VIZA_LOAD_DEFAULT_ROUTES": "false",
                   "VIZA_DOCUMENTS_WARM_UP": "false",
                   # The fake's limits are off: pace as fast as allowed, so the notices of 1,200
                   # approvals to three people drain in seconds, not at Telegram's 1 per chat-second.
                   "VIZA_TELEGRAM_RATE_GLOBAL": "1000", "VIZA_TELEGRAM_BURST_GLOBAL": "1000",
                   "VIZA_TELEGRAM_RATE_CHAT": "100", "VIZA_TELEGRAM_BURST_CHAT": "100"}
            chats = [tg.chat(FIRST_APPROVER_TG + index) for index in range(APPROVERS)]
            update_id = 10_000_000
            done_cards: set[int] = set()
            for count in counts:
                replicas = Replicas(count, env, RESULTS)
                await replicas.start()
                try:
                    def ready() -> list:
                        return [m for chat in chats for m in chat.bot_messages
                                if m.buttons and (chat.id, m.message_id) not in done_cards]

                    # The first replica's delivery sends every submitted request's card once.
                    await tg.wait_for(lambda: len(ready()) >= taps or None, timeout=600,
                                      message="the cards did not all arrive")
                    await settle(db)
                    await asyncio.sleep(1.0)
                    idle = [memory_mib(p.pid)[0] for p in replicas.processes]
                    queues = [[m for m in chat.bot_messages if m.buttons and (chat.id, m.message_id) not in done_cards]
                              for chat in chats]
                    cards = [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)][:taps]
                    for message in cards:
                        done_cards.add((message.chat.id, message.message_id))
                    updates = []
                    for message in cards:
                        update_id += 1
                        updates.append(tap_update(tg, message, message.buttons[0][0][1], update_id))
                    targets = [f"http://127.0.0.1:{port}/telegram/webhook" for port in replicas.ports]
                    before = ([cpu_seconds(p.pid) for p in replicas.processes], time.process_time(),
                              postgres_cpu_seconds(), machine_busy())
                    wall, latencies, failures = await fire(targets, updates, concurrency)
                    after = ([cpu_seconds(p.pid) for p in replicas.processes], time.process_time(),
                             postgres_cpu_seconds(), machine_busy())
                    cpu = {"replicas": [round((b - a) / wall, 2) for a, b in zip(before[0], after[0], strict=True)],
                           "fake_and_load": round((after[1] - before[1]) / wall, 2),
                           "postgres": round((after[2] - before[2]) / wall, 2),
                           "machine_busy": round((after[3][0] - before[3][0]) / max(1, after[3][1] - before[3][1]), 2)}
                    drained = await settle(db)
                    peaks = [memory_mib(p.pid)[1] for p in replicas.processes]
                    rows.append({"replicas": count, "concurrency": concurrency, "taps": len(updates),
                                 "taps_per_s": len(updates) / wall, "p50_ms": statistics.median(latencies),
                                 "p99_ms": percentile(latencies, 99), "failures": failures,
                                 "notices_drained_s": drained, "idle_mib": idle, "peak_mib": peaks, "cpu": cpu})
                    print(f"replicas={count} {rows[-1]['taps_per_s']:7.1f} taps/s  p50 {rows[-1]['p50_ms']:6.1f} ms  "
                          f"p99 {rows[-1]['p99_ms']:6.1f} ms  failures {failures}  idle {idle} MiB  peak {peaks} MiB  cpu {cpu}",
                          flush=True)
                finally:
                    replicas.stop()
            async with db.session() as session:
                approvals = await session.scalar(select(func.count()).select_from(HistoryEvent)
                                                 .where(HistoryEvent.action == "approve"))
                unsent = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                              .where(OutboxMessage.status.not_in(("sent", "skipped")),
                                                     OutboxMessage.topic.in_(TELEGRAM_TOPICS)))
            rows.append({"check": "approve events / Telegram notices not sent", "approvals": approvals,
                         "expected": taps * len(counts), "unsent": unsent})
    await db.dispose()
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| replicas | concurrent taps | taps | taps/s | p50 ms | p99 ms | failures | notices drained after | "
             "RSS idle MiB | peak RSS MiB |", "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    runs = [r for r in rows if "replicas" in r]
    for r in runs:
        lines.append(f"| {r['replicas']} | {r['concurrency']} | {r['taps']} | {r['taps_per_s']:.1f} | "
                     f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['failures']} | {r['notices_drained_s']:.1f} s | "
                     f"{' / '.join(f'{m:.0f}' for m in r['idle_mib'])} | "
                     f"{' / '.join(f'{m:.0f}' for m in r['peak_mib'])} |")
    lines.append("")
    lines.append("| replicas | CPU cores used by each replica | by PostgreSQL | by the fake Bot API and the load | "
                 "machine busy |")
    lines.append("|---:|---|---:|---:|---:|")
    for r in runs:
        c = r["cpu"]
        lines.append(f"| {r['replicas']} | {' / '.join(f'{v:.2f}' for v in c['replicas'])} | {c['postgres']:.2f} | "
                     f"{c['fake_and_load']:.2f} | {c['machine_busy']:.0%} |")
    by = {r["replicas"]: r for r in runs}
    if 1 in by and 2 in by:
        lines.append("")
        lines.append(f"Scaling ratio (2 replicas / 1): {by[2]['taps_per_s'] / by[1]['taps_per_s']:.2f}")
    check = next((r for r in rows if "check" in r), None)
    if check:
        lines.append(f"Check: {check['approvals']} approve events (expected {check['expected']}); "
                     f"{check['unsent']} Telegram notices not sent.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--taps", type=int, default=1200, help="taps per run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = asyncio.run(run(args.taps, args.concurrency, args.replicas))
    (RESULTS / "replicas.json").write_text(json.dumps({"machine": machine_info(), "rows": rows}, indent=1,
                                                      default=str))
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
