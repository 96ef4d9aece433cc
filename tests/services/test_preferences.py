"""Preferences: what people type for a time zone, and who may change whose settings."""

from __future__ import annotations

import pytest

from backend.errors import Forbidden, InvalidInput, ValidationFailed
from backend.services.preferences import PreferencesFields, get_preferences, parse_timezone, update_preferences
from backend.services.transactions import in_transaction
from tests.factories import setup_company


@pytest.mark.parametrize(("typed", "zone"), [
    ("Europe/Moscow", "Europe/Moscow"), ("asia/yekaterinburg", "Asia/Yekaterinburg"), ("Moscow", "Europe/Moscow"),
    ("Москва", "Europe/Moscow"), (" санкт-петербург ", "Europe/Moscow"), ("Новосибирск", "Asia/Novosibirsk"),
    ("МСК", "Europe/Moscow"), ("МСК+2", "Asia/Yekaterinburg"), ("мск + 7", "Asia/Vladivostok"),
    ("MSK-1", "Europe/Kaliningrad"), ("МСК−1", "Europe/Kaliningrad"), ("UTC+5", "Asia/Yekaterinburg"),
    ("+5", "Asia/Yekaterinburg"), ("GMT+03:00", "Europe/Moscow"), ("UTC", "UTC"), ("UTC+0", "UTC"),
    ("UTC-5", "Etc/GMT+5"), ("+14", "Etc/GMT-14"), ("New York", "America/New_York"),
])
def test_a_zone_from_what_people_type(typed, zone):
    assert parse_timezone(typed) == zone


@pytest.mark.parametrize("typed", ["Марс", "МСК+10", "UTC+15", "+5:30", "Europe/Atlantis"])
def test_an_unknown_zone_is_named_in_the_error(typed):
    with pytest.raises(InvalidInput) as error:
        parse_timezone(typed)
    assert (error.value.code, error.value.field, error.value.params["value"]) == ("preferences.timezone", "timezone",
                                                                                 typed)
    assert typed in error.value.message("ru") and "МСК+2" in error.value.message("ru")


class TestUpdate:
    async def test_own_values_normalised_and_saved(self, db):
        company = await setup_company(db)
        changed = await in_transaction(db, lambda s: update_preferences(s, company.actor("manager"), PreferencesFields(
            timezone="Екатеринбург", quiet_hours="22.00-8.00", digest_enabled=False, language="en")))
        assert (changed.timezone, changed.quiet_hours, changed.digest_enabled, changed.language) == (
            "Asia/Yekaterinburg", "22:00-08:00", False, "en")

    async def test_all_errors_together_and_nothing_saved(self, db):
        company = await setup_company(db)
        with pytest.raises(ValidationFailed) as error:
            await in_transaction(db, lambda s: update_preferences(s, company.actor("manager"), PreferencesFields(
                timezone="Марс", quiet_hours="08:00-08:00", language="ru")))
        assert {(e.code, e.field) for e in error.value.errors} == {
            ("preferences.timezone", "timezone"), ("quiet_hours.empty", "quiet_hours")}
        manager = await in_transaction(db, lambda s: get_preferences(s, company.actor("manager")))
        assert manager.timezone == "Europe/Moscow"

    async def test_someone_elses_only_for_an_admin(self, db):
        company = await setup_company(db)
        target = company.people["manager"].id
        with pytest.raises(Forbidden):
            await in_transaction(db, lambda s: update_preferences(
                s, company.actor("north_head"), PreferencesFields(language="en"), target))
        changed = await in_transaction(db, lambda s: update_preferences(
            s, company.actor("admin"), PreferencesFields(language="en"), target))
        assert changed.id == target and changed.language == "en"
