"""/healthz (liveness) and /readyz (readiness) with each check passing and failing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from backend.db import utcnow
from backend.models import OutboxMessage
from backend.observability.readiness import delivered_topics
from tests.observability.conftest import client_of, closed_port, observed_app

REDIS_URL = os.environ.get("VIZA_TEST_REDIS_URL")


async def stale_row(db, topic: str, *, waited: float, key: str = "stale") -> None:
    """A due row that a replica which then hung holds the lease of: nothing here can send it."""
    now = utcnow()
    async with db.session() as session:
        session.add(OutboxMessage(topic=topic, dedup_key=key, payload={}, status="pending", progress={},
                                  created_at=now - timedelta(seconds=waited), next_attempt_at=now - timedelta(seconds=waited),
                                  claimed_by="replica-that-hung", claimed_until=now + timedelta(hours=1)))
        await session.commit()


@contextlib.asynccontextmanager
async def started(app) -> AsyncIterator[None]:
    """The app's own start-up and shutdown, as ``viza serve`` runs them (workers included)."""
    async with app.router.lifespan_context(app):
        yield


async def test_healthz_keeps_its_shape(db, http):
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": db.dialect}


async def test_healthz_is_503_when_the_database_does_not_answer(settings, tmp_path):
    from backend.db import Database

    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing-folder' / 'viza.sqlite3'}")
    try:
        async with client_of(observed_app(settings, broken)) as client:
            response = await client.get("/healthz")
    finally:
        await broken.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["database"] == "sqlite" and 0 < len(body["error"]) <= 200


async def test_ready_when_the_database_answers(db, http):
    response = await http.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True, "detail": db.dialect}
    assert "redis" not in body["checks"]  # not configured


async def test_not_ready_once_shutdown_begins(app, http):
    app.state.shutting_down = True
    response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "shutting down" and response.json()["failed"] == ["shutdown"]
    assert (await http.get("/healthz")).status_code == 200  # still alive while it finishes


async def test_not_ready_when_redis_refuses_connections(db, settings):
    app = observed_app(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0"}), db)
    async with client_of(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"] and body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False and 0 < len(body["checks"]["redis"]["error"]) <= 200


async def test_a_redis_that_hangs_makes_readyz_answer_503_within_the_check_timeout(db, settings):
    async def silent(reader, writer) -> None:  # accepts, reads, never answers
        try:
            await reader.read()
        except Exception:  # noqa: BLE001 — the client went away
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    app = observed_app(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"}), db)
    try:
        async with client_of(app) as client:
            began = time.monotonic()
            response = await client.get("/readyz")
            took = time.monotonic() - began
    finally:
        server.close()
        await server.wait_closed()
    assert response.status_code == 503 and response.json()["failed"] == ["redis"]
    assert response.json()["checks"]["redis"]["error"] == "no answer within 2 s"
    assert took < 3.5


@pytest.mark.skipif(not REDIS_URL and os.environ.get("CI") != "true",
                    reason="set VIZA_TEST_REDIS_URL to test readiness against a real Redis")
async def test_ready_with_a_real_redis(db, settings):
    assert REDIS_URL, "CI must test readiness with Redis: set VIZA_TEST_REDIS_URL"
    app = observed_app(settings.model_copy(update={"redis_url": REDIS_URL}), db)
    async with client_of(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["redis"] == {"ok": True, "detail": "PONG"}


async def test_not_ready_when_a_due_outbox_row_delivered_here_waits_too_long(db, settings):
    settings = settings.model_copy(update={"scheduler_enabled": False, "ready_outbox_age_seconds": 60})
    app = observed_app(settings, db)
    async with started(app), client_of(app) as client:
        assert delivered_topics(app) == {"email"}  # no bot, no integrations configured
        await stale_row(db, "email", waited=20, key="recent")
        fresh = await client.get("/readyz")
        await stale_row(db, "email", waited=300)
        stale = await client.get("/readyz")
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["checks"]["outbox"]["ok"] is True
    assert stale.status_code == 503
    body = stale.json()
    assert body["failed"] == ["outbox"]
    error = body["checks"]["outbox"]["error"]
    assert "email" in error and "limit 60 s" in error and len(error) <= 200


async def test_rows_nobody_here_delivers_do_not_make_the_replica_unready(db, settings):
    # Bitrix24 is not configured and the bot is off: their rows wait by design, for days.
    settings = settings.model_copy(update={"scheduler_enabled": False, "ready_outbox_age_seconds": 60})
    app = observed_app(settings, db)
    await stale_row(db, "bitrix24", waited=3600, key="b24")
    await stale_row(db, "notify", waited=3600, key="tg")
    async with started(app), client_of(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text


async def test_strictly_ordered_sync_topics_are_left_out_of_readiness(settings, tmp_path):
    from backend.background import BackgroundWork
    from backend.db import Database

    configured = settings.model_copy(update={"bitrix24_webhook_url": "https://portal.example.ru/rest/1/abc/"})
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}")
    app = observed_app(configured, db)
    app.state.background = BackgroundWork(db, configured)
    try:
        assert "bitrix24" in {t for w in app.state.background.workers for t in w.signal.topics}
        assert delivered_topics(app) == {"email"}
    finally:
        await app.state.background.stop()
        await db.dispose()
