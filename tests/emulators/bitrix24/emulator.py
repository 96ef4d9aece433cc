"""``Bitrix24Emulator``: a Bitrix24 portal's REST API behind an inbound webhook, on 127.0.0.1.

    async with Bitrix24Emulator() as emu:
        httpx.post(emu.webhook_url + "crm.deal.add.json", json={"fields": {"TITLE": "x"}})

Everything a test sets up or inspects is here; the wire format lives in ``server.py``,
``executor.py`` and ``methods/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timezone
from typing import Any, Self

from .events import EventSender, event_form
from .faults import Faults
from .limits import LeakyBucket, OperatingMeter
from .methods import Context
from .methods import items as item_methods
from .methods import tasks as task_methods
from .methods.classic import add_record, update_record
from .methods.crm import BANKDETAIL, COMPANY, DEAL, REQUISITE
from .records import CallRecord, EventDelivery
from .server import RestServer
from .state import MOSCOW, EventBinding, SmartProcess, State

_SCOPE_ALIASES = {"tasks": "task"}  # the REST scope is called "task"


class Bitrix24Emulator:
    def __init__(
        self,
        bucket_size: int = 50,
        drain_per_second: float = 2.0,
        user_id: int = 1,
        code: str = "s3cr3tc0de",
        application_token: str = "apptoken123",
        domain: str = "viza-test.bitrix24.ru",
        clock: Callable[[], float] = time.monotonic,
        *,
        operating_limit: float = 480.0,
        tz: timezone = MOSCOW,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.user_id = user_id
        self.code = code
        self.application_token = application_token
        self.domain = domain
        self.clock = clock
        self.host = host
        self.port = port

        self.state = State(tz=tz)
        self.bucket = LeakyBucket(bucket_size, drain_per_second, clock)
        self.meter = OperatingMeter(operating_limit, clock)
        self.faults = Faults()

        self.hits = 0  # requests let through the bucket
        self.rejected = 0  # QUERY_LIMIT_EXCEEDED answers
        self.commands = 0  # methods run, every batch sub-command counted, the batch itself not
        self.calls: list[CallRecord] = []
        self.event_deliveries: list[EventDelivery] = []
        self.internal_errors: list[BaseException] = []

        self.down = False  # True: every request gets the 503 maintenance page (HTML)
        self.revoked = False
        self.latency = 0.0  # seconds added to every request
        self.denied_scopes: set[str] = set()
        self.method_cost: dict[str, float] = {}  # extra operating seconds per call of a method
        # crm.deal.list/crm.company.list without ``select``: the docs say '*' + 'UF_*'; by
        # default the emulator returns '*' only, so a client has to ask for UF_* explicitly
        self.list_default_includes_uf = False

        self.sender = EventSender(domain, application_token, self.event_deliveries)
        self._server = RestServer(self)
        self.base_url = ""

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> Self:
        self.base_url = await self._server.start(self.host, self.port)
        return self

    async def stop(self) -> None:
        await self.sender.close()
        await self._server.stop()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def webhook_url(self) -> str:
        """``http://127.0.0.1:PORT/rest/<user_id>/<code>/`` — append ``<method>`` or ``<method>.json``."""
        return f"{self.base_url}/rest/{self.user_id}/{self.code}/"

    # ---- limits and faults ---------------------------------------------------------------

    @property
    def max_level(self) -> float:
        return self.bucket.max_level

    @property
    def bucket_level(self) -> float:
        return self.bucket.level

    def block_method(self, method: str, seconds: float) -> None:
        """Make ``method`` answer 429 OPERATION_TIME_LIMIT for ``seconds`` (on ``clock``)."""
        self.meter.block(method.lower(), seconds)

    def fail_next(
        self,
        method: str,
        status: int = 500,
        error: str = "INTERNAL_SERVER_ERROR",
        times: int = 1,
        *,
        description: str | None = None,
        after: bool = False,
    ) -> None:
        """The next ``times`` calls of ``method`` answer ``status`` with ``error``.

        ``after=True`` runs the command first and then answers the error — a response lost
        after the change was made, the case that makes blind retries create duplicates.
        Applies inside ``batch`` too (the sub-command lands in ``result_error``).
        """
        self.faults.add(method, status, error, times, description, after)

    def revoke(self) -> None:
        """The webhook is deleted: every call answers 401 INVALID_CREDENTIALS."""
        self.revoked = True

    def restore(self) -> None:
        self.revoked = False

    def deny_scope(self, scope: str) -> None:
        """Methods of ``scope`` (crm, task, user, basic) answer 403 insufficient_scope."""
        self.denied_scopes.add(_SCOPE_ALIASES.get(scope, scope))

    def allow_scope(self, scope: str) -> None:
        self.denied_scopes.discard(_SCOPE_ALIASES.get(scope, scope))

    def reset_counters(self) -> None:
        self.hits = self.rejected = self.commands = 0
        self.calls.clear()
        self.bucket.reset()
        self.bucket.max_level = 0.0

    def calls_of(self, method: str) -> list[CallRecord]:
        return [c for c in self.calls if c.method == method.lower()]

    # ---- data ------------------------------------------------------------------------------

    @property
    def companies(self) -> dict[int, dict[str, Any]]:
        return self.state.companies

    @property
    def deals(self) -> dict[int, dict[str, Any]]:
        return self.state.deals

    @property
    def requisites(self) -> dict[int, dict[str, Any]]:
        return self.state.requisites

    @property
    def bankdetails(self) -> dict[int, dict[str, Any]]:
        return self.state.bankdetails

    @property
    def items(self) -> dict[int, dict[int, dict[str, Any]]]:
        return self.state.items

    @property
    def comments(self) -> dict[int, dict[str, Any]]:
        return self.state.comments

    @property
    def tasks(self) -> dict[int, dict[str, Any]]:
        return self.state.tasks

    @property
    def users(self) -> dict[int, dict[str, Any]]:
        return self.state.users

    def _context(self) -> Context:
        return Context(self.state, self.user_id, self.list_default_includes_uf)

    # Set-up helpers: no bucket, no validation, no events.

    def add_company(self, **fields: Any) -> int:
        return add_record(COMPANY, self._context(), fields, validate=False)

    def add_deal(self, **fields: Any) -> int:
        return add_record(DEAL, self._context(), fields, validate=False)

    def add_requisite(self, **fields: Any) -> int:
        return add_record(REQUISITE, self._context(), fields, validate=False)

    def add_bankdetail(self, **fields: Any) -> int:
        return add_record(BANKDETAIL, self._context(), fields, validate=False)

    def add_item(self, entity_type_id: int = 1032, **fields: Any) -> int:
        """A smart-process item; fields in camelCase or UPPER_CASE."""
        ctx = self._context()
        process = self.state.smart_processes[entity_type_id]
        return item_methods.new_item(ctx, process, item_methods.clean_fields(ctx, fields), fire=False)["id"]

    def add_task(self, **fields: Any) -> int:
        ctx = self._context()
        return int(task_methods.new_task(ctx, task_methods.clean_fields(ctx, fields), fire=False)["id"])

    def add_smart_process(self, entity_type_id: int, category_id: int, stages: list[str], title: str = "Смарт-процесс", type_id: int | None = None) -> None:
        self.state.add_smart_process(
            SmartProcess(entity_type_id, title, type_id or category_id, {category_id: list(stages)}, category_id)
        )

    # ---- events ----------------------------------------------------------------------------

    def bind_event(self, event: str, handler: str) -> int:
        """Subscribe like an outgoing webhook set up in the portal's UI; returns the handler id."""
        binding = EventBinding(self.state.next_id("bindings"), event.upper(), handler)
        self.state.bindings[binding.id] = binding
        return binding.id

    @property
    def event_bindings(self) -> list[EventBinding]:
        return list(self.state.bindings.values())

    async def move_deal(self, deal_id: int, stage_id: str, *, wait: bool = True) -> list[EventDelivery]:
        """A user drags the deal to ``stage_id`` in the UI: no bucket, fires ONCRMDEALUPDATE.

        With ``wait`` (default) returns once the handlers have been called.
        """
        ctx = self._context()
        update_record(DEAL, ctx, deal_id, {"STAGE_ID": stage_id})
        tasks = self.sender.schedule(self.state.bindings.values(), ctx.events)
        if not wait:
            return []
        return [await t for t in tasks]

    async def post_event(
        self,
        url: str,
        event: str,
        fields_id: int | str,
        application_token: str | None = None,
        handler_id: int = 0,
    ) -> tuple[int | None, str]:
        """POST an event form to any URL (e.g. with a forged token); (status, body)."""
        token = self.application_token if application_token is None else application_token
        form = event_form(event.upper(), handler_id, {"FIELDS": {"ID": str(fields_id)}}, self.domain, token)
        delivery = await self.sender.post(url, form, event.upper(), handler_id)
        return delivery.status, delivery.body

    async def flush_events(self, timeout: float = 10.0) -> None:
        """Wait until every queued event delivery has been attempted."""
        await self.sender.flush(timeout)
