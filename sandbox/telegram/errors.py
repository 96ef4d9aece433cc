"""Bot API errors, with the exact descriptions Telegram sends.

A method raises :class:`ApiError`; the server turns it into
``{"ok": false, "error_code": N, "description": "..."}`` with HTTP status N.
"""

from __future__ import annotations

from typing import Any

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
MESSAGE_TO_EDIT_NOT_FOUND = "message to edit not found"
MESSAGE_TO_DELETE_NOT_FOUND = "message to delete not found"
MESSAGE_TO_REPLY_NOT_FOUND = "message to be replied not found"
MESSAGE_CANT_BE_EDITED = "message can't be edited"
NO_TEXT_TO_EDIT = "there is no text in the message to edit"
NO_CAPTION_TO_EDIT = "there is no caption in the message to edit"
CHAT_NOT_FOUND = "chat not found"
TEXT_EMPTY = "message text is empty"
TEXT_TOO_LONG = "message is too long"
CAPTION_TOO_LONG = "message caption is too long"
BUTTON_DATA_INVALID = "BUTTON_DATA_INVALID"
BUTTON_URL_INVALID = "BUTTON_URL_INVALID"
TEXT_BUTTONS_UNALLOWED = (
    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
)
BAD_MARKUP_JSON = "can't parse reply keyboard markup JSON object"
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WRONG_FILE_ID = "wrong file identifier/HTTP URL specified"
INVALID_FILE_ID = "invalid file_id"
FILE_TOO_BIG = "file is too big"
SECRET_TOKEN_INVALID = "secret token contains unallowed characters"
BAD_WEBHOOK_URL = "bad webhook: An HTTPS URL must be provided for webhook"
BOT_COMMAND_INVALID = "BOT_COMMAND_INVALID"
BOT_COMMAND_DESCRIPTION_INVALID = "BOT_COMMAND_DESCRIPTION_INVALID"
WRONG_ACTION = "wrong parameter action in request"
BOT_BLOCKED = "bot was blocked by the user"
WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
TERMINATED_BY_OTHER_POLL = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)


class ApiError(Exception):
    """A Bot API failure; ``retry_after`` is set only for 429."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    return ApiError(403, f"Forbidden: {reason}")


def conflict(reason: str) -> ApiError:
    return ApiError(409, f"Conflict: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


UNAUTHORIZED = ApiError(401, "Unauthorized")
NOT_FOUND = ApiError(404, "Not Found")
