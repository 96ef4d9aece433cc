"""Errors as Bitrix24 puts them on the wire: an HTTP status plus ``{"error", "error_description"}``.

Classic CRM methods (crm.deal.*, crm.company.*, crm.requisite.*) answer 400 with an *empty*
``error`` and the message in ``error_description``; newer controllers (crm.item.*, tasks.task.*)
use codes such as ``NOT_FOUND`` or ``ERROR_CORE``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, description: str = "") -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.description}


def classic(description: str) -> ApiError:
    """The error of a classic CRM method: HTTP 400, empty code."""
    return ApiError(400, "", description)


def invalid_credentials() -> ApiError:
    return ApiError(401, "INVALID_CREDENTIALS", "Invalid request credentials")


def method_not_found() -> ApiError:
    return ApiError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")


def insufficient_scope() -> ApiError:
    # _includes/system-errors.md gives 403 for insufficient_scope
    return ApiError(
        403,
        "insufficient_scope",
        "The request requires higher privileges than provided by the webhook token",
    )


def query_limit_exceeded() -> ApiError:
    return ApiError(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")


def operation_time_limit() -> ApiError:
    return ApiError(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")


def batch_method_not_allowed() -> ApiError:
    return ApiError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")


def batch_length_exceeded() -> ApiError:
    return ApiError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")


# descriptions for the codes ``fail_next`` is most likely to be asked for
KNOWN_DESCRIPTIONS = {
    "INTERNAL_SERVER_ERROR": "Internal server error",
    "ERROR_UNEXPECTED_ANSWER": "Server returned an unexpected response",
    "QUERY_LIMIT_EXCEEDED": "Too many requests",
    "OPERATION_TIME_LIMIT": "Method is blocked due to operation time limit.",
    "OVERLOAD_LIMIT": "REST API is blocked due to overload",
    "NO_AUTH_FOUND": "Wrong authorization data",
    "INVALID_CREDENTIALS": "Invalid request credentials",
    "ACCESS_DENIED": "Access denied.",
    "PORTAL_DELETED": "Portal was deleted",
}
