"""A round-robin HTTP load balancer for tests, in front of several `viza serve` replicas.

It behaves like nginx with ``proxy_next_upstream error``: each request goes to the next backend
in turn (method, path, query, headers — X-Telegram-Bot-Api-Secret-Token included — and body),
and its answer comes back as it is. A backend that refuses the connection is marked down for
``down_for`` seconds and the request is tried on the next one. A request whose connection died
after it was sent (the replica was killed mid-request) is **not** sent again when it is not
idempotent (a POST: the webhook): it is answered 502, and the sender — the fake Telegram —
retries it, as Telegram does. GET/HEAD/OPTIONS are tried on the next backend then.

Everything forwarded is noted (``log``, ``counts``) so tests can check who got what.

    balancer = await Balancer(["http://127.0.0.1:8001", "http://127.0.0.1:8002"]).start()
    ...  # point VIZA_PUBLIC_URL at balancer.url
    balancer.counts(path="/telegram/webhook")  # {0: 12, 1: 11}
    await balancer.close()
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp
from aiohttp import web

# Hop-by-hop headers are the connection's own, never forwarded (RFC 9110 §7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length"}
IDEMPOTENT = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Forwarded:
    """One attempt to pass a request on. ``status`` is the backend's, or 502/504 made here when
    the backend failed (``error`` says how); ``update_id`` is read from a Telegram update's body."""

    seq: int
    backend: int
    method: str
    path: str
    status: int
    error: str | None = None
    update_id: int | None = None
    started: float = 0.0
    finished: float = 0.0


class Balancer:
    def __init__(self, backends: list[str], *, host: str = "127.0.0.1", port: int = 0, down_for: float = 1.0,
                 timeout: float = 30.0) -> None:
        assert backends, "a balancer needs backends"
        assert host == "127.0.0.1", "tests only listen on 127.0.0.1"
        self.backends = [b.rstrip("/") for b in backends]
        self.host, self.port = host, port
        self.down_for = down_for
        self.timeout = timeout
        self.url = ""
        self.log: list[Forwarded] = []
        self.in_flight: Counter[int] = Counter()  # backend → requests being answered now
        self._next = 0
        self._seq = itertools.count(1)
        self._down_until: dict[int, float] = {}
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # -- life ------------------------------------------------------------------------------------------

    async def start(self) -> Balancer:
        # A new connection per request (no keep-alive to the backends): "refused" then always means
        # the backend is down, never a stale pooled connection.
        connector = aiohttp.TCPConnector(force_close=True, limit=0)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                              timeout=aiohttp.ClientTimeout(total=self.timeout))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.port = port
        self.url = f"http://{host}:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Balancer:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- what tests look at --------------------------------------------------------------------------------

    def counts(self, *, path: str | None = None, since: int = 0, ok_only: bool = False) -> dict[int, int]:
        """Requests passed to each backend (every index present), optionally only those to ``path``,
        after log entry ``since`` (``mark()``), or answered 2xx."""
        counts = {index: 0 for index in range(len(self.backends))}
        for entry in self.log[since:]:
            if (path is None or entry.path == path) and (not ok_only or 200 <= entry.status < 300):
                counts[entry.backend] += 1
        return counts

    def mark(self) -> int:
        """A position in the log, for ``counts(since=...)`` and ``entries(since=...)``."""
        return len(self.log)

    def entries(self, *, since: int = 0, path: str | None = None) -> list[Forwarded]:
        return [e for e in self.log[since:] if path is None or e.path == path]

    def reset(self) -> None:
        """Forget which backends were marked down; the next request goes to backend 0."""
        self._down_until.clear()
        self._next = 0

    def is_down(self, backend: int) -> bool:
        return self._down_until.get(backend, 0.0) > time.monotonic()

    # -- forwarding ------------------------------------------------------------------------------------------

    def _order(self) -> list[int]:
        """Backends in the order to try for the next request: round robin, those marked down last
        (tried anyway when all are: one may be back)."""
        count = len(self.backends)
        start = self._next
        self._next = (self._next + 1) % count
        ring = [(start + step) % count for step in range(count)]
        return [b for b in ring if not self.is_down(b)] + [b for b in ring if self.is_down(b)]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        headers.append(("X-Forwarded-For", request.remote or "127.0.0.1"))
        update_id = _update_id(body) if request.method == "POST" else None
        last_error = "no backend"
        for backend in self._order():
            started = time.monotonic()
            seq = next(self._seq)
            self.in_flight[backend] += 1
            try:
                async with self._session.request(
                    request.method, self.backends[backend] + request.rel_url.raw_path_qs, headers=headers,
                    data=body if body else None, allow_redirects=False,
                    skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                ) as answer:
                    payload = await answer.read()
                    status = answer.status
                    reply_headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP]
            except aiohttp.ClientConnectorError as error:
                # Not connected: nothing was sent. Mark it down, try the next one.
                self._down_until[backend] = time.monotonic() + self.down_for
                last_error = f"connect: {type(error).__name__}: {error}"
                self._note(seq, backend, request, 502, last_error, update_id, started)
                continue
            except TimeoutError:
                self._note(seq, backend, request, 504, "timeout", update_id, started)
                return web.Response(status=504, text="the backend did not answer in time")
            except (aiohttp.ClientError, OSError) as error:
                # Connected, and the connection died mid-request: the backend may have done the work.
                last_error = f"mid-request: {type(error).__name__}: {error}"
                self._down_until[backend] = time.monotonic() + self.down_for
                self._note(seq, backend, request, 502, last_error, update_id, started)
                if request.method in IDEMPOTENT:
                    continue
                return web.Response(status=502, text=last_error)
            finally:
                self.in_flight[backend] -= 1
            self._note(seq, backend, request, status, None, update_id, started)
            response = web.Response(status=status, body=payload)
            for key, value in reply_headers:
                response.headers.add(key, value)
            return response
        return web.Response(status=502, text=f"no backend answered ({last_error})")

    def _note(self, seq: int, backend: int, request: web.Request, status: int, error: str | None,
              update_id: int | None, started: float) -> None:
        self.log.append(Forwarded(seq, backend, request.method, request.path, status, error, update_id, started,
                                  time.monotonic()))


def _update_id(body: bytes) -> int | None:
    if not body.startswith(b"{") or b'"update_id"' not in body[:64]:
        return None
    try:
        value = json.loads(body).get("update_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


async def _main(ports: list[int]) -> None:  # pragma: no cover — a manual check: python -m tests.scale.balancer 8001 8002
    async with Balancer([f"http://127.0.0.1:{p}" for p in ports]) as balancer:
        print(f"balancing {balancer.backends} at {balancer.url}", flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    import sys

    asyncio.run(_main([int(p) for p in sys.argv[1:]]))
