"""Log lines: plain text, or JSON with the request and update they were about."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re

import httpx
import pytest
import uvicorn

from backend.observability.context import request_id_var, update_id_var
from backend.observability.logging import configure_logging
from tests.observability.conftest import client_of, observed_app

pytestmark = pytest.mark.usefixtures("restore_logging")


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_text_format_is_the_familiar_line():
    stream = io.StringIO()
    configure_logging("text", "INFO", stream=stream)
    logging.getLogger("viza.test").info("заявка %s одобрена", 42)
    logging.getLogger("viza.test").debug("not at INFO")
    [line] = stream.getvalue().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO viza\.test: заявка 42 одобрена", line)


def test_json_line_has_time_level_logger_message_instance_and_extras():
    stream = io.StringIO()
    configure_logging("json", "DEBUG", instance="replica-7", stream=stream)
    logging.getLogger("viza.test").debug("row %s sent", 5, extra={"topic": "notify"})
    [entry] = json_lines(stream)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.pop("timestamp"))
    assert entry == {"level": "DEBUG", "logger": "viza.test", "message": "row 5 sent", "instance": "replica-7",
                     "topic": "notify"}


def test_json_line_carries_the_exception_and_the_update_being_handled():
    stream = io.StringIO()
    configure_logging("json", "INFO", instance="a", stream=stream)

    async def handle_update() -> None:  # as the bot does: the id is set for the update's task
        update_id_var.set(4242)
        try:
            raise ValueError("bad callback data")
        except ValueError:
            logging.getLogger("viza.bot").exception("update failed")

    asyncio.run(handle_update())
    logging.getLogger("viza.bot").info("after the update")
    failed, after = json_lines(stream)
    assert failed["update_id"] == 4242 and "request_id" not in failed
    assert failed["exception"].startswith("Traceback") and "ValueError: bad callback data" in failed["exception"]
    assert "update_id" not in after  # the update's context ended with its task


def test_configuring_again_replaces_the_handler_and_keeps_the_noisy_loggers_quiet():
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", "INFO", stream=first)
    configure_logging("json", "INFO", stream=second)
    logging.getLogger("viza.test").info("once")
    assert first.getvalue() == "" and len(json_lines(second)) == 1
    for name in ("alembic", "httpx", "weasyprint", "apscheduler"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
    with pytest.raises(ValueError, match="log format"):
        configure_logging("xml", "INFO")
    with pytest.raises(ValueError, match="log level"):
        configure_logging("json", "LOUD")


async def test_a_request_logs_with_the_id_it_echoes(db, settings):
    stream = io.StringIO()
    configure_logging("json", "INFO", instance="replica-1", stream=stream)
    app = observed_app(settings, db)

    @app.get("/test/log-something")
    async def log_something() -> dict:
        logging.getLogger("viza.test").info("handling it")
        return {"ok": True}

    async with client_of(app) as client:
        response = await client.get("/test/log-something")
        given = await client.get("/test/log-something", headers={"X-Request-ID": "lb-7f3a.2_b"})
        too_long = await client.get("/test/log-something", headers={"X-Request-ID": "x" * 129})
        odd = await client.get("/test/log-something", headers={"X-Request-ID": "a b\"c"})

    generated = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert given.headers["X-Request-ID"] == "lb-7f3a.2_b"
    for replaced in (too_long, odd):
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"])
    lines = [e for e in json_lines(stream) if e["message"] == "handling it"]
    assert [e["request_id"] for e in lines] == [generated, "lb-7f3a.2_b", too_long.headers["X-Request-ID"],
                                                odd.headers["X-Request-ID"]]
    assert all(e["instance"] == "replica-1" and "update_id" not in e for e in lines)
    assert request_id_var.get() is None  # nothing leaks out of the request


async def test_an_unhandled_error_answers_500_with_the_id_its_log_line_has(db, settings):
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)
    app = observed_app(settings, db)

    @app.get("/test/boom")
    async def boom() -> None:
        raise RuntimeError("kaput")

    async with client_of(app) as client:
        response = await client.get("/test/boom")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    [logged] = [e for e in json_lines(stream) if e["message"].startswith("unhandled error on GET /test/boom")]
    assert logged["request_id"] == request_id and "RuntimeError: kaput" in logged["exception"]


async def test_uvicorn_access_lines_are_json_with_the_request_id(db, settings, unused_tcp_port):
    stream = io.StringIO()
    configure_logging("json", "INFO", instance="replica-2", stream=stream)
    app = observed_app(settings, db)
    # log_config=None: uvicorn installs no handlers of its own; its loggers go through ours.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=unused_tcp_port, log_config=None,
                                           log_level="info", lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{unused_tcp_port}/healthz",
                                        headers={"X-Request-ID": "probe-1"})
        assert response.status_code == 200 and response.headers["X-Request-ID"] == "probe-1"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
    entries = json_lines(stream)
    [access] = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert access["request_id"] == "probe-1" and access["instance"] == "replica-2"
    assert access["http"] == {"client": access["http"]["client"], "method": "GET", "path": "/healthz", "status": 200}
    assert '"GET /healthz HTTP/1.1" 200' in access["message"]
    [running] = [e for e in entries if e["logger"] == "uvicorn.error" and "Uvicorn running" in e["message"]]
    assert "color_message" not in running
