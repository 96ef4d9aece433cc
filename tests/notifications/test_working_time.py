"""Working-time arithmetic in a person's own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from backend.notifications.working_time import WorkingCalendar
from backend.settings import Settings

MSK, EKB = "Europe/Moscow", "Asia/Yekaterinburg"
# 2026-03-02 is a Monday; 6 March a Friday.
CAL = WorkingCalendar.from_settings(Settings(working_hours="09:00-18:00", working_days=[1, 2, 3, 4, 5]))


def at(zone: str, day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(zone))


class TestIsWorking:
    def test_working_hours_include_the_opening_and_exclude_the_closing_minute(self):
        assert not CAL.is_working(at(MSK, 2, 8, 59), MSK)
        assert CAL.is_working(at(MSK, 2, 9, 0), MSK)
        assert CAL.is_working(at(MSK, 2, 17, 59), MSK)
        assert not CAL.is_working(at(MSK, 2, 18, 0), MSK)

    def test_weekends_and_holidays_are_off(self):
        assert not CAL.is_working(at(MSK, 7, 12), MSK)  # Saturday
        holiday = WorkingCalendar.from_settings(Settings(holidays=[date(2026, 3, 9)]))
        assert not holiday.is_working(at(MSK, 9, 12), MSK)
        assert holiday.is_working(at(MSK, 10, 12), MSK)

    def test_the_same_moment_is_judged_in_each_persons_zone(self):
        moment = datetime(2026, 3, 2, 5, 30, tzinfo=UTC)  # 08:30 in Moscow, 10:30 in Yekaterinburg
        assert not CAL.is_working(moment, MSK)
        assert CAL.is_working(moment, EKB)
        late = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)  # 16:30 in Moscow, 18:30 in Yekaterinburg
        assert CAL.is_working(late, MSK) and not CAL.is_working(late, EKB)


class TestAddHours:
    def test_within_one_day(self):
        assert CAL.add_hours(at(MSK, 2, 10), 3, MSK) == at(MSK, 2, 13)

    def test_overnight_carries_the_rest_to_the_next_morning(self):
        assert CAL.add_hours(at(MSK, 2, 16), 8, MSK) == at(MSK, 3, 15)

    def test_friday_evening_start_runs_on_monday(self):
        assert CAL.add_hours(at(MSK, 6, 17), 8, MSK) == at(MSK, 9, 16)
        # Started after closing on Friday: the clock starts on Monday morning.
        assert CAL.add_hours(at(MSK, 6, 20), 8, MSK) == at(MSK, 9, 17)

    def test_ending_exactly_at_closing_time(self):
        assert CAL.add_hours(at(MSK, 2, 10), 8, MSK) == at(MSK, 2, 18)

    def test_holidays_are_skipped(self):
        holidays = WorkingCalendar.from_settings(Settings(holidays=[date(2026, 3, 9), date(2026, 3, 10)]))
        assert holidays.add_hours(at(MSK, 6, 17), 8, MSK) == at(MSK, 11, 16)

    def test_a_start_in_the_night_counts_from_the_opening(self):
        assert CAL.add_hours(at(MSK, 3, 3), 2, MSK) == at(MSK, 3, 11)

    def test_yekaterinburg_hours_are_its_own(self):
        start = at(MSK, 2, 15)  # 17:00 in Yekaterinburg: one working hour left there today
        assert CAL.add_hours(start, 2, EKB) == at(EKB, 3, 10)
        assert CAL.add_hours(start, 2, MSK) == at(MSK, 2, 17)

    def test_long_sla_spans_weeks(self):
        # Nine hours a day: 45 working hours from Monday 09:00 end on Friday 18:00, 46 on Monday 10:00.
        assert CAL.add_hours(at(MSK, 2, 9), 45, MSK) == at(MSK, 6, 18)
        assert CAL.add_hours(at(MSK, 2, 9), 46, MSK) == at(MSK, 9, 10)

    def test_a_dst_zone_counts_real_hours(self):
        # Berlin skips 02:00-03:00 on Sunday 29 March 2026: a 01:00-05:00 shift that night lasts three hours.
        night = WorkingCalendar.from_settings(Settings(working_hours="01:00-05:00", working_days=[1, 2, 3, 4, 5, 6, 7]))
        berlin = "Europe/Berlin"
        assert night.add_hours(at(berlin, 28, 4), 4, berlin) == at(berlin, 29, 5)
        assert night.add_hours(at(berlin, 28, 4), 5, berlin) == at(berlin, 30, 2)

    def test_results_are_utc(self):
        assert CAL.add_hours(at(MSK, 2, 10), 1, MSK).tzinfo is UTC

    def test_a_calendar_without_working_days_fails_rather_than_loops(self):
        with pytest.raises(ValueError):
            WorkingCalendar.from_settings(Settings(working_days=[])).add_hours(at(MSK, 2, 10), 1, MSK)


class TestNextWorkingMoment:
    def test_inside_working_time_it_is_now(self):
        assert CAL.next_working_moment(at(MSK, 2, 12), MSK) == at(MSK, 2, 12)

    def test_evening_and_weekend_lead_to_the_next_opening(self):
        assert CAL.next_working_moment(at(MSK, 2, 18), MSK) == at(MSK, 3, 9)
        assert CAL.next_working_moment(at(MSK, 6, 19), MSK) == at(MSK, 9, 9)
        assert CAL.next_working_moment(at(MSK, 8, 23, 59), MSK) == at(MSK, 9, 9)

    def test_early_morning_is_the_same_days_opening(self):
        assert CAL.next_working_moment(at(EKB, 2, 7), EKB) == at(EKB, 2, 9)


class TestWorkingDays:
    def test_previous_working_day_skips_the_weekend_and_holidays(self):
        assert CAL.previous_working_day(date(2026, 3, 9)) == date(2026, 3, 6)
        assert CAL.previous_working_day(date(2026, 3, 3)) == date(2026, 3, 2)
        holidays = WorkingCalendar.from_settings(Settings(holidays=[date(2026, 3, 9)]))
        assert holidays.previous_working_day(date(2026, 3, 10)) == date(2026, 3, 6)

    def test_working_day_on_or_before(self):
        assert CAL.working_day_on_or_before(date(2026, 3, 8)) == date(2026, 3, 6)
        assert CAL.working_day_on_or_before(date(2026, 3, 4)) == date(2026, 3, 4)

    def test_hours_that_do_not_open_before_they_close_are_refused(self):
        with pytest.raises(ValueError):
            WorkingCalendar.from_settings(Settings(working_hours="18:00-09:00"))
