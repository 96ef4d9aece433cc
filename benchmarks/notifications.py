"""Notification delivery through the fake Bot API, under Telegram's limits.

    python -m benchmarks.notifications [--notices 10000 --chats 2000] [--latency-samples 200]
                                       [--order grouped|interleaved] [--database-url URL]

1. **Set-up.** A fresh SQLite database in a temporary data folder (or ``--database-url``, which
   must be an empty database), migrated with ``backend.migrate.upgrade``; the test company
   (``tests.factories.make_company``) plus ``--chats`` employees, each bound to a fake Telegram
   user (``employee.telegram_user_id``); one approver without Telegram and a one-stage route to
   them; ``--latency-samples`` requests, each from a different one of those employees, submitted
   and waiting for that approver. The outbox rows the set-up itself wrote (task cards to an
   approver without Telegram, card refreshes) are marked skipped before the measurement.
2. **Throughput.** ``--notices`` notices are queued in the database with ``queue_notice``
   (kind ``recipient_unreachable``, which renders without a request; each carries a unique
   name ``BN000123`` so the transcripts show what was lost or duplicated). ``--order grouped``
   (the default) queues each chat's notices one after another (chat 1 ×5, chat 2 ×5, …), the
   hard case for the ~1 message/s per chat limit; ``interleaved`` queues round after round over
   all chats (a broadcast). Then ``viza serve`` starts as its own process (webhook mode, the
   scheduler off) against the fake Telegram of this process, with Telegram's limits
   (``RateLimits()``: 30/s for the bot, 1/s burst 3 per private chat). Measured between the
   first and the last message the fake accepted: messages/s, the fraction of 30/s, 429s (and
   which bucket refused), lost, duplicated, sent to the wrong chat, out of order in a chat.
3. **Latency, idle.** With the outbox empty, the approver approves the prepared requests
   through the API one at a time (``POST /api/v1/payment-requests/{id}/approve``); the engine
   queues the initiator's "approved" notice in the decision's transaction. For each, the time
   from the API call to the fake accepting the sendMessage into the initiator's chat. Each
   sample goes to another chat, so the per-chat limit never holds one back. This includes the
   HTTP hop from ``viza serve`` to the fake (both on 127.0.0.1).

The fake, the load and the measurement run in this process; ``viza serve`` in another one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select, update

from backend.db import Database
from backend.migrate import upgrade
from backend.models import Employee, OutboxMessage
from backend.notifications import queue_notice
from backend.services.payment_requests import act, create_request
from backend.services.request_types import RequestTypeIn, create_request_type
from backend.services.tokens import actor_for_employee, create_token
from backend.workflows.lifecycle import Action
from benchmarks.common import RESULTS, machine_info, percentile, wait_http
from sandbox.local_server import free_port
from sandbox.telegram import ApiError, FakeTelegram, RateLimits
from tests.factories import make_company, request_fields

TOKEN = "424243:BENCH"
SECRET = "bench-secret"
FIRST_TG = 700_000  # employee i ↔ Telegram user FIRST_TG + i
NAME = re.compile(r"BN\d{6}")
TELEGRAM_RATE = 30.0


def code_fingerprint() -> str:
    """Which service was measured (others edit it meanwhile): a hash of backend/ and bot/ *.py."""
    import hashlib

    root = RESULTS.parent.parent
    digest = hashlib.sha256()
    for folder in ("backend", "bot"):
        for path in sorted((root / folder).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Prepared:
    employee_ids: list[int]  # index i ↔ Telegram user FIRST_TG + i
    requests: list[tuple[int, int]]  # (request id, index of its initiator)
    approver_token: str
    expected: dict[str, int] = field(default_factory=dict)  # notice name → chat id
    expected_order: dict[int, list[str]] = field(default_factory=dict)  # chat id → names in queue order


def notice_plan(notices: int, chats: int, order: str) -> list[tuple[int, str]]:
    """(chat index, unique name) in the order they are queued."""
    per_chat = math.ceil(notices / chats)
    if order == "grouped":
        cells = [(c, k) for c in range(chats) for k in range(per_chat)]
    else:
        cells = [(c, k) for k in range(per_chat) for c in range(chats)]
    return [(c, f"BN{n:06d}") for n, (c, _) in enumerate(cells[:notices])]


async def prepare(url: str, chats: int, notices: int, samples: int, order: str) -> Prepared:
    upgrade(url)
    db = Database(url)
    try:
        async with db.session() as session:
            if await session.scalar(select(func.count()).select_from(Employee)):
                raise SystemExit(f"{url} already has employees: give an empty database")
            company = await make_company(session)
            approver = Employee(full_name="Согласующий Бенчмарка", roles=["approver"],
                                department_id=company.departments["north"].id)
            session.add(approver)
            await session.flush()
            rtype = await create_request_type(session, RequestTypeIn.model_validate({
                "code": "bench_notice", "name_ru": "Бенчмарк", "name_en": "Bench",
                "stages": [{"name": "Виза", "approvers": {"kind": "people", "employee_ids": [approver.id]}}]}))
            people = [Employee(full_name=f"Получатель {i:04d}", roles=["manager"],
                               department_id=company.departments["north"].id, telegram_user_id=FIRST_TG + i)
                      for i in range(chats)]
            session.add_all(people)
            await session.flush()
            employee_ids = [p.id for p in people]
            _, secret = await create_token(session, name="bench approver", role="approver", employee_id=approver.id)
            await session.commit()
        requests = []
        for index in range(min(samples, chats)):
            async with db.session() as session:
                actor = await actor_for_employee(session, employee_ids[index])
                request = await create_request(session, actor, request_fields(company, request_type_id=rtype.id))
                await act(session, actor, request.id, Action.SUBMIT)
                await session.commit()
                requests.append((request.id, index))
        async with db.session() as session:  # what the set-up wrote is not part of the measurement
            await session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                                  .values(status="skipped", last_error="benchmark set-up"))
            await session.commit()
        prepared = Prepared(employee_ids, requests, secret)
        plan = notice_plan(notices, chats, order)
        for start in range(0, len(plan), 1000):
            async with db.session() as session:
                for chat_index, name in plan[start:start + 1000]:
                    employee_id = employee_ids[chat_index]
                    await queue_notice(session, employee_id, "recipient_unreachable", dedup_key=f"bench:{name}",
                                       data={"employee_id": employee_id, "name": name})
                    prepared.expected[name] = FIRST_TG + chat_index
                    prepared.expected_order.setdefault(FIRST_TG + chat_index, []).append(name)
                await session.commit()
        return prepared
    finally:
        await db.dispose()


class Recorder:
    """Hooks into the fake: when each bot message was accepted, and which bucket refused a call."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg
        self.arrivals: list[tuple[float, int]] = []  # (perf_counter, chat id)
        self.by_chat: dict[int, list[float]] = {}
        self.refused = Counter()  # "global" | "chat" → 429s
        state = tg.state
        add_message, acquire, limiter = state.add_message, state.limiter.acquire, state.limiter

        def recording_add(chat, sender, **content):
            message = add_message(chat, sender, **content)
            if sender.is_bot:
                now = time.perf_counter()
                self.arrivals.append((now, chat.id))
                self.by_chat.setdefault(chat.id, []).append(now)
            return message

        def recording_acquire(chat_id, *, edit=False):
            try:
                return acquire(chat_id, edit=edit)
            except ApiError:
                clock = limiter.clock()
                self.refused["global" if limiter._global.wait_time(clock) > 0 else "chat"] += 1
                raise

        state.add_message = recording_add
        state.limiter.acquire = recording_acquire


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None



async def outbox_counts(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.session() as session:
            rows = (await session.execute(
                select(OutboxMessage.status, func.count()).where(OutboxMessage.topic == "notify")
                .where(OutboxMessage.dedup_key.like("bench:%")).group_by(OutboxMessage.status))).all()
            retried = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                           .where(OutboxMessage.dedup_key.like("bench:%"), OutboxMessage.attempts > 0))
            errors = (await session.execute(
                select(OutboxMessage.last_error, func.count()).where(OutboxMessage.last_error != "",
                                                                     OutboxMessage.last_error != "benchmark set-up")
                .group_by(OutboxMessage.last_error).limit(10))).all()
        return {**{f"rows {s}": n for s, n in rows}, "rows with attempts > 0": retried,
                **{f"last_error {e[:60]!r}": n for e, n in errors}}
    finally:
        await db.dispose()


async def throughput(tg: FakeTelegram, rec: Recorder, prepared: Prepared, stall: float) -> dict:
    notices = len(prepared.expected)
    chats = [tg.chat(chat_id) for chat_id in prepared.expected_order]
    started = time.perf_counter()
    last_count, last_change = 0, started
    deadline = started + notices / TELEGRAM_RATE * 3 + 120  # bounded, whatever happens
    while time.perf_counter() < deadline:
        count = len(rec.arrivals)  # only the benchmark's users exist in the fake
        if count >= notices:
            break
        now = time.perf_counter()
        if count != last_count:
            last_count, last_change = count, now
        elif now - last_change > stall:
            print(f"  no message for {stall:.0f} s at {count}/{notices}: giving up", flush=True)
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)  # anything sent twice arrives too
    times = sorted(t for t, chat_id in rec.arrivals if chat_id in prepared.expected_order)
    seen: Counter[str] = Counter()
    wrong_chat = out_of_order = 0
    for chat in chats:
        names = [m for msg in chat.bot_messages for m in NAME.findall(msg.text or "")]
        seen.update(names)
        wrong_chat += sum(1 for n in names if prepared.expected.get(n) != chat.id)
        if [n for n in dict.fromkeys(names)] != prepared.expected_order[chat.id][:len(dict.fromkeys(names))]:
            out_of_order += 1
    lost = sum(1 for name in prepared.expected if not seen[name])
    duplicated = sum(n - 1 for n in seen.values() if n > 1)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    rate = (len(times) - 1) / span if len(times) > 1 else 0.0
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    per_second = Counter(int(t - times[0]) for t in times) if times else Counter()
    full_seconds = [per_second.get(s, 0) for s in range(int(span))] if times else []
    # The pacer's own promise per chat (burst 2, then 1/s): any 3 messages in a row span ≥ ~1 s.
    chat_times = [sorted(rec.by_chat.get(chat.id, [])) for chat in chats]
    span3 = [ts[i + 2] - ts[i] for ts in chat_times for i in range(len(ts) - 2)]
    return {
        "notices": notices, "received": len(times), "first_after_s": (times[0] - started) if times else None,
        "span_s": span, "msgs_per_s": rate, "fraction_of_30": rate / TELEGRAM_RATE,
        "429": tg.too_many_requests_count, "429_global": rec.refused["global"], "429_chat": rec.refused["chat"],
        "429_chats": len(tg.too_many_requests_by_chat),
        "lost": lost, "duplicated": duplicated, "wrong_chat": wrong_chat, "chats_out_of_order": out_of_order,
        "max_gap_s": max(gaps) if gaps else None,
        "seconds_under_28.5": sum(1 for n in full_seconds if n < 28.5),
        "min_per_second": min(full_seconds) if full_seconds else None,
        "median_per_second": statistics.median(full_seconds) if full_seconds else None,
        "chat_min_span_of_3_s": min(span3) if span3 else None,
        "per_second": full_seconds,
    }


async def latency(tg: FakeTelegram, rec: Recorder, prepared: Prepared, port: int) -> dict:
    from_post, from_answer, failures = [], [], 0
    headers = {"Authorization": f"Bearer {prepared.approver_token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for request_id, index in prepared.requests:
            chat_id = FIRST_TG + index
            before = len(rec.by_chat.get(chat_id, []))
            sent = time.perf_counter()
            response = await http.post(f"/api/v1/payment-requests/{request_id}/approve", json={}, headers=headers)
            answered = time.perf_counter()
            if response.status_code != 200:
                failures += 1
                print(f"  approve {request_id}: {response.status_code} {response.text[:200]}", flush=True)
                continue
            try:
                await tg.wait_for(lambda chat_id=chat_id, before=before: len(rec.by_chat.get(chat_id, [])) > before,
                                  timeout=30, interval=0.001, message=f"no notice for request {request_id}")
            except AssertionError:
                failures += 1
                continue
            arrived = rec.by_chat[chat_id][before]
            from_post.append((arrived - sent) * 1000)
            from_answer.append((arrived - answered) * 1000)
            await asyncio.sleep(0.3)  # the decision's other rows (skipped ones, card refresh) settle: idle again
    def stats(values: list[float]) -> dict:
        if not values:
            return {}
        return {"p50": statistics.median(values), "p95": percentile(values, 95), "p99": percentile(values, 99),
                "max": max(values), "min": min(values)}
    return {"samples": len(from_post), "failures": failures, "from_post_ms": stats(from_post),
            "from_answer_ms": stats(from_answer), "raw_from_post_ms": [round(v, 1) for v in from_post]}


async def run(args) -> dict:
    result: dict = {"args": vars(args), "code": code_fingerprint(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    with tempfile.TemporaryDirectory(prefix="viza-notif-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'viza.sqlite3'}"
        t0 = time.perf_counter()
        prepared = await prepare(url, args.chats, args.notices, args.latency_samples, args.order)
        result["setup_s"] = time.perf_counter() - t0
        print(f"set-up: {args.chats} chats, {len(prepared.expected)} notices queued ({args.order}), "
              f"{len(prepared.requests)} requests waiting for approval, {result['setup_s']:.1f} s", flush=True)
        async with FakeTelegram(token=TOKEN, limits=RateLimits()) as tg:
            for index in range(args.chats):
                tg.user(FIRST_TG + index, f"Получатель{index}", language_code="ru", started=True)
            rec = Recorder(tg)
            port = free_port()
            env = {**os.environ, "VIZA_DATA_DIR": str(data_dir), "VIZA_DATABASE_URL": url,
                   "VIZA_TELEGRAM_TOKEN": TOKEN, "VIZA_TELEGRAM_API_URL": tg.base_url,
                   "VIZA_TELEGRAM_MODE": "webhook", "VIZA_PUBLIC_URL": f"http://127.0.0.1:{port}",
                   "VIZA_WEBHOOK_SECRET": SECRET, "VIZA_SCHEDULER_ENABLED": "false",
                   "VIZA_LOAD_DEFAULT_ROUTES": "false", "VIZA_INSTANCE_NAME": "bench"}
            if args.concurrency:
                env["VIZA_DELIVERY_CONCURRENCY"] = str(args.concurrency)
            RESULTS.mkdir(exist_ok=True)
            log_path = RESULTS / "notifications.viza.log"
            command = [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)]
            with open(log_path, "w") as log:
                serve = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
                spy = None
                try:
                    await wait_http(f"http://127.0.0.1:{port}/healthz", serve)
                    if args.py_spy:
                        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p",
                                                str(serve.pid), "-o", str(RESULTS / "notifications.py-spy.txt"),
                                                "-f", "raw", "-r", "50", "-d", str(args.py_spy)],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    print("viza serve is up; delivering…", flush=True)
                    cpu_before = cpu_seconds(serve.pid)
                    result["throughput"] = await throughput(tg, rec, prepared, args.stall)
                    cpu_after = cpu_seconds(serve.pid)
                    if cpu_before is not None and cpu_after is not None:
                        tp = result["throughput"]
                        tp["serve_cpu_s"] = cpu_after - cpu_before  # includes the 2 s wait for late duplicates
                        tp["serve_cpu_ms_per_notice"] = 1000 * tp["serve_cpu_s"] / max(1, tp["received"])
                    print(json.dumps({k: v for k, v in result["throughput"].items() if k != "per_second"},
                                     indent=1, default=str), flush=True)
                    result["outbox_after_throughput"] = await outbox_counts(url)
                    if prepared.requests:
                        print(f"latency: {len(prepared.requests)} approvals one at a time…", flush=True)
                        before = tg.too_many_requests_count
                        result["latency"] = await latency(tg, rec, prepared, port)
                        result["latency"]["429"] = tg.too_many_requests_count - before
                        print(json.dumps({k: v for k, v in result["latency"].items() if not k.startswith("raw")},
                                         indent=1, default=str), flush=True)
                    result["peak_rss_mib"] = peak_rss_mib(serve.pid)
                finally:
                    if spy is not None and spy.poll() is None:
                        spy.wait(timeout=args.py_spy + 30)
                    serve.terminate()
                    try:
                        serve.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        serve.kill()
                        serve.wait(timeout=10)
            result["serve_exit"] = serve.returncode
            result["fake_internal_errors"] = len(tg._server.internal_errors)
            result["fake_failed_calls"] = Counter(f"{c.method} {c.error_code}" for c in tg.failed_calls)
    return result


def table(result: dict) -> str:
    tp, lat = result.get("throughput", {}), result.get("latency", {})
    a = result["args"]
    lines = [f"Notification delivery: {tp.get('notices')} notices to {a['chats']} chats ({a['order']}), "
             f"Telegram's limits (30/s bot, 1/s burst 3 per chat); code {result['code']}, {result['started']}", "",
             "| measure | result | target |", "|---|---:|---|"]
    if tp:
        lines += [
            f"| messages/s (first → last message, {tp['span_s']:.1f} s) | {tp['msgs_per_s']:.2f} | |",
            f"| fraction of 30/s | **{tp['fraction_of_30']:.3f}** | ≥ 0.95 |",
            f"| 429s received (global / per-chat bucket) | {tp['429']} ({tp['429_global']} / {tp['429_chat']}) | 0 |",
            f"| lost | {tp['lost']} | 0 |",
            f"| duplicated | {tp['duplicated']} | 0 |",
            f"| to the wrong chat / chats out of order | {tp['wrong_chat']} / {tp['chats_out_of_order']} | 0 / 0 |",
            f"| seconds with < 28.5 messages (min, median per second) | {tp['seconds_under_28.5']} "
            f"({tp['min_per_second']}, {tp['median_per_second']}) | |",
            f"| longest gap between two messages | {tp['max_gap_s']:.2f} s | |",
            f"| shortest time spanned by 3 messages in a row to one chat | {tp['chat_min_span_of_3_s']:.2f} s "
            f"| ≥ 1 s (the pacer: burst 2, then 1/s) |",
            f"| first message, after /healthz first answered | {tp['first_after_s']:.2f} s | |",
        ]
    if lat.get("from_post_ms"):
        p, q = lat["from_post_ms"], lat["from_answer_ms"]
        lines += [
            f"| idle latency, API call sent → notice at the fake (n={lat['samples']}), p50 / p95 / p99 / max ms | "
            f"{p['p50']:.0f} / {p['p95']:.0f} / **{p['p99']:.0f}** / {p['max']:.0f} | p99 < 1000 |",
            f"| same, from the API's answer, p50 / p95 / p99 / max ms | "
            f"{q['p50']:.0f} / {q['p95']:.0f} / {q['p99']:.0f} / {q['max']:.0f} | |",
            f"| latency run: failures / 429s | {lat['failures']} / {lat['429']} | 0 / 0 |",
        ]
    if tp.get("serve_cpu_s") is not None:
        lines.append(f"| CPU of viza serve during the throughput run | {tp['serve_cpu_s']:.0f} s "
                     f"({tp['serve_cpu_ms_per_notice']:.1f} ms per notice) | |")
    if result.get("peak_rss_mib"):
        lines.append(f"| peak RSS of viza serve (VmHWM) | {result['peak_rss_mib']:.0f} MiB | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=2_000)
    parser.add_argument("--latency-samples", type=int, default=200, help="0 skips the latency run")
    parser.add_argument("--order", choices=("grouped", "interleaved"), default="grouped")
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite in a temp dir)")
    parser.add_argument("--concurrency", type=int, default=None, help="VIZA_DELIVERY_CONCURRENCY (default: the service's)")
    parser.add_argument("--stall", type=float, default=60, help="give up after this many seconds without a message")
    parser.add_argument("--py-spy", type=int, default=0, metavar="SECONDS",
                        help="profile viza serve for this long at the start of the throughput run")
    args = parser.parse_args()
    if args.latency_samples > args.chats:
        parser.error("--latency-samples must not exceed --chats (each sample goes to its own chat)")
    result = asyncio.run(run(args))
    result["machine"] = machine_info()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "notifications.json").write_text(json.dumps(result, indent=1, default=str))
    print()
    print(table(result))
    print()
    print("outbox after the throughput run:", json.dumps(result.get("outbox_after_throughput"), default=str))
    print("fake: failed calls", dict(result["fake_failed_calls"]), "internal errors", result["fake_internal_errors"])


if __name__ == "__main__":
    main()
