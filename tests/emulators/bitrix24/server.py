"""The HTTP side: ``/rest/<user_id>/<code>/<method>[.json]`` on 127.0.0.1.

Per request, in order: maintenance page (``down``), the leaky bucket, the webhook's
credentials, then the method (or ``batch``). The answer is written completely before the
event deliveries it caused are queued.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.local_server import LocalServer

from . import errors
from .errors import ApiError
from .executor import execute, run_batch, time_block
from .faults import MAINTENANCE_PAGE
from .params import read_params
from .records import CallRecord

if TYPE_CHECKING:
    from .emulator import Bitrix24Emulator


class RestServer(LocalServer):
    def __init__(self, emu: Bitrix24Emulator) -> None:
        self.emu = emu
        super().__init__(web.Application(client_max_size=32 * 1024 * 1024))
        self.app.router.add_route("*", "/rest/{tail:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        emu = self.emu
        parts = request.match_info["tail"].split("/")
        if len(parts) > 1 and parts[-1] == "":  # ".../crm.item.list/" works too
            parts.pop()
        method = parts[-1].lower().removesuffix(".json") if parts else ""
        try:
            params = await read_params(request)
        except ValueError:  # a broken multipart body: PHP would see no parameters either
            params = {}
        if emu.latency:
            await asyncio.sleep(emu.latency)

        if emu.down:
            emu.calls.append(CallRecord(method, params, 503, error="maintenance"))
            return web.Response(status=503, text=MAINTENANCE_PAGE, content_type="text/html", charset="utf-8")
        if not emu.bucket.try_take():
            emu.rejected += 1
            return self._error(method, params, errors.query_limit_exceeded())
        emu.hits += 1

        if len(parts) == 1:
            return self._error(method, params, ApiError(401, "NO_AUTH_FOUND", "Wrong authorization data"))
        if len(parts) != 3:
            return self._error(method, params, errors.method_not_found())
        user_id, code = parts[0], parts[1]
        if emu.revoked or user_id != str(emu.user_id) or code != emu.code:
            return self._error(method, params, errors.invalid_credentials())

        started = time.time()
        events: list[tuple[str, dict[str, Any]]] = []
        if method == "batch":
            if "basic" in emu.denied_scopes:
                return self._error(method, params, errors.insufficient_scope())
            fault = emu.faults.take("batch")
            if fault is not None and not fault.after:
                return self._error(method, params, fault.api_error())
            tick = time.perf_counter()
            payload = run_batch(emu, params, events)
            if fault is not None:
                return await self._send(request, method, params, fault.status, fault.api_error().to_json(), events, fault.error)
            body = {"result": payload, "time": time_block(emu, started, time.perf_counter() - tick, None)}
            return await self._send(request, method, params, 200, body, events)

        outcome = execute(emu, method, params, events)
        if not outcome.ok:
            return await self._send(request, method, params, outcome.error.status, outcome.error.to_json(), events, outcome.error.code)
        body: dict[str, Any] = {"result": outcome.result}
        if outcome.next is not None:
            body["next"] = outcome.next
        if outcome.total is not None:
            body["total"] = outcome.total
        body["time"] = outcome.time
        return await self._send(request, method, params, 200, body, events)

    def _error(self, method: str, params: dict[str, Any], error: ApiError) -> web.Response:
        self.emu.calls.append(CallRecord(method, params, error.status, error=error.code))
        return _json(error.status, error.to_json())

    async def _send(
        self,
        request: web.Request,
        method: str,
        params: dict[str, Any],
        status: int,
        body: dict[str, Any],
        events: list[tuple[str, dict[str, Any]]],
        error: str | None = None,
    ) -> web.StreamResponse:
        emu = self.emu
        emu.calls.append(CallRecord(method, params, status, error=error))
        response = _json(status, body)
        if events:
            # finish the answer first: Bitrix24 queues events, they never beat the response
            await response.prepare(request)
            await response.write_eof()
            emu.sender.schedule(emu.state.bindings.values(), events)
        return response


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body, default=str), content_type="application/json", charset="utf-8")
