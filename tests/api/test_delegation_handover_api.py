"""The delegation endpoints hand over what already waits, and take it back on cancel."""

from __future__ import annotations

from datetime import timedelta

from backend.services import payment_requests as service
from backend.services.transactions import in_transaction
from backend.workflows.lifecycle import Action
from tests.factories import auth_headers, new_request, setup_company, today

API = "/api/v1"


async def test_create_and_cancel_move_the_pending_approval_and_history_says_so(client, db):
    company = await setup_company(db)
    head, deputy = company.people["north_head"].id, company.people["deputy"].id
    rid = await new_request(db, company)
    await in_transaction(db, lambda s: service.act(s, company.actor("manager"), rid, Action.SUBMIT))
    me = await auth_headers(db, company, "north_head")

    created = await client.post(f"{API}/delegations", headers=me, json={
        "deputy_id": deputy, "starts_on": str(today()), "ends_on": str(today() + timedelta(days=10))})
    assert created.status_code == 201, created.text

    deputy_headers = await auth_headers(db, company, "deputy")
    seen = (await client.get(f"{API}/payment-requests/{rid}", headers=deputy_headers)).json()
    [task] = seen["stages"][0]["tasks"]
    assert (task["approver_id"], task["assignee_id"]) == (head, deputy)
    assert "approve" in seen["available_actions"]
    history = (await client.get(f"{API}/payment-requests/{rid}/history", headers=me)).json()
    handed = history[-1]
    assert (handed["action"], handed["actor_id"]) == ("delegate", head)
    assert handed["details"]["delegation"]["to_id"] == deputy
    assert handed["details"]["delegation"]["ends_on"] == str(today() + timedelta(days=10))

    cancelled = await client.post(f"{API}/delegations/{created.json()['id']}/cancel", headers=me)
    assert cancelled.status_code == 200
    mine = (await client.get(f"{API}/payment-requests/{rid}", headers=me)).json()
    assert mine["stages"][0]["tasks"][0]["assignee_id"] == head
    again = await client.post(f"{API}/delegations/{created.json()['id']}/cancel", headers=me)
    assert again.status_code == 200  # nothing more to hand back, and no error
    actions = [e["action"] for e in (await client.get(f"{API}/payment-requests/{rid}/history", headers=me)).json()]
    assert actions == ["create", "submit", "delegate", "delegate"]


async def test_the_deputy_approves_on_behalf_of_the_approver(client, db):
    company = await setup_company(db)
    rid = await new_request(db, company)
    await in_transaction(db, lambda s: service.act(s, company.actor("manager"), rid, Action.SUBMIT))
    await client.post(f"{API}/delegations", headers=await auth_headers(db, company, "north_head"), json={
        "deputy_id": company.people["deputy"].id, "starts_on": str(today()), "ends_on": str(today())})
    deputy = await auth_headers(db, company, "deputy")
    approved = await client.post(f"{API}/payment-requests/{rid}/approve", headers=deputy, json={})
    assert approved.status_code == 200, approved.text
    last = (await client.get(f"{API}/payment-requests/{rid}/history", headers=deputy)).json()[-1]
    assert (last["action"], last["actor"], last["on_behalf_of"]) == ("approve", "Орлова О.О.", "Сидоров С.С.")


async def test_moving_the_start_to_later_gives_the_work_back_until_then(client, db):
    company = await setup_company(db)
    head = company.people["north_head"].id
    rid = await new_request(db, company)
    await in_transaction(db, lambda s: service.act(s, company.actor("manager"), rid, Action.SUBMIT))
    me = await auth_headers(db, company, "north_head")
    created = (await client.post(f"{API}/delegations", headers=me, json={
        "deputy_id": company.people["deputy"].id, "starts_on": str(today()), "ends_on": str(today())})).json()
    later = await client.patch(f"{API}/delegations/{created['id']}", headers=me, json={
        "starts_on": str(today() + timedelta(days=2)), "ends_on": str(today() + timedelta(days=5))})
    assert later.status_code == 200, later.text
    task = (await client.get(f"{API}/payment-requests/{rid}", headers=me)).json()["stages"][0]["tasks"][0]
    assert task["assignee_id"] == head
