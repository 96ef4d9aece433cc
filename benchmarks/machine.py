"""Print the machine and the database versions as a Markdown list (for the README)."""

from __future__ import annotations

import asyncio

import asyncpg

from benchmarks.common import PG_SERVER, core_fingerprint, machine_info, pg_dsn


async def pg_settings() -> dict[str, str]:
    connection = await asyncpg.connect(pg_dsn(PG_SERVER))
    try:
        names = ("server_version", "shared_buffers", "work_mem", "effective_cache_size", "random_page_cost",
                 "jit", "max_parallel_workers_per_gather")
        return {n: await connection.fetchval(f"SHOW {n}") for n in names}
    finally:
        await connection.close()


def main() -> None:
    info = machine_info()
    try:
        pg = asyncio.run(pg_settings())
    except Exception as exc:  # noqa: BLE001
        pg = {"error": str(exc)}
    print(f"- CPU: {info['cpu']}, {info['nproc']} cores (nproc); RAM {info['ram']}")
    print(f"- {info['platform']}")
    print(f"- Python {info['python']}; SQLite {info['sqlite']} (the stdlib sqlite3 / aiosqlite library)")
    print("- PostgreSQL server " + pg.get("server_version", "?") + "; settings: " +
          ", ".join(f"{k}={v}" for k, v in pg.items() if k != "server_version"))
    print(f"- core measured: sha256(backend/**/*.py) = {core_fingerprint()}")


if __name__ == "__main__":
    main()
