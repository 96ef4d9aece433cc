"""Quiet hours: a person's own window ("22:00-08:00", in their time zone) when non-urgent
notices wait until morning."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.errors import InvalidInput

_WINDOW = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-–—]\s*(\d{1,2})[:.](\d{2})\s*$")


def parse_quiet_hours(text: str, *, field: str = "quiet_hours") -> str:
    """Normalise "22:00-8:00" to "22:00-08:00"; "" (or "off") turns quiet hours off."""
    text = (text or "").strip()
    if text.lower() in ("", "off", "нет", "выкл"):
        return ""
    match = _WINDOW.match(text)
    if not match:
        raise InvalidInput("quiet_hours.format", field=field)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise InvalidInput("quiet_hours.format", field=field)
    if (h1, m1) == (h2, m2):
        raise InvalidInput("quiet_hours.empty", field=field)
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def quiet_until(window: str, timezone: str, now: datetime) -> datetime | None:
    """When the quiet window that ``now`` falls in ends (UTC), or None outside it."""
    if not window:
        return None
    start_text, end_text = window.split("-")
    start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:  # over midnight: 22:00-08:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)
