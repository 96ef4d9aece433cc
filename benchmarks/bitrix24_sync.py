"""Syncing many records to a Bitrix24 portal under its leaky bucket (50, draining at 2/s).

    python -m benchmarks.bitrix24_sync [--companies 10000] [--deals 10000] [--database-url URL]

Against the Bitrix24 emulator of the test suite (``tests.emulators.bitrix24``, real HTTP on
127.0.0.1, the portal's own bucket: 50 requests draining at 2/s, ``QUERY_LIMIT_EXCEEDED`` past it):

1. **Companies.** ``--companies`` contractors, none on the portal yet, each queued as the
   ``company`` outbox row a new contractor writes. Each needs 4 REST commands: the lookup of its
   INN among the portal's requisites, then the company, its requisite and its bank details (one
   group, the later ones using ``$result[...]`` of the first).
2. **Deals.** ``--deals`` deals on the portal, each with a ``deal_expenses`` row (what marking a
   request of the deal paid writes): one ``crm.deal.update`` each.

The Bitrix24 worker of ``viza serve`` (``Bitrix24Sync.worker()``, 50 rows a pass) carries them
out. Reported per phase: REST commands made, HTTP calls made against the fewest possible
(ceil(commands / 50): every call a full batch; target ≤ 1.05×), wall time against the least the
bucket allows for those calls ((calls − 50) / 2 s; target ≤ 1.1×), QUERY_LIMIT_EXCEEDED answers
(target 0), and the records on the portal afterwards (none missing, none twice).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from backend.db import Database, utcnow
from backend.integrations.bitrix24.sync import Bitrix24Sync
from backend.integrations.outbox_rows import BITRIX24
from backend.migrate import upgrade
from backend.models import Counterparty, OutboxMessage
from backend.requisites import make_valid_account, make_valid_inn10
from backend.settings import Settings
from benchmarks.common import machine_info
from tests.emulators.bitrix24 import Bitrix24Emulator

BIK = "044525225"
CORR = "30101810400000000225"


async def seed_companies(db: Database, count: int) -> None:
    now = utcnow()
    rows = [dict(name=f"ООО «Поставщик {n}»", inn=make_valid_inn10(f"78{n:07d}"), kpp="780101001",
                 bank_name="ПАО СБЕРБАНК", bik=BIK, account=make_valid_account(BIK, "40702810", serial=n),
                 corr_account=CORR, created_at=now, updated_at=now) for n in range(1, count + 1)]
    async with db.session() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Counterparty), rows[start:start + 1000])
        ids = [i for (i,) in (await session.execute(Counterparty.__table__.select().with_only_columns(
            Counterparty.id).order_by(Counterparty.id))).all()]
        await _queue(session, [dict(dedup_key=f"bench:company:{i}", ordering_key=f"counterparty:{i}",
                                    payload={"kind": "company", "counterparty_id": i}) for i in ids])
        await session.commit()


async def seed_deals(db: Database, portal: Bitrix24Emulator, count: int) -> None:
    deals = [portal.add_deal(TITLE=f"Сделка {n}", STAGE_ID="EXECUTING") for n in range(count)]
    async with db.session() as session:
        await _queue(session, [dict(dedup_key=f"bench:deal:{d}", ordering_key=f"deal:{d}",
                                    payload={"kind": "deal_expenses", "deal_id": str(d)}) for d in deals])
        await session.commit()


async def _queue(session, rows: list[dict]) -> None:
    now = utcnow()
    values = [dict(topic=BITRIX24, status="pending", attempts=0, next_attempt_at=now, last_error="", created_at=now,
                   progress={}, **row) for row in rows]
    for start in range(0, len(values), 1000):
        await session.execute(insert(OutboxMessage), values[start:start + 1000])


async def run_phase(name: str, sync: Bitrix24Sync, portal: Bitrix24Emulator) -> dict:
    worker = sync.worker()
    calls_before, commands_before, rejected_before = sync.client.hits, portal.commands, portal.rejected
    await asyncio.sleep(60 / 2.0 if portal.hits else 0)  # the bucket empty again, as at the start of a sync
    started = time.perf_counter()
    while await worker.run_due():
        pass
    elapsed = time.perf_counter() - started
    calls = sync.client.hits - calls_before
    commands = portal.commands - commands_before
    fewest = math.ceil(commands / 50)
    bucket_time = max(0, calls - 50) / 2.0
    return {"phase": name, "commands": commands, "calls": calls, "fewest calls": fewest,
            "calls/fewest": calls / fewest if fewest else 0, "seconds": elapsed, "bucket minimum s": bucket_time,
            "time/minimum": elapsed / bucket_time if bucket_time else 0,
            "QUERY_LIMIT_EXCEEDED": portal.rejected - rejected_before}


async def main(companies: int, deals: int, database_url: str | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="viza-b24-"))
    url = database_url or f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with Bitrix24Emulator() as portal:
        settings = Settings(data_dir=folder, database_url=url, bitrix24_webhook_url=portal.webhook_url,
                            bitrix24_expenses_field="UF_CRM_VIZA_COSTS")
        sync = Bitrix24Sync.from_settings(db, settings)
        results = []
        if companies:
            await seed_companies(db, companies)
            results.append(await run_phase(f"{companies} companies", sync, portal))
            inns = [r["RQ_INN"] for r in portal.requisites.values()]
            results[-1]["on the portal"] = f"{len(portal.companies)} companies, {len(set(inns))} INNs, {len(inns)} requisites"
        if deals:
            await seed_deals(db, portal, deals)
            results.append(await run_phase(f"{deals} deals", sync, portal))
            updated = sum(1 for d in portal.deals.values() if d.get("UF_CRM_VIZA_COSTS") == "0.00|RUB")
            results[-1]["on the portal"] = f"{updated} deals with costs"
        await sync.stop()
    await db.dispose()
    print(f"machine: {machine_info()}")
    print("| phase | commands | calls | fewest | ×fewest | seconds | bucket min s | ×min | QUERY_LIMIT_EXCEEDED | portal |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['phase']} | {r['commands']} | {r['calls']} | {r['fewest calls']} | {r['calls/fewest']:.3f} | "
              f"{r['seconds']:.1f} | {r['bucket minimum s']:.1f} | {r['time/minimum']:.3f} | "
              f"{r['QUERY_LIMIT_EXCEEDED']} | {r['on the portal']} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(main(args.companies, args.deals, args.database_url))
