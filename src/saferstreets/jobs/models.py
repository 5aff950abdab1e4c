"""The store's record of each background job: what, for whom, how far, and how it ended."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType, utcnow

JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """One piece of long work and its state, shared by every server and worker.

    The queue (huey) only carries the job's id; this row is the truth. A worker claims a job by
    setting ``status`` to ``running`` with its ``worker`` token, and stamps ``heartbeat_at`` while
    it works; a ``running`` job whose heartbeat is older than ``job_stale_seconds`` belonged to a
    worker that died and is claimed again. ``error`` is a sentence for the user, never a
    traceback; ``result`` is a small summary (ids, counts) for the page, never a report's words.
    """

    __tablename__ = "job"
    __table_args__ = (
        sa.Index("ix_job_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_job_requested_by", "requested_by"),
        sa.Index("ix_job_kind_status", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    requested_by: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    progress_what: Mapped[str | None] = mapped_column(sa.String(200))
    progress_done: Mapped[int | None]
    progress_total: Mapped[int | None]
    result: Mapped[dict | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=1)
    worker: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]  # when its id was last put on the queue
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
