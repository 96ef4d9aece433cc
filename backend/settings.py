"""All configuration in one place: environment variables with the VIZA_ prefix."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIZA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; SQLite under data_dir when unset, "
        "e.g. postgresql+asyncpg://viza:secret@localhost/viza",
    )
    default_timezone: str = "Europe/Moscow"
    default_language: Literal["ru", "en"] = "ru"

    # Yearly USN income limits in kopecks (indexed each year by a deflator; FACTS §9).
    # A legal entity may set its own lower limit (LegalEntity.usn_income_limit).
    usn_income_limits: dict[int, int] = {2025: 450_000_000_00, 2026: 490_500_000_00}

    max_upload_mb: int = Field(default=20, ge=1, le=200)
    load_default_routes: bool = True

    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    webhook_secret: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,256}$",
                                       description="Telegram sends it back in X-Telegram-Bot-Api-Secret-Token")
    # The public https address Telegram posts updates to in webhook mode, e.g. https://viza.example.com
    public_url: str | None = None
    telegram_bot_username: str | None = None  # for invite links before the bot has said its name

    # Web pages. The address people open (the bot's /web links point here); public_url, else
    # the address `viza serve` listens on, when unset.
    web_url: str | None = Field(default=None, pattern=r"^https?://")
    # Signs session cookies; generated once and kept in the database when unset, so every
    # replica signs with the same key.
    secret_key: str | None = Field(default=None, min_length=32)
    web_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    web_login_link_minutes: int = Field(default=10, ge=1, le=60)

    # Outgoing pace to Telegram (FACTS: ~30 messages/s per bot, ~1/s per private chat, 20/min per
    # group). The bursts are kept below Telegram's so arrival jitter never trips its buckets.
    telegram_rate_global: float = Field(default=30.0, gt=0, le=1000)
    telegram_burst_global: int = Field(default=10, ge=1, le=1000)
    telegram_rate_chat: float = Field(default=1.0, gt=0, le=100)
    telegram_burst_chat: int = Field(default=2, ge=1, le=100)
    telegram_group_per_minute: int = Field(default=20, ge=1, le=1000)
    # Names this process's leases on outbox rows; after a crash, the same name takes its rows
    # back at once. Give each replica its own (the host name is the default).
    instance_name: str = Field(default_factory=lambda: __import__("socket").gethostname()[:40], max_length=40)
    delivery_concurrency: int = Field(default=32, ge=1, le=512)

    # E-mail to contractors: smtp://user:password@host:587 (STARTTLS when offered),
    # smtps://… (TLS from the start); unset means no e-mail is sent.
    smtp_url: str | None = Field(default=None, pattern=r"^smtps?://")
    smtp_from: str = "viza@localhost"

    # Working time for SLA clocks, reminders and digests, in each person's own time zone.
    working_hours: str = Field(default="09:00-18:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    working_days: list[int] = [1, 2, 3, 4, 5]  # ISO weekdays, Monday = 1
    holidays: list[date] = []  # days off on top of weekends (the production calendar)
    digest_time: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")
    scheduler_enabled: bool = True  # reminders, escalations, digests
    scheduler_interval_seconds: int = Field(default=60, ge=1, le=3600)

    # Bitrix24: an inbound webhook (https://<portal>/rest/<user>/<code>/) for our calls, and the
    # application token of the outbound webhook that posts deal events to
    # /api/v1/integrations/bitrix24/events (anything without it is refused).
    bitrix24_webhook_url: str | None = None
    bitrix24_app_token: str | None = None
    # The portal's leaky bucket (FACTS §4): 50 draining at 2/s; Enterprise plans 250 and 5/s.
    bitrix24_bucket_size: int = Field(default=50, ge=1, le=10_000)
    bitrix24_drain_per_second: float = Field(default=2.0, gt=0, le=1000)
    # The smart process (entityTypeId) mirroring payment requests; 0: no mirror. Its stage per
    # request status, e.g. {"pending": "DT1032_7:PREPARATION"}; statuses left out keep the
    # conventional NEW / PREPARATION / CLIENT / SUCCESS / FAIL of the category.
    bitrix24_item_type_id: int = Field(default=0, ge=0)
    bitrix24_item_category_id: int = Field(default=0, ge=0)
    bitrix24_item_stages: dict[str, str] = {}
    # A money field of the deal that shows what its paid requests cost, e.g. UF_CRM_VIZA_EXPENSES.
    bitrix24_expenses_field: str = Field(default="", pattern=r"^(UF_CRM_[A-Z0-9_]+)?$")
    # A field of the deal the accountant's closing confirmation is written to (seed 000).
    bitrix24_closing_field: str = Field(default="", pattern=r"^(UF_CRM_[A-Z0-9_]+)?$")
    # Deal stages that need a condition, e.g. {"EXECUTING": "contract_approved", "WON": "closing_confirmed"}:
    # a deal moved there without it is moved back and its manager and the accountants are told.
    bitrix24_stage_gates: dict[str, str] = {}
    bitrix24_task_deadline_hours: int = Field(default=24, ge=1, le=24 * 60)

    # 1C:Enterprise standard OData interface, e.g. http://1c.local/accounting/odata/standard.odata/
    onec_odata_url: str | None = Field(default=None, pattern=r"^https?://")
    onec_user: str | None = None
    onec_password: str | None = None
    onec_poll_seconds: int = Field(default=30, ge=5, le=3600)  # payments read back from 1C
    onec_catalogue_minutes: int = Field(default=60, ge=1, le=1440)  # the goods catalogue read from 1C
    # Render one invoice PDF at start, off the event loop, so the first person's PDF does not pay
    # for loading the fonts (about 0.4 s).
    documents_warm_up: bool = True

    # Several replicas (README "Running at scale"): the Redis they share for dialog state, update
    # dedup, per-chat order and the Telegram and Bitrix24 rate buckets; unset = one process, all
    # of that kept in memory (dialog state in the database).
    redis_url: str | None = Field(default=None, pattern=r"^rediss?://|^unix://")
    # How long rows claimed by a replica that died stay claimed before another replica takes them.
    outbox_lease_seconds: int = Field(default=120, ge=2, le=3600)
    # How long one chat's lock outlives a replica that died while handling its update (it is renewed
    # while the update is handled), and how long an update waits for that lock before Telegram is
    # told to deliver it again later (503).
    telegram_update_lease_seconds: int = Field(default=10, ge=2, le=300)
    telegram_update_wait_seconds: float = Field(default=20.0, gt=0, le=50)
    # On SIGTERM: how long requests and updates in flight may take to finish before the stop.
    shutdown_timeout_seconds: int = Field(default=30, ge=1, le=600)

    # Operations: log lines as text or one JSON object each; /metrics behind a bearer token when
    # set; /readyz fails when the oldest due outbox row is older than this.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_token: str | None = Field(default=None, min_length=16)
    ready_outbox_age_seconds: int = Field(default=600, ge=0, le=86400)  # 0: not checked

    @model_validator(mode="after")
    def _webhook_needs_address_and_secret(self) -> Settings:
        if self.telegram_token and self.telegram_mode == "webhook":
            missing = [n for n, v in (("VIZA_PUBLIC_URL", self.public_url), ("VIZA_WEBHOOK_SECRET", self.webhook_secret))
                       if not v]
            if missing:
                raise ValueError(f"VIZA_TELEGRAM_MODE=webhook needs {' and '.join(missing)}")
        return self

    @field_validator("bitrix24_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        from backend.integrations.bitrix24.client import webhook_base

        return webhook_base(value)

    @field_validator("bitrix24_stage_gates")
    @classmethod
    def _known_gates(cls, value: dict[str, str]) -> dict[str, str]:
        from backend.integrations.bitrix24.gates import CONDITIONS

        unknown = sorted({c for c in value.values() if c not in CONDITIONS})
        if unknown:
            raise ValueError(f"unknown stage conditions {unknown}; known: {sorted(CONDITIONS)}")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, e.g. Europe/Moscow") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value.startswith(("postgres://", "postgresql://")):
            # People paste the URL their hosting gives them; pick the async driver for them.
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("use postgresql+asyncpg://… or sqlite+aiosqlite:///path")
        return value

    @property
    def effective_web_url(self) -> str:
        return (self.web_url or self.public_url or "http://127.0.0.1:8000").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'viza.sqlite3').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    def usn_income_limit(self, year: int, override: int | None = None) -> int | None:
        """The USN income limit for a year (the latest known year's when not yet published)."""
        if override is not None:
            return override
        known = [y for y in self.usn_income_limits if y <= year]
        return self.usn_income_limits[max(known)] if known else None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
