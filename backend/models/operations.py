"""What replicas share to run scheduled work once: a lease per job loop."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime


class SchedulerRun(Base):
    """One scheduled loop (``notifications``): which replica runs its current tick, until when,
    and when the last tick was due, started and finished (the job lag metric reads these)."""

    __tablename__ = "scheduler_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
