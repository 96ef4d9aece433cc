"""Webhook delivery: POST pending updates to the bot's URL until each gets a 2xx.

Telegram posts updates over up to ``max_connections`` parallel HTTPS connections (a
setWebhook parameter, 1–100, default 40). Here up to that many POSTs are in flight at once,
with **at most one in flight per chat**, and a chat's updates go in the order they were
queued: a chat's later update waits until its earlier one was acknowledged (or dropped).
Telegram documents no ordering across connections; one-per-chat-in-order is this emulation's
choice — it is what a bot sees from one person typing at human speed, and it keeps per-chat
tests deterministic while different chats race each other as they do in production. Updates
that belong to no chat (none the fake makes today) are not ordered at all.

Like Telegram, a failed delivery (non-2xx or no connection) keeps the update pending and
it is retried; here with an exponential backoff (``WebhookRetry``), and dropped after
``max_attempts`` so a broken test cannot loop forever. While an update is backing off, the
later updates of its chat wait behind it; other chats go on. A 2xx answer may carry a method
call ("reply to the webhook"); it is executed like a normal API call and its result is
discarded, as Telegram does.

``FakeTelegram.redeliver(update_id)`` queues an already delivered update again, unchanged —
what Telegram does when it did not get (or did not believe) the bot's answer — so tests can
check that a bot handles each update once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from .params import Params
from .records import Delivery, WebhookConfig, now_unix
from .state import State

logger = logging.getLogger(__name__)
Execute = Callable[[str, Params], Awaitable[Any]]
MAX_CONNECTIONS = 100  # Telegram's upper bound for setWebhook(max_connections)


@dataclass(frozen=True)
class WebhookRetry:
    """How the fake retries a failed webhook POST: ``first_delay`` doubling up to ``max_delay``
    between attempts, the update dropped after ``max_attempts``.

    The defaults give up after about 9 s. To outlast a bot replica that was killed while it held
    a lock on a chat (a lease of ~10 s), be patient: ``WebhookRetry(max_attempts=200,
    max_delay=1.0)`` keeps trying for over three minutes (``patience`` says how long).
    """

    first_delay: float = 0.05
    max_delay: float = 0.5
    max_attempts: int = 20  # then the update is dropped
    timeout: float = 10.0  # seconds to wait for the bot's answer to one POST

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        return min(self.first_delay * 2 ** min(attempts - 1, 60), self.max_delay)

    @property
    def patience(self) -> float:
        """Seconds of back-off before an update that never gets through is dropped (the time the
        POSTs themselves take not counted)."""
        return math.fsum(self.delay(n) for n in range(1, self.max_attempts))


def chat_of(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (its ordering key), or None."""
    for key, body in update.items():
        if key == "update_id" or not isinstance(body, dict):
            continue
        chat = body.get("chat")
        if chat is None and isinstance(body.get("message"), dict):
            chat = body["message"].get("chat")  # callback_query
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return chat["id"]
        sender = body.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return sender["id"]  # e.g. an inline query: the user's private chat
    return None


class WebhookDeliverer:
    def __init__(self, state: State, retry: WebhookRetry, execute: Execute) -> None:
        self.state = state
        self.retry = retry
        self.execute = execute
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        # Per queued update (keyed by the identity of its entry in the pending queue: a
        # redelivered copy has the same update_id but is a delivery of its own).
        self._attempts: dict[int, int] = {}
        self._not_before: dict[int, float] = {}
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self.peak_in_flight = 0  # the most POSTs that were ever in flight at once

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self.retry.timeout)
        )
        self._task = asyncio.create_task(self._run(), name="fake-telegram-webhook")

    async def stop(self) -> None:
        if self._task is not None:
            self.state.updates.wake()
            try:
                await asyncio.wait_for(self._task, 1.0)
            except TimeoutError:
                pass  # wait_for cancelled it
            self._task = None
        if self._in_flight:
            tasks = list(self._in_flight.values())
            _, late = await asyncio.wait(tasks, timeout=1.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        state = self.state
        while not state.closing:
            hook = state.webhook
            wait = 0.5
            if hook is not None and state.updates.pending:
                wait = self._start_due(hook)
            await state.updates.wait(wait)  # a new update, a finished POST or closing wakes this

    def _start_due(self, hook: WebhookConfig) -> float:
        """Start the POSTs that may go now; seconds until the next backed-off one is due."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        pending = list(self.state.updates.pending)
        live = {id(entry) for entry in pending}
        for book in (self._attempts, self._not_before):  # entries confirmed or cleared meanwhile
            for key in [k for k in book if k not in live and k not in self._in_flight]:
                del book[key]
        limit = min(max(hook.max_connections, 1), MAX_CONNECTIONS)
        chats_ahead: set[int] = set()
        next_due = math.inf
        for entry in pending:
            if len(self._in_flight) >= limit:
                break
            chat = chat_of(entry)
            if chat is not None:
                if chat in chats_ahead:
                    continue  # an earlier update of this chat is in flight or backing off
                chats_ahead.add(chat)
            key = id(entry)
            if key in self._in_flight:
                continue
            due = self._not_before.get(key, 0.0)
            if due > now:
                next_due = min(next_due, due)
                continue
            self._in_flight[key] = asyncio.create_task(
                self._attempt(hook, entry), name=f"fake-telegram-webhook-{entry['update_id']}"
            )
            self.peak_in_flight = max(self.peak_in_flight, len(self._in_flight))
        return min(max(next_due - now, 0.0), 0.5)

    async def _attempt(self, hook: WebhookConfig, entry: dict[str, Any]) -> None:
        key = id(entry)
        state = self.state
        try:
            try:
                delivered = await self._deliver(hook, entry)
            except Exception:  # noqa: BLE001 — the fake itself failed; the update stays pending
                logger.exception("fake Telegram: delivering update %s failed", entry["update_id"])
                delivered = False
            if delivered:
                state.updates.discard(entry)
                self._forget(key)
                return
            attempts = self._attempts[key] = self._attempts.get(key, 0) + 1
            if attempts >= self.retry.max_attempts:
                logger.warning(
                    "fake Telegram: dropping update %s after %s attempts", entry["update_id"], attempts
                )
                state.updates.discard(entry)
                self._forget(key)
                return
            self._not_before[key] = asyncio.get_running_loop().time() + self.retry.delay(attempts)
        finally:
            self._in_flight.pop(key, None)
            state.updates.wake()  # the run loop: a slot and maybe this chat are free again

    def _forget(self, key: int) -> None:
        self._attempts.pop(key, None)
        self._not_before.pop(key, None)

    async def _deliver(self, hook: WebhookConfig, update: dict[str, Any]) -> bool:
        assert self._session is not None
        state = self.state
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        attempt = self._attempts.get(id(update), 0) + 1
        status: int | None = None
        error: str | None = None
        state.busy += 1
        state.touch()
        try:
            async with self._session.post(hook.url, data=json.dumps(update), headers=headers) as response:
                status = response.status
                if 200 <= status < 300:
                    await self._run_reply(response)
                else:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            error = f"Connection failed: {type(e).__name__}: {e}" if str(e) else "Connection refused"
        finally:
            state.busy -= 1
            state.touch()
        state.deliveries.append(Delivery(update["update_id"], hook.url, status, error, attempt))
        state.notify()
        if error is not None:
            hook.last_error_date = now_unix()
            hook.last_error_message = error
        return error is None

    async def _run_reply(self, response: aiohttp.ClientResponse) -> None:
        """Execute a method the bot put in its webhook answer (multipart or JSON)."""
        params: Params | None = None
        if response.content_type == "multipart/form-data":
            params = await Params.from_multipart(aiohttp.MultipartReader(response.headers, response.content))
        elif response.content_type == "application/json":
            try:
                body = await response.json()
            except ValueError:
                return
            if isinstance(body, dict):
                params = Params(dict(body))
        if params is None or not isinstance(params.values.get("method"), str):
            return
        name = params.values.pop("method")
        await self.execute(name, params)
