"""Request ids and request metrics, as plain ASGI middleware.

Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``: that one buffers the response through
a memory stream and runs the app in another task, which breaks streaming responses (exports)
and hides the context variables set here from the code that handles the request.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.observability.context import request_id_var
from backend.observability.metrics import HTTP_DURATION, HTTP_REQUESTS, http_method_label

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
UNMATCHED = "unmatched"


def incoming_request_id(scope: Scope) -> str | None:
    """The caller's (or the load balancer's) X-Request-ID, when it is safe to log and echo."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _SANE_ID.fullmatch(candidate) else None
    return None


def route_template(scope: Scope, root_path: str = "") -> str:
    """The matched route's path template (``/api/v1/payment-requests/{request_id}``), so the
    metric has one series per route rather than one per id.

    ``root_path`` is the scope's root path before routing: a mount (the static files) extends it
    with its prefix and sets no route of its own, so it is labelled ``/static/{path}``."""
    after = scope.get("root_path", "")
    mounted = after[len(root_path):] if after.startswith(root_path) else ""
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str) and template:
        return mounted + template if mounted and not template.startswith(mounted) else template
    return f"{mounted}/{{path}}" if mounted else UNMATCHED


class RequestTelemetry:
    """Gives every HTTP request an id (the caller's when sane, else a new one), keeps it in
    ``request_id_var`` while the request is handled so log lines carry it, echoes it in the
    response, and records the request in ``viza_http_requests_total`` and its duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or uuid.uuid4().hex
        root_path = scope.get("root_path", "")
        token = request_id_var.set(request_id)
        status = 500  # what the client gets when the app fails before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            method = http_method_label(scope.get("method", ""))
            route = route_template(scope, root_path)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
            request_id_var.reset(token)
