from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class JobOutcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


#: Longest error text kept; a traceback summary fits, a runaway message does not fill the table.
ERROR_LIMIT = 4000
SUMMARY_LIMIT = 2000


class JobRun(UserCreatedBase, Base):
    """One run of a scheduled job for one time slot.

    The row *is* the claim: ``(job, slot_start)`` is unique, so of several schedulers that
    wake for the same slot exactly one inserts it and runs the job. A second unique index
    over ``job`` for rows still ``running`` keeps a job from overlapping itself, on SQLite
    and PostgreSQL alike (both have partial indexes). ``created_by`` is who asked for it:
    the system user for the scheduler, an admin for "run now".
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "slot_start"),
        CheckConstraint(
            "outcome IN ('running', 'succeeded', 'failed', 'skipped')", name="outcome_known"
        ),
        Index(
            "uq_job_runs_one_running", "job", unique=True,
            sqlite_where=text("outcome = 'running'"), postgresql_where=text("outcome = 'running'"),
        ),
        Index("ix_job_runs_job_started_at", "job", "started_at"),
    )

    job: Mapped[str] = mapped_column(String(64))
    #: The scheduled time slot (UTC) this run stands for; a manual run's is when it was asked for.
    slot_start: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    #: "schedule" or "manual" (run now, ``flask scheduler run-job``).
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")
    summary: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<JobRun {self.job} {self.slot_start:%Y-%m-%d %H:%M} {self.outcome}>"
