"""Callback-data factories. A button names what to do and to which record version, nothing more:
the handler reloads the record and lets the core decide whether it is still allowed."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class RequestCb(CallbackData, prefix="r"):
    """An action on a request from its card; ``version`` makes a tap on an old card harmless."""

    act: str  # see REQUEST_ACTS
    id: int
    v: int


# Short codes keep callback data small; the values are the core's action names or bot steps.
REQUEST_ACTS = {
    "ap": "approve", "rj": "reject", "rt": "return", "cm": "comment", "aa": "add_approver",
    "pd": "mark_paid", "cl": "close", "ed": "edit", "sb": "submit", "cn": "cancel", "fl": "files",
}


class PickCb(CallbackData, prefix="k"):
    """A choice in the new-request dialog: which step, which value."""

    step: str
    value: str


class CalendarCb(CallbackData, prefix="c"):
    """The inline calendar: ``nav`` shows another month (value YYYYMM), ``day`` picks a date (YYYYMMDD)."""

    act: str
    value: str


class PageCb(CallbackData, prefix="p"):
    """Page buttons of a list (``my``, ``inbox``, ``pay-today`` …; a value may not hold ``:``, the separator)."""

    list: str
    page: int


class InboxCb(CallbackData, prefix="i"):
    """Bulk approval from /inbox: toggle one request, ask to confirm, confirm, drop the selection."""

    act: str  # tog | ask | yes | clear
    id: int = 0
    page: int = 0


class ApproverCb(CallbackData, prefix="e"):
    """An employee picked to be added as an approver of a request's current stage."""

    id: int
    v: int
    emp: int


class CancelCb(CallbackData, prefix="x"):
    """Leave whatever the bot is asking for."""

    what: str = "dialog"
