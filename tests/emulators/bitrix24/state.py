"""The portal's data: records kept exactly as the API returns them.

Classic CRM records (companies, deals, requisites, bank details, comments) are UPPER_CASE
dicts whose values are strings, as crm.*.get returns them (``"ID": "42"``,
``"OPPORTUNITY": "1500.00"``). Smart-process items and tasks are camelCase dicts: items are
typed (``"id": 42``), tasks are strings again (``"id": "42"``), both as their docs show.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

MOSCOW = timezone(timedelta(hours=3))

DEAL_STAGES = ["NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE", "WON", "LOSE"]

# RU portals ship these requisite templates
REQUISITE_PRESETS = {1: "Организация", 2: "ИП", 3: "Физ. лицо"}


@dataclass
class SmartProcess:
    entity_type_id: int
    title: str
    type_id: int  # the N of its user fields UF_CRM_<N>_…
    categories: dict[int, list[str]]  # category id → stage ids, first is the default
    default_category: int

    def stages(self, category_id: int) -> list[str]:
        return self.categories.get(category_id, [])

    @staticmethod
    def default(entity_type_id: int = 1032, category_id: int = 7, type_id: int = 7, title: str = "Заявки на оплату") -> SmartProcess:
        prefix = f"DT{entity_type_id}_{category_id}:"
        stages = [prefix + s for s in ("NEW", "PREPARATION", "CLIENT", "SUCCESS", "FAIL")]
        return SmartProcess(entity_type_id, title, type_id, {category_id: stages}, category_id)


def stage_semantic(stage_id: str | None) -> str:
    """P (in progress), S (success) or F (failure) — from the stage id's usual suffixes."""
    suffix = (stage_id or "").rsplit(":", 1)[-1]
    if suffix in {"WON", "SUCCESS"}:
        return "S"
    if suffix in {"LOSE", "FAIL"}:
        return "F"
    return "P"


def seed_users() -> dict[int, dict[str, Any]]:
    people = [
        (1, "Анна", "Смирнова", "a.smirnova@viza-test.ru", "Администратор"),
        (2, "Иван", "Петров", "i.petrov@viza-test.ru", "Менеджер"),
        (3, "Мария", "Козлова", "m.kozlova@viza-test.ru", "Главный бухгалтер"),
        (4, "Олег", "Новиков", "o.novikov@viza-test.ru", "Финансовый директор"),
    ]
    return {
        uid: {
            "ID": str(uid),
            "ACTIVE": True,
            "NAME": name,
            "LAST_NAME": last,
            "SECOND_NAME": "",
            "EMAIL": email,
            "WORK_POSITION": position,
            "UF_DEPARTMENT": [1],
            "USER_TYPE": "employee",
        }
        for uid, name, last, email, position in people
    }


@dataclass
class EventBinding:
    id: int
    event: str
    handler: str
    auth_type: str = "0"


@dataclass
class State:
    tz: timezone = MOSCOW
    companies: dict[int, dict[str, Any]] = field(default_factory=dict)
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    requisites: dict[int, dict[str, Any]] = field(default_factory=dict)
    bankdetails: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    # The bytes of files attached to comments (FILES), by disk file id: what a user would download.
    disk_files: dict[int, bytes] = field(default_factory=dict)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    items: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    smart_processes: dict[int, SmartProcess] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=seed_users)
    bindings: dict[int, EventBinding] = field(default_factory=dict)
    stage_history: dict[int, dict[str, Any]] = field(default_factory=dict)
    _ids: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.add_smart_process(SmartProcess.default())

    def add_smart_process(self, process: SmartProcess) -> None:
        self.smart_processes[process.entity_type_id] = process
        self.items.setdefault(process.entity_type_id, {})

    def next_id(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def now_iso(self) -> str:
        return iso(datetime.now(self.tz))


def iso(moment: datetime) -> str:
    """``2024-08-30T14:29:00+03:00`` — the REST date-time format (seconds, with offset)."""
    return moment.replace(microsecond=0).isoformat()


_DMY = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")


def parse_datetime(value: Any, tz: timezone) -> datetime | None:
    """ISO 8601 (with or without offset) or the portal's ``dd.mm.yyyy [hh:mm[:ss]]``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = _DMY.match(text)
    if match:
        d, m, y, hh, mm, ss = match.groups()
        try:
            return datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=tz)
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def portal_datetime(value: Any, tz: timezone) -> str | None:
    """A date-time as Bitrix24 stores and returns it: converted to the portal's time zone."""
    parsed = parse_datetime(value, tz)
    return iso(parsed.astimezone(tz)) if parsed else None


def member_id(domain: str) -> str:
    return hashlib.md5(domain.encode()).hexdigest()


def wall_time() -> float:
    return time.time()
