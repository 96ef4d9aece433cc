"""What the current log line is about: the HTTP request or the Telegram update being handled.

Set by the request middleware and the bot's update handling; read by the JSON log formatter,
so every line written while handling one request or update carries its id.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("viza_request_id", default=None)
update_id_var: ContextVar[int | None] = ContextVar("viza_update_id", default=None)
