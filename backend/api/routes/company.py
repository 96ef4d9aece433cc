"""The company model: legal entities, departments, employees, expense items, budgets, delegations.

Anyone signed in reads the organisation (the bot's pickers need it); admins change it.
Delegations belong to the person who is away: they manage their own, admins any.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from backend.api.deps import AdminDep, CoreDep, many
from backend.errors import Forbidden
from backend.services import company as service
from backend.services.company import (
    BudgetFields, DelegationFields, DepartmentFields, EmployeeFields, ExpenseItemFields, LegalEntityFields,
)

router = APIRouter(prefix="/api/v1")

# Budgets show how much a department may spend: for those who approve money and admins.
BUDGET_READERS = ("admin", "cfo", "director", "accountant")


# --- legal entities ----------------------------------------------------------------------------

@router.get("/legal-entities", tags=["legal entities"], summary="Our legal entities (payers)")
async def list_legal_entities(core: CoreDep, include_inactive: bool = False) -> list[dict[str, Any]]:
    return await core.call(service.list_legal_entities, include_inactive=include_inactive,
                           view=many(service.legal_entity_view))


@router.post("/legal-entities", status_code=201, tags=["legal entities"], summary="Add a legal entity (admin)")
async def create_legal_entity(fields: LegalEntityFields, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.create_legal_entity, fields, view=service.legal_entity_view)


@router.get("/legal-entities/{entity_id}", tags=["legal entities"])
async def read_legal_entity(entity_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.get_legal_entity, entity_id, view=service.legal_entity_view)


@router.patch("/legal-entities/{entity_id}", tags=["legal entities"],
              summary="Change a legal entity (admin); bank_accounts, when given, replaces the list")
async def update_legal_entity(entity_id: int, fields: LegalEntityFields, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.update_legal_entity, entity_id, fields, view=service.legal_entity_view)


# --- departments -------------------------------------------------------------------------------

@router.get("/departments", tags=["departments"], summary="Departments, ordered by their place in the tree")
async def list_departments(core: CoreDep, parent_id: int | None = None) -> list[dict[str, Any]]:
    return await core.call(service.list_departments, parent_id=parent_id, view=many(service.department_view))


@router.get("/departments/tree", tags=["departments"], summary="Departments nested under their parents")
async def department_tree(core: CoreDep) -> list[dict[str, Any]]:
    return await core.run(service.department_tree)


@router.post("/departments", status_code=201, tags=["departments"], summary="Add a department (admin)")
async def create_department(fields: DepartmentFields, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.create_department, fields, view=service.department_view)


@router.get("/departments/{department_id}", tags=["departments"])
async def read_department(department_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.get_department, department_id, view=service.department_view)


@router.patch("/departments/{department_id}", tags=["departments"],
              summary="Change a department (admin); a new parent_id moves its whole subtree")
async def update_department(department_id: int, fields: DepartmentFields, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.update_department, department_id, fields, view=service.department_view)


# --- employees ---------------------------------------------------------------------------------

@router.get("/employees", tags=["employees"], summary="Employees; e-mail and Telegram binding for admins only")
async def list_employees(core: CoreDep, department_id: int | None = None,
                         q: str | None = Query(default=None, max_length=200, description="Part of the name"),
                         include_inactive: bool = False) -> list[dict[str, Any]]:
    return await core.call(service.list_employees, department_id=department_id, q=q,
                           include_inactive=include_inactive,
                           view=many(lambda e: service.employee_view(e, private=core.actor.is_admin)))


@router.post("/employees", status_code=201, tags=["employees"], summary="Add an employee (admin)")
async def create_employee(fields: EmployeeFields, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.create_employee, fields, view=service.employee_view)


@router.get("/employees/{employee_id}", tags=["employees"])
async def read_employee(employee_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.get_employee, employee_id, view=lambda employee: service.employee_view(
        employee, private=core.actor.is_admin or core.actor.employee_id == employee.id))


@router.patch("/employees/{employee_id}", tags=["employees"], summary="Change an employee (admin)")
async def update_employee(employee_id: int, fields: EmployeeFields, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.update_employee, employee_id, fields, view=service.employee_view)


@router.delete("/employees/{employee_id}", tags=["employees"],
               summary="Deactivate an employee (admin); nobody is deleted, their history stays")
async def deactivate_employee(employee_id: int, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.deactivate_employee, employee_id, view=service.employee_view)


# --- expense items -----------------------------------------------------------------------------

@router.get("/expense-items", tags=["expense items"])
async def list_expense_items(core: CoreDep, include_inactive: bool = False) -> list[dict[str, Any]]:
    return await core.call(service.list_expense_items, include_inactive=include_inactive,
                           view=many(service.expense_item_view))


@router.post("/expense-items", status_code=201, tags=["expense items"], summary="Add an expense item (admin)")
async def create_expense_item(fields: ExpenseItemFields, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.create_expense_item, fields, view=service.expense_item_view)


@router.get("/expense-items/{item_id}", tags=["expense items"])
async def read_expense_item(item_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.get_expense_item, item_id, view=service.expense_item_view)


@router.patch("/expense-items/{item_id}", tags=["expense items"], summary="Change an expense item (admin)")
async def update_expense_item(item_id: int, fields: ExpenseItemFields, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.update_expense_item, item_id, fields, view=service.expense_item_view)


# --- budgets -----------------------------------------------------------------------------------

def _budget_reader(core) -> None:
    if not core.actor.has(*BUDGET_READERS):
        raise Forbidden("budget.read_forbidden")


@router.get("/budgets", tags=["budgets"], summary="Monthly budgets (admin, CFO, director, accountant)")
async def list_budgets(core: CoreDep, department_id: int | None = None,
                       month: str | None = Query(default=None, description='"2026-03"')) -> list[dict[str, Any]]:
    _budget_reader(core)
    return await core.call(service.list_budgets, department_id=department_id, month=month,
                           view=many(service.budget_view))


@router.post("/budgets", status_code=201, tags=["budgets"], summary="Set a monthly budget (admin)")
async def create_budget(fields: BudgetFields, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.create_budget, fields, view=service.budget_view)


@router.get("/budgets/{budget_id}", tags=["budgets"])
async def read_budget(budget_id: int, core: CoreDep) -> dict[str, Any]:
    _budget_reader(core)
    return await core.call(service.get_budget, budget_id, view=service.budget_view)


@router.patch("/budgets/{budget_id}", tags=["budgets"], summary="Change a budget (admin)")
async def update_budget(budget_id: int, fields: BudgetFields, core: AdminDep) -> dict[str, Any]:
    return await core.call(service.update_budget, budget_id, fields, view=service.budget_view)


# --- delegations -------------------------------------------------------------------------------

@router.get("/delegations", tags=["delegations"],
            summary="Delegations: admins see all, others those they give or receive")
async def list_delegations(core: CoreDep, employee_id: int | None = None, include_cancelled: bool = False,
                           include_past: bool = False) -> list[dict[str, Any]]:
    return await core.call(service.list_delegations, core.actor, employee_id=employee_id,
                           include_cancelled=include_cancelled, include_past=include_past,
                           view=many(service.delegation_view))


@router.post("/delegations", status_code=201, tags=["delegations"],
             summary="Hand my approvals to a deputy for a date range (admins: anyone's); "
             "what waits for me now moves to the deputy while it is in force")
async def create_delegation(fields: DelegationFields, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.create_delegation, core.actor, fields, view=service.delegation_view)


@router.get("/delegations/{delegation_id}", tags=["delegations"])
async def read_delegation(delegation_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.get_delegation, core.actor, delegation_id, view=service.delegation_view)


@router.patch("/delegations/{delegation_id}", tags=["delegations"], summary="Change the deputy or the dates")
async def update_delegation(delegation_id: int, fields: DelegationFields, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.update_delegation, core.actor, delegation_id, fields, view=service.delegation_view)


@router.post("/delegations/{delegation_id}/cancel", tags=["delegations"], summary="Cancel: what the deputy still holds comes back (again: no change)")
async def cancel_delegation(delegation_id: int, core: CoreDep) -> dict[str, Any]:
    return await core.call(service.cancel_delegation, core.actor, delegation_id, view=service.delegation_view)
