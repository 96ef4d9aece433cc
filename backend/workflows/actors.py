"""Who acts: an employee (through the bot or an API token), or the system itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Actor:
    employee_id: int | None
    roles: frozenset[str] = field(default_factory=frozenset)
    label: str = ""
    language: str = "ru"
    timezone: str = "Europe/Moscow"

    def today(self) -> date:
        """Today in the actor's time zone: "today" for a Moscow accountant starts at 21:00 UTC."""
        return datetime.now(ZoneInfo(self.timezone)).date()

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(employee_id=None, roles=frozenset({"admin", "accountant"}), label=label)
