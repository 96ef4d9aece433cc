"""Invites: admins make them, the code is shown once, it binds one Telegram account once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.errors import Conflict, Forbidden
from backend.models import Employee, Invite
from backend.services.invites import accept_invite
from tests.api.helpers import add_employee, admin_headers, employee_headers


async def test_admin_creates_an_invite_and_it_binds_once(client, db):
    admin = await admin_headers(db)
    worker = await add_employee(db, "Иванова Анна")
    response = await client.post(f"/api/v1/employees/{worker}/invites", json={"ttl_hours": 24}, headers=admin)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "active" and body["start_command"] == f"/start {body['code']}"
    async with db.session() as session:
        assert (await session.scalar(select(Invite))).code_hash != body["code"]  # only the hash is kept
        employee = await accept_invite(session, body["code"], telegram_user_id=555, telegram_username="anna")
        await session.commit()
        assert employee.telegram_user_id == 555
    async with db.session() as session:
        with pytest.raises(Forbidden) as used:
            await accept_invite(session, body["code"], telegram_user_id=556)
        assert used.value.code == "invite.used"
        with pytest.raises(Forbidden) as unknown:
            await accept_invite(session, "no-such-code", telegram_user_id=556)
        assert unknown.value.code == "invite.unknown"
    listed = (await client.get(f"/api/v1/employees/{worker}/invites", headers=admin)).json()
    assert [i["state"] for i in listed] == ["used"] and "code" not in listed[0]


async def test_expired_and_revoked_codes_are_refused(client, db):
    admin = await admin_headers(db)
    worker = await add_employee(db, "Петров Пётр")
    first = (await client.post(f"/api/v1/employees/{worker}/invites", headers=admin)).json()
    second = (await client.post(f"/api/v1/employees/{worker}/invites", headers=admin)).json()
    assert (await client.delete(f"/api/v1/invites/{second['id']}", headers=admin)).json()["state"] == "revoked"
    async with db.session() as session:
        invite = await session.get(Invite, first["id"])
        invite.expires_at = invite.created_at - timedelta(seconds=1)
        await session.commit()
    async with db.session() as session:
        for code, reason in ((first["code"], "invite.expired"), (second["code"], "invite.revoked")):
            with pytest.raises(Forbidden) as refused:
                await accept_invite(session, code, telegram_user_id=777)
            assert refused.value.code == reason
        assert await session.scalar(select(Employee.telegram_user_id).where(Employee.id == worker)) is None


async def test_one_telegram_account_cannot_be_two_employees(client, db):
    admin = await admin_headers(db)
    first, second = await add_employee(db, "Первый"), await add_employee(db, "Второй")
    codes = [(await client.post(f"/api/v1/employees/{e}/invites", headers=admin)).json()["code"] for e in (first, second)]
    async with db.session() as session:
        await accept_invite(session, codes[0], telegram_user_id=900)
        await session.commit()
    async with db.session() as session:
        with pytest.raises(Conflict) as taken:
            await accept_invite(session, codes[1], telegram_user_id=900)
        assert taken.value.code == "invite.telegram_taken"


async def test_only_admins_invite_and_bad_input_is_named(client, db):
    worker = await add_employee(db, "Сидоров")
    manager = await employee_headers(db, worker)
    assert (await client.post(f"/api/v1/employees/{worker}/invites", headers=manager)).status_code == 403
    admin = await admin_headers(db)
    missing = await client.post("/api/v1/employees/99999/invites", headers=admin)
    assert missing.status_code == 404
    too_long = await client.post(f"/api/v1/employees/{worker}/invites", json={"ttl_hours": 10_000}, headers=admin)
    assert too_long.status_code == 422 and too_long.json()["field"] == "ttl_hours"
