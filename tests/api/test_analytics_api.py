"""GET /api/v1/analytics: the page's numbers as JSON, with the same access and visibility."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from backend.db import utcnow
from backend.models import PaymentRequest
from backend.workflows.lifecycle import Action
from tests.factories import auth_headers, inn, new_request, setup_company
from tests.services.test_analytics import approved_request, drive, set_times

URL = "/api/v1/analytics"


async def seed(db, company):
    now = utcnow()
    ids = []
    for n, (hours, amount) in enumerate([(1, "1000.50"), (2, "2000.25"), (6, "3000.00")]):
        rid = await approved_request(db, company, contractor_inn=inn(40 + n), amount=amount, invoice_number=str(n))
        await set_times(db, rid, approved_at=now - timedelta(days=1),
                        stage_durations=[timedelta(hours=hours), timedelta(minutes=30)],
                        to_approve=timedelta(hours=hours + 1))
        ids.append(rid)
    today = company.actor("admin").today()
    async with db.session() as session:  # the last one is 5 days overdue
        await session.execute(update(PaymentRequest).where(PaymentRequest.id == ids[2]).values(
            pay_by=today - timedelta(days=5)))
        await session.commit()
    waiting = await new_request(db, company, contractor_inn=inn(49))
    await drive(db, company, waiting, ("manager", Action.SUBMIT))
    return ids


async def test_the_numbers_as_json(db, client):
    company = await setup_company(db)
    ids = await seed(db, company)
    response = await client.get(URL, headers=await auth_headers(db, company, "cfo"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["truncated"] == [] and body["timezone"] == "Europe/Moscow"
    stages = {s["stage"]: s for s in body["time_to_approve"]["by_stage"]}
    assert stages["Руководитель отдела"] == {"stage": "Руководитель отдела", "count": 3, "median_seconds": 7200.0,
                                             "p90_seconds": pytest.approx(5.2 * 3600)}
    assert stages["Финансовый директор"]["median_seconds"] == 1800.0
    approvers = {a["employee_id"]: a for a in body["time_to_approve"]["by_approver"]}
    assert approvers[company.people["north_head"].id]["name"] == "Сидоров С.С."
    [supplier] = body["time_to_approve"]["by_request_type"]
    assert (supplier["request_type_id"], supplier["count"], supplier["median_seconds"]) == (
        company.types["supplier"].id, 3, 3 * 3600.0)

    assert body["waiting"]["by_stage"][0]["stage"] == "Руководитель отдела"
    assert body["waiting"]["by_stage"][0]["count"] == 1
    assert body["waiting"]["by_approver"][0]["employee_id"] == company.people["north_head"].id

    [rub] = body["approved_amounts"]
    assert (rub["currency"], rub["total"], rub["total_minor"], rub["count"]) == ("RUB", "6000.75", 600075, 3)
    assert sum(int(w["total_minor"]) for w in rub["weeks"]) == 600075
    assert all(w["week"].count("-W") == 1 for w in rub["weeks"])
    [north] = rub["departments"]
    assert (north["department_id"], north["name"], north["total"]) == (company.departments["north"].id,
                                                                     "Продажи Север", "6000.75")
    assert len(north["by_week"]) == len(rub["weeks"])

    overdue = body["overdue"]
    assert (overdue["count"], overdue["amounts"]) == (1, {"RUB": "3000.00"})
    assert {b["days"]: b["count"] for b in overdue["buckets"]} == {"1-3": 0, "4-7": 1, "8-30": 0, "31+": 0}
    [item] = overdue["items"]
    assert (item["id"], item["amount"], item["amount_minor"], item["days_late"]) == (ids[2], "3000.00", 300000, 5)


async def test_filters_and_the_period(db, client):
    company = await setup_company(db)
    await seed(db, company)
    admin = await auth_headers(db, company, "admin")
    body = (await client.get(URL, params={"request_type_id": company.types["rent"].id}, headers=admin)).json()
    assert body["time_to_approve"]["by_stage"] == [] and body["approved_amounts"] == []
    assert body["overdue"]["count"] == 0
    long_ago = (await client.get(URL, params={"since": "2024-01-01", "until": "2024-03-31"}, headers=admin)).json()
    assert long_ago["time_to_approve"]["by_stage"] == [] and (long_ago["since"], long_ago["until"]) == (
        "2024-01-01", "2024-03-31")
    assert len(long_ago["approved_amounts"]) == 0
    assert long_ago["overdue"]["count"] == 1  # overdue is today's state, whatever the period


async def test_a_head_gets_their_subtree_and_a_manager_is_refused(db, client):
    company = await setup_company(db)
    await seed(db, company)
    other = await approved_request(db, company, who="outsider", contractor_inn=inn(60), amount="99.00")
    assert other
    head = (await client.get(URL, headers=await auth_headers(db, company, "north_head"))).json()
    assert head["approved_amounts"][0]["total"] == "6000.75"
    admin = (await client.get(URL, headers=await auth_headers(db, company, "admin"))).json()
    assert admin["approved_amounts"][0]["total"] == "6099.75"

    refused = await client.get(URL, headers=await auth_headers(db, company, "manager"))
    assert refused.status_code == 403
    assert refused.json()["code"] == "analytics.forbidden"


async def test_bad_values_are_422_with_the_field_named(db, client):
    company = await setup_company(db)
    admin = await auth_headers(db, company, "admin")
    backwards = await client.get(URL, params={"since": "2026-03-10", "until": "2026-03-01"}, headers=admin)
    assert backwards.status_code == 422
    assert (backwards.json()["code"], backwards.json()["field"]) == ("analytics.range", "until")
    for params in ({"kind": "loan"}, {"since": "yesterday"}, {"department_id": "99999999999999999999999"},
                   {"department_id": "0"}, {"colour": "red"}):
        response = await client.get(URL, params=params, headers=admin)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["code"] == "validation_failed"
    assert (await client.get(URL)).status_code == 401
