"""Configuration: clear errors for bad values, sensible defaults."""

import pytest
from pydantic import ValidationError

from backend.settings import Settings


def test_sqlite_under_the_data_dir_by_default(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'viza.sqlite3'}"


@pytest.mark.parametrize("given, expected", [
    ("postgres://u:p@db/viza", "postgresql+asyncpg://u:p@db/viza"),
    ("postgresql://u@db/viza", "postgresql+asyncpg://u@db/viza"),
    ("sqlite:////var/viza.db", "sqlite+aiosqlite:////var/viza.db"),
])
def test_database_urls_get_the_async_driver(given, expected):
    assert Settings(database_url=given).effective_database_url == expected


def test_unknown_database_and_zone_are_named():
    with pytest.raises(ValidationError, match="postgresql"):
        Settings(database_url="mysql://x")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(default_timezone="Europe/Atlantis")


def test_usn_limit_per_year_with_override():
    settings = Settings()
    assert settings.usn_income_limit(2026) == 490_500_000_00
    assert settings.usn_income_limit(2027) == 490_500_000_00  # until next year's is configured
    assert settings.usn_income_limit(2026, override=100) == 100
