"""/metrics: request counters by route template, decisions as they commit, outbox outcomes, and
the outbox and scheduler gauges read from the database at scrape time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiogram import Bot
from sqlalchemy import select

from backend.db import Database, utcnow
from backend.integrations.worker import Done, Refused, SyncWorker
from backend.models import Employee, OutboxMessage, SchedulerRun
from backend.observability.metrics import REGISTRY, render, scheduler_lag
from backend.outbox import OutboxQueue
from backend.services.attachments import FileStore
from backend.services.payment_requests import act
from backend.workflows.lifecycle import Action
from bot.delivery import OutboxDelivery
from tests.factories import auth_headers, new_request, setup_company
from tests.observability.conftest import Scrape, client_of, observed_app, scrape


def outbox_row(topic: str, key: str, *, status: str = "pending", due_in: float = 0.0, **values) -> OutboxMessage:
    now = utcnow()
    return OutboxMessage(topic=topic, dedup_key=key, payload=values.pop("payload", {}), status=status, progress={},
                         created_at=now - timedelta(hours=1), next_attempt_at=now + timedelta(seconds=due_in), **values)


async def add(db: Database, *rows) -> None:
    async with db.session() as session:
        session.add_all(rows)
        await session.commit()


def settled(topic: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("viza_outbox_settled_total", {"topic": topic, "outcome": outcome}) or 0.0


# --- HTTP requests -----------------------------------------------------------------------------------

async def test_requests_are_counted_by_route_template_method_and_status(http):
    before = await scrape(http)
    for request_id in (101, 202, 303):
        response = await http.get(f"/api/v1/payment-requests/{request_id}")
        assert response.status_code == 401
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/no/such/page")).status_code == 404
    after = await scrape(http)

    route = "/api/v1/payment-requests/{request_id}"
    labels = dict(method="GET", route=route, status="401")
    assert after.value("viza_http_requests_total", **labels) - before.value("viza_http_requests_total", **labels) == 3
    count = "viza_http_request_duration_seconds_count"
    assert after.value(count, method="GET", route=route) - before.value(count, method="GET", route=route) == 3
    assert after.value("viza_http_requests_total", method="GET", route="/healthz", status="200") >= 1
    assert after.value("viza_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    routes = {s["route"] for s in after.series("viza_http_requests_total")}
    assert not any(str(n) in r for r in routes for n in (101, 202, 303))  # never a raw path


async def test_metrics_is_prometheus_text_and_not_in_the_api_document(http):
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE viza_http_requests_total counter" in response.text
    assert "viza_metrics_database_up 1.0" in response.text
    assert "/metrics" not in (await http.get("/api/v1/openapi.json")).json()["paths"]


async def test_a_metrics_token_is_required_when_set(db, settings):
    token = "s3cret-metrics-token-0123"
    app = observed_app(settings.model_copy(update={"metrics_token": token}), db)
    async with client_of(app) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
        assert (await client.get("/metrics", headers={"Authorization": f"Basic {token}"})).status_code == 401
        assert (await scrape(client, Authorization=f"Bearer {token}")).value("viza_metrics_database_up") == 1


# --- approval decisions ------------------------------------------------------------------------------

async def test_decisions_through_the_api_are_counted_once_each(db, http):
    company = await setup_company(db)
    manager = await auth_headers(db, company, "manager")
    request_id = await new_request(db, company, "manager")
    assert (await http.post(f"/api/v1/payment-requests/{request_id}/submit", json={}, headers=manager)).status_code == 200
    before = await scrape(http)

    head = await auth_headers(db, company, "north_head")
    approved = await http.post(f"/api/v1/payment-requests/{request_id}/approve", json={"comment": "ок"}, headers=head)
    assert approved.status_code == 200 and approved.json()["changed"] is True
    again = await http.post(f"/api/v1/payment-requests/{request_id}/approve", json={}, headers=head)
    assert again.json()["changed"] is False  # a double tap is not a decision
    cfo = await auth_headers(db, company, "cfo")
    returned = await http.post(f"/api/v1/payment-requests/{request_id}/return", json={"comment": "уточнить"},
                               headers=cfo)
    assert returned.status_code == 200, returned.text
    after = await scrape(http)

    def delta(action: str) -> float:
        return after.value("viza_decisions_total", action=action) - before.value("viza_decisions_total", action=action)

    assert (delta("approve"), delta("return"), delta("reject")) == (1, 1, 0)


async def test_a_decision_rolled_back_is_not_counted(db):
    company = await setup_company(db)
    request_id = await new_request(db, company, "manager")
    async with db.session() as session:
        await act(session, company.actor("manager"), request_id, Action.SUBMIT)
        await session.commit()

    def approvals() -> float:
        return REGISTRY.get_sample_value("viza_decisions_total", {"action": "approve"}) or 0.0

    start = approvals()
    async with db.session() as session:
        await act(session, company.actor("north_head"), request_id, Action.APPROVE)
        assert approvals() == start  # made, not committed yet
        await session.rollback()
    assert approvals() == start
    async with db.session() as session:
        await act(session, company.actor("north_head"), request_id, Action.APPROVE)
        await session.commit()
    assert approvals() == start + 1


# --- outbox outcomes -------------------------------------------------------------------------------

async def test_the_outbox_queue_counts_each_outcome_by_topic(db):
    await add(db, *(outbox_row("notify", f"n{i}", due_in=-60) for i in range(5)), outbox_row("cards", "c1", due_in=-60))
    queue = OutboxQueue(db, ["notify", "cards"], worker="metered-test", max_attempts=2)
    before = {(t, o): settled(t, o) for t in ("notify", "cards")
              for o in ("sent", "skipped", "failed", "retry", "deferred")}
    rows = await queue.claim(10)
    by_key = {row.dedup_key: row for row in rows}
    assert len(rows) == 6
    await queue.done(by_key["n0"].id)
    await queue.done(by_key["n1"].id, status="skipped", note="no Telegram account bound")
    await queue.fail(by_key["n2"].id, "400: chat not found", attempts=0)
    assert await queue.retry(by_key["n3"].id, "timeout", attempts=0) == "pending"
    assert await queue.retry(by_key["c1"].id, "timeout", attempts=1) == "failed"  # the last attempt
    await queue.defer(by_key["n4"].id, utcnow() + timedelta(hours=1), "quiet hours")

    def delta(topic: str, outcome: str) -> float:
        return settled(topic, outcome) - before[(topic, outcome)]

    assert {o: delta("notify", o) for o in ("sent", "skipped", "failed", "retry", "deferred")} == \
        {"sent": 1, "skipped": 1, "failed": 1, "retry": 1, "deferred": 1}
    assert (delta("cards", "failed"), delta("cards", "retry")) == (1, 0)
    async with db.session() as session:
        statuses = dict((await session.execute(select(OutboxMessage.dedup_key, OutboxMessage.status))).all())
    assert statuses == {"n0": "sent", "n1": "skipped", "n2": "failed", "n3": "pending", "n4": "pending",
                        "c1": "failed"}


async def test_telegram_delivery_counts_what_it_settles(db, settings):
    company = await setup_company(db)
    async with db.session() as session:
        nobody = await session.get(Employee, company.people["outsider"].id)
        assert nobody.telegram_user_id is None
    await add(db, outbox_row("notify", "to-outsider", due_in=-1, ordering_key="employee:x",
                             payload={"recipient_id": company.people["outsider"].id, "event": "comment"}))
    bot = Bot("123456:TEST")  # never called: the person has no Telegram account
    try:
        delivery = OutboxDelivery(bot, db, FileStore(settings.files_dir), worker="metrics-test")
        before = settled("notify", "skipped")
        assert await delivery.deliver_due() == 1
        assert settled("notify", "skipped") - before == 1
    finally:
        await bot.session.close()


async def test_sync_failures_are_counted_per_system(db):
    await add(db, *(outbox_row("bitrix24", key, due_in=-5, ordering_key=key, payload={"do": key})
                    for key in ("ok", "refused", "broken")))

    async def handle(context) -> Done:
        if context.payload["do"] == "refused":
            raise Refused("UF_CRM_X: field not found")
        if context.payload["do"] == "broken":
            raise RuntimeError("unexpected answer")
        return Done()

    def failures() -> float:
        return REGISTRY.get_sample_value("viza_sync_failures_total", {"system": "bitrix24"}) or 0.0

    before = (failures(), settled("bitrix24", "sent"), settled("bitrix24", "failed"), settled("bitrix24", "retry"))
    worker = SyncWorker(db, "bitrix24", handle, instance="metrics-test")
    assert await worker.run_due() == 3
    after = (failures(), settled("bitrix24", "sent"), settled("bitrix24", "failed"), settled("bitrix24", "retry"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1, 1, 1]


# --- gauges from the database -----------------------------------------------------------------------

async def test_outbox_depth_and_age_match_the_rows(db, http):
    await add(db,
              outbox_row("notify", "n-due-old", due_in=-120), outbox_row("notify", "n-due", due_in=-5),
              outbox_row("notify", "n-later", due_in=600), outbox_row("notify", "n-failed", status="failed"),
              outbox_row("email", "e-due", due_in=-30),
              outbox_row("onec", "o-later", due_in=300),
              *(outbox_row("cards", f"c{i}", status="sent", due_in=-999) for i in range(3)))
    metrics = await scrape(http)
    depth = {(s["topic"], s["status"]): v for s in metrics.series("viza_outbox_depth")
             for v in metrics.find("viza_outbox_depth", **s)}
    assert depth == {("notify", "pending"): 3, ("notify", "failed"): 1, ("email", "pending"): 1, ("onec", "pending"): 1}
    ages = {s["topic"]: metrics.value("viza_outbox_oldest_pending_age_seconds", **s)
            for s in metrics.series("viza_outbox_oldest_pending_age_seconds")}
    assert set(ages) == {"notify", "email", "onec"}  # cards has only sent rows
    assert 120 <= ages["notify"] < 130 and 30 <= ages["email"] < 40
    assert ages["onec"] == 0  # pending, but none due yet


async def test_an_empty_outbox_and_scheduler_table_export_no_series(http):
    metrics = await scrape(http)
    for name in ("viza_outbox_depth", "viza_outbox_oldest_pending_age_seconds", "viza_scheduler_lag_seconds",
                 "viza_scheduler_last_run_timestamp_seconds"):
        assert metrics.series(name) == []
    assert metrics.value("viza_metrics_database_up") == 1


async def test_scheduler_lag_and_last_run_come_from_scheduler_runs(db, http, settings):
    now = utcnow()
    interval = settings.scheduler_interval_seconds
    on_time_due = now - timedelta(seconds=30)
    stuck_due = now - timedelta(seconds=interval + 600)
    await add(db,
              SchedulerRun(name="notifications", holder="replica-1", last_due_at=on_time_due,
                           last_started_at=on_time_due + timedelta(seconds=2),
                           last_finished_at=on_time_due + timedelta(seconds=3)),
              SchedulerRun(name="stuck", holder="replica-2", last_due_at=stuck_due,
                           last_started_at=stuck_due, last_finished_at=None))
    metrics = await scrape(http)
    assert metrics.value("viza_scheduler_lag_seconds", name="notifications") == pytest.approx(2.0, abs=0.01)
    assert metrics.value("viza_scheduler_last_run_timestamp_seconds", name="notifications") == \
        pytest.approx((on_time_due + timedelta(seconds=3)).timestamp(), abs=0.01)
    # Its next tick was due 600 s ago and never started: the lag says so and keeps growing.
    assert 600 <= metrics.value("viza_scheduler_lag_seconds", name="stuck") < 615
    assert metrics.find("viza_scheduler_last_run_timestamp_seconds", name="stuck") == []


def test_scheduler_lag_rules():
    now = utcnow()
    run = SchedulerRun(name="n", last_due_at=None)
    assert scheduler_lag(run, now, 60) is None  # never ticked
    run.last_due_at, run.last_started_at = now - timedelta(seconds=10), now - timedelta(seconds=7)
    assert scheduler_lag(run, now, 60) == pytest.approx(3.0)
    run.last_started_at = now - timedelta(seconds=10.01)  # a timer that fired a little early: no lag
    assert scheduler_lag(run, now, 60) == 0.0
    run.last_due_at = now - timedelta(seconds=63)  # next due 3 s ago: within the grace, still the last lag
    run.last_started_at = now - timedelta(seconds=62)
    assert scheduler_lag(run, now, 60) == pytest.approx(1.0)
    run.last_due_at = now - timedelta(seconds=100)  # next due 40 s ago, past the grace
    assert scheduler_lag(run, now, 60) == pytest.approx(40.0)


async def test_a_database_that_fails_costs_only_the_gauges(tmp_path):
    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing-folder' / 'viza.sqlite3'}")
    try:
        metrics = Scrape((await render(broken, scheduler_interval=60)).decode())
    finally:
        await broken.dispose()
    assert metrics.value("viza_metrics_database_up") == 0
    assert metrics.series("viza_outbox_depth") == []
    assert "# TYPE viza_http_requests_total counter" in metrics.text
