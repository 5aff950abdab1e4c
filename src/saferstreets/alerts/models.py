"""The alert outbox: one row per danger-now report, written in the report's own transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType, utcnow

ALERT_STATUSES = ("pending", "sent", "failed")


class Alert(Base):
    """An alert that a person must read a report now, and what became of its delivery.

    It holds what the alert may say (why the report was flagged, its ward and district, the hour
    it came in and the report's id for the link) and never the report's words or point.
    ``deliveries`` maps each channel (``email``, ``webhook``) to ``{"status", "at", "error"}``;
    a retry sends again only on the channels not yet ``sent``. A worker owns the row while
    ``claimed_until`` is in the future (``claim_token`` says which worker).
    """

    __tablename__ = "alert"
    __table_args__ = (
        sa.Index("ix_alert_status_next_attempt_at", "status", "next_attempt_at"),
        sa.UniqueConstraint("public_id", name="uq_alert_public_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(36), default=lambda: str(uuid.uuid4()))
    report_public_id: Mapped[str] = mapped_column(sa.String(36))
    urgency: Mapped[str] = mapped_column(sa.String(32))  # the first alerting reason
    reasons: Mapped[str | None] = mapped_column(sa.String(200))  # triage's rule names
    ward_code: Mapped[str | None] = mapped_column(sa.String(32))
    district_code: Mapped[str | None] = mapped_column(sa.String(32))
    received_hour: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    deliveries: Mapped[dict] = mapped_column(JSONType, default=dict)
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    finished_at: Mapped[datetime | None]
