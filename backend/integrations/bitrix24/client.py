"""A Bitrix24 REST client over an inbound webhook (``https://<portal>/rest/<user>/<code>/``).

It keeps to the portal's leaky bucket (:mod:`.limiter`), sends ``batch`` calls of up to 50
commands (one hit for the bucket), pages list methods, and turns every answer that is not a
result into a :class:`Bitrix24Error` that says whether waiting helps (``transient``) or an
admin must act (``access``: the webhook was deleted, its user lost rights or a scope is missing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.integrations.bitrix24.limiter import LeakyBucket, SharedLeakyBucket
from backend.integrations.bitrix24.php_form import encode

WEBHOOK_URL = re.compile(r"^(https?://[^/\s]+(?:/[^/\s]+)*?/rest/\d+/[A-Za-z0-9_]+)/?$")
WEBHOOK_HINT = ("must look like https://<portal>.bitrix24.ru/rest/<user id>/<code>/ "
                "(Bitrix24: Developer resources → Other → Inbound webhook)")
BATCH_LIMIT = 50
PAGE = 50

# Waiting helps: the bucket, the per-method time limit, the portal's own trouble.
TRANSIENT = {"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT", "INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER",
             "OVERLOAD_LIMIT", "ERROR_BATCH_LENGTH_EXCEEDED_TEMPORARY"}
# An admin must act: a new webhook, the user's rights, the webhook's scopes, the plan.
ACCESS = {"INVALID_CREDENTIALS", "NO_AUTH_FOUND", "invalid_token", "expired_token", "insufficient_scope",
          "ACCESS_DENIED", "PAYMENT_REQUIRED", "PORTAL_DELETED", "WRONG_AUTH_TYPE", "INVALID_REQUEST",
          "ERROR_METHOD_NOT_FOUND", "METHOD_NOT_FOUND", "authorization_error", "user_access_error"}


class Bitrix24Error(Exception):
    def __init__(self, code: str, description: str = "", *, status: int = 0, method: str = "") -> None:
        self.code = code or "ERROR"
        self.description = description
        self.status = status
        self.method = method
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = f"{self.method}: " if self.method else ""
        status = f"HTTP {self.status} " if self.status else ""
        text = f"{where}{status}{self.code}" + (f" — {self.description}" if self.description else "")
        if self.access:
            text += ". Check the inbound webhook in VIZA_BITRIX24_WEBHOOK_URL: it exists, its user is active " \
                    "and has rights, and its scopes include crm, task and user"
        return text

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT or self.status >= 500 and self.code not in ACCESS or self.code == "NETWORK"

    @property
    def access(self) -> bool:
        return self.code in ACCESS or self.status in (401, 403)

    @property
    def not_found(self) -> bool:
        return self.code == "NOT_FOUND" or "not found" in self.description.lower()


@dataclass
class Answer:
    result: Any
    total: int | None = None
    next: int | None = None
    time: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchAnswer:
    results: dict[str, Any]
    errors: dict[str, Bitrix24Error]
    totals: dict[str, int]
    nexts: dict[str, int]


def webhook_base(url: str) -> str:
    match = WEBHOOK_URL.match(url.strip())
    if not match:
        raise ValueError(f"VIZA_BITRIX24_WEBHOOK_URL {WEBHOOK_HINT}")
    return match.group(1) + "/"


class Bitrix24Client:
    def __init__(self, webhook_url: str, *, limiter: LeakyBucket | SharedLeakyBucket | None = None,
                 http: httpx.AsyncClient | None = None, timeout: float = 30.0, overflow_retries: int = 5) -> None:
        self.base = webhook_base(webhook_url)
        self.limiter = limiter or LeakyBucket()
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._own_http = http is None
        self.overflow_retries = overflow_retries
        self.hits = 0  # HTTP requests sent, for the benchmark and logs

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Answer:
        body = await self._post(method, dict(params or {}))
        return Answer(body.get("result"), body.get("total"), body.get("next"), body.get("time") or {})

    async def batch(self, commands: Mapping[str, tuple[str, Mapping[str, Any]]], *, halt: bool = False) -> BatchAnswer:
        """Up to 50 commands as one hit. A command may use an earlier one's result as
        ``$result[name]`` or ``$result[name][field]``."""
        if not commands:
            return BatchAnswer({}, {}, {}, {})
        if len(commands) > BATCH_LIMIT:
            raise ValueError(f"a batch takes at most {BATCH_LIMIT} commands, got {len(commands)}")
        cmd = {name: f"{method}?{encode(params)}" for name, (method, params) in commands.items()}
        body = await self._post("batch", {"halt": 1 if halt else 0, "cmd": cmd})
        result = body.get("result") or {}
        results = _as_dict(result.get("result"))
        errors = {name: Bitrix24Error(str(e.get("error", "")), str(e.get("error_description", "")),
                                      method=commands[name][0] if name in commands else "")
                  for name, e in _as_dict(result.get("result_error")).items() if isinstance(e, Mapping)}
        return BatchAnswer(results, errors, {k: int(v) for k, v in _as_dict(result.get("result_total")).items()},
                           {k: int(v) for k, v in _as_dict(result.get("result_next")).items()})

    async def list_all(self, method: str, params: Mapping[str, Any] | None = None, *,
                       key: str | None = None, limit: int = 100_000) -> list[Any]:
        """Every page of a list method (50 per page, ``start`` to go on). ``key`` unwraps
        results given as ``{"items": [...]}`` (crm.item.list, tasks.task.list)."""
        rows: list[Any] = []
        start: int | None = 0
        while start is not None and len(rows) < limit:
            answer = await self.call(method, {**(params or {}), "start": start})
            page = answer.result[key] if key and isinstance(answer.result, Mapping) else answer.result
            rows.extend(page or [])
            start = answer.next
        return rows

    async def _post(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(self.overflow_retries + 1):
            await self.limiter.acquire()
            self.hits += 1
            try:
                response = await self._http.post(f"{self.base}{method}.json", json=params)
            except httpx.HTTPError as error:
                raise Bitrix24Error("NETWORK", f"{type(error).__name__}: {error}", method=method) from error
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):  # an HTML page: maintenance, a proxy, a wrong address
                code = "PORTAL_UNAVAILABLE" if response.status_code >= 500 else "UNEXPECTED_ANSWER"
                raise Bitrix24Error(code, f"not a REST answer: {response.text[:200]!r}",
                                    status=response.status_code, method=method)
            if "error" in body:
                error = Bitrix24Error(str(body["error"]), str(body.get("error_description") or ""),
                                      status=response.status_code, method=method)
                if error.code == "QUERY_LIMIT_EXCEEDED" and attempt < self.overflow_retries:
                    await self.limiter.overflowed()  # somebody else uses the bucket too: wait for it to drain
                    continue
                raise error
            if response.status_code >= 400:
                raise Bitrix24Error("HTTP", response.text[:200], status=response.status_code, method=method)
            return body
        raise AssertionError("unreachable")


def _as_dict(value: Any) -> dict[str, Any]:
    # PHP encodes an empty associative array as [], so an empty result section comes as a list.
    return dict(value) if isinstance(value, Mapping) else {}
