"""The loop every outbox worker runs (e-mail, Bitrix24, 1C): a pass over what is due, then a
wait for a commit that writes its topic or for the poll interval; a graceful stop lets the pass
in flight finish and be recorded."""

from __future__ import annotations

import asyncio
import logging

from backend.outbox import OutboxSignal

log = logging.getLogger("viza.outbox")


class OutboxWorker:
    name = "outbox"

    def __init__(self, topics: list[str], *, poll: float) -> None:
        self.poll = poll
        self.signal = OutboxSignal(topics)
        self._stopping = False
        self._running = False
        self._stopped = asyncio.Event()

    async def run_due(self) -> int:
        """One pass; how many rows were settled."""
        raise NotImplementedError

    async def started(self) -> None:
        """Once, before the first pass."""

    def wait_seconds(self, handled: int) -> float | None:
        """How long to wait before the next pass: None to go on at once."""
        return None if handled else self.poll

    async def run(self) -> None:
        """Work until :meth:`stop`."""
        self._running = True
        self._stopped.clear()
        try:
            await self.started()
            while not self._stopping:
                try:
                    handled = await self.run_due()
                except Exception:  # noqa: BLE001 — a database hiccup must not end the worker
                    log.exception("%s pass failed; trying again shortly", self.name)
                    handled = 0
                wait = self.wait_seconds(handled)
                if wait is not None and not self._stopping:
                    await self.signal.wait(wait)
        finally:
            self._running = False
            self._stopped.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def stop(self) -> None:
        """Finish the pass in flight (what it sends is sent and recorded), then return."""
        self._stopping = True
        self.signal.set()
        if self._running:
            await self._stopped.wait()
