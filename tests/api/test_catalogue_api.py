"""The catalogue through the API: the picker's search (any employee), the refresh from 1C (admins),
and a 1C that is not configured, down, or refusing — always a clear answer, never a 500."""

from __future__ import annotations

import httpx
import pytest

from backend.api.app import create_app
from backend.models import LegalEntity
from backend.settings import Settings
from tests.api.helpers import add_employee, admin_headers, employee_headers, errors_of
from tests.emulators.onec import OneCEmulator
from tests.integrations.test_onec_catalogue import seed_catalogue

API = "/api/v1/catalogue"


@pytest.fixture
async def onec():
    async with OneCEmulator(username="odata", password="s3cret", base="accounting") as emu:
        seed_catalogue(emu)
        yield emu


def app_client(db, tmp_path, **settings) -> httpx.AsyncClient:
    app = create_app(settings=Settings(data_dir=tmp_path / "data", load_default_routes=False, **settings), db=db)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://viza.test")


@pytest.fixture
async def client(db, onec, tmp_path):
    async with app_client(db, tmp_path, onec_odata_url=onec.odata_url, onec_user="odata",
                          onec_password="s3cret") as http:
        yield http


@pytest.fixture
async def admin(db):
    return await admin_headers(db)


@pytest.fixture
async def manager(db):
    return await employee_headers(db, await add_employee(db, "Продажкин П.П."))


class TestRefresh:
    async def test_an_admin_refreshes_and_a_second_refresh_adds_nothing(self, client, admin, onec):
        first = await client.post(f"{API}/refresh", headers=admin)
        assert first.status_code == 200, first.text
        assert first.json() == {"added": 6, "updated": 0, "deleted": 0, "total": 6}
        again = await client.post(f"{API}/refresh", headers=admin)
        assert again.json() == {"added": 0, "updated": 0, "deleted": 0, "total": 6}

    async def test_an_employee_may_not_refresh(self, client, manager, onec):
        refused = await client.post(f"{API}/refresh", headers=manager)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden.admin_only"
        assert (await client.post(f"{API}/refresh")).status_code == 401

    async def test_a_1c_that_does_not_answer_is_said_so(self, client, admin, onec):
        onec.down = True
        down = await client.post(f"{API}/refresh", headers=admin | {"Accept-Language": "en"})
        assert down.status_code == 503
        body = down.json()
        assert body["code"] == "catalogue.onec_unavailable" and body["params"]["reason"]

    async def test_a_1c_that_refuses_gives_its_reason(self, db, onec, admin, tmp_path):
        async with app_client(db, tmp_path, onec_odata_url=onec.odata_url, onec_user="odata",
                              onec_password="wrong") as http:
            refused = await http.post(f"{API}/refresh", headers=admin)
        assert refused.status_code == 502
        body = refused.json()
        assert body["code"] == "catalogue.onec_refused" and body["params"]["http_status"] == 401
        assert "VIZA_ONEC_PASSWORD" in body["params"]["reason"]

    async def test_a_1c_at_a_closed_port_is_unavailable_too(self, db, admin, tmp_path):
        async with OneCEmulator() as emu:
            url = emu.odata_url
        async with app_client(db, tmp_path, onec_odata_url=url, onec_user="odata", onec_password="s3cret") as http:
            gone = await http.post(f"{API}/refresh", headers=admin)
        assert gone.status_code == 503 and gone.json()["code"] == "catalogue.onec_unavailable"

    async def test_without_1c_there_is_nothing_to_refresh(self, db, admin, tmp_path):
        async with app_client(db, tmp_path) as http:
            refused = await http.post(f"{API}/refresh", headers=admin)
        assert refused.status_code == 409 and refused.json()["code"] == "catalogue.onec_not_configured"


class TestSearch:
    async def test_any_employee_searches_the_catalogue(self, client, admin, manager, db):
        assert (await client.post(f"{API}/refresh", headers=admin)).status_code == 200
        everything = await client.get(API, headers=manager)
        assert everything.status_code == 200
        assert [i["name"] for i in everything.json()] == [  # not the stapler marked for deletion in 1C
            "Бумага А3", "Бумага А4", "Доставка", "Консультация юриста", "Ручка шариковая", "Сувенир"]
        (a4,) = (await client.get(API, headers=manager, params={"q": "бумага а4"})).json()
        assert {k: a4[k] for k in ("code", "unit", "vat_rate", "group_code", "group_name", "is_service", "article")} == {
            "code": "00-0001", "unit": "упак", "vat_rate": 22, "group_code": "0101", "group_name": "Бумага",
            "is_service": False, "article": "A4-500"}
        services = await client.get(API, headers=manager, params={"group": "02", "services": "true"})
        assert [i["name"] for i in services.json()] == ["Доставка", "Консультация юриста"]
        page = await client.get(API, headers=manager, params={"limit": 2, "offset": 3})
        assert [i["name"] for i in page.json()] == ["Консультация юриста", "Ручка шариковая"]

    async def test_a_legal_entity_sees_its_folders(self, client, admin, manager, db):
        await client.post(f"{API}/refresh", headers=admin)
        async with db.session() as session:
            seller = LegalEntity(name="ООО «Бумага»", short_code="БМ", inn="7700000003", catalogue_groups=["01"])
            session.add(seller)
            await session.commit()
        found = await client.get(API, headers=manager, params={"legal_entity_id": seller.id})
        assert [i["name"] for i in found.json()] == ["Бумага А3", "Бумага А4", "Ручка шариковая"]  # with subfolders
        unknown = await client.get(API, headers=manager, params={"legal_entity_id": 987654})
        assert unknown.status_code == 422 and errors_of(unknown) == {("reference.unknown", "legal_entity_id")}

    async def test_bad_parameters_are_refused(self, client, manager):
        assert (await client.get(API)).status_code == 401
        too_many = await client.get(API, headers=manager, params={"limit": 201})
        assert too_many.status_code == 422 and errors_of(too_many) == {("field.range", "limit")}
        assert (await client.get(API, headers=manager, params={"legal_entity_id": "x"})).status_code == 422
        huge = await client.get(API, headers=manager, params={"legal_entity_id": 10**30})
        assert huge.status_code in (404, 422)

    async def test_before_any_refresh_the_catalogue_is_empty(self, client, manager):
        empty = await client.get(API, headers=manager, params={"q": "бумага"})
        assert empty.status_code == 200 and empty.json() == []
