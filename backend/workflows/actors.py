"""Who acts: an employee (through the bot or an API token), or the system itself."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    employee_id: int | None
    roles: frozenset[str] = field(default_factory=frozenset)
    label: str = ""
    language: str = "ru"
    timezone: str = "Europe/Moscow"

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(employee_id=None, roles=frozenset({"admin", "accountant"}), label=label)
