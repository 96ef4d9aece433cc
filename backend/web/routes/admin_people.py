"""Admin pages of the organisation: employees (with their Telegram binding and invites) and
departments. Every change goes through the same services as the admin API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from backend.api.routes.invites import invite_link
from backend.errors import DomainError, InvalidInput
from backend.models import ROLES, Employee
from backend.services import company, invites
from backend.services.company import DepartmentFields, EmployeeFields
from backend.web.context import AdminPageDep, Page
from backend.web.rendering import redirect, render
from backend.web.routes.admin_forms import (
    MAX_ID, FormErrors, flatten_tree, form_errors, form_id, pydantic_errors, query_id, raise_all, read_form, text_of,
)

router = APIRouter(prefix="/admin")
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

EMPLOYEE_FIELDS = ("full_name", "department_id", "position", "roles", "manager_id", "email", "timezone", "language",
                   "active")
DEPARTMENT_FIELDS = ("name", "code", "parent_id", "head_id", "deputy_id")
INVITE_FIELDS = ("ttl_hours",)
# Offered in the time-zone field; any IANA zone may be typed.
TIMEZONES = ("Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
             "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok",
             "Asia/Magadan", "Asia/Kamchatka", "Asia/Almaty", "Asia/Tashkent", "Europe/Minsk", "UTC")


def telegram_state(employee: Employee) -> str:
    if employee.telegram_user_id is None:
        return "unbound"
    return "blocked" if employee.telegram_blocked_at is not None else "bound"


def employee_row(employee: Employee) -> dict[str, Any]:
    return {**company.employee_view(employee), "telegram": telegram_state(employee),
            "telegram_blocked_at": employee.telegram_blocked_at}


async def _directory(session: AsyncSession) -> dict[str, Any]:
    """What the pickers offer: departments in tree order, active people by name."""
    departments = flatten_tree(await company.department_tree(session))
    people = [(e.id, e.full_name) for e in await company.list_employees(session)]
    return {"departments": departments, "department_names": {d["id"]: d["name"] for d in departments},
            "people": people}


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict((await session.execute(select(Employee.id, Employee.full_name).where(Employee.id.in_(ids)))).all())


def _common(page: Page) -> dict[str, Any]:
    return {"roles": ROLES, "timezones": TIMEZONES, "max_ttl": invites.MAX_TTL_HOURS,
            "default_ttl": invites.DEFAULT_TTL_HOURS}


# --- employees -----------------------------------------------------------------------------------

def _employee_values(form: FormData, *, editing: bool) -> tuple[dict[str, Any], list[DomainError]]:
    """The form as EmployeeFields' input; ids that are not ids are field errors."""
    errors: list[DomainError] = []
    values: dict[str, Any] = {
        "full_name": text_of(form, "full_name", 1000), "position": text_of(form, "position", 1000),
        "roles": [r for r in form.getlist("roles") if isinstance(r, str)][:20],
        "email": text_of(form, "email", 1000).strip() or None,
        "timezone": text_of(form, "timezone", 200).strip() or None,
        "language": text_of(form, "language", 10).strip() or None,
    }
    for key in ("department_id", "manager_id"):
        try:
            values[key] = form_id(form, key)
        except DomainError as error:
            errors.append(error)
            values[key] = None
    if editing:
        values["active"] = text_of(form, "active", 10) == "1"
    return values, errors


def _employee_fields(values: dict[str, Any]) -> EmployeeFields:
    try:
        return EmployeeFields(**values)
    except ValidationError as exc:
        raise_all(pydantic_errors(exc))
        raise


@router.get("/employees")
async def employees_page(page: AdminPageDep) -> Response:
    return await _employees_list(page)


async def _employees_list(page: Page, *, form: dict[str, Any] | None = None,
                          errors: FormErrors | None = None) -> Response:
    params = page.request.query_params
    q = (params.get("q") or "").strip()[:200]
    department_id = query_id(params.get("department_id"))
    inactive = params.get("inactive") == "1"

    async def work(session: AsyncSession) -> dict[str, Any]:
        rows = await company.list_employees(session, department_id=department_id, q=q or None,
                                            include_inactive=inactive)
        return {"rows": [employee_row(e) for e in rows], **await _directory(session)}

    data = await page.core.run(work)
    errors = errors or FormErrors()
    return render(page, "admin/employees.html", status=errors.status if errors else 200, **data, **_common(page),
                  q=q, department_id=department_id, inactive=inactive, errors=errors,
                  form=form or {"full_name": "", "department_id": department_id, "position": "", "roles": ["manager"],
                                "manager_id": None, "email": "", "timezone": "Europe/Moscow", "language": "ru"})


@router.post("/employees")
async def create_employee(page: AdminPageDep) -> Response:
    form = await read_form(page)
    values, errors = _employee_values(form, editing=False)
    try:
        raise_all(errors)
        fields = _employee_fields(values)
        employee = await page.core.call(company.create_employee, fields, view=lambda e: (e.id, e.full_name))
    except DomainError as error:
        return await _employees_list(page, form=values, errors=form_errors(error, page.lang, EMPLOYEE_FIELDS))
    page.flash("ok", page.t("adm.emp.created", name=employee[1]))
    return redirect(page, f"/admin/employees/{employee[0]}")


async def _employee_page(page: Page, employee_id: int, *, form: dict[str, Any] | None = None,
                         errors: FormErrors | None = None, new_invite: dict[str, Any] | None = None,
                         invite_errors: FormErrors | None = None) -> Response:
    async def work(session: AsyncSession) -> dict[str, Any]:
        employee = await company.get_employee(session, employee_id)
        rows = await invites.list_invites(session, employee_id)
        directory = await _directory(session)
        names = await _names(session, {i.created_by_id for i in rows} | {employee.manager_id})
        directory["people"] = [p for p in directory["people"] if p[0] != employee_id]
        if employee.manager_id and employee.manager_id not in {p[0] for p in directory["people"]}:
            directory["people"].append((employee.manager_id, names.get(employee.manager_id, "")))
        return {"employee": employee_row(employee), "invites": [invites.invite_view(i) for i in reversed(rows)],
                "names": names, **directory}

    data = await page.core.run(work)
    status = 200
    for problem in (errors, invite_errors):
        if problem:
            status = problem.status
    return render(page, "admin/employee.html", status=status, **data, **_common(page),
                  form=form or data["employee"], errors=errors or FormErrors(), new_invite=new_invite,
                  invite_errors=invite_errors or FormErrors())


@router.get("/employees/{employee_id}")
async def employee_page(page: AdminPageDep, employee_id: Id) -> Response:
    return await _employee_page(page, employee_id)


@router.post("/employees/{employee_id}")
async def update_employee(page: AdminPageDep, employee_id: Id) -> Response:
    form = await read_form(page)
    values, errors = _employee_values(form, editing=True)
    try:
        raise_all(errors)
        fields = _employee_fields(values)
        name = await page.core.call(company.update_employee, employee_id, fields, view=lambda e: e.full_name)
    except DomainError as error:
        if error.kind == "not_found" and error.field is None:
            raise
        return await _employee_page(page, employee_id, form=values,
                                    errors=form_errors(error, page.lang, EMPLOYEE_FIELDS))
    page.flash("ok", page.t("adm.emp.saved", name=name))
    return redirect(page, f"/admin/employees/{employee_id}")


@router.post("/employees/{employee_id}/deactivate")
async def deactivate_employee(page: AdminPageDep, employee_id: Id) -> Response:
    await read_form(page)
    try:
        name = await page.core.call(company.deactivate_employee, employee_id, view=lambda e: e.full_name)
        page.flash("ok", page.t("adm.emp.deactivated", name=name))
    except DomainError as error:
        if error.kind == "not_found":
            raise
        page.flash("error", error.message(page.lang))
    return redirect(page, f"/admin/employees/{employee_id}")


@router.post("/employees/{employee_id}/invites")
async def create_invite(page: AdminPageDep, employee_id: Id) -> Response:
    """The code is on this answer only (kept nowhere but as its hash): it is shown, not redirected to."""
    form = await read_form(page)
    raw = text_of(form, "ttl_hours", 20).strip()

    async def work(session: AsyncSession) -> dict[str, Any]:
        try:
            ttl = int(raw) if raw else invites.DEFAULT_TTL_HOURS
        except ValueError:
            raise InvalidInput("field.integer", field="ttl_hours") from None
        invite, code = await invites.create_invite(session, page.actor, employee_id,
                                                   ttl_hours=ttl)
        return {"code": code, "expires_at": invite.expires_at, "start_command": f"/start {code}",
                "link": invite_link(page.request, code)}

    try:
        created = await page.core.run(work)
    except DomainError as error:
        if error.kind == "not_found":
            raise
        return await _employee_page(page, employee_id, invite_errors=form_errors(error, page.lang, INVITE_FIELDS))
    return await _employee_page(page, employee_id, new_invite=created)


@router.get("/employees/{employee_id}/invites")
async def invites_address(page: AdminPageDep, employee_id: Id) -> Response:
    """The address the new code was shown at, opened again: the employee's page, without the code."""
    return redirect(page, f"/admin/employees/{employee_id}")


@router.post("/invites/{invite_id}/revoke")
async def revoke_invite(page: AdminPageDep, invite_id: Id) -> Response:
    await read_form(page)
    employee_id = await page.core.call(invites.revoke_invite, invite_id, view=lambda i: i.employee_id)
    page.flash("ok", page.t("adm.invite.revoked"))
    return redirect(page, f"/admin/employees/{employee_id}")


# --- departments ---------------------------------------------------------------------------------

def _department_values(form: FormData) -> tuple[dict[str, Any], list[DomainError]]:
    errors: list[DomainError] = []
    values: dict[str, Any] = {"name": text_of(form, "name", 1000), "code": text_of(form, "code", 1000).strip() or None}
    for key in ("parent_id", "head_id", "deputy_id"):
        try:
            values[key] = form_id(form, key)
        except DomainError as error:
            errors.append(error)
            values[key] = None
    return values, errors


def _department_fields(values: dict[str, Any]) -> DepartmentFields:
    try:
        return DepartmentFields(**values)
    except ValidationError as exc:
        raise_all(pydantic_errors(exc))
        raise


async def _departments_list(page: Page, *, form: dict[str, Any] | None = None,
                            errors: FormErrors | None = None) -> Response:
    async def work(session: AsyncSession) -> dict[str, Any]:
        directory = await _directory(session)
        names = await _names(session, {d["head_id"] for d in directory["departments"]}
                             | {d["deputy_id"] for d in directory["departments"]})
        counts: dict[int, int] = {}
        for employee in await company.list_employees(session):
            if employee.department_id:
                counts[employee.department_id] = counts.get(employee.department_id, 0) + 1
        return {**directory, "names": names, "counts": counts}

    data = await page.core.run(work)
    errors = errors or FormErrors()
    return render(page, "admin/departments.html", status=errors.status if errors else 200, **data, errors=errors,
                  form=form or {"name": "", "code": "", "parent_id": None, "head_id": None, "deputy_id": None})


@router.get("/departments")
async def departments_page(page: AdminPageDep) -> Response:
    return await _departments_list(page)


@router.post("/departments")
async def create_department(page: AdminPageDep) -> Response:
    form = await read_form(page)
    values, errors = _department_values(form)
    try:
        raise_all(errors)
        fields = _department_fields(values)
        name = await page.core.call(company.create_department, fields, view=lambda d: d.name)
    except DomainError as error:
        return await _departments_list(page, form=values, errors=form_errors(error, page.lang, DEPARTMENT_FIELDS))
    page.flash("ok", page.t("adm.dept.created", name=name))
    return redirect(page, "/admin/departments")


async def _department_page(page: Page, department_id: int, *, form: dict[str, Any] | None = None,
                           errors: FormErrors | None = None) -> Response:
    async def work(session: AsyncSession) -> dict[str, Any]:
        department = await company.get_department(session, department_id)
        directory = await _directory(session)
        # Not under itself: the service refuses that anyway, the picker need not offer it.
        directory["parents"] = [d for d in directory["departments"] if not d["path"].startswith(department.path)]
        staff = [employee_row(e) for e in await company.list_employees(session, department_id=department_id)]
        view = company.department_view(department)
        names = await _names(session, {department.head_id, department.deputy_id})
        for key in ("head_id", "deputy_id"):  # a deactivated head still shows as the current choice
            if view[key] and view[key] not in {p[0] for p in directory["people"]}:
                directory["people"].append((view[key], names.get(view[key], "")))
        return {"department": view, "staff": staff, **directory}

    data = await page.core.run(work)
    errors = errors or FormErrors()
    return render(page, "admin/department.html", status=errors.status if errors else 200, **data, errors=errors,
                  form=form or data["department"])


@router.get("/departments/{department_id}")
async def department_page(page: AdminPageDep, department_id: Id) -> Response:
    return await _department_page(page, department_id)


@router.post("/departments/{department_id}")
async def update_department(page: AdminPageDep, department_id: Id) -> Response:
    form = await read_form(page)
    values, errors = _department_values(form)
    try:
        raise_all(errors)
        fields = _department_fields(values)
        name = await page.core.call(company.update_department, department_id, fields, view=lambda d: d.name)
    except DomainError as error:
        if error.kind == "not_found" and error.field is None:
            raise
        return await _department_page(page, department_id, form=values,
                                      errors=form_errors(error, page.lang, DEPARTMENT_FIELDS))
    page.flash("ok", page.t("adm.dept.saved", name=name))
    return redirect(page, f"/admin/departments/{department_id}")
