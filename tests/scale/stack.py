"""Two `viza serve` replicas behind a balancer, on one PostgreSQL and one Redis, the bot in webhook
mode against the fake Telegram — the classes; ``conftest.py`` starts them once per test module.

    fake Telegram ── webhook POSTs ──▶ Balancer (round robin) ──▶ replica 0, replica 1
          ▲                                                            │   └── PostgreSQL, Redis
          └───────────── Bot API calls (sendMessage, …) ───────────────┘

Everything runs on 127.0.0.1. The fake Telegram and the balancer live on the test's event loop
(pytest-asyncio, one loop per module), the replicas are subprocesses with logs of their own.
Nothing here may block that loop for long: the replicas talk to the fake on it — waiting for a
replica to stop is ``await replica.terminate()``, not a blocking wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from sandbox.telegram import FakeTelegram, FakeUser, MessageRecord
from sandbox.telegram.entities import command_entities
from sandbox.telegram.records import CallbackQueryRecord
from tests.scale.balancer import Balancer

ROOT = Path(__file__).resolve().parents[2]
HOOK = "/telegram/webhook"
WEBHOOK_SECRET = "scale-secret_42"
TOKEN_LINE = re.compile(r"\((\w+)\s*\)\s+(viza_\S+)")
T = TypeVar("T")


def dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _die_with_parent() -> None:  # pragma: no cover — runs in the child
    """A replica or Redis we start must not outlive a test run that was killed (Linux only)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def viza_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "backend.cli", *args]


async def run_viza(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> str:
    """``viza <args>`` to completion, off the event loop; its output, or the test fails with it."""
    done = await asyncio.to_thread(subprocess.run, viza_command(*args), check=False, env=env, cwd=cwd,
                                   capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"viza {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


class Replica:
    """One `viza serve` subprocess. ``start``/``terminate`` are coroutines (they wait without
    blocking the loop the fake Telegram runs on); ``kill`` is immediate."""

    def __init__(self, index: int, env: dict[str, str], home: Path) -> None:
        self.index = index
        self.name = env["VIZA_INSTANCE_NAME"]
        self.port = int(env["VIZA_SCALE_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.home = home
        self.log_path = home / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.exit_codes: list[int] = []

    def __repr__(self) -> str:
        state = f"pid {self.process.pid}" if self.running else "stopped"
        return f"<Replica {self.index} {self.name} :{self.port} {state}>"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def owns(self, worker: str | None) -> bool:
        """Whether an outbox lease holder (``claimed_by``: the instance name, maybe with a prefix
        per worker, e.g. ``tg-replica-0``) is this replica."""
        return bool(worker) and (worker == self.name or worker.endswith(("-" + self.name, ":" + self.name)))

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self, timeout: float = 40) -> None:
        """Start (again) and wait until it answers its readiness probe."""
        assert not self.running, f"{self!r} is running already"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts} of {self.name} at {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                viza_command("serve", "--host", "127.0.0.1", "--port", str(self.port)), env=self.env,
                cwd=self.home, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        await self.wait_ready(timeout)

    async def wait_ready(self, timeout: float = 40) -> None:
        """Poll ``/readyz`` (``/healthz`` where there is no readiness probe yet) until it says 200."""
        deadline = time.monotonic() + timeout
        probes = ["/readyz", "/healthz"]
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            while time.monotonic() < deadline:
                if not self.running:
                    code = self.process.returncode if self.process else None
                    raise AssertionError(f"{self.name} exited with {code} while starting:\n{self.log_tail(80)}")
                try:
                    response = await http.get(probes[0])
                    if response.status_code == 404 and len(probes) > 1:
                        probes.pop(0)  # no /readyz in this version
                        continue
                    if response.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)  # its port is not open yet: nothing else to wait on
        raise AssertionError(f"{self.name} was not ready in {timeout}s:\n{self.log_tail(80)}")

    def kill(self) -> None:
        """SIGKILL: gone at once, mid-whatever it was doing."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)  # the kernel reaps it in milliseconds; nothing of ours runs meanwhile
        self.exit_codes.append(self.process.returncode)
        self._note(f"killed (SIGKILL), exit {self.process.returncode}")

    async def terminate(self, timeout: float = 40) -> int:
        """SIGTERM, then wait for it to exit; its exit code (SIGKILL after ``timeout``: then the
        test gets a negative code, never a hang)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.process.poll() is None:
            self._note(f"did not exit {timeout}s after SIGTERM: killed")
            self.process.kill()
            await asyncio.to_thread(self.process.wait, 10)
        self.exit_codes.append(self.process.returncode)
        self._note(f"terminated (SIGTERM), exit {self.process.returncode}")
        return self.process.returncode

    def _note(self, text: str) -> None:
        with contextlib.suppress(OSError), open(self.log_path, "ab") as log:
            log.write(f"===== {self.name} {text} at {time.strftime('%H:%M:%S')} =====\n".encode())

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass
class Person:
    """An employee made for one test, maybe with a Telegram account and an API token."""

    employee_id: int
    name: str
    user: FakeUser | None = None
    token: str | None = None

    @property
    def chat_texts(self) -> list[str]:
        assert self.user is not None
        return [m.text or m.caption or "" for m in self.user.chat.bot_messages]


@dataclass
class Stack:
    """The running two-replica service and what tests drive and inspect it with."""

    tg: FakeTelegram
    balancer: Balancer
    replicas: list[Replica]
    database_url: str
    redis_url: str
    home: Path
    tokens: dict[str, str]              # demo key (admin, manager, cfo, …) → API token
    legal_entity_id: int = 0            # the demo's ООО «Медика Групп»
    contractor_inn: str = ""            # a demo supplier: its requisites fill in by INN
    department_id: int = 0              # where people made by ``person`` work unless told otherwise
    user_base: int = 700_000            # Telegram user ids of this stack start above it
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # -- replicas ----------------------------------------------------------------------------------

    def replica(self, index: int) -> Replica:
        return self.replicas[index]

    @property
    def url(self) -> str:
        """The service's public address: the balancer."""
        return self.balancer.url

    async def ensure_running(self) -> None:
        """Start any replica a test left stopped (tests that stop one should restart it themselves)."""
        await asyncio.gather(*(r.start() for r in self.replicas if not r.running))

    def log_tails(self, lines: int = 60) -> str:
        return "\n\n".join(f"--- {r.name} (port {r.port}) ---\n{r.log_tail(lines)}" for r in self.replicas)

    # -- the database --------------------------------------------------------------------------------

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """Run one statement on the stack's PostgreSQL database; its rows."""
        connection = await asyncpg.connect(dsn(self.database_url))
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()

    async def sql_value(self, query: str, *args: Any) -> Any:
        rows = await self.sql(query, *args)
        return rows[0][0] if rows else None

    async def claimed_by(self, replica: Replica, *, live: bool = True) -> list[asyncpg.Record]:
        """Pending outbox rows this replica holds a lease on (``live``: one that has not run out)."""
        rows = await self.sql("SELECT id, topic, claimed_by, claimed_until, claimed_until > now() AS live FROM outbox "
                              "WHERE status = 'pending' AND claimed_by IS NOT NULL ORDER BY id")
        return [r for r in rows if replica.owns(r["claimed_by"]) and (r["live"] or not live)]

    async def eventually(self, check: Callable[[], Awaitable[T] | T], *, timeout: float = 10, interval: float = 0.2,
                         message: str = "condition not met") -> T:
        """Re-check ``check`` (sync or async; e.g. an SQL count) until it returns something truthy."""
        try:
            return await self.tg.wait_for(check, timeout, interval=interval, message=message)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.log_tails(25)}") from None

    # -- the API, through the balancer -----------------------------------------------------------------

    def api(self, token: str | None = None) -> httpx.AsyncClient:
        """An API client through the balancer; the demo admin's token unless another is given."""
        return httpx.AsyncClient(base_url=self.url, timeout=20,
                                 headers={"Authorization": f"Bearer {token or self.tokens['admin']}"})

    async def call(self, method: str, path: str, *, token: str | None = None, expect: int = 200,
                   **kwargs: Any) -> Any:
        async with self.api(token) as http:
            response = await http.request(method, path, **kwargs)
        assert response.status_code == expect, f"{method} {path} → {response.status_code}: {response.text}"
        return response.json()

    # -- people ----------------------------------------------------------------------------------------

    def next_id(self) -> int:
        """A number no other test of this stack used: for Telegram user ids, codes, update ids."""
        return next(self._ids)

    async def person(self, name: str, *, roles: tuple[str, ...] = ("manager",), department_id: int | None = None,
                     telegram: bool = True, token: bool = False) -> Person:
        """A new employee; with ``telegram`` a fake user already bound to them (in the database, as an
        accepted invite leaves it) whose chat the bot may write to; with ``token`` an API token acting
        as them."""
        number = self.next_id()
        body: dict[str, Any] = {"full_name": f"{name} {number}", "roles": list(roles), "position": name,
                                "department_id": department_id or self.department_id or None}
        employee = await self.call("POST", "/api/v1/employees", json=body, expect=201)
        person = Person(employee["id"], body["full_name"])
        if telegram:
            person.user = self.tg.user(self.user_base + number, name.split()[0], language_code="ru", started=True)
            await self.sql("UPDATE employees SET telegram_user_id = $1 WHERE id = $2", person.user.id, person.employee_id)
        if token:
            made = await self.call("POST", "/api/v1/tokens", expect=201,
                                   json={"name": f"scale {number}", "role": roles[0], "employee_id": person.employee_id})
            person.token = made["secret"]
        return person

    async def people(self, count: int, name: str, *, roles: tuple[str, ...] = ("approver",),
                     department_id: int | None = None, concurrency: int = 8) -> list[Person]:
        """``count`` new employees with bound Telegram accounts, made ``concurrency`` at a time."""
        limit = asyncio.Semaphore(concurrency)

        async def one() -> Person:
            async with limit:
                return await self.person(name, roles=roles, department_id=department_id, telegram=False)

        made = list(await asyncio.gather(*(one() for _ in range(count))))
        for person in made:
            person.user = self.tg.user(self.user_base + self.next_id(), name.split()[0], language_code="ru",
                                       started=True)
        await self.sql("UPDATE employees AS e SET telegram_user_id = v.uid "
                       "FROM unnest($1::bigint[], $2::bigint[]) AS v(id, uid) WHERE e.id = v.id",
                       [p.employee_id for p in made], [p.user.id for p in made])
        return made

    async def bind_by_invite(self, person: Person, first_name: str) -> FakeUser:
        """Bind a Telegram account the way people do: an invite from the admin, ``/start <code>``."""
        invite = await self.call("POST", f"/api/v1/employees/{person.employee_id}/invites", json={"ttl_hours": 1},
                                 expect=201)
        user = self.tg.user(self.user_base + self.next_id(), first_name, language_code="ru")
        sent = await user.send(invite["start_command"])
        await self.tg.wait_for(
            lambda: next((m for m in user.chat.bot_messages if m.seq > sent.seq and "привязан" in (m.text or "")), None),
            timeout=15, message="no binding confirmation after /start <code>")
        person.user = user
        return user

    async def department(self, name: str, head: Person | None = None) -> int:
        number = self.next_id()
        body: dict[str, Any] = {"name": f"{name} {number}", "code": f"scale{number}"}
        if head is not None:
            body["head_id"] = head.employee_id
        return (await self.call("POST", "/api/v1/departments", json=body, expect=201))["id"]

    async def request_type(self, approvers: list[Person], *, sla_hours: int = 8, mode: str = "any") -> int:
        """A payment request type of its own with one stage: these people approve (``mode``)."""
        number = self.next_id()
        body = {"code": f"scale-{number}", "name_ru": f"Масштаб {number}", "name_en": f"Scale {number}",
                "stages": [{"name": "Согласующие", "approvers": {"kind": "people",
                                                                "employee_ids": [p.employee_id for p in approvers]},
                            "mode": mode, "sla_hours": sla_hours}]}
        return (await self.call("POST", "/api/v1/request-types", json=body, expect=201))["id"]

    async def submitted_request(self, initiator: Person, request_type_id: int, *, amount: str = "15000.00",
                                subject: str = "Бумага для офиса") -> dict[str, Any]:
        """A request made and submitted through the API as ``initiator`` (who needs a token)."""
        assert initiator.token, "the initiator needs person(..., token=True)"
        fields = {"request_type_id": request_type_id, "legal_entity_id": self.legal_entity_id, "subject": subject,
                  "contractor_inn": self.contractor_inn, "amount": amount,
                  "pay_by": (date.today() + timedelta(days=10)).isoformat(),
                  "purpose": f"Оплата по счёту № {self.next_id()}, в т.ч. НДС"}
        made = await self.call("POST", "/api/v1/payment-requests", token=initiator.token, json=fields, expect=201)
        done = await self.call("POST", f"/api/v1/payment-requests/{made['id']}/submit", token=initiator.token,
                               json={})
        return done["request"]

    # -- Telegram: cards, updates made by hand ------------------------------------------------------------

    async def card(self, person: Person, number: str, *, button: str = "✅ Согласовать",
                   timeout: float = 15) -> MessageRecord:
        """The card of request ``number`` in the person's chat, once it has ``button``."""
        assert person.user is not None
        chat = person.user.chat
        return await self.tg.wait_for(
            lambda: next((m for m in reversed(chat.bot_messages)
                          if number in (m.text or m.caption or "") and button in m.button_texts), None),
            timeout, message=f"no card of {number} with {button!r} for {person.name}")

    def message_update(self, user: FakeUser, text: str) -> dict[str, Any]:
        """An update carrying a new message from ``user`` — in her transcript, but not queued: for
        posting straight to a replica. Its update_id is far above the fake's own."""
        message = self.tg.state.add_message(user.chat, user.record, text=text, entities=command_entities(text),
                                            raw_text=text)
        update_id = 50_000_000 + self.next_id()
        message.update_id = update_id
        return {"update_id": update_id, "message": message.to_api()}

    def tap_update(self, user: FakeUser, message: MessageRecord, text: str) -> tuple[dict[str, Any], str]:
        """An update pressing button ``text`` of ``message`` (not queued), and its callback query id."""
        button = message.find_button(text=text)
        assert button is not None and button[1] is not None, f"no button {text!r} on {message!r}"
        state = self.tg.state
        query_id = state.new_query_id()
        state.callback_queries[query_id] = CallbackQueryRecord(query_id, user.record, message, button[1])
        body = {"id": query_id, "from": user.record.to_api(), "message": message.to_api(),
                "chat_instance": str(message.chat.id), "data": button[1]}
        return {"update_id": 50_000_000 + self.next_id(), "callback_query": body}, query_id

    async def post_update(self, replica: int, update: dict[str, Any], *,
                          secret: str | None = WEBHOOK_SECRET) -> httpx.Response:
        """POST an update straight to one replica's webhook, as Telegram would (bypassing the balancer)."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with httpx.AsyncClient(base_url=self.replicas[replica].url, timeout=30) as http:
            return await http.post(HOOK, json=update, headers=headers)

    def answers_to(self, query_id: str) -> int:
        """How many times the bot answered this callback query."""
        return sum(1 for call in self.tg.calls_to("answerCallbackQuery") if call.get("callback_query_id") == query_id)


def replica_env(index: int, *, port: int, tg: FakeTelegram, balancer_url: str, database_url: str, redis_url: str,
                data_dir: Path, extra: dict[str, str | None] | None = None) -> dict[str, str]:
    """The environment of replica ``index``: the whole VIZA_ configuration, nothing inherited;
    ``extra`` adds to it or changes it (None: leave that variable out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIZA_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "VIZA_SCALE_PORT": str(port),  # ours, not the app's: where this replica listens
        "VIZA_INSTANCE_NAME": f"replica-{index}",
        "VIZA_DATABASE_URL": database_url,
        "VIZA_REDIS_URL": redis_url,
        # One folder for both, as a shared volume would be: a file one replica took in (an invoice
        # sent to the bot) is sent on by the other.
        "VIZA_DATA_DIR": str(data_dir),
        "VIZA_TELEGRAM_TOKEN": tg.token,
        "VIZA_TELEGRAM_API_URL": tg.base_url,
        "VIZA_TELEGRAM_MODE": "webhook",
        "VIZA_PUBLIC_URL": balancer_url,
        "VIZA_WEB_URL": balancer_url,
        "VIZA_WEBHOOK_SECRET": WEBHOOK_SECRET,
        # People type slower than tests: a larger per-chat burst keeps dialogs quick (as tests/bot
        # does). The bot-wide pace stays Telegram's 30/s: the flood-control test needs it.
        "VIZA_TELEGRAM_BURST_CHAT": "29",
        "VIZA_SCHEDULER_ENABLED": "true",
        "VIZA_SCHEDULER_INTERVAL_SECONDS": "1",
        # Any time is working time, so an SLA can run out during a test whenever it runs...
        "VIZA_WORKING_HOURS": "00:00-23:59",
        "VIZA_WORKING_DAYS": "[1,2,3,4,5,6,7]",
        # ...but the digest and the pay-by reminders wait until a minute before midnight.
        "VIZA_DIGEST_TIME": "23:59",
        # A dead replica's claimed outbox rows come free after this (the default is 120 s).
        "VIZA_OUTBOX_LEASE_SECONDS": "5",
        "VIZA_SHUTDOWN_TIMEOUT_SECONDS": "20",
        "VIZA_DOCUMENTS_WARM_UP": "false",
    })
    for key, value in (extra or {}).items():  # None takes a variable away
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env
