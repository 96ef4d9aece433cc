"""Request types and their routes: loading the defaults, reading and replacing routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Conflict, DomainError, InvalidInput, ValidationFailed
from backend.models import ROLES, Department, Employee, RequestType, RouteStage
from backend.workflows.routing import MODES, validate_conditions, validate_rule
from backend.services.records import get_or_not_found

DEFAULTS = Path(__file__).resolve().parent.parent / "defaults" / "request_types.yaml"


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    approvers: dict[str, Any] = Field(description='e.g. {"kind": "role", "role": "cfo"}')
    mode: str = "any"
    required_count: int = Field(default=1, ge=1, le=50)
    conditions: dict[str, Any] = Field(default_factory=dict)
    sla_hours: int = Field(default=24, ge=1, le=24 * 30)


class RequestTypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_\-]+$")
    name_ru: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    active: bool = True
    kind: Literal["payment", "contract"] = Field(
        default="payment", description="payment: routes payment requests; contract: routes contract approvals")
    numbering: Literal["approval", "reserve"] = Field(
        default="approval", description="Contracts: number given on approval, or reserved at submit")
    stages: list[StageIn] = Field(min_length=1)


async def check_stages(session: AsyncSession, stages: list[StageIn]) -> None:
    """Every stage well-formed, every named person real — all errors at once."""
    errors: list[DomainError] = []
    for index, stage in enumerate(stages):  # 0-based, as pydantic names list items
        for check in (lambda: validate_rule(stage.approvers), lambda: validate_conditions(stage.conditions)):
            try:
                check()
            except DomainError as error:
                error.field = f"stages.{index}.{error.field}"
                errors.append(error)
        if stage.mode not in MODES:
            errors.append(InvalidInput("route.mode", field=f"stages.{index}.mode", allowed=", ".join(MODES)))
        kind = stage.approvers.get("kind")
        if kind == "role" and stage.approvers.get("role") and stage.approvers["role"] not in ROLES:
            errors.append(InvalidInput("token.role", field=f"stages.{index}.approvers.role", allowed=", ".join(ROLES)))
        if kind == "head_of" and stage.approvers.get("department"):
            found = await session.scalar(select(Department.id).where(Department.code == stage.approvers["department"]))
            if found is None:
                errors.append(InvalidInput("route.unknown_department", field=f"stages.{index}.approvers.department",
                                           code_value=stage.approvers["department"]))
        if kind == "people":
            for employee_id in stage.approvers.get("employee_ids") or []:
                if isinstance(employee_id, int) and await session.get(Employee, employee_id) is None:
                    errors.append(InvalidInput("reference.unknown", field=f"stages.{index}.approvers.employee_ids",
                                               id=employee_id))
    if errors:
        raise ValidationFailed(errors)


def _stage_rows(stages: list[StageIn]) -> list[RouteStage]:
    return [
        RouteStage(position=i, name=s.name, approvers=s.approvers, mode=s.mode, required_count=s.required_count,
                   conditions=s.conditions, sla_hours=s.sla_hours)
        for i, s in enumerate(stages, start=1)
    ]


async def create_request_type(session: AsyncSession, data: RequestTypeIn) -> RequestType:
    if await session.scalar(select(RequestType.id).where(RequestType.code == data.code)):
        raise Conflict("request_type.code_taken", field="code", code_value=data.code)
    await check_stages(session, data.stages)
    request_type = RequestType(code=data.code, name_ru=data.name_ru, name_en=data.name_en, active=data.active,
                               kind=data.kind, numbering=data.numbering)
    request_type.stages = _stage_rows(data.stages)
    session.add(request_type)
    await session.flush()
    return request_type


async def replace_route(session: AsyncSession, request_type_id: int, stages: list[StageIn]) -> RequestType:
    """Replace the whole route; requests already submitted keep the route they were given."""
    request_type = await get_request_type(session, request_type_id)
    if not stages:
        raise InvalidInput("route.empty", field="stages")
    await check_stages(session, stages)
    request_type.stages.clear()
    await session.flush()  # the old positions go before the new ones take their place
    request_type.stages.extend(_stage_rows(stages))
    await session.flush()
    return request_type


class RequestTypePatch(BaseModel):
    """What an admin may change of a request type besides its route (``PUT …/route``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name_ru: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None
    numbering: Literal["approval", "reserve"] | None = None


async def update_request_type(session: AsyncSession, request_type_id: int, data: RequestTypePatch) -> RequestType:
    """Rename or (de)activate; an inactive type is not offered for new requests."""
    request_type = await get_request_type(session, request_type_id)
    given = data.model_dump(exclude_unset=True)
    missing = [InvalidInput("field.required", field=k) for k, v in given.items() if v is None]
    if len(missing) == 1:
        raise missing[0]
    if missing:
        raise ValidationFailed(missing)
    for key, value in given.items():
        setattr(request_type, key, value)
    await session.flush()
    return request_type


async def get_request_type(session: AsyncSession, request_type_id: int) -> RequestType:
    return await get_or_not_found(session, RequestType, request_type_id, "request_type.not_found")


async def list_request_types(session: AsyncSession, *, include_inactive: bool = False,
                             kind: str | None = "payment") -> list[RequestType]:
    """Active types of one kind (payment requests by default; None for every kind)."""
    query = select(RequestType).order_by(RequestType.id)
    if kind is not None:
        query = query.where(RequestType.kind == kind)
    if not include_inactive:
        query = query.where(RequestType.active.is_(True))
    return list(await session.scalars(query))


def request_type_view(request_type: RequestType) -> dict[str, Any]:
    return {
        "id": request_type.id, "code": request_type.code, "name_ru": request_type.name_ru,
        "name_en": request_type.name_en, "active": request_type.active, "kind": request_type.kind,
        "numbering": request_type.numbering,
        "stages": [
            {"position": s.position, "name": s.name, "approvers": s.approvers, "mode": s.mode,
             "required_count": s.required_count, "conditions": s.conditions, "sla_hours": s.sla_hours}
            for s in request_type.stages
        ],
    }


async def load_defaults(session: AsyncSession, path: Path = DEFAULTS) -> int:
    """Load the default request types on first start; returns how many were added.

    Later starts add nothing, except the default contract route when no contract route
    exists (a company that started before contract approvals existed gets one)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = [RequestTypeIn.model_validate(item) for item in document["request_types"]]
    if await session.scalar(select(func.count()).select_from(RequestType)):
        has_contract_route = await session.scalar(select(RequestType.id).where(RequestType.kind == "contract").limit(1))
        taken = set(await session.scalars(select(RequestType.code)))
        items = [] if has_contract_route else [i for i in items if i.kind == "contract" and i.code not in taken]
    for item in items:
        await create_request_type(session, item)
    return len(items)
