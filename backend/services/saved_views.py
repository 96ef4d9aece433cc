"""Each person's default registry view (seed 004: an accountant opens the registry already
filtered to what concerns them). Stored as the registry's own filters, checked the same way."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Forbidden, InvalidInput
from backend.models import Employee
from backend.services.records import get_or_not_found
from backend.services.registry import RegistryQuery
from backend.workflows.actors import Actor

# What a view remembers: the filters and the order, never a page position.
NOT_SAVED = {"cursor"}


def _own_employee_id(actor: Actor) -> int:
    if actor.employee_id is None:
        raise Forbidden("view.needs_employee")
    return actor.employee_id


async def get_default_view(session: AsyncSession, actor: Actor) -> RegistryQuery | None:
    if actor.employee_id is None:
        return None
    employee = await get_or_not_found(session, Employee, actor.employee_id, "employee.not_found")
    if not employee.registry_view:
        return None
    try:
        return RegistryQuery(**employee.registry_view)
    except ValidationError:  # saved by an older version whose filters no longer exist
        return None


async def save_default_view(session: AsyncSession, actor: Actor, query: RegistryQuery) -> RegistryQuery:
    employee = await get_or_not_found(session, Employee, _own_employee_id(actor), "employee.not_found")
    stored = view_dump(query)
    employee.registry_view = stored or None
    return RegistryQuery(**stored)


async def clear_default_view(session: AsyncSession, actor: Actor) -> None:
    employee = await get_or_not_found(session, Employee, _own_employee_id(actor), "employee.not_found")
    employee.registry_view = None


def parse_view(data: dict[str, Any]) -> RegistryQuery:
    """A view sent by a client: the registry's filters, with a field-named error otherwise."""
    try:
        return RegistryQuery(**data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "view"
        raise InvalidInput("view.invalid", field=field, detail=first.get("msg", "")) from None


def view_dump(query: RegistryQuery | None) -> dict[str, Any]:
    if query is None:
        return {}
    return query.model_dump(mode="json", exclude_none=True, exclude_defaults=True, exclude=NOT_SAVED)
