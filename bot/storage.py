"""Where the bot keeps half-filled dialogs (aiogram's FSM storage), so they survive a restart.

* One process (the embedded default): in the application's database. aiogram ships memory,
  Redis and Mongo storages but none for SQL; ``SqlStorage`` is a table of (key, state, data)
  rows written through the same database as everything else.
* Several replicas (``VIZA_REDIS_URL``): aiogram's own ``RedisStorage``, so a dialog goes on
  whichever replica gets the next update, without a database write per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from backend.db import Database, utcnow
from backend.models import BotState


def storage_key(key: StorageKey) -> str:
    parts = (key.bot_id, key.chat_id, key.user_id, key.thread_id or "", key.business_connection_id or "", key.destiny)
    return ":".join(str(p) for p in parts)


class SqlStorage(BaseStorage):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _row(self, session, key: StorageKey) -> BotState:
        row = await session.get(BotState, storage_key(key))
        if row is None:
            row = BotState(key=storage_key(key), state=None, data={})
            session.add(row)
        return row

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        async with self.db.session() as session:
            row = await self._row(session, key)
            row.state = state.state if isinstance(state, State) else state
            row.updated_at = utcnow()
            await session.commit()

    async def get_state(self, key: StorageKey) -> str | None:
        async with self.db.session() as session:
            row = await session.get(BotState, storage_key(key))
            return row.state if row is not None else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self.db.session() as session:
            row = await self._row(session, key)
            row.data = dict(data)
            row.updated_at = utcnow()
            await session.commit()

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self.db.session() as session:
            row = await session.get(BotState, storage_key(key))
            return dict(row.data) if row is not None and row.data else {}

    async def close(self) -> None:
        """The database belongs to the application; nothing to close here."""


class SharedRedisStorage(RedisStorage):
    """aiogram's Redis storage on the application's Redis client, under ``viza:fsm:``."""

    def __init__(self, redis: Redis) -> None:
        super().__init__(redis, key_builder=DefaultKeyBuilder(prefix="viza:fsm", with_destiny=True))

    async def close(self) -> None:
        """The client belongs to the application (the update gate and the pacer use it too)."""


def make_storage(db: Database, redis: Redis | None) -> BaseStorage:
    return SharedRedisStorage(redis) if redis is not None else SqlStorage(db)
