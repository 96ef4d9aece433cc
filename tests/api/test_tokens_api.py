"""API tokens: admins make them, the secret is shown once, the hash never."""

from __future__ import annotations

from sqlalchemy import select

from backend.models import ApiToken
from tests.api.helpers import add_employee, admin_headers, employee_headers, errors_of

URL = "/api/v1/tokens"


async def test_create_shows_the_secret_once_and_it_works(client, db):
    admin = await admin_headers(db)
    worker = await add_employee(db, "Бухгалтер", roles=["accountant"])
    response = await client.post(URL, json={"name": "1C exchange", "role": "admin", "employee_id": worker},
                                 headers=admin)
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("viza_")
    assert "token_hash" not in created
    assert (created["role"], created["employee_id"], created["active"]) == ("admin", worker, True)
    works = await client.get(URL, headers={"Authorization": f"Bearer {secret}"})
    assert works.status_code == 200


async def test_list_never_leaks_secret_or_hash(client, db):
    admin = await admin_headers(db)
    secret = (await client.post(URL, json={"name": "bot", "role": "manager"}, headers=admin)).json()["secret"]
    response = await client.get(URL, headers=admin)
    assert response.status_code == 200
    async with db.session() as session:
        hashes = list(await session.scalars(select(ApiToken.token_hash)))
    assert len(response.json()) == len(hashes) == 2
    for token in response.json():
        assert "secret" not in token and "token_hash" not in token
    assert secret not in response.text
    assert not any(h in response.text for h in hashes)


async def test_revoke_stops_the_token(client, db):
    admin = await admin_headers(db)
    created = (await client.post(URL, json={"name": "temp", "role": "admin"}, headers=admin)).json()
    theirs = {"Authorization": f"Bearer {created['secret']}"}
    assert (await client.get(URL, headers=theirs)).status_code == 200
    revoked = await client.delete(f"{URL}/{created['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False and revoked.json()["revoked_at"]
    refused = await client.get(URL, headers=theirs)
    assert (refused.status_code, refused.json()["code"]) == (401, "auth.invalid")
    again = await client.delete(f"{URL}/{created['id']}", headers=admin)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    missing = await client.delete(f"{URL}/999", headers=admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "token.not_found")


async def test_admins_only(client, db):
    me = await employee_headers(db, await add_employee(db))
    assert (await client.get(URL, headers=me)).status_code == 403
    response = await client.post(URL, json={"name": "mine", "role": "admin"}, headers=me)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden.admin_only")
    assert (await client.get(URL)).status_code == 401
    assert (await client.delete(f"{URL}/1")).status_code == 401


async def test_bad_input_is_named(client, db):
    admin = await admin_headers(db)
    role = await client.post(URL, json={"name": "x", "role": "root"}, headers=admin)
    assert (role.status_code, role.json()["code"], role.json()["field"]) == (422, "token.role", "role")
    employee = await client.post(URL, json={"name": "x", "role": "manager", "employee_id": 999}, headers=admin)
    assert (employee.json()["code"], employee.json()["field"]) == ("reference.unknown", "employee_id")
    name = await client.post(URL, json={"name": "  ", "role": "manager"}, headers=admin)
    assert (name.json()["code"], name.json()["field"]) == ("field.required", "name")
    missing = await client.post(URL, json={}, headers=admin)
    assert errors_of(missing) == {("field.required", "name"), ("field.required", "role")}
