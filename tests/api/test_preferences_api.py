"""Personal preferences through the API: one's own, an admin's view of anyone's, clear errors."""

from __future__ import annotations

from tests.api.helpers import add_employee, admin_headers, employee_headers, errors_of

API = "/api/v1"


async def test_read_and_change_my_preferences(client, db):
    me = await employee_headers(db, await add_employee(db, "Сотрудник"))
    before = (await client.get(f"{API}/me/preferences", headers=me)).json()
    assert {k: before[k] for k in ("timezone", "quiet_hours", "digest_enabled", "language")} == {
        "timezone": "Europe/Moscow", "quiet_hours": "", "digest_enabled": True, "language": "ru"}

    changed = await client.patch(f"{API}/me/preferences", headers=me, json={
        "timezone": "МСК+2", "quiet_hours": "23:00-7:00", "digest_enabled": False, "language": "EN"})
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("timezone", "quiet_hours", "digest_enabled", "language")} == {
        "timezone": "Asia/Yekaterinburg", "quiet_hours": "23:00-07:00", "digest_enabled": False, "language": "en"}
    # Only what is given changes.
    off = await client.patch(f"{API}/me/preferences", headers=me, json={"quiet_hours": "off"})
    assert off.json()["quiet_hours"] == "" and off.json()["timezone"] == "Asia/Yekaterinburg"


async def test_every_bad_value_is_named_and_nothing_is_saved(client, db):
    me = await employee_headers(db, await add_employee(db, "Сотрудник"))
    bad = await client.patch(f"{API}/me/preferences", headers=me, json={
        "timezone": "Марс", "quiet_hours": "поздно", "language": "de", "digest_enabled": None})
    assert bad.status_code == 422
    assert errors_of(bad) == {("preferences.timezone", "timezone"), ("quiet_hours.format", "quiet_hours"),
                              ("employee.language", "language"), ("field.required", "digest_enabled")}
    english = await client.patch(f"{API}/me/preferences", headers={**me, "Accept-Language": "en"},
                                 json={"timezone": "UTC+15"})
    assert "is not one I know" in english.json()["message"]
    assert (await client.get(f"{API}/me/preferences", headers=me)).json()["timezone"] == "Europe/Moscow"
    unknown = await client.patch(f"{API}/me/preferences", headers=me, json={"theme": "dark"})
    assert errors_of(unknown) == {("field.unknown", "theme")}


async def test_admins_change_anyones_others_only_their_own(client, db):
    someone = await add_employee(db, "Сотрудник")
    other = await employee_headers(db, await add_employee(db, "Другой"))
    admin = await admin_headers(db)
    path = f"{API}/employees/{someone}/preferences"
    changed = await client.patch(path, headers=admin, json={"timezone": "Asia/Vladivostok"})
    assert changed.status_code == 200 and changed.json()["employee_id"] == someone
    assert (await client.get(path, headers=admin)).json()["timezone"] == "Asia/Vladivostok"
    refused = await client.patch(path, headers=other, json={"language": "en"})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden.admin_only"
    assert (await client.get(path, headers=other)).status_code == 403
    own = await client.get(path, headers=await employee_headers(db, someone))
    assert own.status_code == 200
    assert (await client.get(f"{API}/employees/999999/preferences", headers=admin)).status_code == 404


async def test_a_token_of_nobody_has_no_preferences_of_its_own(client, db):
    response = await client.get(f"{API}/me/preferences", headers=await admin_headers(db))
    assert response.status_code == 422 and response.json()["code"] == "preferences.no_employee"



async def test_errors_speak_the_saved_language_unless_the_caller_asks_for_another(client, db):
    me = await employee_headers(db, await add_employee(db, "Сотрудник"))
    await client.patch(f"{API}/me/preferences", headers=me, json={"language": "en"})
    saved = await client.patch(f"{API}/me/preferences", headers=me, json={"timezone": "Марс"})
    assert "is not one I know" in saved.json()["message"]
    asked = await client.patch(f"{API}/me/preferences", headers={**me, "Accept-Language": "ru"},
                               json={"timezone": "Марс"})
    assert "не знаю такого" in asked.json()["message"]
    missing = await client.get(f"{API}/payment-requests/999999", headers=me)
    assert missing.status_code == 404 and "not found" in missing.json()["message"]
