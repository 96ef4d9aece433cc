"""Failures a test can ask for: ``fail_next`` per method, and the maintenance page."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .errors import KNOWN_DESCRIPTIONS, ApiError

MAINTENANCE_PAGE = """<!DOCTYPE html>
<html lang="ru">
<head><meta charset="utf-8"><title>503 Service Temporarily Unavailable</title></head>
<body>
<h1>Service Temporarily Unavailable</h1>
<p>Битрикс24 временно недоступен: идут технические работы. Попробуйте зайти немного позже.</p>
<p>Bitrix24 is temporarily unavailable due to maintenance. Please try again later.</p>
</body>
</html>
"""


@dataclass
class Fault:
    status: int
    error: str
    description: str
    after: bool  # True: the command runs, then the answer is the error (a lost response)

    def api_error(self) -> ApiError:
        return ApiError(self.status, self.error, self.description)


class Faults:
    def __init__(self) -> None:
        self._pending: dict[str, deque[Fault]] = {}

    def add(self, method: str, status: int, error: str, times: int, description: str | None, after: bool) -> None:
        text = description if description is not None else KNOWN_DESCRIPTIONS.get(error, error)
        queue = self._pending.setdefault(method.lower(), deque())
        queue.extend(Fault(status, error, text, after) for _ in range(times))

    def take(self, method: str) -> Fault | None:
        queue = self._pending.get(method.lower())
        return queue.popleft() if queue else None

    def clear(self) -> None:
        self._pending.clear()
