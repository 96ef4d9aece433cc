"""An aiohttp application served on 127.0.0.1 for the fakes of other systems (Telegram, Bitrix24, 1C)."""

from __future__ import annotations

import socket

from aiohttp import web


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now, for a process that must be told its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalServer:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> str:
        """Serve on ``host:port`` (port 0: a free one); the base URL."""
        # handler_cancellation: a request whose client went away (a long poll, a test ending) ends at once
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        return f"http://{bound_host}:{bound_port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
