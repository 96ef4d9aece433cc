"""The integrations through the API: Bitrix24's event posts (token checked), the accountant's
closing confirmation of a deal, the admins' status view and full sync."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from backend.api.app import create_app
from backend.settings import Settings
from tests.api.helpers import add_employee, admin_headers, employee_headers, errors_of
from tests.integrations.helpers import rows

API = "/api/v1/integrations"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def client(db, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", load_default_routes=False, bitrix24_app_token="app-token-1",
                        bitrix24_webhook_url="https://acme.bitrix24.ru/rest/1/abc/")
    app = create_app(settings=settings, db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://viza.test") as http:
        yield http


def event(token: str | None = "app-token-1", deal: str = "42", name: str = "ONCRMDEALUPDATE", ts: str = "1764000000") -> str:
    fields = {"event": name, "event_handler_id": "7", "data[FIELDS][ID]": deal, "ts": ts,
              "auth[domain]": "acme.bitrix24.ru", "auth[member_id]": "m1"}
    if token is not None:
        fields["auth[application_token]"] = token
    return urlencode(fields)


class TestBitrix24Events:
    async def test_each_deal_event_queues_a_gate_check_in_the_deals_order(self, client, db):
        first = await client.post(f"{API}/bitrix24/events", content=event(), headers=FORM)
        assert first.status_code == 200 and first.json() == {"accepted": True, "deal_id": "42"}
        # Two moves within one second post the same body: both are checked, in order.
        again = await client.post(f"{API}/bitrix24/events", content=event(), headers=FORM)
        assert again.status_code == 200
        checks = await rows(db, "bitrix24", kind="deal_event")
        assert [(r.payload["deal_id"], r.ordering_key) for r in checks] == [("42", "deal:42")] * 2

    @pytest.mark.parametrize("token", ["forged", "", None])
    async def test_forged_or_missing_tokens_are_refused_and_queue_nothing(self, client, db, token):
        refused = await client.post(f"{API}/bitrix24/events", content=event(token), headers=FORM)
        assert refused.status_code == 401 and "application_token" in refused.json()["error"]
        assert await rows(db, "bitrix24") == []

    @pytest.mark.parametrize("body", [event(deal="abc"), event(deal=""), "event=ONCRMDEALUPDATE&auth[application_token]=app-token-1",
                                      "\x00\xff not a form"])
    async def test_malformed_posts_are_refused_not_crashed_on(self, client, db, body):
        refused = await client.post(f"{API}/bitrix24/events", content=body.encode("latin-1"), headers=FORM)
        assert refused.status_code in (400, 401)
        assert await rows(db, "bitrix24") == []

    async def test_events_viza_does_not_act_on_are_acknowledged(self, client, db):
        other = await client.post(f"{API}/bitrix24/events", content=event(name="ONCRMLEADADD"), headers=FORM)
        assert other.status_code == 200 and other.json()["accepted"] is False


class TestClosingConfirmation:
    async def test_an_accountant_confirms_and_the_deal_field_is_queued(self, client, db):
        accountant = await employee_headers(db, await add_employee(db, "Бухгалтер", roles=["accountant"]), "accountant")
        done = await client.put(f"{API}/bitrix24/deals/42/closing", headers=accountant, json={"confirmed": True})
        assert done.status_code == 200 and done.json()["closing_confirmed_at"] is not None
        (row,) = await rows(db, "bitrix24", kind="deal_closing")
        assert row.payload == {"kind": "deal_closing", "deal_id": "42", "confirmed": True}

    async def test_the_contract_approval_is_read_back_with_the_deal(self, client, db):
        accountant = await employee_headers(db, await add_employee(db, "Бухгалтер", roles=["accountant"]), "accountant")
        before = (await client.get(f"{API}/bitrix24/deals/42", headers=accountant)).json()
        assert before["contract_approved_at"] is None and before["closing_confirmed_at"] is None
        done = await client.put(f"{API}/bitrix24/deals/42/contract", headers=accountant, json={})
        assert done.status_code == 200 and done.json()["contract_approved_at"] is not None
        withdrawn = await client.put(f"{API}/bitrix24/deals/42/contract", headers=accountant, json={"confirmed": False})
        assert withdrawn.json()["contract_approved_at"] is None
        unknown = await client.put(f"{API}/bitrix24/deals/42/invoice", headers=accountant, json={})
        assert unknown.status_code == 422 and errors_of(unknown) == {("deal.unknown_confirmation", "what")}

    async def test_a_manager_may_not(self, client, db):
        manager = await employee_headers(db, await add_employee(db, "Менеджер", roles=["manager"]))
        refused = await client.put(f"{API}/bitrix24/deals/42/closing", headers=manager, json={"confirmed": True})
        assert refused.status_code == 403 and errors_of(refused) == {("deal.closing_accountants_only", None)}
        refused = await client.put(f"{API}/bitrix24/deals/42/contract", headers=manager, json={"confirmed": True})
        assert refused.status_code == 403 and errors_of(refused) == {("deal.contract_accountants_only", None)}

    async def test_a_deal_id_must_be_a_number(self, client, db):
        refused = await client.put(f"{API}/bitrix24/deals/4x2/closing", headers=await admin_headers(db), json={})
        assert refused.status_code == 422 and errors_of(refused) == {("deal.bad_id", "deal_id")}


class TestAdmins:
    async def test_status_and_full_sync(self, client, db):
        admin = await admin_headers(db)
        status = (await client.get(API, headers=admin)).json()
        assert status["bitrix24"]["configured"] is True and status["onec"]["configured"] is False
        unknown = await client.post(f"{API}/sap/full-sync", headers=admin)
        assert unknown.status_code == 422 and errors_of(unknown) == {("integrations.unknown_system", "system")}
        queued = await client.post(f"{API}/bitrix24/full-sync", headers=admin)
        assert queued.status_code == 200 and queued.json() == {"counterparties": 0, "requests": 0}

    async def test_only_admins_see_them(self, client, db):
        manager = await employee_headers(db, await add_employee(db, "Менеджер", roles=["manager"]))
        assert (await client.get(API, headers=manager)).status_code == 403
