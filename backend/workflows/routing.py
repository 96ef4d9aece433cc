"""Route resolution: which stages apply to a request and who approves each of them.

Approvers are named by rule, not by person, so staff changes and vacations never break a
route (seed 003). A rule that finds nobody is an error at submit time, never a request
stuck forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import InvalidInput
from backend.models import Delegation, Department, Employee, PaymentRequest, RouteStage

RULE_KINDS = ("department_head", "head_of", "role", "manager_chain", "people")
MODES = ("any", "all", "n_of_m")
CONDITION_KEYS = (
    "amount_gte", "amount_lt", "currencies", "legal_entity_ids", "department_ids",
    "request_type_codes", "over_budget", "prepayment",
)


@dataclass
class ResolvedStage:
    position: int
    name: str
    mode: str
    required_count: int
    sla_hours: int
    approver_ids: list[int]
    reason: str = ""
    skipped_because_initiator: bool = False


@dataclass
class RouteContext:
    """What stage conditions look at, computed once per submit."""

    over_budget: bool = False
    facts: dict[str, Any] = field(default_factory=dict)


def validate_rule(rule: dict[str, Any]) -> None:
    """Check the shape of an approver rule as admins write it."""
    kind = rule.get("kind")
    if kind not in RULE_KINDS:
        raise InvalidInput("route.rule_kind", field="approvers.kind", kinds=", ".join(RULE_KINDS))
    if kind == "head_of" and not rule.get("department"):
        raise InvalidInput("route.rule_needs", field="approvers.department", kind=kind)
    if kind == "role" and not rule.get("role"):
        raise InvalidInput("route.rule_needs", field="approvers.role", kind=kind)
    if kind == "manager_chain":
        levels = rule.get("levels", 1)
        if not isinstance(levels, int) or not 1 <= levels <= 10:
            raise InvalidInput("route.manager_levels", field="approvers.levels")
    if kind == "people":
        ids = rule.get("employee_ids")
        if not ids or not all(isinstance(i, int) for i in ids):
            raise InvalidInput("route.rule_needs", field="approvers.employee_ids", kind=kind)


def validate_conditions(conditions: dict[str, Any]) -> None:
    unknown = set(conditions) - set(CONDITION_KEYS)
    if unknown:
        raise InvalidInput(
            "route.condition_unknown", field="conditions", names=", ".join(sorted(unknown)),
            allowed=", ".join(CONDITION_KEYS),
        )
    for key in ("amount_gte", "amount_lt"):
        if key in conditions and (not isinstance(conditions[key], int) or conditions[key] < 0):
            raise InvalidInput("route.condition_amount", field=f"conditions.{key}")


def stage_applies(stage: RouteStage, request: PaymentRequest, request_type_code: str, ctx: RouteContext) -> bool:
    """Whether the stage's conditions hold for this request (all of them must)."""
    c = stage.conditions or {}
    if "amount_gte" in c and request.amount < c["amount_gte"]:
        return False
    if "amount_lt" in c and request.amount >= c["amount_lt"]:
        return False
    if c.get("currencies") and request.currency not in c["currencies"]:
        return False
    if c.get("legal_entity_ids") and request.legal_entity_id not in c["legal_entity_ids"]:
        return False
    if c.get("department_ids") and request.department_id not in c["department_ids"]:
        return False
    if c.get("request_type_codes") and request_type_code not in c["request_type_codes"]:
        return False
    if "over_budget" in c and bool(c["over_budget"]) != ctx.over_budget:
        return False
    if "prepayment" in c and bool(c["prepayment"]) != request.is_prepayment:
        return False
    return True


def describe_conditions(c: dict[str, Any]) -> str:
    parts = []
    if "amount_gte" in c:
        parts.append(f"amount ≥ {c['amount_gte'] / 100:.2f}")
    if "amount_lt" in c:
        parts.append(f"amount < {c['amount_lt'] / 100:.2f}")
    if c.get("over_budget"):
        parts.append("over budget")
    if c.get("prepayment"):
        parts.append("prepayment")
    return ", ".join(parts)


class Directory:
    """Read access to the organisation chart for rule resolution, cached per submit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._employees: dict[int, Employee | None] = {}
        self._departments: dict[int, Department | None] = {}

    async def employee(self, employee_id: int | None) -> Employee | None:
        if employee_id is None:
            return None
        if employee_id not in self._employees:
            self._employees[employee_id] = await self.session.get(Employee, employee_id)
        return self._employees[employee_id]

    async def department(self, department_id: int | None) -> Department | None:
        if department_id is None:
            return None
        if department_id not in self._departments:
            self._departments[department_id] = await self.session.get(Department, department_id)
        return self._departments[department_id]

    async def active_head(self, department: Department | None, *, skip: int | None = None) -> Employee | None:
        """The head of the department, its deputy when the head is away, climbing up
        the tree while a department has neither (or only ``skip``, the initiator)."""
        while department is not None:
            for candidate_id in (department.head_id, department.deputy_id):
                candidate = await self.employee(candidate_id)
                if candidate is not None and candidate.active and candidate.id != skip:
                    return candidate
            department = await self.department(department.parent_id)
        return None

    async def manager_of(self, employee: Employee) -> Employee | None:
        if employee.manager_id:
            manager = await self.employee(employee.manager_id)
            if manager is not None and manager.active:
                return manager
        department = await self.department(employee.department_id)
        if department is not None and department.head_id == employee.id:
            # A head's manager is the head above, not their own deputy.
            department = await self.department(department.parent_id)
        return await self.active_head(department, skip=employee.id)

    async def with_role(self, role: str) -> list[Employee]:
        # Roles are a short JSON list. The JSON text holding '"role"' narrows the rows in SQL on both
        # databases (loading every employee made each final approval O(staff)); Python checks exactly.
        rows = (await self.session.scalars(
            select(Employee).where(Employee.active.is_(True), cast(Employee.roles, String).contains(f'"{role}"'))
        )).all()
        return sorted((e for e in rows if role in (e.roles or [])), key=lambda e: e.id)

    async def department_by_code(self, code: str) -> Department | None:
        return await self.session.scalar(select(Department).where(Department.code == code))


async def resolve_approvers(directory: Directory, rule: dict[str, Any], initiator: Employee,
                            department_id: int | None) -> list[int]:
    """The ids of the employees a rule names for this initiator, in a stable order."""
    kind = rule.get("kind")
    found: list[Employee | None] = []
    if kind == "department_head":
        found = [await directory.active_head(await directory.department(department_id), skip=initiator.id)]
    elif kind == "head_of":
        found = [await directory.active_head(await directory.department_by_code(rule["department"]))]
    elif kind == "role":
        found = list(await directory.with_role(rule["role"]))
    elif kind == "manager_chain":
        current: Employee | None = initiator
        for _ in range(int(rule.get("levels", 1))):
            current = await directory.manager_of(current) if current else None
            if current is None:
                break
            found.append(current)
    elif kind == "people":
        found = [await directory.employee(i) for i in rule.get("employee_ids", [])]
    ids: list[int] = []
    for employee in found:
        if employee is not None and employee.active and employee.id not in ids:
            ids.append(employee.id)
    return ids


async def resolve_route(session: AsyncSession, stages: list[RouteStage], request: PaymentRequest,
                        request_type_code: str, initiator: Employee, ctx: RouteContext) -> list[ResolvedStage]:
    """Resolve every applicable stage, or raise naming the first stage that finds nobody."""
    directory = Directory(session)
    resolved: list[ResolvedStage] = []
    for stage in stages:
        if not stage_applies(stage, request, request_type_code, ctx):
            continue
        ids = await resolve_approvers(directory, stage.approvers, initiator, request.department_id)
        if not ids:
            raise InvalidInput("route.nobody", field="request_type_id", stage=stage.name,
                               rule=describe_rule(stage.approvers))
        others = [i for i in ids if i != initiator.id]
        resolved.append(ResolvedStage(
            position=len(resolved) + 1, name=stage.name, mode=stage.mode,
            required_count=_required(stage.mode, stage.required_count, len(others) or len(ids)),
            sla_hours=stage.sla_hours, approver_ids=others or ids,
            reason=describe_conditions(stage.conditions or {}),
            # Nobody approves their own request: a stage whose only approver is the
            # initiator is passed through automatically, and history says so.
            skipped_because_initiator=not others,
        ))
    if not resolved:
        raise InvalidInput("route.empty", field="request_type_id")
    return resolved


def _required(mode: str, required_count: int, available: int) -> int:
    if mode == "all":
        return available
    if mode == "n_of_m":
        return max(1, min(required_count, available))
    return 1


def describe_rule(rule: dict[str, Any]) -> str:
    kind = rule.get("kind")
    if kind == "head_of":
        return f"head_of:{rule.get('department')}"
    if kind == "role":
        return f"role:{rule.get('role')}"
    if kind == "manager_chain":
        return f"manager_chain:{rule.get('levels', 1)}"
    return str(kind)


async def active_deputy(session: AsyncSession, employee_id: int, on: date) -> int | None:
    """The deputy standing in for ``employee_id`` on the given day, if any."""
    return await session.scalar(
        select(Delegation.deputy_id)
        .join(Employee, Employee.id == Delegation.deputy_id)
        .where(Delegation.employee_id == employee_id, Delegation.starts_on <= on,
               Delegation.ends_on >= on, Delegation.cancelled_at.is_(None), Employee.active.is_(True))
        .order_by(Delegation.id.desc()).limit(1)
    )
