"""Outgoing event notifications (events/index.md).

Bitrix24 POSTs ``application/x-www-form-urlencoded`` with PHP-style keys, in this order::

    event=ONCRMDEALUPDATE&event_handler_id=7&data[FIELDS][ID]=42&ts=1736405807
    &auth[domain]=…&auth[client_endpoint]=https://<domain>/rest/
    &auth[server_endpoint]=https://oauth.bitrix.info/rest/&auth[member_id]=…
    &auth[application_token]=…

(brackets percent-encoded on the wire). A webhook subscription gets only these five auth
keys — no OAuth tokens. Delivery goes through a queue, so it happens after the API answer;
a failed delivery is logged and never retried.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import aiohttp

from .records import EventDelivery
from .state import member_id


def flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        pairs: list[tuple[str, str]] = []
        for key, inner in value.items():
            pairs.extend(flatten(f"{prefix}[{key}]", inner))
        return pairs
    if isinstance(value, list):
        return [pair for i, inner in enumerate(value) for pair in flatten(f"{prefix}[{i}]", inner)]
    return [(prefix, "" if value is None else str(value))]


def event_form(event: str, handler_id: int, data: dict[str, Any], domain: str, application_token: str) -> list[tuple[str, str]]:
    return [
        ("event", event),
        ("event_handler_id", str(handler_id)),
        *flatten("data", data),
        ("ts", str(int(time.time()))),
        ("auth[domain]", domain),
        ("auth[client_endpoint]", f"https://{domain}/rest/"),
        ("auth[server_endpoint]", "https://oauth.bitrix.info/rest/"),
        ("auth[member_id]", member_id(domain)),
        ("auth[application_token]", application_token),
    ]


class EventSender:
    def __init__(self, domain: str, application_token: str, deliveries: list[EventDelivery]) -> None:
        self.domain = domain
        self.application_token = application_token
        self.deliveries = deliveries
        self.delay = 0.0  # seconds between the API answer and the POST (the queue)
        self.timeout = 5.0
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[EventDelivery]] = set()

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def post(self, url: str, form: list[tuple[str, str]], event: str, handler_id: int) -> EventDelivery:
        delivery = EventDelivery(url, event, handler_id, form)
        self.deliveries.append(delivery)
        try:
            session = await self._client()
            async with session.post(
                url,
                data=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Bitrix24 Webhook Engine"},
            ) as response:
                delivery.status = response.status
                delivery.body = await response.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            delivery.error = f"{type(e).__name__}: {e}"
        return delivery

    def schedule(self, bindings: Iterable[Any], events: list[tuple[str, dict[str, Any]]]) -> list[asyncio.Task[EventDelivery]]:
        """One delivery per (event, bound handler), each in the background."""
        scheduled = []
        handlers = list(bindings)
        for event, data in events:
            for binding in handlers:
                if binding.event == event:
                    form = event_form(event, binding.id, data, self.domain, self.application_token)
                    scheduled.append(self._spawn(self._later(binding.handler, form, event, binding.id)))
        return scheduled

    async def _later(self, url: str, form: list[tuple[str, str]], event: str, handler_id: int) -> EventDelivery:
        await asyncio.sleep(self.delay)
        return await self.post(url, form, event, handler_id)

    def _spawn(self, coroutine: Any) -> asyncio.Task[EventDelivery]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until every scheduled delivery has finished."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._tasks)} event deliveries still pending")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

