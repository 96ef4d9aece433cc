"""What the admin pages share: reading a posted form (CSRF first), ids from forms and queries,
and a refused change turned into messages next to the fields it names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from backend.api.errors import PYDANTIC_CODES, STATUS
from backend.errors import DomainError, InvalidInput, ValidationFailed
from backend.web.context import Page

MAX_ID = 2**62  # what a BIGINT id holds; past it the driver refuses before any row is read


async def read_form(page: Page) -> FormData:
    """The posted form, after its CSRF token is checked (nothing is read or changed before)."""
    form = await page.request.form()
    token = form.get("csrf")
    page.check_csrf(token if isinstance(token, str) else None)
    return form


def text_of(form: FormData, name: str, limit: int = 10_000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def form_id(form: FormData, name: str) -> int | None:
    """An optional id from a select: None when empty; a field error when not an id."""
    value = text_of(form, name, 100).strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput("field.integer", field=name) from None
    if not 1 <= number <= MAX_ID:
        raise InvalidInput("reference.unknown", field=name, id=value)
    return number


def query_id(value: str | None) -> int | None:
    """A filter's id from the address: anything that is not an id means no filter."""
    try:
        number = int((value or "").strip())
    except ValueError:
        return None
    return number if 1 <= number <= MAX_ID else None


def pydantic_errors(exc: ValidationError, prefix: str = "") -> list[DomainError]:
    """Pydantic's complaints as the core's field errors (the API's codes), paths under ``prefix``."""
    errors: list[DomainError] = []
    for item in exc.errors():
        code = PYDANTIC_CODES.get(item.get("type", ""), "field.invalid")
        path = ".".join([prefix] * bool(prefix) + [str(p) for p in item.get("loc", ())]) or prefix or "body"
        ctx = {k: str(v) for k, v in (item.get("ctx") or {}).items()}
        if "max_length" in ctx:
            ctx.setdefault("max", ctx["max_length"])
        errors.append(InvalidInput(code, field=path, detail=item.get("msg", ""), **ctx))
    return errors


def raise_all(errors: list[DomainError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ValidationFailed(errors)


@dataclass
class FormErrors:
    """A refused form: messages by the field they name, and the rest for the top of the form."""

    by_field: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    status: int = 200

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)

    def of(self, name: str) -> list[str]:
        return self.by_field.get(name, [])

    @property
    def count(self) -> int:
        return len(self.general) + sum(len(v) for v in self.by_field.values())


def form_errors(error: DomainError, lang: str, fields: Iterable[str] = ()) -> FormErrors:
    """Each error of ``error`` next to its field when the form has that field, else on top."""
    known = set(fields)
    result = FormErrors(status=STATUS.get(error.kind, 400))
    for item in error.errors if isinstance(error, ValidationFailed) else [error]:
        if item.field in known:
            result.by_field.setdefault(item.field, []).append(item.message(lang))
        else:
            result.general.append(item.message(lang))
    return result


def flatten_tree(nodes: list[dict[str, Any]], depth: int = 0) -> list[dict[str, Any]]:
    """The department tree as rows in display order, each with its depth."""
    rows: list[dict[str, Any]] = []
    for node in nodes:
        rows.append({**{k: v for k, v in node.items() if k != "children"}, "depth": depth})
        rows.extend(flatten_tree(node["children"], depth + 1))
    return rows
