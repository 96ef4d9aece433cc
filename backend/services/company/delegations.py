"""Delegations: a deputy approving for someone who is away.

Creating, changing or cancelling one hands the approvals already waiting over to the deputy
(or back) in the same transaction; the scheduler's ``sync_delegations`` does the same when a
start date arrives or an end date passes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from backend.models import Delegation, Employee
from backend.services.company.common import Errors, active_employee, missing_fields, today
from backend.services.delegation_handover import hand_over
from backend.workflows.actors import Actor


class DelegationFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: int | None = Field(default=None, description="Who is away; yourself when omitted")
    deputy_id: int | None = None
    starts_on: date | None = None
    ends_on: date | None = Field(default=None, description="Last day away (inclusive)")


async def create_delegation(session: AsyncSession, actor: Actor, fields: DelegationFields) -> Delegation:
    given = fields.model_dump(exclude_unset=True)
    if given.get("employee_id") is None:
        given["employee_id"] = actor.employee_id
    _check_delegation_actor(actor, given["employee_id"])
    delegation = Delegation()
    await _apply_delegation(session, actor, delegation, given, creating=True)
    session.add(delegation)
    await session.flush()
    await hand_over(session, actor, approver_ids=[delegation.employee_id])
    return delegation


async def update_delegation(session: AsyncSession, actor: Actor, delegation_id: int,
                            fields: DelegationFields) -> Delegation:
    delegation = await get_delegation(session, actor, delegation_id)
    _check_delegation_actor(actor, delegation.employee_id)
    given = fields.model_dump(exclude_unset=True)
    if "employee_id" in given and given["employee_id"] != delegation.employee_id:
        raise InvalidInput("delegation.employee_fixed", field="employee_id")
    if delegation.cancelled_at is not None:
        raise InvalidInput("delegation.cancelled", id=delegation.id)
    await _apply_delegation(session, actor, delegation, given, creating=False)
    await session.flush()
    await hand_over(session, actor, approver_ids=[delegation.employee_id])
    return delegation


async def cancel_delegation(session: AsyncSession, actor: Actor, delegation_id: int) -> Delegation:
    """Cancel; what the deputy still holds goes back at once. Cancelling again changes nothing."""
    delegation = await get_delegation(session, actor, delegation_id)
    _check_delegation_actor(actor, delegation.employee_id)
    if delegation.cancelled_at is None:
        delegation.cancelled_at = utcnow()
        await session.flush()
        await hand_over(session, actor, approver_ids=[delegation.employee_id])
    return delegation


def _check_delegation_actor(actor: Actor, employee_id: int | None) -> None:
    if actor.is_admin:
        if employee_id is None:
            raise InvalidInput("field.required", field="employee_id")
        return
    if actor.employee_id is None or employee_id != actor.employee_id:
        raise Forbidden("delegation.not_yours", field="employee_id")


async def _apply_delegation(session: AsyncSession, actor: Actor, delegation: Delegation, given: dict[str, Any],
                            *, creating: bool) -> None:
    errors = Errors()
    for error in missing_fields(given, ("deputy_id", "starts_on", "ends_on"), creating=creating):
        errors.add(error)
    errors.raise_if_any()
    employee_id = given.get("employee_id", delegation.employee_id)
    deputy_id = given.get("deputy_id", delegation.deputy_id)
    starts_on = given.get("starts_on", delegation.starts_on)
    ends_on = given.get("ends_on", delegation.ends_on)
    if creating and await session.get(Employee, employee_id) is None:
        errors.add(InvalidInput("reference.unknown", field="employee_id", id=employee_id))
    if "deputy_id" in given:
        try:
            await _check_deputy(session, employee_id, deputy_id)
        except DomainError as error:
            errors.add(error)
    errors.attempt(lambda: _check_dates(actor, starts_on, ends_on, past="ends_on" in given or creating))
    errors.raise_if_any()
    await _check_overlap(session, employee_id, starts_on, ends_on, delegation.id)
    delegation.employee_id, delegation.deputy_id = employee_id, deputy_id
    delegation.starts_on, delegation.ends_on = starts_on, ends_on


def _check_dates(actor: Actor, starts_on: date, ends_on: date, *, past: bool = True) -> None:
    """The last day is not before the first, nor (when ``past``) before the actor's today."""
    if ends_on < starts_on:
        raise InvalidInput("delegation.dates", field="ends_on", starts_on=starts_on.strftime("%d.%m.%Y"))
    if past and ends_on < today(actor):
        raise InvalidInput("delegation.past", field="ends_on")


async def _check_deputy(session: AsyncSession, employee_id: int, deputy_id: int) -> Employee:
    if deputy_id == employee_id:
        raise InvalidInput("delegation.self", field="deputy_id")
    return await active_employee(session, deputy_id, "deputy_id")


async def _check_overlap(session: AsyncSession, employee_id: int, starts_on: date, ends_on: date,
                         delegation_id: int | None = None) -> None:
    overlapping = await session.scalar(select(Delegation.id).where(
        Delegation.employee_id == employee_id, Delegation.cancelled_at.is_(None),
        Delegation.starts_on <= ends_on, Delegation.ends_on >= starts_on,
        *([Delegation.id != delegation_id] if delegation_id is not None else []),
    ).order_by(Delegation.id).limit(1))
    if overlapping is not None:
        raise Conflict("delegation.overlap", field="starts_on", id=overlapping)


async def check_own_period(session: AsyncSession, actor: Actor, starts_on: date, ends_on: date) -> None:
    """The checks of the actor's own new delegation that need no deputy yet, for a dialog that
    asks the dates first; ``create_delegation`` makes them all again."""
    _check_dates(actor, starts_on, ends_on)
    await _check_overlap(session, actor.employee_id, starts_on, ends_on)


async def check_own_deputy(session: AsyncSession, actor: Actor, deputy_id: int) -> Employee:
    """The deputy the actor picked for themselves, if they may be one (see ``check_own_period``)."""
    return await _check_deputy(session, actor.employee_id, deputy_id)


async def get_delegation(session: AsyncSession, actor: Actor, delegation_id: int) -> Delegation:
    """The delegation, if the actor is an admin, the one away or the deputy; otherwise not found."""
    delegation = await session.get(Delegation, delegation_id)
    if delegation is None or not (
        actor.is_admin or actor.employee_id in (delegation.employee_id, delegation.deputy_id)
    ):
        raise NotFound("delegation.not_found", id=delegation_id)
    return delegation


async def list_delegations(session: AsyncSession, actor: Actor, *, employee_id: int | None = None,
                           include_cancelled: bool = False, include_past: bool = False) -> list[Delegation]:
    query = select(Delegation).order_by(Delegation.starts_on.desc(), Delegation.id.desc())
    if not actor.is_admin:
        me = actor.employee_id
        if me is None:
            return []
        query = query.where(or_(Delegation.employee_id == me, Delegation.deputy_id == me))
    if employee_id is not None:
        query = query.where(Delegation.employee_id == employee_id)
    if not include_cancelled:
        query = query.where(Delegation.cancelled_at.is_(None))
    if not include_past:
        query = query.where(Delegation.ends_on >= today(actor))
    return list(await session.scalars(query))


def delegation_view(delegation: Delegation) -> dict[str, Any]:
    return {"id": delegation.id, "employee_id": delegation.employee_id, "deputy_id": delegation.deputy_id,
            "starts_on": delegation.starts_on, "ends_on": delegation.ends_on,
            "created_at": delegation.created_at, "cancelled_at": delegation.cancelled_at,
            "cancelled": delegation.cancelled_at is not None}
