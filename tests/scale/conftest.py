"""Scale tests: two `viza serve` replicas behind a round-robin balancer, one PostgreSQL, one Redis,
the bot in webhook mode against the fake Telegram (see ``stack.py`` for the picture).

Needs ``VIZA_TEST_POSTGRES_URL`` (a fresh database is made per stack and dropped after) and a
Redis: ``VIZA_TEST_REDIS_URL``, or a ``redis-server`` binary, which is then started on a free port
without persistence. Nothing is flushed: each stack has a bot id and Telegram user ids of its own,
and what the replicas keep in Redis is under those. Without PostgreSQL or Redis the tests are
skipped, except under ``CI=true``, where they must run.

The stack starts once per test module (``stack`` fixture, the module's event loop: test modules
here carry ``pytestmark = pytest.mark.asyncio(loop_scope="module")``): ``viza migrate`` and
``viza demo`` once, then both replicas. Tests make their own people, request types and requests
(``stack.person``, ``stack.request_type``, ``stack.submitted_request``), so they do not see each
other's; a test that stops a replica starts it again, and the ``running`` fixture makes sure
every test begins with both replicas up and the fake's flood control relaxed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import pytest_asyncio

from sandbox.telegram import FakeTelegram, RateLimits, WebhookRetry
from tests.scale.balancer import Balancer
from sandbox.local_server import free_port
from tests.scale.stack import TOKEN_LINE, Replica, Stack, _die_with_parent, dsn, replica_env, run_viza

POSTGRES_URL = os.environ.get("VIZA_TEST_POSTGRES_URL")
# The fake's flood control for most tests: Telegram's per-chat rate, but a per-chat burst people
# never need and room for two replicas' 30 messages/s each. The flood-control test switches to
# Telegram's own numbers (``RateLimits()``).
RELAXED_LIMITS = RateLimits(private_burst=30, global_rate=200, global_burst=200)
# Like Telegram, keep retrying an update long enough to outlive a killed replica and its locks.
PATIENT = WebhookRetry(first_delay=0.05, max_delay=1.0, max_attempts=200, timeout=30)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "scale: several `viza serve` replicas on PostgreSQL and Redis")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries the end of each replica's log."""
    outcome = yield
    report = outcome.get_result()
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(stack, Stack):
        for replica in stack.replicas:
            report.sections.append((f"{replica.name} (last lines of its log)", replica.log_tail(80)))


def need(what: str) -> None:
    """Skip without a service, but never under CI: there these tests must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"scale tests must run in CI: {what}", pytrace=False)
    pytest.skip(f"scale tests need {what}")


def _ping(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """VIZA_TEST_REDIS_URL, or a redis-server of our own on a free port (no persistence)."""
    url = os.environ.get("VIZA_TEST_REDIS_URL")
    if url:
        if not _ping(url):
            need(f"a Redis at VIZA_TEST_REDIS_URL={url} that answers PING")
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        need("VIZA_TEST_REDIS_URL or a redis-server binary (apt-get install redis-server; .ci/run does it)")
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = open(folder / "redis.log", "wb")  # noqa: SIM115 — open while the server runs
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(folder)], stdout=log, stderr=subprocess.STDOUT,
                              preexec_fn=_die_with_parent)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _ping(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start:\n{(folder / 'redis.log').read_text(errors='replace')}")
            time.sleep(0.05)  # its port is not open yet
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        log.close()


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(dsn(POSTGRES_URL))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def running_stack(home, redis_url: str, *, replicas: int = 2,
                        extra_env: dict[str, str | None] | None = None) -> AsyncIterator[Stack]:
    """The whole stack on a fresh database; everything stopped and dropped at the end."""
    import redis.asyncio

    name = f"viza_scale_{uuid.uuid4().hex[:8]}"
    database_url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    await _admin(f'CREATE DATABASE "{name}"')
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
    # A bot id and Telegram user ids of this stack's own: what the replicas keep in Redis (handled
    # update ids, chat locks, rate buckets, dialogs) is under them, so neither an earlier run nor
    # another test session on the same Redis is seen, and nothing needs flushing.
    bot_id = random.randrange(100_000_000, 999_999_999)
    tg = balancer = None
    nodes: list[Replica] = []
    try:
        tg = await FakeTelegram(token=f"{bot_id}:SCALE", limits=RELAXED_LIMITS, webhook_retry=PATIENT).start()
        ports = [free_port() for _ in range(replicas)]
        balancer = await Balancer([f"http://127.0.0.1:{port}" for port in ports]).start()
        envs = [replica_env(index, port=port, tg=tg, balancer_url=balancer.url, database_url=database_url,
                            redis_url=redis_url, data_dir=home / "data", extra=extra_env)
                for index, port in enumerate(ports)]
        await run_viza(["migrate"], envs[0], home)
        report = await run_viza(["demo"], envs[0], home)
        tokens = dict(TOKEN_LINE.findall(report))
        assert "admin" in tokens, f"no admin token in the demo's report:\n{report}"
        nodes = [Replica(index, env, home) for index, env in enumerate(envs)]
        await asyncio.gather(*(node.start() for node in nodes))
        stack = Stack(tg=tg, balancer=balancer, replicas=nodes, database_url=database_url, redis_url=redis_url,
                      home=home, tokens=tokens, user_base=random.randrange(1, 4000) * 1_000_000)
        entities = await stack.call("GET", "/api/v1/legal-entities")
        stack.legal_entity_id = next(e["id"] for e in entities if e["short_code"] == "МГ")
        from backend.requisites import make_valid_inn10

        stack.contractor_inn = make_valid_inn10("770000001")  # the demo's ООО «МедТехСнаб»
        stack.department_id = await stack.department("Отдел масштаба")
        yield stack
    finally:
        await asyncio.gather(*(node.terminate(timeout=25) for node in nodes if node.running),
                             return_exceptions=True)
        if balancer is not None:
            await balancer.close()
        if tg is not None:
            await tg.close()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(request, tmp_path_factory) -> AsyncIterator[Stack]:
    if not POSTGRES_URL:
        need("VIZA_TEST_POSTGRES_URL (a PostgreSQL server; .ci/run starts one)")
    redis_url = request.getfixturevalue("redis_url")  # only now: no Redis started for nothing
    async with running_stack(tmp_path_factory.mktemp("viza-scale"), redis_url) as world:
        yield world


@pytest_asyncio.fixture(loop_scope="module")
async def running(stack) -> AsyncIterator[Stack]:
    """The stack as each test should find it: both replicas up, flood control relaxed, the
    webhook delivering (a test that broke any of these does not break the next ones)."""
    await stack.ensure_running()
    stack.tg.set_limits(RELAXED_LIMITS)
    yield stack
    stack.tg.set_limits(RELAXED_LIMITS)
