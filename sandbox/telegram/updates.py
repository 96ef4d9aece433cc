"""The queue of updates the bot has not confirmed yet, with long-poll waiting."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any


class UpdateQueue:
    """Updates not yet confirmed by the bot, with long-poll waiting.

    ``wake`` resolves every waiter; a waiter then re-reads the queue, so spurious
    wake-ups (a conflict, closing) are harmless.
    """

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.pending: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self._waiters: set[asyncio.Future[None]] = set()

    def push(self, body: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._ids), **body}
        self.pending.append(update)
        self.history.append(update)
        self.wake()
        return update

    def confirm(self, offset: int | None) -> None:
        """getUpdates ``offset`` semantics: confirm ids below it; negative counts from the end."""
        if offset is None or offset == 0:
            return
        if offset < 0:
            del self.pending[: max(len(self.pending) + offset, 0)]
        else:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def remove(self, update_id: int) -> None:
        self.pending = [u for u in self.pending if u["update_id"] != update_id]

    def discard(self, update: dict[str, Any]) -> None:
        """Take this very entry off the queue (a redelivered copy of it, if any, stays)."""
        self.pending = [u for u in self.pending if u is not update]

    def requeue(self, update: dict[str, Any]) -> None:
        """Queue an update again as it is (same update_id): a redelivery. It is not added to
        ``history`` a second time."""
        self.pending.append(update)
        self.wake()

    def clear(self) -> None:
        self.pending.clear()

    def wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float) -> None:
        """Return on the next ``wake`` or after ``timeout`` seconds."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)
