"""Print how many payment requests the benchmark database holds (0 when it does not exist)."""

from __future__ import annotations

import argparse
import asyncio

from backend.db import Database
from benchmarks.common import SQLITE_PATH, row_count, url_for


async def count(kind: str) -> int:
    if kind == "sqlite" and not SQLITE_PATH.exists():
        return 0
    db = Database(url_for(kind))
    try:
        return await row_count(db)
    except Exception:  # noqa: BLE001 - no database, no table: nothing generated yet
        return 0
    finally:
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    print(asyncio.run(count(parser.parse_args().db)))
