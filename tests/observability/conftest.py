"""An app with the observability installed, a client for it, and reading its metrics back."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from backend import observability
from backend.api.app import create_app
from backend.db import Database
from backend.observability.logging import QUIET_LOGGERS, UVICORN_LOGGERS
from backend.settings import Settings


def observed_app(settings: Settings, db: Database) -> FastAPI:
    """The service's app with request telemetry and /metrics, whether or not ``create_app``
    installs them itself yet (``install`` a second time changes nothing)."""
    app = create_app(settings=settings, db=db)
    observability.install(app, settings)
    return app


def closed_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_of(app: FastAPI) -> httpx.AsyncClient:
    # An unhandled error is answered with a 500, as uvicorn would, instead of raising in the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://viza.test")


@pytest.fixture
async def app(db, settings) -> AsyncIterator[FastAPI]:
    app = observed_app(settings, db)
    yield app


@pytest.fixture
async def http(app) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as client:
        yield client


class Scrape:
    """One /metrics answer, parsed: ``scrape.value("viza_x_total", label="v")``."""

    def __init__(self, body: str) -> None:
        self.text = body
        self.samples = [s for family in text_string_to_metric_families(body) for s in family.samples]

    def value(self, metric: str, /, **labels: str) -> float:
        """The sample's value; 0 when the series is not there (a counter not incremented yet)."""
        found = self.find(metric, **labels)
        return found[0] if found else 0.0

    def find(self, metric: str, /, **labels: str) -> list[float]:
        return [s.value for s in self.samples
                if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())]

    def series(self, metric: str) -> list[dict[str, str]]:
        return [s.labels for s in self.samples if s.name == metric]


async def scrape(client: httpx.AsyncClient, **headers: str) -> Scrape:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return Scrape(response.text)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the logging configuration back as it was after a test that calls configure_logging."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    named = {name: logging.getLogger(name) for name in (*UVICORN_LOGGERS, *QUIET_LOGGERS)}
    saved = {name: (list(lg.handlers), lg.level, lg.propagate) for name, lg in named.items()}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, (lg_handlers, lg_level, propagate) in saved.items():
        named[name].handlers[:] = lg_handlers
        named[name].setLevel(lg_level)
        named[name].propagate = propagate
