"""The company model: legal entities, departments, employees, expense items, budgets, delegations.

Admins keep these through the API; the bot and the routing read them. Every use case takes
a session, validates the whole input at once (one error is raised as itself, several
together as ``ValidationFailed``) and turns a unique-key clash into ``Conflict`` naming the
field, never an ``IntegrityError``.
"""

from __future__ import annotations

from backend.services.company.common import (
    DEFAULT_TIMEZONE, MANAGERS_LOCK, TREE_LOCK, UNIQUE_KEYS, Errors, flush_unique, lock_hierarchy, missing_fields,
    name_matches, text, unique_key_of,
)
from backend.services.company.legal_entities import (
    LEGAL_ENTITY_REQUIRED, BankAccountIn, LegalEntityFields, bank_account_view, create_legal_entity, get_legal_entity,
    legal_entity_view, list_legal_entities, update_legal_entity,
)
from backend.services.company.departments import (
    DepartmentFields, create_department, department_tree, department_view, get_department, list_departments,
    update_department,
)
from backend.services.company.employees import (
    LANGUAGES, EmployeeFields, create_employee, deactivate_employee, employee_view, get_employee, list_employees,
    update_employee,
)
from backend.services.company.expense_items import (
    ExpenseItemFields, create_expense_item, expense_item_view, get_expense_item, list_expense_items,
    update_expense_item,
)
from backend.services.company.budgets import (
    BUDGET_REQUIRED, ON_EXCEED, BudgetFields, budget_view, create_budget, get_budget, list_budgets, parse_month,
    update_budget,
)
from backend.services.company.delegations import (
    DelegationFields, cancel_delegation, create_delegation, delegation_view, get_delegation, list_delegations,
    update_delegation,
)

__all__ = [
    "LANGUAGES", "ON_EXCEED", "DEFAULT_TIMEZONE", "Errors", "text", "missing_fields", "UNIQUE_KEYS", "unique_key_of",
    "flush_unique", "TREE_LOCK", "MANAGERS_LOCK", "lock_hierarchy", "BankAccountIn", "LegalEntityFields",
    "LEGAL_ENTITY_REQUIRED", "create_legal_entity", "update_legal_entity", "get_legal_entity", "list_legal_entities",
    "bank_account_view", "legal_entity_view", "DepartmentFields", "create_department", "update_department",
    "get_department", "list_departments", "department_view", "department_tree", "EmployeeFields", "create_employee",
    "update_employee", "deactivate_employee", "get_employee", "list_employees", "name_matches", "employee_view",
    "ExpenseItemFields", "create_expense_item", "update_expense_item", "get_expense_item", "list_expense_items",
    "expense_item_view", "BudgetFields", "parse_month", "BUDGET_REQUIRED", "create_budget", "update_budget",
    "get_budget", "list_budgets", "budget_view", "DelegationFields", "create_delegation", "update_delegation",
    "cancel_delegation", "get_delegation", "list_delegations", "delegation_view",
]
