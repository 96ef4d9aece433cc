"""Personal preferences: time zone, quiet hours, the morning digest, language.

Everyone reads and changes their own; admins anyone's. The bot's /settings and the API's
/me/preferences both end here, and the next message or request already uses the new values
(the bot and the API read the employee afresh for each update or call).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import Forbidden, InvalidInput
from backend.models import Employee
from backend.notifications.quiet_hours import parse_quiet_hours
from backend.services.company.common import Errors, missing_fields
from backend.services.company.employees import LANGUAGES
from backend.services.records import get_or_not_found
from backend.workflows.actors import Actor

# Russia's zones by their offset from Moscow (МСК−1 … МСК+9), the way people name them.
RUSSIAN_ZONES: dict[int, str] = {
    -1: "Europe/Kaliningrad", 0: "Europe/Moscow", 1: "Europe/Samara", 2: "Asia/Yekaterinburg", 3: "Asia/Omsk",
    4: "Asia/Novosibirsk", 5: "Asia/Irkutsk", 6: "Asia/Yakutsk", 7: "Asia/Vladivostok", 8: "Asia/Magadan",
    9: "Asia/Kamchatka",
}
MOSCOW_UTC_OFFSET = 3
CITIES: dict[str, str] = {
    "калининград": "Europe/Kaliningrad", "москва": "Europe/Moscow",
    "санкт-петербург": "Europe/Moscow", "петербург": "Europe/Moscow", "спб": "Europe/Moscow",
    "питер": "Europe/Moscow", "казань": "Europe/Moscow", "нижний новгород": "Europe/Moscow",
    "волгоград": "Europe/Volgograd", "самара": "Europe/Samara", "ижевск": "Europe/Samara",
    "саратов": "Europe/Saratov", "ульяновск": "Europe/Ulyanovsk", "астрахань": "Europe/Astrakhan",
    "екатеринбург": "Asia/Yekaterinburg", "пермь": "Asia/Yekaterinburg", "челябинск": "Asia/Yekaterinburg",
    "уфа": "Asia/Yekaterinburg", "тюмень": "Asia/Yekaterinburg", "омск": "Asia/Omsk",
    "новосибирск": "Asia/Novosibirsk", "томск": "Asia/Tomsk", "барнаул": "Asia/Barnaul",
    "новокузнецк": "Asia/Novokuznetsk", "кемерово": "Asia/Novokuznetsk", "красноярск": "Asia/Krasnoyarsk",
    "иркутск": "Asia/Irkutsk", "улан-удэ": "Asia/Irkutsk", "чита": "Asia/Chita", "якутск": "Asia/Yakutsk",
    "владивосток": "Asia/Vladivostok", "хабаровск": "Asia/Vladivostok", "магадан": "Asia/Magadan",
    "южно-сахалинск": "Asia/Sakhalin", "сахалин": "Asia/Sakhalin", "камчатка": "Asia/Kamchatka",
    "петропавловск-камчатский": "Asia/Kamchatka", "анадырь": "Asia/Anadyr",
}
_MSK = re.compile(r"^(?:мск|msk)\s*(?:([+\-−–])\s*(\d{1,2}))?$")
_UTC = re.compile(r"^(?:utc|gmt)?\s*([+\-−–])\s*(\d{1,2})(?::?00)?$")


class PreferencesFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str | None = Field(default=None, description='IANA zone ("Asia/Yekaterinburg"), or a city '
                                 '("Екатеринбург"), or an offset ("МСК+2", "UTC+5")')
    quiet_hours: str | None = Field(default=None, description='"22:00-08:00" in your own zone; "" or "off": none')
    digest_enabled: bool | None = Field(default=None, description="The morning digest of what waits for you")
    language: str | None = Field(default=None, description="ru | en")


def parse_timezone(text: str, *, field: str = "timezone") -> str:
    """An IANA zone name from what people type: the name itself (any case), a city, МСК±N or UTC±N."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidInput("field.required", field=field)
    word = " ".join(raw.lower().replace("ё", "е").split())
    if word in ("utc", "gmt", "z"):
        return "UTC"
    if word in CITIES:
        return CITIES[word]
    if match := _MSK.match(word):
        sign, hours = match.groups()
        shift = int(hours or 0) * (-1 if sign and sign != "+" else 1)
        if shift in RUSSIAN_ZONES:
            return RUSSIAN_ZONES[shift]
        raise InvalidInput("preferences.timezone", field=field, value=raw)
    if match := _UTC.match(word):
        sign, hours = match.groups()
        offset = int(hours) * (-1 if sign != "+" else 1)
        if offset - MOSCOW_UTC_OFFSET in RUSSIAN_ZONES:  # a Russian city rather than Etc/GMT-5
            return RUSSIAN_ZONES[offset - MOSCOW_UTC_OFFSET]
        if offset == 0:
            return "UTC"
        if -12 <= offset <= 14:
            return f"Etc/GMT{-offset:+d}"  # the Etc zones count the other way: UTC+5 is Etc/GMT-5
        raise InvalidInput("preferences.timezone", field=field, value=raw)
    return _iana(raw, field)


def _iana(raw: str, field: str) -> str:
    """A zone by its exact name, its name in another case, or its city part ("moscow", "New York")."""
    try:
        ZoneInfo(raw)
        if "/" in raw or raw == "UTC":
            return raw
    except (ZoneInfoNotFoundError, ValueError):
        pass
    wanted = raw.lower().replace(" ", "_")
    zones = _zone_names()
    found = next((z for z in zones if z.lower() == wanted), None)
    found = found or next((z for z in zones if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/"))
                           and z.rsplit("/", 1)[1].lower() == wanted), None)
    if found is None:
        raise InvalidInput("preferences.timezone", field=field, value=raw)
    return found


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))  # read from the disk once, not for every typed zone


def parse_language(text: str, *, field: str = "language") -> str:
    language = (text or "").strip().lower()
    if language not in LANGUAGES:
        raise InvalidInput("employee.language", field=field, allowed=", ".join(LANGUAGES))
    return language


# Each field as given, checked and normalised (the digest is already a bool).
_PARSERS: dict[str, Callable[[Any], Any]] = {
    "timezone": parse_timezone, "quiet_hours": parse_quiet_hours, "digest_enabled": lambda on: on,
    "language": parse_language,
}


async def get_preferences(session: AsyncSession, actor: Actor, employee_id: int | None = None) -> Employee:
    """The employee whose preferences these are: oneself, or anyone for an admin."""
    if employee_id is None:
        if actor.employee_id is None:
            raise InvalidInput("preferences.no_employee")
        employee_id = actor.employee_id
    elif employee_id != actor.employee_id and not actor.is_admin:
        raise Forbidden("forbidden.admin_only")
    return await get_or_not_found(session, Employee, employee_id, "employee.not_found")


async def update_preferences(session: AsyncSession, actor: Actor, fields: PreferencesFields,
                             employee_id: int | None = None) -> Employee:
    """Change what was given; every bad value is named at once and nothing is saved then."""
    employee = await get_preferences(session, actor, employee_id)
    given = fields.model_dump(exclude_unset=True)
    errors = Errors()
    for error in missing_fields(given, (), tuple(PreferencesFields.model_fields), creating=False):
        errors.add(error)
    values = {name: errors.attempt(lambda: _PARSERS[name](value))
              for name, value in given.items() if value is not None}
    errors.raise_if_any()
    for name, value in values.items():
        setattr(employee, name, value)
    await session.flush()
    return employee


def preferences_view(employee: Employee) -> dict[str, Any]:
    return {"employee_id": employee.id, "timezone": employee.timezone, "quiet_hours": employee.quiet_hours,
            "digest_enabled": employee.digest_enabled, "language": employee.language}
