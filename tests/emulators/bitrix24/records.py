"""What the emulator remembers for a test to inspect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallRecord:
    """One REST call: an HTTP request, or (``batch=True``) one sub-command of a batch."""

    method: str  # lower-case, without ".json"
    params: dict[str, Any]
    status: int  # HTTP status answered (for a sub-command: the status its error would have)
    batch: bool = False
    error: str | None = None


@dataclass
class EventDelivery:
    url: str
    event: str
    handler_id: int
    form: list[tuple[str, str]]  # the form fields in the order sent
    status: int | None = None  # None: no HTTP answer at all
    body: str = ""
    error: str | None = None  # the transport error, if any

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def fields(self) -> dict[str, str]:
        return dict(self.form)


@dataclass
class Outcome:
    """The result of executing one method (alone or inside a batch)."""

    result: Any = None
    total: int | None = None
    next: int | None = None
    time: dict[str, Any] = field(default_factory=dict)
    error: Any = None  # an ApiError when the method failed

    @property
    def ok(self) -> bool:
        return self.error is None
