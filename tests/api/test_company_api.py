"""The company model through the API: what an admin and an employee see."""

from __future__ import annotations

from datetime import timedelta



from tests.api.helpers import (
    SBER_BIK, SBER_CORR, account, add_employee, admin_headers, bad_inn10, employee_headers, errors_of, inn10,
    inn12, moscow_today,
)

API = "/api/v1"


def entity_body(n: int = 1, **overrides):
    body = {"name": f"ООО «Ромашка {n}»", "short_code": f"рм{n}", "inn": inn10(n), "kpp": "770101001",
            "tax_regime": "osn",
            "bank_accounts": [{"bank_name": "ПАО Сбербанк", "bik": SBER_BIK, "account": account(n),
                               "corr_account": SBER_CORR}]}
    body.update(overrides)
    return body


class TestAccess:
    async def test_without_a_token_401(self, client):
        response = await client.get(f"{API}/legal-entities")
        assert response.status_code == 401
        assert response.json()["code"] == "auth.missing"
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_wrong_token_401(self, client):
        response = await client.get(f"{API}/departments", headers={"Authorization": "Bearer viza_nope"})
        assert response.status_code == 401

    async def test_employee_reads_but_cannot_create(self, client, db):
        me = await employee_headers(db, await add_employee(db))
        assert (await client.get(f"{API}/legal-entities", headers=me)).status_code == 200
        assert (await client.get(f"{API}/expense-items", headers=me)).status_code == 200
        for path, body in (("legal-entities", entity_body()), ("departments", {"name": "Отдел"}),
                           ("employees", {"full_name": "Кто-то"}), ("expense-items", {"code": "x", "name": "X"}),
                           ("budgets", {"department_id": 1, "month": "2026-03", "amount": "1"})):
            response = await client.post(f"{API}/{path}", json=body, headers=me)
            assert response.status_code == 403, path
            assert response.json()["code"] == "forbidden.admin_only"


class TestLegalEntities:
    async def test_create_normalises_and_lists(self, client, db):
        admin = await admin_headers(db)
        response = await client.post(f"{API}/legal-entities", json=entity_body(
            inn=" " + inn10(1)[:5] + " " + inn10(1)[5:], usn_income_limit="265 800 000"), headers=admin)
        assert response.status_code == 201, response.text
        entity = response.json()
        assert entity["short_code"] == "РМ1"
        assert entity["inn"] == inn10(1)
        assert entity["usn_income_limit"] == "265800000.00"
        assert entity["bank_accounts"][0]["is_default"] is True
        assert entity["bank_accounts"][0]["account"] == account(1)

        me = await employee_headers(db, await add_employee(db))
        listed = (await client.get(f"{API}/legal-entities", headers=me)).json()
        assert [e["id"] for e in listed] == [entity["id"]]
        one = await client.get(f"{API}/legal-entities/{entity['id']}", headers=me)
        assert one.json()["name"] == "ООО «Ромашка 1»"

    async def test_bad_inn_checksum_names_the_field(self, client, db):
        response = await client.post(f"{API}/legal-entities", json=entity_body(inn=bad_inn10(1)),
                                     headers=await admin_headers(db))
        assert response.status_code == 422
        body = response.json()
        assert (body["code"], body["field"]) == ("inn.checksum", "inn")
        assert "ИНН" in body["message"]

    async def test_every_bad_field_at_once(self, client, db):
        body = entity_body(inn="12345", tax_regime="usn", short_code="A-1", name="",
                           bank_accounts=[{"bik": SBER_BIK, "account": account(1)[:-1] + str((int(account(1)[-1]) + 1) % 10)}])
        response = await client.post(f"{API}/legal-entities", json=body, headers=await admin_headers(db))
        assert response.status_code == 422
        assert response.json()["code"] == "validation_failed"
        found = errors_of(response)
        assert {("inn.length", "inn"), ("legal_entity.tax_regime", "tax_regime"),
                ("legal_entity.short_code_format", "short_code"), ("field.required", "name")} <= found
        assert any(field == "bank_accounts.0.account" for _, field in found)

    async def test_missing_required_fields(self, client, db):
        response = await client.post(f"{API}/legal-entities", json={"name": "ООО"}, headers=await admin_headers(db))
        assert response.status_code == 422
        assert errors_of(response) == {("field.required", "short_code"), ("field.required", "inn")}

    async def test_sole_trader_has_no_kpp(self, client, db):
        response = await client.post(f"{API}/legal-entities", json=entity_body(inn=inn12(3), kpp="770101001"),
                                     headers=await admin_headers(db))
        assert errors_of(response) == {("kpp.not_for_sole_trader", "kpp")}

    async def test_duplicates_are_conflicts(self, client, db):
        admin = await admin_headers(db)
        first = (await client.post(f"{API}/legal-entities", json=entity_body(1), headers=admin)).json()
        same_inn = await client.post(f"{API}/legal-entities", json=entity_body(2, inn=inn10(1)), headers=admin)
        assert same_inn.status_code == 409
        assert (same_inn.json()["code"], same_inn.json()["field"]) == ("legal_entity.inn_taken", "inn")
        assert same_inn.json()["params"]["id"] == first["id"]
        same_code = await client.post(f"{API}/legal-entities", json=entity_body(2, short_code="РМ1"), headers=admin)
        assert same_code.status_code == 409
        assert same_code.json()["field"] == "short_code"

    async def test_patch_replaces_bank_accounts_keeping_known_ones(self, client, db):
        admin = await admin_headers(db)
        entity = (await client.post(f"{API}/legal-entities", json=entity_body(1), headers=admin)).json()
        kept_id = entity["bank_accounts"][0]["id"]
        response = await client.patch(f"{API}/legal-entities/{entity['id']}", headers=admin, json={
            "name": "ООО «Ромашка-Плюс»",
            "bank_accounts": [
                {"bik": SBER_BIK, "account": account(9), "is_default": True},
                {"bik": SBER_BIK, "account": account(1), "bank_name": "Сбер"},
            ]})
        assert response.status_code == 200, response.text
        patched = response.json()
        assert patched["name"] == "ООО «Ромашка-Плюс»"
        assert patched["short_code"] == "РМ1"  # untouched
        by_account = {a["account"]: a for a in patched["bank_accounts"]}
        assert by_account[account(1)]["id"] == kept_id
        assert by_account[account(1)]["bank_name"] == "Сбер"
        assert by_account[account(9)]["is_default"] is True
        assert by_account[account(1)]["is_default"] is False

        two_defaults = await client.patch(f"{API}/legal-entities/{entity['id']}", headers=admin, json={
            "bank_accounts": [{"bik": SBER_BIK, "account": account(1), "is_default": True},
                              {"bik": SBER_BIK, "account": account(2), "is_default": True}]})
        assert errors_of(two_defaults) == {("bank_account.several_defaults", "bank_accounts")}

    async def test_unknown_id_404(self, client, db):
        admin = await admin_headers(db)
        assert (await client.get(f"{API}/legal-entities/999", headers=admin)).json()["code"] == "legal_entity.not_found"
        response = await client.patch(f"{API}/legal-entities/999", json={"name": "X"}, headers=admin)
        assert response.status_code == 404

    async def test_unknown_field_rejected(self, client, db):
        response = await client.post(f"{API}/legal-entities", json=entity_body(okpo="1"),
                                     headers=await admin_headers(db))
        assert response.status_code == 422
        assert ("field.unknown", "okpo") in errors_of(response)


class TestDepartments:
    async def _make(self, client, admin, name, parent_id=None, **extra):
        response = await client.post(f"{API}/departments", json={"name": name, "parent_id": parent_id, **extra},
                                     headers=admin)
        assert response.status_code == 201, response.text
        return response.json()

    async def test_paths_on_create_and_move_of_a_subtree(self, client, db):
        admin = await admin_headers(db)
        top = await self._make(client, admin, "Дирекция", code="management")
        sales = await self._make(client, admin, "Продажи", top["id"])
        north = await self._make(client, admin, "Север", sales["id"])
        team = await self._make(client, admin, "Группа 1", north["id"])
        other = await self._make(client, admin, "Развитие")
        assert top["path"] == f"/{top['id']}/"
        assert team["path"] == f"/{top['id']}/{sales['id']}/{north['id']}/{team['id']}/"
        assert other["path"] == f"/{other['id']}/"

        moved = await client.patch(f"{API}/departments/{sales['id']}", json={"parent_id": other["id"]},
                                   headers=admin)
        assert moved.status_code == 200, moved.text
        assert moved.json()["path"] == f"/{other['id']}/{sales['id']}/"
        paths = {d["id"]: d["path"] for d in (await client.get(f"{API}/departments", headers=admin)).json()}
        assert paths[north["id"]] == f"/{other['id']}/{sales['id']}/{north['id']}/"
        assert paths[team["id"]] == f"/{other['id']}/{sales['id']}/{north['id']}/{team['id']}/"
        assert paths[top["id"]] == f"/{top['id']}/"

        to_top = await client.patch(f"{API}/departments/{north['id']}", json={"parent_id": None}, headers=admin)
        assert to_top.json()["path"] == f"/{north['id']}/"
        team_now = (await client.get(f"{API}/departments/{team['id']}", headers=admin)).json()
        assert team_now["path"] == f"/{north['id']}/{team['id']}/"

    async def test_a_move_into_its_own_subtree_is_refused(self, client, db):
        admin = await admin_headers(db)
        top = await self._make(client, admin, "Дирекция")
        child = await self._make(client, admin, "Продажи", top["id"])
        grandchild = await self._make(client, admin, "Север", child["id"])
        for target in (grandchild["id"], top["id"]):
            response = await client.patch(f"{API}/departments/{top['id']}", json={"parent_id": target},
                                          headers=admin)
            assert response.status_code == 422
            assert (response.json()["code"], response.json()["field"]) == ("department.cycle", "parent_id")
        assert (await client.get(f"{API}/departments/{top['id']}", headers=admin)).json()["parent_id"] is None

    async def test_tree_nests_children(self, client, db):
        admin = await admin_headers(db)
        top = await self._make(client, admin, "Дирекция")
        await self._make(client, admin, "Продажи", top["id"])
        await self._make(client, admin, "Бухгалтерия", top["id"])
        me = await employee_headers(db, await add_employee(db))
        tree = (await client.get(f"{API}/departments/tree", headers=me)).json()
        assert [n["name"] for n in tree] == ["Дирекция"]
        assert [c["name"] for c in tree[0]["children"]] == ["Бухгалтерия", "Продажи"]
        assert tree[0]["children"][0]["children"] == []

    async def test_head_must_be_an_active_employee(self, client, db):
        admin = await admin_headers(db)
        gone = await add_employee(db, "Уволен У.У.", active=False)
        response = await client.post(f"{API}/departments", headers=admin,
                                     json={"name": "Продажи", "head_id": 999, "deputy_id": gone})
        assert errors_of(response) == {("reference.unknown", "head_id"), ("employee.inactive", "deputy_id")}
        head = await add_employee(db, "Петров П.П.")
        ok = await self._make(client, admin, "Продажи", head_id=head)
        assert ok["head_id"] == head

    async def test_unknown_parent_and_duplicate_code(self, client, db):
        admin = await admin_headers(db)
        response = await client.post(f"{API}/departments", json={"name": "X", "parent_id": 999}, headers=admin)
        assert errors_of(response) == {("reference.unknown", "parent_id")}
        await self._make(client, admin, "Продажи", code="sales")
        clash = await client.post(f"{API}/departments", json={"name": "Ещё", "code": "sales"}, headers=admin)
        assert clash.status_code == 409
        assert (clash.json()["code"], clash.json()["field"]) == ("department.code_taken", "code")
        assert (await client.get(f"{API}/departments/999", headers=admin)).status_code == 404


class TestEmployees:
    async def test_create_read_and_privacy(self, client, db):
        admin = await admin_headers(db)
        response = await client.post(f"{API}/employees", headers=admin, json={
            "full_name": "Сидорова Анна", "roles": ["approver", "CFO"], "email": "anna@example.ru",
            "timezone": "Asia/Yekaterinburg", "language": "en", "position": "Финансовый директор"})
        assert response.status_code == 201, response.text
        anna = response.json()
        assert anna["roles"] == ["approver", "cfo"]
        assert anna["email"] == "anna@example.ru"
        assert anna["active"] is True
        me = await employee_headers(db, await add_employee(db))
        seen = (await client.get(f"{API}/employees/{anna['id']}", headers=me)).json()
        assert seen["full_name"] == "Сидорова Анна"
        assert "email" not in seen

    async def test_unknown_role_bad_timezone_and_language(self, client, db):
        response = await client.post(f"{API}/employees", headers=await admin_headers(db), json={
            "full_name": "Кто-то", "roles": ["manager", "boss"], "timezone": "Moscow", "language": "de",
            "email": "not-an-email"})
        assert response.status_code == 422
        assert errors_of(response) == {("employee.role_unknown", "roles"), ("employee.timezone", "timezone"),
                                       ("employee.language", "language"), ("employee.email", "email")}
        single = await client.post(f"{API}/employees", headers=await admin_headers(db),
                                   json={"full_name": "Кто-то", "roles": ["boss"]})
        assert (single.json()["code"], single.json()["field"]) == ("employee.role_unknown", "roles")
        assert single.json()["params"]["roles"] == "boss"

    async def test_manager_chain_cycle_is_refused(self, client, db):
        admin = await admin_headers(db)
        a = await add_employee(db, "А")
        b = await add_employee(db, "Б", manager_id=a)
        c = await add_employee(db, "В", manager_id=b)
        response = await client.patch(f"{API}/employees/{a}", json={"manager_id": c}, headers=admin)
        assert response.status_code == 422
        assert (response.json()["code"], response.json()["field"]) == ("employee.manager_cycle", "manager_id")
        itself = await client.patch(f"{API}/employees/{a}", json={"manager_id": a}, headers=admin)
        assert itself.json()["code"] == "employee.manager_cycle"
        fine = await client.patch(f"{API}/employees/{c}", json={"manager_id": a}, headers=admin)
        assert fine.json()["manager_id"] == a

    async def test_deactivate_instead_of_delete(self, client, db):
        admin = await admin_headers(db)
        worker = await add_employee(db, "Уходящий")
        response = await client.delete(f"{API}/employees/{worker}", headers=admin)
        assert response.status_code == 200
        assert response.json()["active"] is False
        listed = (await client.get(f"{API}/employees", headers=admin)).json()
        assert worker not in [e["id"] for e in listed]
        everyone = (await client.get(f"{API}/employees?include_inactive=true", headers=admin)).json()
        assert worker in [e["id"] for e in everyone]
        # Their token stops working with them.
        assert (await client.get(f"{API}/employees", headers=await employee_headers(db, worker))).status_code == 401

    async def test_search_by_name_any_case(self, client, db):
        admin = await admin_headers(db)
        await add_employee(db, "Петров Пётр")
        await add_employee(db, "Иванова Ольга")
        found = (await client.get(f"{API}/employees", params={"q": "петров"}, headers=admin)).json()
        assert [e["full_name"] for e in found] == ["Петров Пётр"]

    async def test_patch_cannot_clear_required_fields(self, client, db):
        admin = await admin_headers(db)
        worker = await add_employee(db, "Работник")
        response = await client.patch(f"{API}/employees/{worker}", json={"full_name": None, "roles": None},
                                      headers=admin)
        assert errors_of(response) == {("field.required", "full_name"), ("field.required", "roles")}
        assert (await client.patch(f"{API}/employees/999", json={}, headers=admin)).status_code == 404


class TestExpenseItems:
    async def test_create_duplicate_and_deactivate(self, client, db):
        admin = await admin_headers(db)
        item = (await client.post(f"{API}/expense-items", json={"code": "office", "name": "Канцтовары"},
                                  headers=admin)).json()
        clash = await client.post(f"{API}/expense-items", json={"code": "office", "name": "Другое"}, headers=admin)
        assert clash.status_code == 409
        assert (clash.json()["code"], clash.json()["field"]) == ("expense_item.code_taken", "code")
        off = await client.patch(f"{API}/expense-items/{item['id']}", json={"active": False}, headers=admin)
        assert off.json() == {"id": item["id"], "code": "office", "name": "Канцтовары", "active": False}
        assert (await client.get(f"{API}/expense-items", headers=admin)).json() == []
        assert (await client.get(f"{API}/expense-items/999", headers=admin)).status_code == 404


class TestBudgets:
    async def _department(self, client, admin):
        return (await client.post(f"{API}/departments", json={"name": "Продажи"}, headers=admin)).json()["id"]

    async def test_month_is_stored_as_its_first_day(self, client, db):
        admin = await admin_headers(db)
        department = await self._department(client, admin)
        item = (await client.post(f"{API}/expense-items", json={"code": "ads", "name": "Реклама"},
                                  headers=admin)).json()["id"]
        response = await client.post(f"{API}/budgets", headers=admin, json={
            "department_id": department, "month": "2026-03", "amount": "1 500 000,50", "on_exceed": "block"})
        assert response.status_code == 201, response.text
        budget = response.json()
        assert budget["month"] == "2026-03-01"
        assert budget["amount"] == "1500000.50"
        assert budget["amount_minor"] == 150000050
        assert budget["currency"] == "RUB"
        assert budget["expense_item_id"] is None
        for month in ("2026-04-17", "17.05.2026", "06.2026"):
            other = await client.post(f"{API}/budgets", headers=admin, json={
                "department_id": department, "expense_item_id": item, "month": month, "amount": "100"})
            assert other.status_code == 201, other.text
            assert other.json()["month"].endswith("-01")
        listed = (await client.get(f"{API}/budgets", params={"month": "2026-04"}, headers=admin)).json()
        assert [b["month"] for b in listed] == ["2026-04-01"]
        assert listed[0]["expense_item_id"] == item

    async def test_same_department_item_month_and_currency_is_a_conflict(self, client, db):
        admin = await admin_headers(db)
        department = await self._department(client, admin)
        body = {"department_id": department, "month": "2026-03-01", "amount": "100"}
        first = (await client.post(f"{API}/budgets", json=body, headers=admin)).json()
        clash = await client.post(f"{API}/budgets", json={**body, "month": "2026-03-20"}, headers=admin)
        assert clash.status_code == 409
        assert (clash.json()["code"], clash.json()["field"]) == ("budget.duplicate", "month")
        assert clash.json()["params"]["id"] == first["id"]
        in_dollars = await client.post(f"{API}/budgets", json={**body, "currency": "usd"}, headers=admin)
        assert in_dollars.status_code == 201
        moved = await client.patch(f"{API}/budgets/{in_dollars.json()['id']}", json={"currency": "RUB"},
                                   headers=admin)
        assert moved.status_code == 409

    async def test_bad_values_are_named(self, client, db):
        admin = await admin_headers(db)
        response = await client.post(f"{API}/budgets", headers=admin, json={
            "department_id": 999, "month": "2026-13", "amount": "-5", "currency": "XXX", "on_exceed": "warn"})
        assert errors_of(response) == {
            ("reference.unknown", "department_id"), ("budget.month_format", "month"),
            ("amount.positive", "amount"), ("currency.unknown", "currency"), ("budget.on_exceed", "on_exceed")}

    async def test_only_money_people_read_budgets(self, client, db):
        me = await employee_headers(db, await add_employee(db))
        response = await client.get(f"{API}/budgets", headers=me)
        assert response.status_code == 403
        cfo = await employee_headers(db, await add_employee(db, "Финансов", roles=["cfo"]))
        assert (await client.get(f"{API}/budgets", headers=cfo)).status_code == 200


class TestDelegations:
    async def test_employee_delegates_and_cancels_own(self, client, db):
        boss = await add_employee(db, "Начальник", roles=["approver"])
        deputy = await add_employee(db, "Заместитель", roles=["approver"])
        me = await employee_headers(db, boss)
        today = moscow_today()
        response = await client.post(f"{API}/delegations", headers=me, json={
            "deputy_id": deputy, "starts_on": str(today), "ends_on": str(today + timedelta(days=14))})
        assert response.status_code == 201, response.text
        delegation = response.json()
        assert delegation["employee_id"] == boss
        assert delegation["cancelled_at"] is None
        # The deputy sees it too.
        seen = await client.get(f"{API}/delegations", headers=await employee_headers(db, deputy))
        assert [d["id"] for d in seen.json()] == [delegation["id"]]

        overlap = await client.post(f"{API}/delegations", headers=me, json={
            "deputy_id": deputy, "starts_on": str(today + timedelta(days=3)),
            "ends_on": str(today + timedelta(days=20))})
        assert overlap.status_code == 409
        assert overlap.json()["code"] == "delegation.overlap"

        cancelled = await client.post(f"{API}/delegations/{delegation['id']}/cancel", headers=me)
        assert cancelled.status_code == 200
        assert cancelled.json()["cancelled"] is True
        again = await client.post(f"{API}/delegations/{delegation['id']}/cancel", headers=me)
        assert again.json()["cancelled_at"] == cancelled.json()["cancelled_at"]
        assert (await client.get(f"{API}/delegations", headers=me)).json() == []

    async def test_not_for_someone_else(self, client, db):
        boss = await add_employee(db, "Начальник")
        other = await add_employee(db, "Другой")
        deputy = await add_employee(db, "Заместитель")
        today = str(moscow_today())
        response = await client.post(f"{API}/delegations", headers=await employee_headers(db, other), json={
            "employee_id": boss, "deputy_id": deputy, "starts_on": today, "ends_on": today})
        assert response.status_code == 403
        assert response.json()["field"] == "employee_id"
        by_admin = await client.post(f"{API}/delegations", headers=await admin_headers(db), json={
            "employee_id": boss, "deputy_id": deputy, "starts_on": today, "ends_on": today})
        assert by_admin.status_code == 201
        hidden = await client.get(f"{API}/delegations/{by_admin.json()['id']}",
                                  headers=await employee_headers(db, other))
        assert hidden.status_code == 404
        cancel = await client.post(f"{API}/delegations/{by_admin.json()['id']}/cancel",
                                   headers=await employee_headers(db, other))
        assert cancel.status_code == 404

    async def test_bad_dates_and_deputies(self, client, db):
        boss = await add_employee(db, "Начальник")
        gone = await add_employee(db, "Уволен", active=False)
        me = await employee_headers(db, boss)
        today = moscow_today()
        backwards = await client.post(f"{API}/delegations", headers=me, json={
            "deputy_id": boss, "starts_on": str(today + timedelta(days=5)), "ends_on": str(today)})
        assert errors_of(backwards) == {("delegation.self", "deputy_id"), ("delegation.dates", "ends_on")}
        inactive = await client.post(f"{API}/delegations", headers=me, json={
            "deputy_id": gone, "starts_on": str(today), "ends_on": str(today)})
        assert errors_of(inactive) == {("employee.inactive", "deputy_id")}
        past = await client.post(f"{API}/delegations", headers=me, json={
            "deputy_id": await add_employee(db, "Зам"), "starts_on": str(today - timedelta(days=9)),
            "ends_on": str(today - timedelta(days=2))})
        assert errors_of(past) == {("delegation.past", "ends_on")}
        missing = await client.post(f"{API}/delegations", headers=me, json={"deputy_id": gone})
        assert errors_of(missing) == {("field.required", "starts_on"), ("field.required", "ends_on")}

    async def test_deactivating_the_deputy_cancels_the_delegation(self, client, db):
        boss = await add_employee(db, "Начальник")
        deputy = await add_employee(db, "Заместитель")
        today = moscow_today()
        created = (await client.post(f"{API}/delegations", headers=await employee_headers(db, boss), json={
            "deputy_id": deputy, "starts_on": str(today), "ends_on": str(today)})).json()
        admin = await admin_headers(db)
        await client.delete(f"{API}/employees/{deputy}", headers=admin)
        after = (await client.get(f"{API}/delegations/{created['id']}", headers=admin)).json()
        assert after["cancelled"] is True

    async def test_patch_dates(self, client, db):
        boss = await add_employee(db, "Начальник")
        deputy = await add_employee(db, "Заместитель")
        me = await employee_headers(db, boss)
        today = moscow_today()
        created = (await client.post(f"{API}/delegations", headers=me, json={
            "deputy_id": deputy, "starts_on": str(today), "ends_on": str(today)})).json()
        longer = await client.patch(f"{API}/delegations/{created['id']}", headers=me,
                                    json={"ends_on": str(today + timedelta(days=7))})
        assert longer.status_code == 200, longer.text
        assert longer.json()["ends_on"] == str(today + timedelta(days=7))
