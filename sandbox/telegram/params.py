"""Request parameters, whichever way they arrive.

aiogram posts ``multipart/form-data`` when a file is attached and
``application/x-www-form-urlencoded`` otherwise; every value is a string: numbers and
booleans JSON-encoded (``"1001"``, ``"true"``), objects and lists as JSON text, files as
``"attach://<part name>"`` pointing at a file part.  Other clients send JSON bodies or
query strings.  :class:`Params` gives typed access over all of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web

from . import errors

_INT_KEYS = {
    "chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id", "cache_time",
    "max_connections", "message_thread_id", "user_id", "from_chat_id",
}  # fmt: skip
_BOOL_KEYS = {
    "show_alert", "disable_notification", "protect_content", "drop_pending_updates",
    "disable_web_page_preview", "allow_sending_without_reply", "disable_content_type_detection",
    "has_spoiler", "show_caption_above_media",
}  # fmt: skip
_JSON_KEYS = {
    "reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates",
    "link_preview_options", "reply_parameters", "media",
}  # fmt: skip


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {len(self.data)} bytes)"


class Params:
    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.uploads = uploads or {}

    @classmethod
    async def from_request(cls, request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as e:
                    raise errors.bad_request("can't parse JSON object") from e
                if isinstance(body, dict):
                    values.update(body)
            elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        uploads[key] = Upload(value.filename, value.content_type, value.file.read())
                    else:
                        values[key] = value
        return cls(values, uploads)

    @classmethod
    async def from_multipart(cls, reader: MultipartReader) -> Params:
        """Parameters of a method sent as a webhook reply (aiogram answers in multipart)."""
        values: dict[str, Any] = {}
        uploads: dict[str, Upload] = {}
        for _ in range(1000):
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                uploads[part.name] = Upload(
                    part.filename, part.headers.get("Content-Type"), await part.read()
                )
            else:
                values[part.name] = await part.text()
        return cls(values, uploads)

    def __contains__(self, name: str) -> bool:
        return name in self.values or name in self.uploads

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        try:
            return int(value)
        except (TypeError, ValueError) as e:
            raise errors.bad_request(f"invalid {name} specified") from e

    def chat_id(self, name: str = "chat_id") -> int | str | None:
        """Numeric id, or ``@username``; a non-numeric string that is not a username → None."""
        value = self.values.get(name)
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip()
        try:
            return int(text)
        except ValueError:
            return text

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def get_json(self, name: str, error: str | None = None) -> Any:
        """A JSON-valued parameter (already decoded in JSON requests); ``error`` on bad JSON."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError as e:
            raise errors.bad_request(error or f"can't parse {name} JSON object") from e

    def get_file(self, name: str) -> Upload | str | None:
        """An uploaded file (direct part or ``attach://``) or a file_id / URL string."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.get_str(name)
        if value is not None and value.startswith("attach://"):
            upload = self.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise errors.bad_request("file must be non-empty")
            return upload
        return value

    def normalized(self) -> dict[str, Any]:
        """The parameters with known numbers, flags and JSON decoded, for ``tg.calls``."""
        result: dict[str, Any] = {}
        for key, value in self.values.items():
            try:
                if key in _INT_KEYS and key != "chat_id":
                    result[key] = self.get_int(key)
                elif key == "chat_id" or key == "from_chat_id":
                    result[key] = self.chat_id(key)
                elif key in _BOOL_KEYS:
                    result[key] = self.get_bool(key)
                elif key in _JSON_KEYS:
                    result[key] = self.get_json(key)
                else:
                    result[key] = value
            except errors.ApiError:
                result[key] = value
            if isinstance(value, str) and value.startswith("attach://"):
                result[key] = self.uploads.get(value.removeprefix("attach://"), value)
        for key, upload in self.uploads.items():
            if key not in result and not any(v == f"attach://{key}" for v in self.values.values()):
                result[key] = upload
        return result
