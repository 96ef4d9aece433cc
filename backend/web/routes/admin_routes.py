"""Admin pages of the routes: every request type's stages in words, a route edited as YAML
(the format of ``backend/defaults/request_types.yaml``) and checked by the same service as the
API, renaming and (de)activating a type."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import DomainError, InvalidInput
from backend.models import ROLES, Department, Employee, LegalEntity
from backend.money import format_money
from backend.services import request_types as service
from backend.services.request_types import RequestTypePatch, StageIn
from backend.web.context import AdminPageDep, Page
from backend.web.rendering import redirect, render
from backend.web.routes.admin_forms import (
    MAX_ID, FormErrors, form_errors, pydantic_errors, raise_all, read_form, text_of,
)

router = APIRouter(prefix="/admin")
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

MAX_YAML = 64 * 1024
TYPE_FIELDS = ("name_ru", "name_en", "active", "numbering")
STAGE_PATH = re.compile(r"^stages\.(\d+)(?:\.|$)")


# --- the route as YAML ---------------------------------------------------------------------------

class _NoAliases(yaml.SafeLoader):
    """yaml.safe_load's loader without anchors and aliases: a route needs none, and a few
    nested aliases would otherwise expand into gigabytes when the stages are stored."""

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def stages_yaml(stages: list[dict[str, Any]]) -> str:
    """One line per stage, as the defaults file writes them; defaults left out."""
    lines = []
    for stage in stages:
        item: dict[str, Any] = {"name": stage["name"], "approvers": stage["approvers"]}
        if stage.get("mode", "any") != "any":
            item["mode"] = stage["mode"]
        if stage.get("mode") == "n_of_m" or stage.get("required_count", 1) != 1:
            item["required_count"] = stage.get("required_count", 1)
        if stage.get("conditions"):
            item["conditions"] = stage["conditions"]
        item["sla_hours"] = stage.get("sla_hours", 24)
        lines.append("- " + yaml.safe_dump(item, default_flow_style=True, allow_unicode=True, sort_keys=False,
                                           width=10**6).strip())
    return "\n".join(lines) + "\n"


def parse_route(text: str) -> tuple[list[Any], list[DomainError]]:
    """The stages of a route written as YAML: a list of stages, or a mapping with ``stages:``.

    Returns every item (a StageIn, or None where it is malformed) with the errors found so far,
    each naming its place (``stages.1.sla_hours``); raises when the text as a whole is unreadable.
    """
    if len(text) > MAX_YAML:
        raise InvalidInput("route.yaml_too_long", field="stages", max=MAX_YAML)
    try:
        data = yaml.load(text, Loader=_NoAliases)  # noqa: S506 - a SafeLoader without aliases
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise InvalidInput("route.yaml_syntax", field="stages", line=mark.line + 1 if mark else "?",
                           column=mark.column + 1 if mark else "?", detail=error.problem or str(error)) from None
    except (yaml.YAMLError, RecursionError) as error:
        raise InvalidInput("route.yaml_syntax", field="stages", line="?", column="?",
                           detail=str(error)[:200] or type(error).__name__) from None
    if isinstance(data, dict) and set(data) == {"stages"}:
        data = data["stages"]
    if not isinstance(data, list):
        raise InvalidInput("route.yaml_shape", field="stages")
    if not data:  # the service refuses it too, in words meant for someone who asks an admin
        raise InvalidInput("route.yaml_empty", field="stages")
    try:  # what the database stores is JSON: dates become text, NaN and infinities are refused
        data = json.loads(json.dumps(data, default=str, allow_nan=False))
    except ValueError:
        raise InvalidInput("route.yaml_number", field="stages") from None
    items: list[Any] = []
    errors: list[DomainError] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            errors.append(InvalidInput("route.yaml_stage", field=f"stages.{index}"))
            items.append(None)
            continue
        try:
            items.append(StageIn.model_validate(item))
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc, prefix=f"stages.{index}"))
            items.append(None)
    return items, errors


async def _save_route(session: AsyncSession, request_type_id: int, text: str) -> None:
    items, errors = parse_route(text)
    if errors:
        # Also what the service says of the stages that parsed, each checked on its own and
        # named by its place in the admin's list, so every mistake shows at once.
        for index, stage in enumerate(items):
            if stage is None:
                continue
            try:
                await service.check_stages(session, [stage])
            except DomainError as error:
                for item in getattr(error, "errors", [error]):
                    if item.field and item.field.startswith("stages.0"):
                        item.field = f"stages.{index}" + item.field[len("stages.0"):]
                    errors.append(item)
        errors.sort(key=_stage_order)
        raise_all(errors)
    await service.replace_route(session, request_type_id, items)


def _stage_order(error: DomainError) -> int:
    found = STAGE_PATH.match(error.field or "")
    return int(found.group(1)) if found else -1


# --- the route in words --------------------------------------------------------------------------

class RouteWords:
    """Approver rules, modes and conditions as a reader says them, with names instead of ids."""

    def __init__(self, page: Page, departments: dict[str, str], department_ids: dict[int, str],
                 people: dict[int, str], entities: dict[int, str]) -> None:
        self.page, self.departments, self.department_ids = page, departments, department_ids
        self.people, self.entities = people, entities

    def rule(self, rule: dict[str, Any]) -> str:
        t, kind = self.page.t, rule.get("kind")
        if kind == "department_head":
            return t("adm.rule.department_head")
        if kind == "head_of":
            code = str(rule.get("department", ""))
            return t("adm.rule.head_of", name=self.departments.get(code, code), code=code)
        if kind == "role":
            role = str(rule.get("role", ""))
            return t("adm.rule.role", role=t(f"adm.role.{role}") if role else "?")
        if kind == "manager_chain":
            return t("adm.rule.manager_chain", n=rule.get("levels", 1))
        if kind == "people":
            names = [self.people.get(i, f"#{i}") for i in rule.get("employee_ids") or []]
            return t("adm.rule.people", names=", ".join(names))
        return str(rule)

    def mode(self, stage: dict[str, Any]) -> str:
        if stage["mode"] == "all":
            return self.page.t("adm.mode.all")
        if stage["mode"] == "n_of_m":
            return self.page.t("adm.mode.n_of_m", n=stage["required_count"])
        return self.page.t("adm.mode.any")

    def conditions(self, c: dict[str, Any]) -> list[str]:
        t, lang = self.page.t, self.page.lang
        parts = []
        if "amount_gte" in c:
            parts.append(t("adm.cond.amount_gte", amount=self._amount(c["amount_gte"], lang)))
        if "amount_lt" in c:
            parts.append(t("adm.cond.amount_lt", amount=self._amount(c["amount_lt"], lang)))
        if c.get("currencies"):
            parts.append(t("adm.cond.currencies", values=", ".join(map(str, c["currencies"]))))
        if c.get("legal_entity_ids"):
            parts.append(t("adm.cond.legal_entities", values=", ".join(
                self.entities.get(i, f"#{i}") for i in c["legal_entity_ids"])))
        if c.get("department_ids"):
            parts.append(t("adm.cond.departments", values=", ".join(
                self.department_ids.get(i, f"#{i}") for i in c["department_ids"])))
        if c.get("request_type_codes"):
            parts.append(t("adm.cond.request_types", values=", ".join(map(str, c["request_type_codes"]))))
        if "over_budget" in c:
            parts.append(t("adm.cond.over_budget" if c["over_budget"] else "adm.cond.within_budget"))
        if "prepayment" in c:
            parts.append(t("adm.cond.prepayment" if c["prepayment"] else "adm.cond.no_prepayment"))
        return parts

    @staticmethod
    def _amount(value: Any, lang: str) -> str:
        # Stage amounts are compared with the request's amount in its own currency: no sign.
        return format_money(value, "RUB", lang).rsplit(None, 1)[0] if isinstance(value, int) else str(value)

    def stage(self, stage: dict[str, Any]) -> dict[str, Any]:
        return {**stage, "rule_text": self.rule(stage["approvers"]), "mode_text": self.mode(stage),
                "condition_texts": self.conditions(stage.get("conditions") or {})}


async def _words(session: AsyncSession, page: Page, types: list[dict[str, Any]]) -> RouteWords:
    ids: set[int] = set()
    for request_type in types:
        for stage in request_type["stages"]:
            if stage["approvers"].get("kind") == "people":
                ids |= {i for i in stage["approvers"].get("employee_ids") or [] if isinstance(i, int)}
    departments = (await session.execute(select(Department.id, Department.code, Department.name))).all()
    people = dict((await session.execute(select(Employee.id, Employee.full_name)
                                         .where(Employee.id.in_(ids))))) if ids else {}
    entities = dict((await session.execute(select(LegalEntity.id, LegalEntity.name))).all())
    return RouteWords(page, {code: name for _, code, name in departments if code},
                      {i: name for i, _, name in departments}, people, entities)


async def _types(session: AsyncSession, page: Page, only: int | None = None) -> list[dict[str, Any]]:
    if only is not None:
        rows = [await service.get_request_type(session, only)]
    else:
        rows = await service.list_request_types(session, include_inactive=True, kind=None)
    types = [service.request_type_view(r) for r in rows]
    words = await _words(session, page, types)
    for request_type in types:
        request_type["name"] = request_type["name_en" if page.lang == "en" else "name_ru"]
        request_type["readable"] = [words.stage(s) for s in request_type["stages"]]
    return types


# --- pages ---------------------------------------------------------------------------------------

@router.get("/routes")
async def routes_page(page: AdminPageDep) -> Response:
    types = await page.core.run(lambda session: _types(session, page))
    return render(page, "admin/routes.html", types=types)


async def _route_page(page: Page, request_type_id: int, *, route_text: str | None = None,
                      route_errors: list[str] | None = None, form: dict[str, Any] | None = None,
                      errors: FormErrors | None = None, status: int = 200) -> Response:
    async def work(session: AsyncSession) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        request_type = (await _types(session, page, only=request_type_id))[0]
        codes = (await session.execute(select(Department.code, Department.name).where(Department.code.is_not(None))
                                       .order_by(Department.code))).all()
        return request_type, [tuple(row) for row in codes]

    request_type, department_codes = await page.core.run(work)
    return render(page, "admin/route.html", status=status, rt=request_type, errors=errors or FormErrors(),
                  roles=ROLES, department_codes=department_codes,
                  form=form or request_type, route_errors=route_errors or [],
                  route_text=stages_yaml(request_type["stages"]) if route_text is None else route_text)


@router.get("/routes/{request_type_id}")
async def route_page(page: AdminPageDep, request_type_id: Id) -> Response:
    return await _route_page(page, request_type_id)


@router.post("/routes/{request_type_id}")
async def update_request_type(page: AdminPageDep, request_type_id: Id) -> Response:
    """Rename, (de)activate, and for contracts when their number is given."""
    form = await read_form(page)
    values: dict[str, Any] = {"name_ru": text_of(form, "name_ru", 1000), "name_en": text_of(form, "name_en", 1000),
                              "active": text_of(form, "active", 10) == "1"}
    if text_of(form, "numbering", 50):
        values["numbering"] = text_of(form, "numbering", 50)
    try:
        try:
            patch = RequestTypePatch(**values)
        except ValidationError as exc:
            raise_all(pydantic_errors(exc))
            raise
        name = await page.core.call(service.update_request_type, request_type_id, patch,
                                    view=lambda r: r.name_en if page.lang == "en" else r.name_ru)
    except DomainError as error:
        if error.kind == "not_found" and error.field is None:
            raise
        problems = form_errors(error, page.lang, TYPE_FIELDS)
        return await _route_page(page, request_type_id, form=values, errors=problems, status=problems.status)
    page.flash("ok", page.t("adm.route.type_saved", name=name))
    return redirect(page, f"/admin/routes/{request_type_id}")


@router.get("/routes/{request_type_id}/route")
async def route_address(page: AdminPageDep, request_type_id: Id) -> Response:
    """A refused route's address opened again (a reload by address): the type's page."""
    return redirect(page, f"/admin/routes/{request_type_id}")


@router.post("/routes/{request_type_id}/route")
async def replace_route(page: AdminPageDep, request_type_id: Id) -> Response:
    form = await read_form(page)
    text = text_of(form, "route", MAX_YAML + 1)
    try:
        await page.core.run(lambda session: _save_route(session, request_type_id, text))
    except DomainError as error:
        if error.kind == "not_found" and error.field is None:
            raise
        items = error.errors if hasattr(error, "errors") else [error]
        messages = [_with_stage(page, item) for item in items]
        return await _route_page(page, request_type_id, route_text=text, route_errors=messages, status=422)
    page.flash("ok", page.t("adm.route.saved"))
    return redirect(page, f"/admin/routes/{request_type_id}")


def _with_stage(page: Page, error: DomainError) -> str:
    found = STAGE_PATH.match(error.field or "")
    message = error.message(page.lang)
    return page.t("adm.route.stage_error", n=int(found.group(1)) + 1, message=message) if found else message
