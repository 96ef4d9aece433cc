"""Logging for ``viza serve``: plain text for a person at a terminal, or one JSON object per line
for a log collector (``VIZA_LOG_FORMAT=json``), where each line says which replica wrote it and
which HTTP request or Telegram update it was about.

The request and update ids come from the context variables in ``backend.observability.context``,
read when the line is formatted, i.e. in the task that logs it. uvicorn's own loggers (start-up,
errors, the access log) are sent through the same handler, so access lines are JSON too; for that
uvicorn must be started with ``log_config=None`` (otherwise it installs its own handlers).
"""

from __future__ import annotations

import json
import logging
import socket
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from backend.observability.context import request_id_var, update_id_var

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
QUIET_LOGGERS = {
    "alembic": logging.WARNING,
    # httpx logs every request with its URL at INFO, and a Bitrix24 webhook URL carries its secret code.
    "httpx": logging.WARNING,
    "weasyprint": logging.WARNING,  # its INFO is a line per layout step
    "apscheduler": logging.WARNING,  # "Running job…" once a minute; our scheduler says what a run did
}

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is kept.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_OWN_KEYS = frozenset({"timestamp", "level", "logger", "message", "instance", "request_id", "update_id",
                       "exception", "stack", "http"})
_DROPPED_EXTRAS = frozenset({"color_message"})  # uvicorn's message again, with terminal colours


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: timestamp (ISO 8601, UTC), level, logger, message,
    instance, request_id / update_id when set, exception text when any, and ``extra=`` fields."""

    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "instance": self.instance,
        }
        if (request_id := request_id_var.get()) is not None:
            entry["request_id"] = request_id
        if (update_id := update_id_var.get()) is not None:
            entry["update_id"] = update_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _version, status = record.args
            entry["http"] = {"client": client, "method": method, "path": path, "status": status}
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in _OWN_KEYS and key not in _DROPPED_EXTRAS \
                    and not key.startswith("_"):
                entry[key] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


class _VizaHandler(logging.StreamHandler):
    """Marks the handler ``configure_logging`` installed, so calling it again replaces it
    instead of adding a second one (other handlers on the root logger, e.g. pytest's, stay)."""


def configure_logging(fmt: str = "text", level: str = "INFO", *, instance: str | None = None,
                      stream: TextIO | None = None) -> logging.Handler:
    """Log to ``stream`` (stderr) as ``fmt`` ("text" or "json") from ``level`` up; returns the handler.

    ``instance`` names this replica in JSON lines (``VIZA_INSTANCE_NAME``; the host name by default)."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, not {fmt!r}")
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}, e.g. INFO or DEBUG")

    handler = _VizaHandler(stream if stream is not None else sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(instance or socket.gethostname()[:40]))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _VizaHandler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric)

    for name in UVICORN_LOGGERS:  # through the root handler, not uvicorn's own
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, numeric))
    return handler
