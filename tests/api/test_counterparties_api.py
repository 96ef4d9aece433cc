"""Counterparties through the API: once per INN + KPP, autofill by INN, who may correct them."""

from __future__ import annotations

import pytest

from backend.errors import Conflict
from backend.models import Counterparty
from backend.services.company import flush_unique
from tests.api.helpers import (
    SBER_BIK, SBER_CORR, account, add_employee, admin_headers, bad_inn10, employee_headers, errors_of, inn10,
    inn12,
)

URL = "/api/v1/counterparties"


def body(n: int = 1, **overrides):
    data = {"name": f"ООО «Поставщик {n}»", "inn": inn10(500 + n), "kpp": "770201001", "bank_name": "Сбербанк",
            "bik": SBER_BIK, "account": account(n), "corr_account": SBER_CORR}
    data.update(overrides)
    return data


@pytest.fixture
async def manager(db):
    return await employee_headers(db, await add_employee(db, "Менеджер"))


class TestCreate:
    async def test_any_employee_creates(self, client, manager):
        response = await client.post(URL, json=body(inn=inn10(501)[:4] + " " + inn10(501)[4:], kpp="7702аb001"),
                                     headers=manager)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["inn"] == inn10(501)
        assert created["kpp"] == "7702AB001"  # Cyrillic twins of Latin letters are fixed
        assert created["complete"] is True
        assert (await client.get(f"{URL}/{created['id']}", headers=manager)).json() == created

    async def test_without_bank_details_is_incomplete(self, client, manager):
        response = await client.post(URL, json={"name": "ИП Петров", "inn": inn12(7)}, headers=manager)
        assert response.status_code == 201, response.text
        assert response.json()["complete"] is False
        assert response.json()["kpp"] == ""

    async def test_same_inn_and_kpp_twice_names_the_existing_one(self, client, manager):
        first = (await client.post(URL, json=body(1), headers=manager)).json()
        again = await client.post(URL, json=body(1, name="Поставщик (дубль)", account=account(2)), headers=manager)
        assert again.status_code == 409
        error = again.json()
        assert (error["code"], error["field"]) == ("counterparty.duplicate", "inn")
        assert error["params"]["id"] == first["id"]
        other_branch = await client.post(URL, json=body(1, kpp="770245001"), headers=manager)
        assert other_branch.status_code == 201

    async def test_sole_trader_without_kpp_is_unique_too(self, client, manager):
        data = {"name": "ИП Петров", "inn": inn12(8)}
        assert (await client.post(URL, json=data, headers=manager)).status_code == 201
        assert (await client.post(URL, json=data, headers=manager)).status_code == 409

    async def test_bad_requisites_are_all_named(self, client, manager):
        good = account(1)
        response = await client.post(URL, headers=manager, json=body(
            inn=bad_inn10(1), kpp="77", account=good[:-1] + str((int(good[-1]) + 1) % 10), name=" "))
        assert response.status_code == 422
        assert errors_of(response) == {("inn.checksum", "inn"), ("kpp.format", "kpp"),
                                       ("account.checksum", "account"), ("field.required", "name")}

    async def test_bank_details_all_or_nothing(self, client, manager):
        response = await client.post(URL, json={"name": "ООО", "inn": inn10(3), "bik": SBER_BIK}, headers=manager)
        assert errors_of(response) == {("account.required", "account")}

    async def test_without_token_401(self, client):
        assert (await client.post(URL, json=body())).status_code == 401


class TestLookupAndSearch:
    async def test_lookup_by_inn_most_recently_updated_first(self, client, db, manager):
        admin = await admin_headers(db)
        head_office = (await client.post(URL, json=body(1), headers=manager)).json()
        branch = (await client.post(URL, json=body(1, kpp="770245001", account=account(2)), headers=manager)).json()
        await client.post(URL, json=body(2), headers=manager)  # another INN
        patched = await client.patch(f"{URL}/{head_office['id']}", json={"bank_name": "ПАО Сбербанк"}, headers=admin)
        assert patched.status_code == 200, patched.text
        found = await client.get(f"{URL}/lookup", params={"inn": " " + inn10(501)}, headers=manager)
        assert found.status_code == 200
        assert [c["id"] for c in found.json()] == [head_office["id"], branch["id"]]
        assert found.json()[0]["account"] == account(1)
        unknown = await client.get(f"{URL}/lookup", params={"inn": inn10(999)}, headers=manager)
        assert unknown.json() == []

    async def test_lookup_with_an_invalid_inn_names_it(self, client, manager):
        response = await client.get(f"{URL}/lookup", params={"inn": bad_inn10(5)}, headers=manager)
        assert response.status_code == 422
        assert (response.json()["code"], response.json()["field"]) == ("inn.checksum", "inn")
        missing = await client.get(f"{URL}/lookup", headers=manager)
        assert missing.status_code == 422
        assert ("field.required", "inn") in errors_of(missing)

    async def test_search_by_name_any_case_or_inn_prefix(self, client, manager):
        await client.post(URL, json=body(1, name="ООО «Ромашка»"), headers=manager)
        await client.post(URL, json=body(2, name="АО Василёк"), headers=manager)
        by_name = await client.get(URL, params={"q": "ромашка"}, headers=manager)
        assert [c["name"] for c in by_name.json()] == ["ООО «Ромашка»"]
        upper = await client.get(URL, params={"q": "ВАСИЛЁК"}, headers=manager)
        assert [c["name"] for c in upper.json()] == ["АО Василёк"]
        by_inn = await client.get(URL, params={"q": inn10(502)[:6]}, headers=manager)
        assert "АО Василёк" in [c["name"] for c in by_inn.json()]
        everything = await client.get(URL, headers=manager)
        assert len(everything.json()) == 2
        wildcard = await client.get(URL, params={"q": "%"}, headers=manager)
        assert wildcard.json() == []


class TestUpdate:
    async def test_only_admins_and_accountants_correct(self, client, db, manager):
        created = (await client.post(URL, json=body(1), headers=manager)).json()
        refused = await client.patch(f"{URL}/{created['id']}", json={"name": "Другое"}, headers=manager)
        assert refused.status_code == 403
        assert refused.json()["code"] == "counterparty.edit_forbidden"
        accountant = await employee_headers(db, await add_employee(db, "Бухгалтер", roles=["accountant"]))
        response = await client.patch(f"{URL}/{created['id']}", json={"name": "ООО «Поставщик-1»", "kpp": None},
                                      headers=accountant)
        assert response.status_code == 200, response.text
        assert response.json()["name"] == "ООО «Поставщик-1»"
        assert response.json()["kpp"] == ""
        assert response.json()["account"] == account(1)

    async def test_change_into_a_duplicate_is_a_conflict(self, client, db, manager):
        admin = await admin_headers(db)
        first = (await client.post(URL, json=body(1), headers=manager)).json()
        second = (await client.post(URL, json=body(2), headers=manager)).json()
        response = await client.patch(f"{URL}/{second['id']}", json={"inn": first["inn"]}, headers=admin)
        assert response.status_code == 409
        assert response.json()["params"]["id"] == first["id"]
        bad = await client.patch(f"{URL}/{second['id']}", json={"account": "123"}, headers=admin)
        assert errors_of(bad) == {("account.format", "account")}
        assert (await client.patch(f"{URL}/999", json={"name": "X"}, headers=admin)).status_code == 404
        assert (await client.get(f"{URL}/999", headers=admin)).json()["code"] == "counterparty.not_found"


async def test_a_race_to_create_the_same_counterparty_is_a_conflict(db):
    """Two creates that both passed the check: the unique key answers, as Conflict."""
    async with db.session() as session:
        session.add(Counterparty(name="A", inn=inn10(1), kpp=""))
        await session.flush()
        session.add(Counterparty(name="B", inn=inn10(1), kpp=""))
        with pytest.raises(Conflict) as caught:
            await flush_unique(session)
        assert (caught.value.code, caught.value.field) == ("counterparty.duplicate", "inn")
        await session.rollback()
