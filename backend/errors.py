"""Errors of the application core.

Every error a user can cause carries a machine-readable ``code``, the ``field`` it is
about (when there is one) and the parameters of its message. The words themselves live
in the locale catalogues (``backend/locales``), so the API and the bot show the same
error in the user's language.
"""

from __future__ import annotations

from typing import Any

from backend.i18n import translate


class DomainError(Exception):
    """A rule of the application was not met; ``kind`` maps it to an HTTP status."""

    kind = "invalid"  # invalid | forbidden | not_found | conflict

    def __init__(self, code: str, *, field: str | None = None, **params: Any) -> None:
        self.code = code
        self.field = field
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "ru") -> str:
        return translate(self.code, lang, field=self.field, **self.params)

    def as_dict(self, lang: str = "ru") -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message(lang)}
        if self.field:
            body["field"] = self.field
        if self.params:
            body["params"] = {k: _jsonable(v) for k, v in self.params.items()}
        return body


class InvalidInput(DomainError):
    kind = "invalid"


class Forbidden(DomainError):
    kind = "forbidden"


class NotFound(DomainError):
    kind = "not_found"


class Conflict(DomainError):
    kind = "conflict"


class ValidationFailed(DomainError):
    """Several field errors at once, so a form can show them all together."""

    kind = "invalid"

    def __init__(self, errors: list[DomainError]) -> None:
        self.errors = errors
        super().__init__("validation_failed", count=len(errors))

    def as_dict(self, lang: str = "ru") -> dict[str, Any]:
        body = super().as_dict(lang)
        body["errors"] = [e.as_dict(lang) for e in self.errors]
        return body


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)
