"""The admin pages: employees with their Telegram binding and invites, departments, routes
edited as YAML, failed deliveries retried — for admins only, every form behind CSRF."""

from __future__ import annotations

import html
import re

import pytest
import yaml
from sqlalchemy import func, select

from backend.db import utcnow
from backend.models import Department, Employee, Invite, OutboxMessage, RequestType
from backend.services import invites
from backend.errors import Forbidden
from backend.web.routes.admin_routes import parse_route, stages_yaml
from tests.factories import Company

ADMIN_PAGES = ["/admin", "/admin/employees", "/admin/departments", "/admin/routes", "/admin/outbox"]


def text(response) -> str:
    return html.unescape(response.text)


async def employee(db, employee_id: int) -> Employee:
    async with db.session() as session:
        return await session.get(Employee, employee_id)


async def as_admin(browser, company: Company):
    await browser.sign_in(company.people["admin"].id)
    return browser


def listed(response) -> str:
    """The employees table only (the add form's pickers name everybody)."""
    return text(response).split('data-test="employees"', 1)[1].split("</table>", 1)[0]


def employee_form(e: Employee, **changes) -> dict:
    form = {"full_name": e.full_name, "department_id": str(e.department_id or ""), "position": e.position or "",
            "roles": list(e.roles), "manager_id": str(e.manager_id or ""), "email": e.email or "",
            "timezone": e.timezone, "language": e.language, "active": "1" if e.active else ""}
    form.update(changes)
    return form


# --- employees -----------------------------------------------------------------------------------

async def test_admin_sees_employees_with_their_telegram_binding_and_filters(browser, db, company):
    async with db.session() as session:
        bound = await session.get(Employee, company.people["manager"].id)
        bound.telegram_user_id, bound.telegram_username = 1001, "ivanov_tg"
        blocked = await session.get(Employee, company.people["cfo"].id)
        blocked.telegram_user_id, blocked.telegram_blocked_at = 1002, utcnow()
        await session.commit()
    await as_admin(browser, company)

    page = await browser.get("/admin/employees")
    assert page.status_code == 200
    rows = dict(re.findall(r'<tr data-employee="(\d+)"[^>]*>(.*?)</tr>', page.text, re.S))
    assert len(rows) == len(company.people)
    assert "@ivanov_tg" in rows[str(company.people["manager"].id)] and "tg-bound" in rows[str(company.people["manager"].id)]
    assert "заблокировал бота" in rows[str(company.people["cfo"].id)]
    assert "не привязан" in rows[str(company.people["accountant"].id)]
    assert "Продажи Север" in rows[str(company.people["manager"].id)]
    assert "бухгалтер" in rows[str(company.people["accountant"].id)]

    found = listed(await browser.get("/admin/employees", params={"q": "петров"}))
    assert "Петров П.П." in found and "Иванов И.И." not in found
    north = listed(await browser.get("/admin/employees", params={"department_id": company.departments["north"].id}))
    assert "Иванов И.И." in north and "Смирнова А.А." in north and "Директор Д.Д." not in north
    # A filter that is not an id is no filter, not an error.
    assert (await browser.get("/admin/employees", params={"department_id": "x"})).status_code == 200


async def test_admin_edits_an_employee_and_the_change_lands(browser, db, company):
    await as_admin(browser, company)
    ivanov = await employee(db, company.people["manager"].id)
    page = await browser.get(f"/admin/employees/{ivanov.id}")
    assert page.status_code == 200 and 'name="full_name" value="Иванов И.И."' in page.text

    response = await browser.post(f"/admin/employees/{ivanov.id}", employee_form(
        ivanov, full_name="Иванов Иван Иванович", position="Старший менеджер", roles=["manager", "approver"],
        timezone="Asia/Yekaterinburg", email="ivanov@example.com", language="en",
        manager_id=str(company.people["head"].id), department_id=str(company.departments["sales"].id)))
    assert response.status_code == 303 and response.headers["location"] == f"/admin/employees/{ivanov.id}"
    after = await employee(db, ivanov.id)
    assert (after.full_name, after.position, after.roles, after.timezone, after.email, after.language,
            after.manager_id, after.department_id) == (
        "Иванов Иван Иванович", "Старший менеджер", ["manager", "approver"], "Asia/Yekaterinburg",
        "ivanov@example.com", "en", company.people["head"].id, company.departments["sales"].id)
    shown = await browser.get(f"/admin/employees/{ivanov.id}")
    assert "Изменения сохранены: Иванов Иван Иванович." in shown.text


async def test_admin_adds_and_deactivates_an_employee(browser, db, company):
    await as_admin(browser, company)
    await browser.get("/admin/employees")
    response = await browser.post("/admin/employees", {
        "full_name": "Новикова Н.Н.", "department_id": str(company.departments["north"].id),
        "position": "Менеджер", "roles": ["manager"], "timezone": "Europe/Samara", "language": "ru", "email": ""})
    assert response.status_code == 303
    async with db.session() as session:
        new = await session.scalar(select(Employee).where(Employee.full_name == "Новикова Н.Н."))
    assert new is not None and new.roles == ["manager"] and new.timezone == "Europe/Samara" and new.active
    assert response.headers["location"] == f"/admin/employees/{new.id}"
    page = await browser.get(response.headers["location"])
    assert "Сотрудник Новикова Н.Н. добавлен" in page.text

    gone = await browser.post(f"/admin/employees/{new.id}/deactivate")
    assert gone.status_code == 303
    assert (await employee(db, new.id)).active is False
    assert "Новикова Н.Н." not in listed(await browser.get("/admin/employees"))
    assert "Новикова Н.Н." in listed(await browser.get("/admin/employees", params={"inactive": "1"}))


@pytest.mark.parametrize("change, message", [
    ({"roles": ["manager", "wizard"]}, "неизвестная роль «wizard»"),
    ({"timezone": "Mars/Olympus"}, "часовой пояс «Mars/Olympus» не найден"),
    ({"full_name": "   "}, "ФИО: обязательное поле"),
    ({"email": "not-an-address"}, "E-mail"),
    ({"manager_id": "abc"}, "Руководитель"),
])
async def test_bad_employee_input_shows_the_message_and_changes_nothing(browser, db, company, change, message):
    await as_admin(browser, company)
    ivanov = await employee(db, company.people["manager"].id)
    await browser.get(f"/admin/employees/{ivanov.id}")
    response = await browser.post(f"/admin/employees/{ivanov.id}", employee_form(ivanov, position="Изменено", **change))
    assert response.status_code == 422, response.text[:500]
    assert message in text(response)
    assert 'data-test="form-errors"' in response.text
    # The admin's input is kept in the form, and nothing was saved.
    assert 'value="Изменено"' in response.text
    after = await employee(db, ivanov.id)
    assert (after.position, after.roles, after.timezone, after.full_name) == (
        ivanov.position, ivanov.roles, ivanov.timezone, ivanov.full_name)

    # The same on the add form: nobody is created.
    async with db.session() as session:
        before = await session.scalar(select(func.count()).select_from(Employee))
    added = await browser.post("/admin/employees", {
        "full_name": "Новый Н.Н.", "roles": ["manager"], "timezone": "Europe/Moscow", "language": "ru", **change})
    assert added.status_code == 422 and message in text(added)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Employee)) == before


async def test_a_manager_loop_is_refused_with_its_message(browser, db, company):
    await as_admin(browser, company)
    head = await employee(db, company.people["head"].id)
    async with db.session() as session:
        (await session.get(Employee, company.people["manager"].id)).manager_id = head.id
        await session.commit()
    await browser.get(f"/admin/employees/{head.id}")
    response = await browser.post(f"/admin/employees/{head.id}",
                                  employee_form(head, manager_id=str(company.people["manager"].id)))
    assert response.status_code == 422 and "замкнутый круг" in text(response)
    assert 'data-test="error-manager_id"' in response.text
    assert (await employee(db, head.id)).manager_id is None


# --- invites -------------------------------------------------------------------------------------

async def test_invite_is_shown_once_and_works_in_the_bot(browser, db, company, settings):
    settings.telegram_bot_username = "viza_test_bot"
    await as_admin(browser, company)
    ivanov_id = company.people["manager"].id
    await browser.get(f"/admin/employees/{ivanov_id}")

    shown = await browser.post(f"/admin/employees/{ivanov_id}/invites", {"ttl_hours": "24"})
    assert shown.status_code == 200
    code = re.search(r'data-code="([^"]+)"', shown.text).group(1)
    assert f"https://t.me/viza_test_bot?start={code}" in shown.text
    assert f"/start {code}" in shown.text and "Действует до" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    # Once: the page shows it no more (its address opened again included), the database keeps only its hash.
    reopened = await browser.get(f"/admin/employees/{ivanov_id}/invites")
    assert reopened.status_code == 303 and reopened.headers["location"] == f"/admin/employees/{ivanov_id}"
    again = await browser.get(f"/admin/employees/{ivanov_id}")
    assert code not in again.text and "действует" in again.text
    async with db.session() as session:
        stored = (await session.scalars(select(Invite).where(Invite.employee_id == ivanov_id))).all()
    assert len(stored) == 1 and code not in stored[0].code_hash
    hours = (stored[0].expires_at - stored[0].created_at).total_seconds() / 3600
    assert 23.9 < hours < 24.1

    async with db.session() as session:
        bound = await invites.accept_invite(session, code, telegram_user_id=4242, telegram_username="ivan_tg")
        await session.commit()
        assert bound.id == ivanov_id
    page = await browser.get(f"/admin/employees/{ivanov_id}")
    assert "@ivan_tg" in page.text and "использовано" in page.text


async def test_invite_revoked_from_the_page_no_longer_works(browser, db, company):
    await as_admin(browser, company)
    ivanov_id = company.people["manager"].id
    await browser.get(f"/admin/employees/{ivanov_id}")
    shown = await browser.post(f"/admin/employees/{ivanov_id}/invites", {"ttl_hours": ""})
    code = re.search(r'data-code="([^"]+)"', shown.text).group(1)
    assert "Имя бота неизвестно" in shown.text  # no bot, no username: the command is given instead
    invite_id = re.search(r'data-invite="(\d+)"', shown.text).group(1)
    revoked = await browser.post(f"/admin/invites/{invite_id}/revoke")
    assert revoked.status_code == 303 and revoked.headers["location"] == f"/admin/employees/{ivanov_id}"
    assert "отозвано" in (await browser.get(f"/admin/employees/{ivanov_id}")).text
    async with db.session() as session:
        with pytest.raises(Forbidden) as refused:
            await invites.accept_invite(session, code, telegram_user_id=4243)
    assert refused.value.code == "invite.revoked"


async def test_invite_with_a_bad_lifetime_is_refused_on_the_page(browser, db, company):
    await as_admin(browser, company)
    ivanov_id = company.people["manager"].id
    await browser.get(f"/admin/employees/{ivanov_id}")
    for ttl, message in (("0", "от 1 до 720 часов"), ("сутки", "нужно целое число")):
        response = await browser.post(f"/admin/employees/{ivanov_id}/invites", {"ttl_hours": ttl})
        assert response.status_code == 422 and message in text(response), text(response)[:3000]
        assert 'data-test="new-invite"' not in response.text
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Invite)) == 0


# --- departments ---------------------------------------------------------------------------------

async def test_department_created_renamed_moved_and_a_loop_refused(browser, db, company):
    await as_admin(browser, company)
    tree = await browser.get("/admin/departments")
    assert tree.status_code == 200
    # Indented: the tree's depth is on each row.
    assert re.search(r'--depth: 2">.*?Продажи Север', tree.text, re.S)

    created = await browser.post("/admin/departments", {
        "name": "Бухгалтерия", "code": "accounting", "parent_id": str(company.departments["management"].id),
        "head_id": str(company.people["accountant"].id), "deputy_id": str(company.people["accountant2"].id)})
    assert created.status_code == 303
    async with db.session() as session:
        accounting = await session.scalar(select(Department).where(Department.code == "accounting"))
    assert accounting.parent_id == company.departments["management"].id
    assert (accounting.head_id, accounting.deputy_id) == (company.people["accountant"].id, company.people["accountant2"].id)
    assert "Отдел «Бухгалтерия» добавлен." in (await browser.get("/admin/departments")).text

    north = company.departments["north"]
    page = await browser.get(f"/admin/departments/{north.id}")
    assert page.status_code == 200 and "Иванов И.И." in page.text
    renamed = await browser.post(f"/admin/departments/{north.id}", {
        "name": "Продажи Северо-Запад", "code": "sales_north", "parent_id": str(accounting.id),
        "head_id": str(company.people["north_head"].id), "deputy_id": ""})
    assert renamed.status_code == 303
    async with db.session() as session:
        moved = await session.get(Department, north.id)
    assert moved.name == "Продажи Северо-Запад" and moved.parent_id == accounting.id
    assert moved.path == f"{accounting.path}{north.id}/"

    # Management under its own sub-department: refused with the field named, nothing moves.
    management = company.departments["management"]
    loop = await browser.post(f"/admin/departments/{management.id}", {
        "name": "Дирекция", "code": "management", "parent_id": str(accounting.id), "head_id": "", "deputy_id": ""})
    assert loop.status_code == 422 and "нельзя подчинить отдел ему самому" in text(loop)
    assert 'data-test="error-parent_id"' in loop.text
    async with db.session() as session:
        assert (await session.get(Department, management.id)).parent_id is None

    taken = await browser.post("/admin/departments", {"name": "Ещё продажи", "code": "sales"})
    assert taken.status_code == 409 and 'data-test="error-code"' in taken.text
    empty = await browser.post("/admin/departments", {"name": "  ", "code": ""})
    assert empty.status_code == 422 and "обязательное поле" in text(empty)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Department)) == 4


# --- routes --------------------------------------------------------------------------------------

async def test_routes_are_readable_in_words(browser, db, company):
    await as_admin(browser, company)
    page = await browser.get("/admin/routes")
    assert page.status_code == 200
    words = text(page)
    supplier = words.split('data-type="supplier"', 1)[1].split("</section>", 1)[0]
    assert "руководитель отдела инициатора" in supplier
    assert "роль: финансовый директор" in supplier and "срок 8 ч" in supplier
    assert "Только если: сумма ≥ 100\u00a0000,00" in supplier
    assert "сверх бюджета" in supplier
    assert 'data-type="contract"' in page.text


async def test_route_yaml_round_trips():
    stages = [{"name": "Директор (от 100 000 ₽)", "approvers": {"kind": "role", "role": "director"}, "mode": "n_of_m",
               "required_count": 2, "conditions": {"amount_gte": 10000000, "currencies": ["RUB"]}, "sla_hours": 24},
              {"name": "Бухгалтерия: «проверка», {скобки}", "approvers": {"kind": "people", "employee_ids": [3, 4]},
               "mode": "any", "required_count": 1, "conditions": {}, "sla_hours": 8}]
    items, errors = parse_route(stages_yaml(stages))
    assert errors == []
    assert [s.model_dump() for s in items] == stages


async def test_route_edited_as_yaml_is_saved(browser, db, company):
    await as_admin(browser, company)
    supplier = company.types["supplier"]
    page = await browser.get(f"/admin/routes/{supplier.id}")
    assert page.status_code == 200
    current = text(page).split('<textarea name="route"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    assert yaml.safe_load(current)[1] == {"name": "Финансовый директор", "approvers": {"kind": "role", "role": "cfo"},
                                          "sla_hours": 8}

    new_route = (
        "# the CFO first, then the director for large sums\n"
        "- {name: Финансовый директор, approvers: {kind: role, role: cfo}, sla_hours: 4}\n"
        "- name: Директор\n"
        "  approvers: {kind: head_of, department: management}\n"
        "  conditions: {amount_gte: 50000000}\n"
        "  sla_hours: 12\n")
    saved = await browser.post(f"/admin/routes/{supplier.id}/route", {"route": new_route})
    assert saved.status_code == 303 and saved.headers["location"] == f"/admin/routes/{supplier.id}"
    async with db.session() as session:
        stages = (await session.get(RequestType, supplier.id)).stages
        assert [(s.position, s.name, s.approvers, s.conditions, s.sla_hours) for s in stages] == [
            (1, "Финансовый директор", {"kind": "role", "role": "cfo"}, {}, 4),
            (2, "Директор", {"kind": "head_of", "department": "management"}, {"amount_gte": 50000000}, 12)]
    shown = text(await browser.get(f"/admin/routes/{supplier.id}"))
    assert "Маршрут сохранён" in shown and "руководитель отдела «Дирекция» (management)" in shown


@pytest.mark.parametrize("broken, expected", [
    # The service's rules: each error names its stage and field.
    ("- {name: Финансовый директор, approvers: {kind: role, role: cfo}, sla_hours: 8}\n"
     "- {name: Кто-то, approvers: {kind: boss}, sla_hours: 8}\n"
     "- {name: Отдел, approvers: {kind: head_of, department: nowhere}, mode: some}\n",
     ["Этап 2: Правило согласующих (stages.1.approvers.kind)", "Этап 3:", "stages.2.approvers.department",
      "stages.2.mode"]),
    # Pydantic's: a missing field, a wrong type, an unknown key.
    ("- {name: A, sla_hours: 8}\n- {name: B, approvers: {kind: role, role: cfo}, sla_hours: soon, sla: 3}\n",
     ["Этап 1: Согласующие (stages.0.approvers): обязательное поле", "stages.1.sla_hours", "stages.1.sla"]),
    ("- {name: A, approvers: {kind: role, role: cfo}\n", ["YAML не читается", "строка 2"]),
    ("name: just a mapping\n", ["нужен список этапов"]),
    ("- just text\n", ["Этап 1:", "этап записывается как набор полей"]),
    ("- &a {name: A, approvers: {kind: role, role: cfo}}\n- *a\n", ["YAML не читается", "aliases"]),
    ("- {name: A, approvers: {kind: role, role: cfo, x: .nan}}\n", [".nan"]),
    ("", ["нужен список этапов"]),
    ("[]", ["нужен хотя бы один этап"]),
])
async def test_a_broken_route_is_refused_with_the_field_named_and_the_text_kept(browser, db, company, broken, expected):
    await as_admin(browser, company)
    supplier = company.types["supplier"]
    await browser.get(f"/admin/routes/{supplier.id}")
    async with db.session() as session:
        before = [(s.name, s.approvers) for s in (await session.get(RequestType, supplier.id)).stages]
    refused = await browser.post(f"/admin/routes/{supplier.id}/route", {"route": broken})
    assert refused.status_code == 422
    shown = text(refused)
    for part in expected:
        assert part in shown, (part, shown.split('data-test="route-errors"', 1)[-1][:1500])
    kept = shown.split('<textarea name="route"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    assert kept == broken
    async with db.session() as session:
        assert [(s.name, s.approvers) for s in (await session.get(RequestType, supplier.id)).stages] == before


async def test_request_type_renamed_and_deactivated(browser, db, company):
    await as_admin(browser, company)
    rent = company.types["rent"]
    await browser.get(f"/admin/routes/{rent.id}")
    saved = await browser.post(f"/admin/routes/{rent.id}", {"name_ru": "Аренда офиса", "name_en": "Office rent"})
    assert saved.status_code == 303
    async with db.session() as session:
        row = await session.get(RequestType, rent.id)
        assert (row.name_ru, row.name_en, row.active) == ("Аренда офиса", "Office rent", False)
    assert "выключен" in (await browser.get("/admin/routes")).text
    empty = await browser.post(f"/admin/routes/{rent.id}", {"name_ru": " ", "name_en": "Rent", "active": "1"})
    assert empty.status_code == 422 and "Название (рус.)" in text(empty) and "обязательное поле" in text(empty)
    async with db.session() as session:
        assert (await session.get(RequestType, rent.id)).name_ru == "Аренда офиса"
    on = await browser.post(f"/admin/routes/{rent.id}", {"name_ru": "Аренда", "name_en": "Rent", "active": "1"})
    assert on.status_code == 303
    async with db.session() as session:
        assert (await session.get(RequestType, rent.id)).active is True


# --- outbox --------------------------------------------------------------------------------------

async def failed_rows(db, company: Company, n: int = 3) -> list[int]:
    async with db.session() as session:
        rows = [OutboxMessage(topic="notify" if i % 2 == 0 else "email", dedup_key=f"test:{i}",
                              payload={"event": "task", "recipient_id": company.people["cfo"].id}, status="failed",
                              attempts=16, last_error=f"Forbidden: bot was blocked by the user #{i}", progress={})
                for i in range(n)]
        rows.append(OutboxMessage(topic="notify", dedup_key="test:sent", payload={"event": "task"}, status="sent",
                                  progress={}))
        session.add_all(rows)
        await session.commit()
        return [r.id for r in rows]


async def test_outbox_failed_row_retried(browser, db, company):
    ids = await failed_rows(db, company)
    await as_admin(browser, company)
    page = await browser.get("/admin/outbox")
    assert page.status_code == 200
    shown = text(page)
    assert "bot was blocked by the user #0" in shown and "Финансов Ф.Ф." in shown
    assert f'data-test="retry-{ids[0]}"' in page.text and f'data-row="{ids[3]}"' not in page.text  # failed only
    counts = page.text.split('data-test="outbox-counts"', 1)[1].split("</table>", 1)[0]
    assert 'data-topic="notify"' in counts and 'data-topic="email"' in counts

    retried = await browser.post(f"/admin/outbox/{ids[0]}/retry", {"back": "/admin/outbox?status=failed"})
    assert retried.status_code == 303 and retried.headers["location"] == "/admin/outbox?status=failed"
    async with db.session() as session:
        row = await session.get(OutboxMessage, ids[0])
        assert (row.status, row.attempts) == ("pending", 0)
    after = await browser.get("/admin/outbox?status=failed")
    assert f"Строка {ids[0]} (notify) снова в очереди." in after.text
    assert f'data-row="{ids[0]}"' not in after.text

    # A row that has not failed: the service's refusal, on the page.
    await browser.post(f"/admin/outbox/{ids[3]}/retry", {"back": "https://evil.example/"})
    refused = await browser.get("/admin/outbox")
    assert f"Запись очереди № {ids[3]} не в ошибке" in text(refused)

    # Every failed row of one topic, then of all.
    await browser.post("/admin/outbox/retry-failed", {"topic": "email"})
    async with db.session() as session:
        statuses = dict((await session.execute(select(OutboxMessage.id, OutboxMessage.status))).all())
    assert statuses[ids[1]] == "pending" and statuses[ids[2]] == "failed"
    await browser.post("/admin/outbox/retry-failed", {"topic": ""})
    async with db.session() as session:
        assert await session.scalar(select(func.count()).where(OutboxMessage.status == "failed")) == 0


async def test_outbox_pages_on_with_before_id(browser, db, company):
    async with db.session() as session:
        session.add_all([OutboxMessage(topic="notify", dedup_key=f"page:{i}", payload={}, status="failed",
                                       last_error="x", progress={}) for i in range(60)])
        await session.commit()
    await as_admin(browser, company)
    first = await browser.get("/admin/outbox")
    assert first.text.count("data-row=") == 50
    next_url = html.unescape(re.search(r'href="([^"]+)" data-test="next-page"', first.text).group(1))
    second = await browser.get(next_url)
    assert second.text.count("data-row=") == 10 and 'data-test="next-page"' not in second.text
    bad = await browser.get("/admin/outbox", params={"status": "lost"})
    assert bad.status_code == 200 and "Статус" in text(bad) and "pending, sent, failed, skipped" in text(bad)


# --- who may, and forms from elsewhere -------------------------------------------------------------

async def test_non_admin_gets_403_on_every_admin_page(browser, db, company):
    await failed_rows(db, company)
    await browser.sign_in(company.people["accountant"].id)
    ivanov_id = company.people["manager"].id
    gets = ADMIN_PAGES + [f"/admin/employees/{ivanov_id}", f"/admin/departments/{company.departments['sales'].id}",
                          f"/admin/routes/{company.types['supplier'].id}"]
    for url in gets:
        response = await browser.get(url)
        assert response.status_code == 403, url
        assert "Это доступно только администратору." in response.text
    posts = {
        "/admin/employees": {"full_name": "Чужой", "roles": ["admin"]},
        f"/admin/employees/{ivanov_id}": {"full_name": "Взломан", "roles": ["admin"]},
        f"/admin/employees/{ivanov_id}/deactivate": {},
        f"/admin/employees/{ivanov_id}/invites": {},
        "/admin/departments": {"name": "Чужой отдел"},
        f"/admin/routes/{company.types['supplier'].id}/route": {"route": "- {name: X, approvers: {kind: role, role: cfo}}"},
        "/admin/outbox/retry-failed": {},
    }
    for url, form in posts.items():
        assert (await browser.post(url, form)).status_code == 403, url
    await assert_nothing_changed(db, company)


async def test_a_post_without_csrf_is_refused(browser, db, company):
    await failed_rows(db, company)
    await as_admin(browser, company)
    ivanov_id = company.people["manager"].id
    await browser.get(f"/admin/employees/{ivanov_id}")
    posts = {
        "/admin/employees": {"full_name": "Чужой", "roles": ["admin"]},
        f"/admin/employees/{ivanov_id}": {"full_name": "Взломан", "roles": ["admin"]},
        f"/admin/employees/{ivanov_id}/deactivate": {},
        f"/admin/employees/{ivanov_id}/invites": {},
        "/admin/departments": {"name": "Чужой отдел"},
        f"/admin/departments/{company.departments['sales'].id}": {"name": "Чужой отдел"},
        f"/admin/routes/{company.types['supplier'].id}": {"name_ru": "X", "name_en": "X"},
        f"/admin/routes/{company.types['supplier'].id}/route": {"route": "- {name: X, approvers: {kind: role, role: cfo}}"},
        "/admin/outbox/retry-failed": {},
    }
    for url, form in posts.items():
        for token in ("", "forged"):
            response = await browser.post(url, {**form, "csrf": token})
            assert response.status_code == 403, url
            assert "Страница устарела" in response.text
    await assert_nothing_changed(db, company)


async def assert_nothing_changed(db, company: Company) -> None:
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Employee)) == len(company.people)
        ivanov = await session.get(Employee, company.people["manager"].id)
        assert (ivanov.full_name, ivanov.roles, ivanov.active) == ("Иванов И.И.", ["manager"], True)
        assert await session.scalar(select(func.count()).select_from(Invite)) == 0
        assert await session.scalar(select(func.count()).select_from(Department)) == 3
        supplier = await session.get(RequestType, company.types["supplier"].id)
        assert (supplier.name_ru, len(supplier.stages)) == ("Оплата поставщику", 4)
        assert await session.scalar(select(func.count()).where(OutboxMessage.status == "failed")) == 3


async def test_pages_and_errors_in_english(browser, db, company):
    await as_admin(browser, company)
    await browser.get("/admin/employees")
    assert (await browser.post("/language", {"language": "en", "back": "/admin/employees"})).status_code == 303
    page = await browser.get("/admin/employees")
    assert "Add an employee" in page.text and "not bound" in page.text
    ivanov = await employee(db, company.people["manager"].id)
    refused = await browser.post(f"/admin/employees/{ivanov.id}", employee_form(ivanov, timezone="Mars/Olympus"))
    assert refused.status_code == 422 and "time zone 'Mars/Olympus' not found" in text(refused)
    routes = text(await browser.get("/admin/routes"))
    assert "head of the initiator's department" in routes and "Supplier payment" in routes
    broken = await browser.post(f"/admin/routes/{company.types['supplier'].id}/route",
                                {"route": "- {name: X, approvers: {kind: boss}}"})
    assert "Stage 1: Approver rule (stages.0.approvers.kind)" in text(broken)
    assert "Delivery failures" in (await browser.get("/admin/outbox")).text


async def test_an_admin_signed_in_by_token_invites_and_wrong_addresses_are_pages(browser, db, company):
    """An API token that is no employee's: the pages work, the invite names no creator."""
    from backend.services.tokens import create_token

    async with db.session() as session:
        _, secret = await create_token(session, name="ops", role="admin", employee_id=None)
        await session.commit()
    await browser.get("/login")
    assert (await browser.http.post("/login/token", data={"token": secret})).status_code == 303
    await browser.get(f"/admin/employees/{company.people['manager'].id}")
    shown = await browser.post(f"/admin/employees/{company.people['manager'].id}/invites", {"ttl_hours": "1"})
    assert shown.status_code == 200 and 'data-test="new-invite"' in shown.text
    for url, status in (("/admin/employees/999999", 404), ("/admin/employees/abc", 422),
                        (f"/admin/employees/{2**63}", 422), ("/admin/routes/999999", 404),
                        ("/admin/departments/999999", 404)):
        response = await browser.get(url)
        assert response.status_code == status, url
        assert response.headers["content-type"].startswith("text/html"), url
    missing = await browser.post("/admin/invites/999999/revoke")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
