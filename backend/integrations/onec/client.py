"""A client of 1C's standard OData interface (``…/odata/standard.odata/``), JSON, basic auth.

What 1C's interface is like (FACTS §5, gotcha 5): entity sets are ``Catalog_…`` and
``Document_…``, records are addressed as ``Catalog_X(guid'…')``, Cyrillic names go
percent-encoded, dates are ``datetime'2025-01-01T00:00:00'`` in the base's local time, and
posting is ``POST Document_X(guid'…')/Post``. Its failures are Russian text in ``odata.error``;
a posting failure is an HTTP 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

PAGE = 500


class OneCError(Exception):
    def __init__(self, message: str, *, status: int = 0, where: str = "") -> None:
        self.status = status
        self.where = where
        self.text = message
        super().__init__(f"1C {where}: HTTP {status} {message}" if status else f"1C {where}: {message}")

    @property
    def access(self) -> bool:
        return self.status in (401, 403)

    @property
    def transient(self) -> bool:
        # 500 is how 1C reports a refused posting (a row problem); other 5xx and no answer are the base's.
        return self.status == 0 or self.status >= 502 or self.status == 429

    @property
    def not_found(self) -> bool:
        return self.status == 404


def string(value: str) -> str:
    """An OData string literal: single quotes, a quote inside doubled."""
    return "'" + value.replace("'", "''") + "'"


def guid(value: str) -> str:
    return f"guid'{value}'"


def moment(value: datetime) -> str:
    return f"datetime'{value.strftime('%Y-%m-%dT%H:%M:%S')}'"


class OneCClient:
    def __init__(self, odata_url: str, user: str | None, password: str | None, *,
                 http: httpx.AsyncClient | None = None, timeout: float = 60.0) -> None:
        self.base = odata_url.rstrip("/") + "/"
        auth = httpx.BasicAuth(user or "", password or "")
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._own_http = http is None
        self._auth = auth

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def list(self, entity_set: str, *, filter: str | None = None, orderby: str | None = None,
                   select: str | None = None, top: int | None = None, limit: int = 100_000) -> list[dict[str, Any]]:
        """Every matching record (paged with $top/$skip), or the first ``top``."""
        rows: list[dict[str, Any]] = []
        page = min(top or PAGE, PAGE)
        while len(rows) < (top or limit):
            params = {"$top": str(page), "$skip": str(len(rows))}
            if filter:
                params["$filter"] = filter
            if orderby:
                params["$orderby"] = orderby
            if select:
                params["$select"] = select
            body = await self._request("GET", entity_set, params=params)
            values = body.get("value") or []
            rows.extend(values)
            if len(values) < page:
                break
        return rows[: top or limit]

    async def get(self, entity_set: str, ref: str) -> dict[str, Any] | None:
        try:
            return await self._request("GET", f"{entity_set}({guid(ref)})")
        except OneCError as error:
            if error.not_found:
                return None
            raise

    async def create(self, entity_set: str, record: Mapping[str, Any]) -> dict[str, Any]:
        return await self._request("POST", entity_set, json=dict(record))

    async def update(self, entity_set: str, ref: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return await self._request("PATCH", f"{entity_set}({guid(ref)})", json=dict(changes))

    async def post_document(self, entity_set: str, ref: str, *, operational: bool = False) -> None:
        """Post (провести) a document. Not operational: a back-dated document posts as of its date."""
        await self._request("POST", f"{entity_set}({guid(ref)})/Post",
                            params={"PostingModeOperational": "true" if operational else "false"})

    async def unpost_document(self, entity_set: str, ref: str) -> None:
        await self._request("POST", f"{entity_set}({guid(ref)})/Unpost")

    async def _request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                       json: dict[str, Any] | None = None) -> dict[str, Any]:
        # The query is encoded here, spaces as %20: 1C does not read "+" as a space (it answers
        # 500, or ignores the filter), and httpx's params= writes "+".
        query = urlencode({**(params or {}), "$format": "json"}, quote_via=quote, safe="$'(),:")
        url = self.base + quote(path, safe="()'/$=,") + "?" + query
        try:
            response = await self._http.request(method, url, json=json, auth=self._auth,
                                                headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise OneCError(f"{type(error).__name__}: {error}", where=f"{method} {path}") from error
        if response.status_code >= 400:
            raise OneCError(_error_text(response), status=response.status_code, where=f"{method} {path}")
        if not response.content.strip():
            return {}
        try:
            body = response.json()
        except ValueError as error:
            raise OneCError(f"not JSON: {response.text[:200]!r}", status=response.status_code,
                            where=f"{method} {path}") from error
        return body if isinstance(body, dict) else {"value": body}


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return {401: "the user or password of VIZA_ONEC_USER / VIZA_ONEC_PASSWORD is wrong",
                403: "the user has no rights to this"}.get(response.status_code, response.text[:300].strip())
    error = body.get("odata.error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        text = message.get("value") if isinstance(message, dict) else message
        return str(text or error.get("code") or body)[:1000]
    return str(body)[:300]
