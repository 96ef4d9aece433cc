"""The `viza` command as a newcomer uses it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from backend.cli import main
from backend.db import Database
from backend.models import HistoryEvent, PaymentRequest
from tests.cli import run




def count(data_dir, model) -> int:
    async def go() -> int:
        db = Database(f"sqlite+aiosqlite:///{data_dir / 'viza.sqlite3'}")
        async with db.session() as session:
            value = await session.scalar(select(func.count()).select_from(model))
        await db.dispose()
        return value

    return asyncio.run(go())


def test_migrate_creates_the_database_under_the_data_dir(env):
    result = run("migrate")
    assert result.exit_code == 0, result.output
    assert (env / "viza.sqlite3").exists()


def test_token_create_prints_a_token_and_refuses_unknown_roles(env):
    result = run("token", "create", "--role", "admin", "--name", "Ирина")
    assert result.exit_code == 0 and result.stdout.strip().splitlines()[-1].startswith("viza_")
    bad = CliRunner().invoke(main, ["token", "create", "--role", "boss", "--name", "x"])
    assert bad.exit_code != 0 and "Роль" in bad.output


def test_demo_loads_once(env):
    first = run("demo")
    assert first.exit_code == 0 and "viza_" in first.output
    requests, events = count(env, PaymentRequest), count(env, HistoryEvent)
    assert requests == 9 + 2 and events > requests  # 9 payment requests, 2 contract approvals
    second = run("demo")
    assert second.exit_code == 0 and "already loaded" in second.output
    assert (count(env, PaymentRequest), count(env, HistoryEvent)) == (requests, events)


def test_bad_setting_is_a_clear_error(env, monkeypatch):
    monkeypatch.setenv("VIZA_DEFAULT_TIMEZONE", "Mars/Olympus")
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code != 0 and "unknown time zone" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_on_the_given_port(tmp_path):
    port = _free_port()
    environment = {**os.environ, "VIZA_DATA_DIR": str(tmp_path / "data")}
    environment.pop("VIZA_DATABASE_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("viza serve did not answer within 30 s")
        assert response.json() == {"status": "ok", "database": "sqlite"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json").status_code == 200
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "Telegram bot: off" in output


def test_invite_create_prints_a_start_command_and_names_a_missing_employee(env):
    assert run("demo").exit_code == 0
    result = run("invite", "create", "--employee", "1", "--hours", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("/start ")
    missing = CliRunner().invoke(main, ["invite", "create", "--employee", "9999"])
    assert missing.exit_code != 0 and "9999" in missing.output
