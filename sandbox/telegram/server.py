"""The HTTP side: aiohttp routes for ``/bot{token}/{method}`` and ``/file/bot{token}/{path}``."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from sandbox.local_server import LocalServer

from . import errors
from .errors import ApiError
from .methods import MAX_UPLOAD, METHODS, Described
from .params import Params
from .records import ApiCall, FailedCall
from .state import State

logger = logging.getLogger(__name__)


class ApiServer(LocalServer):
    def __init__(self, state: State) -> None:
        self.state = state
        self.internal_errors: list[BaseException] = []
        super().__init__(web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024))
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.state.token:
            return _json(errors.UNAUTHORIZED.code, errors.UNAUTHORIZED.to_json())
        name = request.match_info["method"]
        if name.lower() not in METHODS:
            return _json(errors.NOT_FOUND.code, errors.NOT_FOUND.to_json())
        try:
            params = await Params.from_request(request)
        except ApiError as e:
            return _json(e.code, e.to_json())
        status, body = await self.execute(name, params)
        return _json(status, body)

    async def execute(self, name: str, params: Params) -> tuple[int, dict[str, Any]]:
        """Run one method; record it in ``calls`` (and ``failed_calls``); (status, body)."""
        state = self.state
        function = METHODS.get(name.lower())
        if function is None:
            return errors.NOT_FOUND.code, errors.NOT_FOUND.to_json()
        normalized = params.normalized()
        state.calls.append(ApiCall(name, normalized))
        polling = name.lower() == "getupdates"  # a long poll is waiting, not working
        if not polling:
            state.busy += 1
            state.touch()
        try:
            result = await function(state, params)
        except ApiError as e:
            state.failed_calls.append(FailedCall(name, normalized, e.code, e.description))
            return e.code, e.to_json()
        except Exception as e:
            logger.exception("fake Telegram failed on %s", name)
            self.internal_errors.append(e)
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        finally:
            if not polling:
                state.busy -= 1
                state.touch()
        if isinstance(result, Described):
            return 200, {"ok": True, "result": result.result, "description": result.description}
        return 200, {"ok": True, "result": result}

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        record = self.state.files.by_path.get(request.match_info["path"])
        if request.match_info["token"] != self.state.token or record is None:
            return _json(errors.NOT_FOUND.code, errors.NOT_FOUND.to_json())
        return web.Response(body=record.data, content_type=record.mime_type or "application/octet-stream")


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status)
