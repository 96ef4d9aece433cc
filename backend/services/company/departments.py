"""Departments: the tree, its paths and moves."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, DomainError, InvalidInput
from backend.models import Department
from backend.services.company.common import (
    TREE_LOCK, Errors, active_employee, flush_unique, lock_hierarchy, missing_fields, text,
)
from backend.services.records import get_or_not_found


class DepartmentFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = None
    code: str | None = Field(default=None, description="Optional unique code, used by route rules (head_of)")
    parent_id: int | None = Field(default=None, description="null for a top-level department; a change moves the subtree")
    head_id: int | None = None
    deputy_id: int | None = None


async def create_department(session: AsyncSession, fields: DepartmentFields) -> Department:
    given = fields.model_dump(exclude_unset=True)
    if given.get("parent_id") is not None:
        await lock_hierarchy(session, TREE_LOCK)
    department = Department()
    parent = await _apply_department(session, department, given, creating=True)
    session.add(department)
    await flush_unique(session)  # the id is part of the path
    department.path = f"{parent.path if parent else '/'}{department.id}/"
    await session.flush()
    return department


async def update_department(session: AsyncSession, department_id: int, fields: DepartmentFields) -> Department:
    given = fields.model_dump(exclude_unset=True)
    if "parent_id" in given:
        await lock_hierarchy(session, TREE_LOCK)  # before reading any path
    department = await get_department(session, department_id)
    moving = "parent_id" in given and given["parent_id"] != department.parent_id
    parent = await _apply_department(session, department, given, creating=False)
    if moving:
        await _move_subtree(session, department, parent)
    await flush_unique(session)
    return department


async def _apply_department(session: AsyncSession, department: Department, given: dict[str, Any],
                            *, creating: bool) -> Department | None:
    """Check and set the fields; returns the (new) parent, whose path the caller needs."""
    errors = Errors()
    for error in missing_fields(given, ("name",), creating=creating):
        errors.add(error)
    values: dict[str, Any] = {}
    if given.get("name") is not None:
        values["name"] = errors.attempt(lambda: text(given["name"], "name", 200))
    if "code" in given:
        values["code"] = errors.attempt(lambda: text(given["code"], "code", 50, required=False)) or None
    parent = None
    if given.get("parent_id") is not None:
        parent = await session.get(Department, given["parent_id"])
        if parent is None:
            errors.add(InvalidInput("reference.unknown", field="parent_id", id=given["parent_id"]))
        elif not creating and parent.path.startswith(department.path):
            errors.add(InvalidInput("department.cycle", field="parent_id", id=parent.id, name=parent.name))
    for key in ("head_id", "deputy_id"):
        if given.get(key) is not None:
            try:
                await active_employee(session, given[key], key)
            except DomainError as error:
                errors.add(error)
        if key in given:
            values[key] = given[key]
    if values.get("code") and values["code"] != department.code:
        taken = await session.scalar(select(Department.id).where(Department.code == values["code"]))
        if taken is not None:
            errors.add(Conflict("department.code_taken", field="code", id=taken))
    errors.raise_if_any()
    if "parent_id" in given:
        values["parent_id"] = parent.id if parent else None
    for key, value in values.items():
        setattr(department, key, value)
    return parent


async def _move_subtree(session: AsyncSession, department: Department, parent: Department | None) -> None:
    """Give the department and everything under it the paths of their new place."""
    old = department.path
    new = f"{parent.path if parent else '/'}{department.id}/"
    # The paths hold only digits and slashes, so the prefix needs no LIKE escaping.
    subtree = (await session.scalars(select(Department).where(Department.path.like(old + "%")))).all()
    for row in subtree:
        row.path = new + row.path[len(old):]


async def get_department(session: AsyncSession, department_id: int) -> Department:
    return await get_or_not_found(session, Department, department_id, "department.not_found")


async def list_departments(session: AsyncSession, *, parent_id: int | None = None) -> list[Department]:
    query = select(Department).order_by(Department.path)
    if parent_id is not None:
        query = query.where(Department.parent_id == parent_id)
    return list(await session.scalars(query))


def department_view(department: Department) -> dict[str, Any]:
    return {"id": department.id, "name": department.name, "code": department.code,
            "parent_id": department.parent_id, "head_id": department.head_id,
            "deputy_id": department.deputy_id, "path": department.path}


async def department_tree(session: AsyncSession) -> list[dict[str, Any]]:
    """Every department nested under its parent, children sorted by name."""
    rows = list(await session.scalars(select(Department)))
    nodes = {d.id: {**department_view(d), "children": []} for d in rows}
    roots: list[dict[str, Any]] = []
    for department in rows:
        node = nodes[department.id]
        parent = nodes.get(department.parent_id) if department.parent_id else None
        (parent["children"] if parent else roots).append(node)

    def order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items.sort(key=lambda n: (n["name"].lower(), n["id"]))
        for item in items:
            order(item["children"])
        return items

    return order(roots)
