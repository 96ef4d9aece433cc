"""Operations: structured logs, Prometheus metrics, health and readiness.

``install(app, settings)`` adds what the HTTP side needs: request ids and request metrics around
every request, and ``GET /metrics``. ``/healthz`` and ``/readyz`` are ordinary API routes
(``backend.api.routes.health``); logging is set up by the command (``configure_logging``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the engine imports the metrics module below this package: no FastAPI for it
    from fastapi import FastAPI

    from backend.settings import Settings

__all__ = ["install"]


def install(app: FastAPI, settings: Settings) -> None:
    """Add request telemetry and ``/metrics`` to ``app``; calling it again changes nothing.

    The telemetry wraps the whole middleware stack, outside Starlette's ``ServerErrorMiddleware``
    (``app.add_middleware`` can only go inside it): an unhandled error's 500 then carries
    ``X-Request-ID`` too, is counted with its status, and the error's log line has the request id.
    ``settings`` is the app's; the routes read it from ``app.state.settings`` at request time."""
    if getattr(app.state, "observability_installed", False):
        return
    app.state.observability_installed = True
    from backend.api.routes.metrics import router as metrics_router
    from backend.observability.middleware import RequestTelemetry

    app.include_router(metrics_router)
    build_stack = app.build_middleware_stack

    def build_stack_with_telemetry():
        return RequestTelemetry(build_stack())

    app.build_middleware_stack = build_stack_with_telemetry  # type: ignore[method-assign]
    app.middleware_stack = None  # built on the first request, now with the telemetry
