"""Migrations go up, down and up again, and end where the models are, on both databases."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from backend.db import Base, make_engine
from backend.migrate import alembic_config, downgrade, off_loop, upgrade
from tests.conftest import POSTGRES_URL

REVISIONS = [s.revision for s in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()][::-1]


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
        return
    name = f"viza_mig_{uuid.uuid4().hex[:8]}"
    off_loop(asyncio.run, _admin(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    off_loop(asyncio.run, _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _tables_and_diff(url: str) -> tuple[set[str], list]:
    engine = make_engine(url)
    async with engine.connect() as connection:
        def read(sync_connection):
            context = MigrationContext.configure(sync_connection, opts={"compare_type": False})
            return set(inspect(sync_connection).get_table_names()), compare_metadata(context, Base.metadata)

        result = await connection.run_sync(read)
    await engine.dispose()
    return result


@pytest.mark.parametrize("fresh_url", ["sqlite"] + (["postgresql"] if POSTGRES_URL else []), indirect=True)
async def test_stairway_up_down_up_matches_models(fresh_url):
    url = fresh_url
    previous = "base"
    for revision in REVISIONS:
        upgrade(url, revision)
        downgrade(url, previous)
        upgrade(url, revision)
        previous = revision
    tables, diff = await _tables_and_diff(url)
    assert set(Base.metadata.tables) <= tables
    # FTS5's shadow tables are ours; anything else the models and migrations disagree on is a bug.
    # The full-text search objects (FTS5 tables, the GIN index) exist only in the migration, by design.
    relevant = [d for d in diff if not (d[0] == "remove_table" and d[1].name.startswith("payment_requests_fts"))
                and not (d[0] == "remove_index" and d[1].name == "ix_pr_search")
                and not (d[0] == "remove_column" and d[3].name == "search_tsv")]
    assert relevant == []
