"""Apply the database migrations (alembic) for a database URL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config

T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def off_loop(fn: Callable[..., T], *args) -> T:
    """Run ``fn`` where no event loop is running: alembic's env.py starts its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def upgrade(url: str, revision: str = "head") -> None:
    off_loop(command.upgrade, alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    off_loop(command.downgrade, alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)
