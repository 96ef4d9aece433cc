"""Working time: when people work, for SLA clocks, reminders and digests.

One calendar for the company (working hours, ISO weekdays, holidays from settings), read in
each person's own time zone: 09:00–18:00 in Yekaterinburg starts two hours before Moscow's.
Moments are aware datetimes; the results are in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.settings import Settings

# A calendar with no working day (no weekdays configured) must fail, not loop for ever.
_HORIZON_DAYS = 3 * 366


@dataclass(frozen=True)
class WorkingCalendar:
    opens: time
    closes: time
    weekdays: frozenset[int]  # ISO, Monday = 1
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ValueError(f"working hours must open before they close: {self.opens}-{self.closes}")

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkingCalendar:
        opens, closes = (time.fromisoformat(part) for part in settings.working_hours.split("-"))
        return cls(opens, closes, frozenset(settings.working_days), frozenset(settings.holidays))

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.weekdays and day not in self.holidays

    def hours_on(self, day: date, zone: str) -> tuple[datetime, datetime]:
        """The working hours of ``day`` (whether or not it is a working day) in UTC."""
        tz = ZoneInfo(zone)
        return (datetime.combine(day, self.opens, tzinfo=tz).astimezone(UTC),
                datetime.combine(day, self.closes, tzinfo=tz).astimezone(UTC))

    def is_working(self, moment: datetime, zone: str) -> bool:
        """Whether ``moment`` falls in working hours of a working day in ``zone``."""
        local = moment.astimezone(ZoneInfo(zone))
        return self.is_working_day(local.date()) and self.opens <= local.time().replace(tzinfo=None) < self.closes

    def next_working_moment(self, moment: datetime, zone: str) -> datetime:
        """``moment`` itself inside working time, else when working time next starts."""
        return self.add_hours(moment, 0, zone)

    def add_hours(self, start: datetime, hours: float, zone: str) -> datetime:
        """The moment ``hours`` of working time after ``start``: nights, weekends and holidays
        do not count. Eight hours from Friday 17:00 end on Monday at 16:00."""
        remaining = timedelta(hours=hours)
        start = start.astimezone(UTC)  # arithmetic on UTC: a local zone's wall clock would skip DST hours
        day = start.astimezone(ZoneInfo(zone)).date()
        for _ in range(_HORIZON_DAYS):
            if self.is_working_day(day):
                opens, closes = self.hours_on(day, zone)
                begin = max(opens, start)
                if begin < closes:
                    if begin + remaining <= closes:
                        return begin + remaining
                    remaining -= closes - begin
            day += timedelta(days=1)
        raise ValueError("no working day within three years: check working_days and holidays")

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        return self.working_day_on_or_before(day - timedelta(days=1))

    def working_day_on_or_before(self, day: date) -> date:
        for _ in range(_HORIZON_DAYS):
            if self.is_working_day(day):
                return day
            day -= timedelta(days=1)
        raise ValueError("no working day within three years: check working_days and holidays")
