"""Approval taps per second through the bot, end to end, against the fake Bot API.

    python -m benchmarks.bot_taps [--requests 1500] [--concurrency 1 8 32]

A tap is a callback_query update POSTed to ``viza serve``'s webhook (a separate process, on
SQLite, as the embedded default runs); it is done when the webhook answers, by which time the
decision is committed, the callback answered and the card edited through the fake Bot API.
Every tap approves a different request; 32 approvers each have a one-stage route of their
own, and taps in flight together come from different chats (one person's taps are handled
one after another, in order). The same taps go to a bare aiogram bot (benchmarks/bare_bot.py: answer + edit, nothing else)
behind the same kind of endpoint, and the table reports the ratio. The outbox worker of
``viza serve`` runs during the taps, as in production: each approval also sends the initiator
a notice and both accountants a payment card, competing for the same CPU. The fake's flood
limits are off: we measure our throughput, not Telegram's. Load, the fake and both bots all run on 127.0.0.1 of this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from backend.db import Database
from backend.migrate import upgrade
from backend.models import Employee, HistoryEvent
from backend.services.payment_requests import act
from backend.services.request_types import RequestTypeIn, create_request_type
from backend.workflows.lifecycle import Action
from benchmarks.common import RESULTS, machine_info, percentile, wait_http
from sandbox.local_server import free_port
from sandbox.telegram import FakeTelegram, RateLimits
from sandbox.telegram.records import CallbackQueryRecord
from tests.factories import make_company, new_request

TOKEN = "424242:BENCH"
SECRET = "bench-secret"
APPROVERS = 32  # each with a route of their own, so concurrent taps come from different chats
FIRST_APPROVER_TG = 556_000
# The initiator and the accountants have Telegram too, so each approval really sends its
# notices (to the initiator, and the payment card to both accountants) while taps go on.
OTHERS_TG = {"manager": 555_002, "accountant": 555_003, "accountant2": 555_004}


async def prepare(data_dir: Path, count: int) -> None:
    url = f"sqlite+aiosqlite:///{data_dir / 'viza.sqlite3'}"
    data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    await prepare_company(url, count)


async def prepare_company(url: str, count: int) -> None:
    """``count`` pending requests, spread over APPROVERS one-stage routes (one approver each), in
    the migrated database at ``url``."""
    db = Database(url)
    async with db.session() as session:
        company = await make_company(session)
        types = []
        for index in range(APPROVERS):
            approver = Employee(full_name=f"Согласующий {index + 1}", roles=["approver"],
                                telegram_user_id=FIRST_APPROVER_TG + index)
            session.add(approver)
            await session.flush()
            types.append(await create_request_type(session, RequestTypeIn.model_validate({
                "code": f"bench{index}", "name_ru": f"Тест {index}", "name_en": f"Bench {index}",
                "stages": [{"name": "Виза", "approvers": {"kind": "people", "employee_ids": [approver.id]}}]})))
        for who, telegram_id in OTHERS_TG.items():
            (await session.get(Employee, company.people[who].id)).telegram_user_id = telegram_id
        await session.commit()
    for number in range(count):
        rid = await new_request(db, company, request_type_id=types[number % APPROVERS].id)
        async with db.session() as session:
            await act(session, company.actor("manager"), rid, Action.SUBMIT)
            await session.commit()
    await db.dispose()



def tap_update(tg: FakeTelegram, message, data: str, update_id: int) -> dict:
    """A callback_query update the fake knows about (so answerCallbackQuery succeeds)."""
    state = tg.state
    user = state.users[message.chat.id]
    query_id = state.new_query_id()
    state.callback_queries[query_id] = CallbackQueryRecord(query_id, user, message, data)
    return {"update_id": update_id, "callback_query": {
        "id": query_id, "from": user.to_api(), "message": message.to_api(), "chat_instance": "1", "data": data}}


async def fire(url: str | list[str], updates: list[dict], concurrency: int) -> tuple[float, list[float], int]:
    """POST the updates, ``concurrency`` at a time; to several webhooks (replicas) in turn."""
    urls = [url] if isinstance(url, str) else url
    queue = list(reversed(updates))
    sent = 0
    latencies: list[float] = []
    failures = 0

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal failures, sent
        while queue:
            update = queue.pop()
            target, sent = urls[sent % len(urls)], sent + 1
            started = time.perf_counter()
            response = await http.post(target, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            latencies.append((time.perf_counter() - started) * 1000)
            failures += response.status_code != 200

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return wall, latencies, failures


async def run(requests: int, levels: list[int]) -> list[dict]:
    rows = []
    per_level = requests // len(levels)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        await prepare(data_dir, per_level * len(levels))
        async with FakeTelegram(token=TOKEN, limits=RateLimits.off()) as tg:
            for index in range(APPROVERS):
                tg.user(FIRST_APPROVER_TG + index, f"Approver{index}", language_code="ru", started=True)
            for who, telegram_id in OTHERS_TG.items():
                tg.user(telegram_id, who, language_code="ru", started=True)
            viza_port, bare_port = free_port(), free_port()
            env = {**os.environ, "VIZA_DATA_DIR": str(data_dir), "VIZA_TELEGRAM_TOKEN": TOKEN,
                   "VIZA_TELEGRAM_API_URL": tg.base_url, "VIZA_TELEGRAM_MODE": "webhook",
                   "VIZA_PUBLIC_URL": f"http://127.0.0.1:{viza_port}", "VIZA_WEBHOOK_SECRET": SECRET,
                   "VIZA_LOAD_DEFAULT_ROUTES": "false"}
            env.pop("VIZA_DATABASE_URL", None)
            RESULTS.mkdir(exist_ok=True)
            viza_log = open(RESULTS / "bot_taps.viza.log", "w")  # noqa: SIM115 — closed with the process
            viza = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(viza_port)],
                                    env=env, stdout=viza_log, stderr=subprocess.STDOUT)
            bare = subprocess.Popen([sys.executable, "-m", "benchmarks.bare_bot", "--port", str(bare_port),
                                     "--api", tg.base_url, "--token", TOKEN, "--secret", SECRET],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                await wait_http(f"http://127.0.0.1:{viza_port}/healthz")
                await wait_http(f"http://127.0.0.1:{bare_port}/healthz")
                chats = [tg.chat(FIRST_APPROVER_TG + index) for index in range(APPROVERS)]
                total = per_level * len(levels)

                def arrived() -> int:
                    return sum(1 for chat in chats for m in chat.bot_messages if m.buttons)

                await tg.wait_for(lambda: arrived() >= total, timeout=600, message="the cards did not all arrive")
                # Round robin over the chats: taps in flight together come from different people.
                queues = [[m for m in chat.bot_messages if m.buttons] for chat in chats]
                cards = [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)][:total]
                update_id = 10_000_000
                for index, level in enumerate(levels):
                    batch = cards[index * per_level:(index + 1) * per_level]
                    for name, port, pick in (("viza", viza_port, lambda m: m.buttons[0][0][1]),
                                             ("bare aiogram", bare_port, lambda m: "bare:" + str(m.message_id))):
                        updates = []
                        for message in batch:
                            update_id += 1
                            updates.append(tap_update(tg, message, pick(message), update_id))
                        wall, latencies, failures = await fire(
                            f"http://127.0.0.1:{port}/telegram/webhook", updates, level)
                        rows.append({"bot": name, "concurrency": level, "taps": len(updates),
                                     "taps_per_s": len(updates) / wall, "p50_ms": statistics.median(latencies),
                                     "p99_ms": percentile(latencies, 99), "failures": failures})
                        print(f"{name:13} c={level:<3} {rows[-1]['taps_per_s']:7.1f} taps/s  "
                              f"p50 {rows[-1]['p50_ms']:6.1f} ms  p99 {rows[-1]['p99_ms']:6.1f} ms  "
                              f"failures {failures}", flush=True)
                db = Database(f"sqlite+aiosqlite:///{data_dir / 'viza.sqlite3'}")
                async with db.session() as session:
                    approvals = await session.scalar(select(func.count()).select_from(HistoryEvent)
                                                     .where(HistoryEvent.action == "approve"))
                await db.dispose()
                rows.append({"check": "approve events in the registry", "value": approvals, "expected": total})
            finally:
                for process in (viza, bare):
                    process.terminate()
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                viza_log.close()
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| bot | concurrent taps | taps | taps/s | p50 ms | p99 ms | failures |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "bot" in r:
            lines.append(f"| {r['bot']} | {r['concurrency']} | {r['taps']} | {r['taps_per_s']:.1f} | "
                         f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['failures']} |")
    by = {(r["bot"], r["concurrency"]): r for r in rows if "bot" in r}
    lines.append("")
    lines.append("| concurrent taps | viza / bare aiogram (taps/s) |")
    lines.append("|---:|---:|")
    for (bot, level), r in by.items():
        if bot == "viza" and ("bare aiogram", level) in by:
            lines.append(f"| {level} | {r['taps_per_s'] / by[('bare aiogram', level)]['taps_per_s']:.2f} |")
    check = next((r for r in rows if "check" in r), None)
    if check:
        lines.append("")
        lines.append(f"Check: {check['value']} approve events in the registry (expected {check['expected']}).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    rows = asyncio.run(run(args.requests, args.concurrency))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bot_taps.json").write_text(json.dumps({"machine": machine_info(), "rows": rows}, indent=1, default=str))
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
