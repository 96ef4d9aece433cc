"""Test databases: every database test runs on SQLite, and on PostgreSQL too when
VIZA_TEST_POSTGRES_URL points at a server (CI starts one; see .ci/run)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from backend.api.app import create_app
from backend.db import Base, Database
from backend.migrate import off_loop, upgrade
from backend.settings import Settings

POSTGRES_URL = os.environ.get("VIZA_TEST_POSTGRES_URL")
# Every `viza serve` a test starts would render a PDF to warm up: 0.4 s of CPU each, for nothing.
os.environ.setdefault("VIZA_DOCUMENTS_WARM_UP", "false")  # postgresql+asyncpg://user@host:port/postgres


def pytest_report_header(config) -> str:
    return f"databases: sqlite{' + postgresql' if POSTGRES_URL else ' (set VIZA_TEST_POSTGRES_URL for postgresql)'}"


BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
if os.environ.get("CI") == "true" and not POSTGRES_URL:
    raise RuntimeError("CI must test PostgreSQL too: set VIZA_TEST_POSTGRES_URL (see .ci/run)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file; each test gets a copy (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path



@pytest.fixture(scope="session")
def postgres_database() -> str:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    assert POSTGRES_URL
    name = f"viza_test_{uuid.uuid4().hex[:8]}"
    admin_url = POSTGRES_URL
    import asyncio

    import asyncpg

    def dsn(url: str) -> str:
        return url.replace("postgresql+asyncpg://", "postgresql://")

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(dsn(admin_url))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    off_loop(asyncio.run, execute(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    off_loop(asyncio.run, execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


TABLES = ", ".join(t.name for t in Base.metadata.sorted_tables)


@pytest.fixture(params=BACKENDS)
async def db(request, tmp_path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "viza.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite+aiosqlite:///{path}")
    else:
        url = request.getfixturevalue("postgres_database")
        database = Database(url, pool_size=5)
        async with database.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    yield database
    await database.dispose()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", load_default_routes=False)


@pytest.fixture
async def client(db, settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings=settings, db=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://viza.test") as http:
        yield http


REDIS_URL = os.environ.get("VIZA_TEST_REDIS_URL")
if os.environ.get("CI") == "true" and not REDIS_URL:
    raise RuntimeError("CI must test with Redis too: set VIZA_TEST_REDIS_URL (see .ci/run)")


@pytest.fixture
async def redis():
    """A client of the test Redis (``VIZA_TEST_REDIS_URL``); tests keep to keys of their own."""
    if not REDIS_URL:
        pytest.skip("set VIZA_TEST_REDIS_URL for the tests of shared state across replicas")
    from backend.redis_client import connect

    client = connect(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A data folder of the test's own for the `viza` command (``tests/cli.py``), on SQLite."""
    from backend.settings import get_settings

    monkeypatch.setenv("VIZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VIZA_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()
