"""End-to-end harness: `viza serve`'s app on a real port, its bot talking to the fake Bot API.

Each person of the test company is a Telegram user bound to their employee; they say /start
first, as a real person would (the bot cannot write to someone who never wrote to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from sqlalchemy import select

from backend.api.app import create_app
from backend.db import Database
from backend.models import Employee
from backend.settings import Settings
from sandbox.local_server import free_port
from sandbox.telegram import FakeTelegram, FakeUser, RateLimits
from tests.factories import Company, setup_company

REDIS_URL = os.environ.get("VIZA_TEST_REDIS_URL")

WEBHOOK_SECRET = "test-secret_123"
# People type slower than tests: a larger per-chat burst keeps dialog tests quick. The
# flood-control tests use Telegram's own numbers.
TEST_LIMITS = RateLimits(private_burst=30)


@dataclass
class Viza:
    tg: FakeTelegram
    db: Database
    settings: Settings
    company: Company
    base_url: str
    users: dict[str, FakeUser] = field(default_factory=dict)

    def __getitem__(self, name: str) -> FakeUser:
        return self.users[name]

    async def bind(self, *names: str) -> None:
        """Bind each person's Telegram account (as an accepted invite would) and say /start."""
        async with self.db.session() as session:
            for name in names:
                employee = await session.get(Employee, self.company.people[name].id)
                employee.telegram_user_id = self.users[name].id
            await session.commit()
        for name in names:
            await self.users[name].send("/start")
            await self.users[name].wait_bot_message()

    async def employee(self, name: str) -> Employee:
        async with self.db.session() as session:
            return await session.scalar(select(Employee).where(Employee.id == self.company.people[name].id))


async def start_viza(db: Database, tmp_path, tg: FakeTelegram, mode: str,
                     **overrides) -> tuple[uvicorn.Server, asyncio.Task, Settings, str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    if mode == "webhook+redis":  # as a replica of several runs: dialogs, dedup and pace in Redis
        if not REDIS_URL:
            pytest.skip("set VIZA_TEST_REDIS_URL for the bot with shared state in Redis")
        mode, overrides = "webhook", {"redis_url": REDIS_URL, **overrides}
    settings = Settings(
        data_dir=tmp_path / "data", load_default_routes=False, telegram_token=tg.token,
        telegram_api_url=tg.base_url, telegram_mode=mode, public_url=base_url, webhook_secret=WEBHOOK_SECRET,
        # Pace a little under the fake's own buckets, as the defaults do under Telegram's.
        telegram_burst_chat=max(1, tg.state.limiter.limits.private_burst - 1), scheduler_enabled=False,
        **overrides,
    )
    app = create_app(settings=settings, db=db)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    assert server.started, "viza did not start"
    return server, task, settings, base_url


async def stop_viza(server: uvicorn.Server, task: asyncio.Task) -> None:
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(limits=TEST_LIMITS) as fake:
        yield fake


PEOPLE = ("manager", "north_head", "cfo", "accountant", "director", "head", "deputy", "admin", "outsider",
          "manager2", "accountant2")


@pytest.fixture(params=["polling"])
async def viza(request, db, tmp_path, tg) -> AsyncIterator[RestartableViza]:
    async with running_viza(db, tmp_path, tg, request.param) as world:
        yield world


async def submitted_request(viza: Viza, who: str = "manager", **overrides) -> int:
    """A request created and submitted through the core (the dialog has its own tests)."""
    from backend.services.payment_requests import act
    from backend.workflows.lifecycle import Action
    from tests.factories import new_request

    request_id = await new_request(viza.db, viza.company, who, **overrides)
    async with viza.db.session() as session:
        await act(session, viza.company.actor(who), request_id, Action.SUBMIT)
        await session.commit()
    return request_id


async def card_of(viza: Viza, who: str, *, button: str = "✅ Согласовать", timeout: float = 5.0):
    """The newest card in someone's chat that has ``button``."""
    user = viza[who]
    return await viza.tg.wait_for(
        lambda: next((m for m in reversed(user.chat.bot_messages) if button in m.button_texts), None),
        timeout=timeout, message=f"no card with {button!r} for {who}")


def texts_of(viza: Viza, who: str) -> str:
    return "\n".join(m.text or m.caption or "" for m in viza[who].chat.bot_messages)


async def say(viza: Viza, who: str, text: str, expect: str):
    """Send ``text`` and wait for a new bot message containing ``expect`` (cards edited meanwhile are not replies)."""
    user = viza[who]
    before = len(user.chat.bot_messages)
    await user.send(text)
    return await viza.tg.wait_for(lambda: next((m for m in user.chat.bot_messages[before:]
                                                 if expect in (m.text or "")), None),
                                  message=f"{who} got no reply with {expect!r}")


# --- variants: a viza that can be restarted, and one under Telegram's own flood limits -------------

@dataclass
class RestartableViza(Viza):
    """A ``Viza`` that keeps its server, so a test can stop and start the service (a deploy)."""

    tmp_path: object = None
    mode: str = "polling"
    server: uvicorn.Server | None = None
    task: asyncio.Task | None = None

    async def restart(self) -> None:
        """Stop the service and start it again on the same database and the same fake Telegram."""
        await stop_viza(self.server, self.task)
        self.server, self.task, self.settings, self.base_url = await start_viza(self.db, self.tmp_path, self.tg,
                                                                              self.mode)


async def forget_shared_state(url: str) -> None:
    """Every test's fake Telegram numbers its updates from 1 with the same token: the done marks
    of an earlier test would read as this test's updates handled already."""
    from backend.redis_client import connect

    redis = connect(url)
    try:
        keys = [key async for key in redis.scan_iter(match="viza:*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def running_viza(db: Database, tmp_path, tg: FakeTelegram, mode: str = "polling") -> AsyncIterator[RestartableViza]:
    company = await setup_company(db)
    if mode == "webhook+redis" and REDIS_URL:
        await forget_shared_state(REDIS_URL)
    server, task, settings, base_url = await start_viza(db, tmp_path, tg, mode)
    world = RestartableViza(tg=tg, db=db, settings=settings, company=company, base_url=base_url,
                            tmp_path=tmp_path, mode=mode, server=server, task=task)
    for index, name in enumerate(PEOPLE):
        world.users[name] = tg.user(7000 + index, company.people[name].full_name.split()[0], language_code="ru")
    try:
        yield world
    finally:
        await stop_viza(world.server, world.task)


@pytest.fixture
async def restartable_viza(db, tmp_path, tg) -> AsyncIterator[RestartableViza]:
    async with running_viza(db, tmp_path, tg) as world:
        yield world


@pytest.fixture
async def tg_real_limits() -> AsyncIterator[FakeTelegram]:
    """The fake with Telegram's documented limits (``RateLimits()``: 1 message/s per chat, burst 3)."""
    async with FakeTelegram(limits=RateLimits()) as fake:
        yield fake


@pytest.fixture
async def viza_real_limits(db, tmp_path, tg_real_limits) -> AsyncIterator[RestartableViza]:
    async with running_viza(db, tmp_path, tg_real_limits) as world:
        yield world
