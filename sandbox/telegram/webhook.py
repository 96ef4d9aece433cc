"""Webhook delivery: POST each pending update to the bot's URL, in order, until it gets a 2xx.

Like Telegram, a failed delivery (non-2xx or no connection) keeps the update pending and
is retried; here with a short exponential backoff (``WebhookRetry``), and dropped after
``max_attempts`` so a broken test cannot loop forever.  A 2xx answer may carry a method
call ("reply to the webhook"); it is executed like a normal API call and its result is
discarded, as Telegram does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from .params import Params
from .records import Delivery, WebhookConfig, now_unix
from .state import State

logger = logging.getLogger(__name__)
Execute = Callable[[str, Params], Awaitable[Any]]


@dataclass(frozen=True)
class WebhookRetry:
    first_delay: float = 0.05
    max_delay: float = 0.5
    max_attempts: int = 20  # then the update is dropped
    timeout: float = 10.0  # seconds to wait for the bot's answer to one POST


class WebhookDeliverer:
    def __init__(self, state: State, retry: WebhookRetry, execute: Execute) -> None:
        self.state = state
        self.retry = retry
        self.execute = execute
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._attempts: dict[int, int] = {}

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.retry.timeout))
        self._task = asyncio.create_task(self._run(), name="fake-telegram-webhook")

    async def stop(self) -> None:
        if self._task is not None:
            self.state.updates.wake()
            try:
                await asyncio.wait_for(self._task, 1.0)
            except TimeoutError:
                pass  # wait_for cancelled it
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        state = self.state
        while not state.closing:
            hook = state.webhook
            if hook is None or not state.updates.pending:
                await state.updates.wait(0.5)
                continue
            update = state.updates.pending[0]
            if await self._deliver(hook, update):
                state.updates.remove(update["update_id"])
                self._attempts.pop(update["update_id"], None)
                continue
            attempts = self._attempts[update["update_id"]] = self._attempts.get(update["update_id"], 0) + 1
            if attempts >= self.retry.max_attempts:
                logger.warning(
                    "fake Telegram: dropping update %s after %s attempts", update["update_id"], attempts
                )
                state.updates.remove(update["update_id"])
                continue
            delay = min(self.retry.first_delay * 2 ** (attempts - 1), self.retry.max_delay)
            await state.updates.wait(delay)  # closing wakes this early

    async def _deliver(self, hook: WebhookConfig, update: dict[str, Any]) -> bool:
        assert self._session is not None
        state = self.state
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        attempt = self._attempts.get(update["update_id"], 0) + 1
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
