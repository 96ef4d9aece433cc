"""The test balancer itself: round robin, the next backend when one is down, and no second try of
a POST whose backend died after it was sent (the sender retries, as Telegram does)."""

from __future__ import annotations

import asyncio

import httpx
from aiohttp import web

from tests.scale.balancer import Balancer
from sandbox.local_server import free_port


class Backend:
    """A tiny backend on 127.0.0.1 that notes what it got; ``die`` drops connections mid-request."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.got: list[tuple[str, str, str, bytes, str | None]] = []  # method, path, query, body, secret
        self.die = False
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.die:  # read it all, then vanish without an answer: a replica killed mid-request
            assert request.transport is not None
            request.transport.abort()
            await asyncio.sleep(1)
        self.got.append((request.method, request.path, request.query_string, body,
                         request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.json_response({"backend": self.name, "host": request.headers.get("Host")},
                                 headers={"X-Backend": self.name})

    async def start(self) -> Backend:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def test_round_robin_forwards_everything_and_counts():
    a, b = await Backend("a").start(), await Backend("b").start()
    async with Balancer([a.url, b.url]) as balancer, httpx.AsyncClient(base_url=balancer.url) as http:
        try:
            names = []
            for n in range(4):
                response = await http.post(f"/telegram/webhook?n={n}", content=b'{"update_id": %d}' % (100 + n),
                                           headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret",
                                                    "Content-Type": "application/json"})
                assert response.status_code == 200 and response.headers["X-Backend"] == response.json()["backend"]
                names.append(response.json()["backend"])
            assert names == ["a", "b", "a", "b"]
            assert a.got[0] == ("POST", "/telegram/webhook", "n=0", b'{"update_id": 100}', "s3cret")
            assert response.json()["host"] == balancer.url.removeprefix("http://")  # the Host people used
            assert (await http.get("/healthz")).json()["backend"] == "a"
            assert balancer.counts() == {0: 3, 1: 2}
            assert balancer.counts(path="/telegram/webhook") == {0: 2, 1: 2}
            assert [e.update_id for e in balancer.entries(path="/telegram/webhook")] == [100, 101, 102, 103]
        finally:
            await a.stop()
            await b.stop()


async def test_a_backend_that_is_down_is_skipped():
    a = await Backend("a").start()
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with Balancer([closed, a.url], down_for=60) as balancer, httpx.AsyncClient(base_url=balancer.url) as http:
        try:
            for _ in range(3):
                response = await http.post("/telegram/webhook", content=b"{}")
                assert response.status_code == 200 and response.json()["backend"] == "a"
            assert balancer.is_down(0)
            # Refused once, then marked down and not tried again while down.
            assert [(e.backend, e.status) for e in balancer.log] == [(0, 502), (1, 200), (1, 200), (1, 200)]
        finally:
            await a.stop()
    async with Balancer([closed]) as balancer, httpx.AsyncClient(base_url=balancer.url) as http:
        response = await http.get("/healthz")
        assert response.status_code == 502 and "no backend answered" in response.text


async def test_a_post_whose_backend_died_mid_request_is_not_sent_again():
    a, b = await Backend("a").start(), await Backend("b").start()
    a.die = True
    async with Balancer([a.url, b.url]) as balancer, httpx.AsyncClient(base_url=balancer.url) as http:
        try:
            response = await http.post("/telegram/webhook", content=b'{"update_id": 7}')
            assert response.status_code == 502 and "mid-request" in response.text
            assert b.got == [], "a POST the dead backend may have handled went to another one"
            # A GET is safe to repeat: the next backend answers it.
            balancer.reset()
            response = await http.get("/api/v1/payment-requests?page=2")
            assert response.status_code == 200 and response.json()["backend"] == "b"
            assert b.got == [("GET", "/api/v1/payment-requests", "page=2", b"", None)]
        finally:
            await a.stop()
            await b.stop()
