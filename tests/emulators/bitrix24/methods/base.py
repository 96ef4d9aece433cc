"""What a REST method is here: a synchronous function of (context, params) in a scope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..state import State


@dataclass
class Page:
    """One page of a list method; ``key`` wraps it (``{"items": [...]}`` for crm.item.list)."""

    items: list[Any]
    total: int | None
    next: int | None
    key: str | None = None

    def result(self) -> Any:
        return {self.key: self.items} if self.key else self.items


@dataclass
class Context:
    state: State
    user_id: int
    list_default_includes_uf: bool = False
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def emit(self, event: str, data: dict[str, Any]) -> None:
        """Queue an event; the server delivers it after the response is sent."""
        self.events.append((event, data))


Method = Callable[[Context, dict[str, Any]], Any]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    scope: str
    function: Method


REGISTRY: dict[str, MethodSpec] = {}


def rest_method(name: str, scope: str) -> Callable[[Method], Method]:
    def register(function: Method) -> Method:
        REGISTRY[name.lower()] = MethodSpec(name, scope, function)
        return function

    return register
