"""Request types and routes through the API: anyone reads, admins edit."""

from __future__ import annotations

from tests.api.helpers import add_employee, admin_headers, employee_headers, errors_of

URL = "/api/v1/request-types"

SUPPLIER = {
    "code": "supplier", "name_ru": "Оплата поставщику", "name_en": "Supplier payment",
    "stages": [
        {"name": "Руководитель", "approvers": {"kind": "department_head"}},
        {"name": "Финдиректор", "approvers": {"kind": "role", "role": "cfo"}, "sla_hours": 8,
         "conditions": {"amount_gte": 10_000_000}},
    ],
}


async def test_admin_creates_and_anyone_reads(client, db):
    admin = await admin_headers(db)
    response = await client.post(URL, json=SUPPLIER, headers=admin)
    assert response.status_code == 201, response.text
    created = response.json()
    assert [s["position"] for s in created["stages"]] == [1, 2]
    assert created["stages"][1]["conditions"] == {"amount_gte": 10_000_000}
    me = await employee_headers(db, await add_employee(db))
    assert (await client.get(URL, headers=me)).json() == [created]
    assert (await client.get(f"{URL}/{created['id']}", headers=me)).json() == created


async def test_non_admin_cannot_create_or_edit(client, db):
    admin = await admin_headers(db)
    created = (await client.post(URL, json=SUPPLIER, headers=admin)).json()
    me = await employee_headers(db, await add_employee(db))
    for method, path, body in (("POST", URL, {**SUPPLIER, "code": "other"}),
                               ("PATCH", f"{URL}/{created['id']}", {"active": False}),
                               ("PUT", f"{URL}/{created['id']}/route", {"stages": SUPPLIER["stages"]})):
        response = await client.request(method, path, json=body, headers=me)
        assert response.status_code == 403, path
        assert response.json()["code"] == "forbidden.admin_only"
    assert (await client.get(URL)).status_code == 401


async def test_inactive_types_only_for_admins(client, db):
    admin = await admin_headers(db)
    created = (await client.post(URL, json=SUPPLIER, headers=admin)).json()
    patched = await client.patch(f"{URL}/{created['id']}", json={"active": False, "name_en": "Suppliers"},
                                 headers=admin)
    assert patched.status_code == 200
    assert (patched.json()["active"], patched.json()["name_en"]) == (False, "Suppliers")
    assert patched.json()["name_ru"] == "Оплата поставщику"
    me = await employee_headers(db, await add_employee(db))
    assert (await client.get(URL, headers=me)).json() == []
    refused = await client.get(URL, params={"include_inactive": "true"}, headers=me)
    assert refused.status_code == 403
    everything = await client.get(URL, params={"include_inactive": "true"}, headers=admin)
    assert [t["code"] for t in everything.json()] == ["supplier"]
    cleared = await client.patch(f"{URL}/{created['id']}", json={"name_ru": None}, headers=admin)
    assert errors_of(cleared) == {("field.required", "name_ru")}


async def test_bad_input_is_named(client, db):
    admin = await admin_headers(db)
    await client.post(URL, json=SUPPLIER, headers=admin)
    clash = await client.post(URL, json=SUPPLIER, headers=admin)
    assert clash.status_code == 409
    assert (clash.json()["code"], clash.json()["field"]) == ("request_type.code_taken", "code")
    bad = await client.post(URL, headers=admin, json={**SUPPLIER, "code": "rent", "stages": [
        {"name": "Кто-то", "approvers": {"kind": "boss"}},
        {"name": "Люди", "approvers": {"kind": "people", "employee_ids": [999]}, "mode": "most"},
    ]})
    assert bad.status_code == 422
    # Positions count from 0, as in pydantic's own errors for the same body.
    assert errors_of(bad) == {("route.rule_kind", "stages.0.approvers.kind"), ("route.mode", "stages.1.mode"),
                              ("reference.unknown", "stages.1.approvers.employee_ids")}
    unknown = await client.post(URL, headers=admin, json={**SUPPLIER, "code": "tax", "stages": [
        {"name": "Юрист", "approvers": {"kind": "role", "role": "jurist"}},
        {"name": "Склад", "approvers": {"kind": "head_of", "department": "nowhere"}},
    ]})
    assert errors_of(unknown) == {("token.role", "stages.0.approvers.role"),
                                  ("route.unknown_department", "stages.1.approvers.department")}
    shape = await client.post(URL, json={**SUPPLIER, "code": "Bad Code"}, headers=admin)
    assert shape.status_code == 422
    assert ("field.invalid", "code") in errors_of(shape)


async def test_put_route_replaces_the_stages(client, db):
    admin = await admin_headers(db)
    created = (await client.post(URL, json=SUPPLIER, headers=admin)).json()
    director = await add_employee(db, "Директор", roles=["director"])
    response = await client.put(f"{URL}/{created['id']}/route", headers=admin, json={"stages": [
        {"name": "Директор", "approvers": {"kind": "people", "employee_ids": [director]}, "mode": "all"}]})
    assert response.status_code == 200, response.text
    assert [(s["position"], s["name"], s["mode"]) for s in response.json()["stages"]] == [(1, "Директор", "all")]
    assert (await client.get(f"{URL}/{created['id']}", headers=admin)).json()["stages"] == response.json()["stages"]
    empty = await client.put(f"{URL}/{created['id']}/route", json={"stages": []}, headers=admin)
    assert (empty.json()["code"], empty.json()["field"]) == ("route.empty", "stages")


async def test_unknown_type_404(client, db):
    admin = await admin_headers(db)
    assert (await client.get(f"{URL}/999", headers=admin)).status_code == 404
    assert (await client.patch(f"{URL}/999", json={"active": False}, headers=admin)).status_code == 404
    missing = await client.put(f"{URL}/999/route", json={"stages": SUPPLIER["stages"]}, headers=admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "request_type.not_found")
