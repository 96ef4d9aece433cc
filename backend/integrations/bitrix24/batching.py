"""Many rows' commands in one ``batch`` call: the portal counts a batch of up to 50 commands as
one hit of its bucket, so a sync of thousands of records makes about one fiftieth the calls.

Each row's handler runs as its own coroutine and awaits its commands one step at a time, as if
it called the portal directly. :class:`CommandBatcher` holds the commands back until every
handler still running is waiting on one, then sends them together. A handler may send a group of
commands that must go in the same batch, the later ones using the earlier ones' results
(``$result[name]``) — a company, its requisite and its bank details in one step.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.integrations.bitrix24.client import BATCH_LIMIT, Bitrix24Client, Bitrix24Error


@dataclass
class _Group:
    commands: dict[str, tuple[str, Mapping[str, Any]]]
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class CommandBatcher:
    def __init__(self, client: Bitrix24Client, *, size: int = BATCH_LIMIT) -> None:
        self.client = client
        self.size = size
        self._waiting: list[_Group] = []
        self._running = 0
        self._changed = asyncio.Event()
        self._names = itertools.count(1)
        self.calls = 0
        self.commands = 0

    def prefix(self) -> str:
        """A name space for one handler's commands, so its ``$result[...]`` references stay its own."""
        return f"r{next(self._names)}_"

    async def call(self, method: str, params: Mapping[str, Any]) -> Any:
        name = f"c{next(self._names)}"
        return (await self.group({name: (method, params)}))[name]

    async def group(self, commands: Mapping[str, tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
        """Send these commands in one batch; their results by name. A failed command raises
        its :class:`Bitrix24Error` (the commands after it in the group still ran)."""
        if len(commands) > self.size:
            raise ValueError(f"a group of {len(commands)} commands does not fit one batch of {self.size}")
        group = _Group(dict(commands))
        self._waiting.append(group)
        self._changed.set()
        return await group.future

    @contextlib.asynccontextmanager
    async def aside(self) -> AsyncIterator[None]:
        """A handler waits for another handler (not for a command): the batch must not wait for it."""
        self._running -= 1
        self._changed.set()
        try:
            yield
        finally:
            self._running += 1

    async def run(self, handlers: Sequence[Awaitable[Any]]) -> list[Any]:
        """Run the handlers to the end, sending their commands in shared batches; their results
        (or exceptions) in order."""
        self._running = len(handlers)

        async def tracked(handler: Awaitable[Any]) -> Any:
            try:
                return await handler
            finally:
                self._running -= 1
                self._changed.set()

        tasks = [asyncio.ensure_future(tracked(h)) for h in handlers]
        while not all(t.done() for t in tasks):
            await self._changed.wait()
            self._changed.clear()
            if self._waiting and len(self._waiting) >= self._running:  # one group per handler at a time
                await self._flush()
        return await asyncio.gather(*tasks, return_exceptions=True)

    async def _flush(self) -> None:
        groups, self._waiting = self._waiting, []
        batch: list[_Group] = []
        for group in groups:
            if sum(len(g.commands) for g in batch) + len(group.commands) > self.size:
                await self._send(batch)
                batch = []
            batch.append(group)
        if batch:
            await self._send(batch)

    async def _send(self, groups: list[_Group]) -> None:
        commands = {name: command for g in groups for name, command in g.commands.items()}
        self.calls += 1
        self.commands += len(commands)
        try:
            if len(commands) == 1:  # one command goes as itself: the same hit, a simpler answer
                (name, (method, params)), = commands.items()
                answer = await self.client.call(method, params)
                results, errors = {name: answer.result}, {}
            else:
                answer = await self.client.batch(commands)
                results, errors = answer.results, answer.errors
        except Exception as error:  # noqa: BLE001 — the whole call failed: every group hears of it
            for group in groups:
                if not group.future.done():
                    group.future.set_exception(error)
            return
        for group in groups:
            failed = next((errors[n] for n in group.commands if n in errors), None)
            if failed is None and any(n not in results for n in group.commands):
                failed = Bitrix24Error("NO_RESULT", "the batch returned no result for a command")
            if failed is not None:
                group.future.set_exception(failed)
            else:
                group.future.set_result({n: results[n] for n in group.commands})
