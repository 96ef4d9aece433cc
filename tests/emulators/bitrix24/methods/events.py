"""event.bind / event.get / event.unbind (events/event-*.md).

The docs say these work only under application (OAuth) authorization; an inbound webhook's
handlers are normally set in the portal's UI ("outgoing webhook"). The emulator accepts them
on the webhook anyway so a test can subscribe without a UI.
"""

from __future__ import annotations

from typing import Any

from ..errors import ApiError
from ..state import EventBinding
from .base import Context, rest_method

KNOWN_EVENTS = {
    f"ONCRM{entity}{action}"
    for entity in ("DEAL", "COMPANY", "CONTACT", "LEAD", "REQUISITE", "BANKDETAIL", "DYNAMICITEM", "TIMELINECOMMENT")
    for action in ("ADD", "UPDATE", "DELETE")
} | {"ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE", "ONAPPINSTALL", "ONAPPUNINSTALL"}


def bind(ctx: Context, event: str, handler: str) -> EventBinding:
    name = event.upper()
    if name not in KNOWN_EVENTS:
        raise ApiError(400, "ERROR_EVENT_NOT_FOUND", "Event not found")
    if not handler:
        raise ApiError(400, "ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameter `handler` is missing")
    if any(b.event == name and b.handler == handler for b in ctx.state.bindings.values()):
        raise ApiError(400, "ERROR_HANDLER_ALREADY_EXIST", "Handler already exists!")
    binding = EventBinding(ctx.state.next_id("bindings"), name, handler)
    ctx.state.bindings[binding.id] = binding
    return binding


@rest_method("event.bind", "basic")
def event_bind(ctx: Context, params: dict[str, Any]) -> bool:
    bind(ctx, str(params.get("event") or ""), str(params.get("handler") or ""))
    return True


@rest_method("event.get", "basic")
def event_get(ctx: Context, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"event": b.event, "handler": b.handler, "auth_type": b.auth_type, "offline": 0}
        for b in ctx.state.bindings.values()
    ]


@rest_method("event.unbind", "basic")
def event_unbind(ctx: Context, params: dict[str, Any]) -> dict[str, int]:
    event = str(params.get("event") or "").upper()
    handler = str(params.get("handler") or "")
    doomed = [
        b.id
        for b in ctx.state.bindings.values()
        if (not event or b.event == event) and (not handler or b.handler == handler)
    ]
    for binding_id in doomed:
        del ctx.state.bindings[binding_id]
    return {"count": len(doomed)}
