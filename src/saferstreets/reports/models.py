"""Anonymous public reports of places where someone felt unsafe."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType, Located, located_indexes

REPORT_STATUSES = ("new", "triaged", "linked", "closed")
# What a safeguarding review decided. "No further action" needs a reason in the note.
REVIEW_OUTCOMES = {
    "control_room": "Passed to the control room",
    "safeguarding_partner": "Referred to a safeguarding partner",
    "no_further_action": "No further action",
}
# How soon an urgent report must be read: 1 danger now, 2 a child or sexual violence, 3 it names
# or identifies a person. Set by triage; the queue is ordered by it, then by age.
URGENCY_LABELS = {
    1: "Danger now",
    2: "A child or sexual violence",
    3: "Names or identifies someone",
}


# Ward and cell first: the workspace's ward-and-cell GROUP BY then reads the index in order.
WORKSPACE_COLUMNS = (
    "ward_code",
    "h3_cell",
    "occurred_on",
    "occurred_hour",
    "age_band",
    "district_code",
    "reasons",
)
HAS_TEXT = sa.text("free_text IS NOT NULL AND free_text != ''")


class Report(Located, Base):
    """One anonymous report. Stores no IP address, user agent or device data.

    ``received_hour`` is the submission time truncated to the hour, never finer. The receipt code
    is shown once to the reporter; only its SHA-256 is kept (``receipt_hash``).
    """

    __tablename__ = "report"
    __table_args__ = (
        *located_indexes("report"),
        sa.UniqueConstraint("receipt_hash", name="uq_report_receipt_hash"),
        sa.Index("ix_report_status", "status"),
        # The analyst's workspace counts reports by these columns under any filter: an index
        # holding all of them lets each GROUP BY read the index, not the wide rows (1M reports:
        # see bench/results/workspace.md); the partial one holds the reports with words.
        sa.Index("ix_report_workspace", *WORKSPACE_COLUMNS),
        sa.Index(
            "ix_report_workspace_text",
            *WORKSPACE_COLUMNS,
            sqlite_where=HAS_TEXT,
            postgresql_where=HAS_TEXT,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(36), default=lambda: str(uuid.uuid4()))
    receipt_hash: Mapped[str | None] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(16), default="web")  # web, import, demo
    received_hour: Mapped[datetime]
    occurred_on: Mapped[date | None]
    time_band: Mapped[str | None] = mapped_column(sa.String(16))
    occurred_hour: Mapped[int | None]  # 0-23 when known (imports, demo); forms give a band
    happens_regularly: Mapped[bool] = mapped_column(default=False)
    place_text: Mapped[str | None] = mapped_column(sa.String(200))
    reasons: Mapped[list] = mapped_column(JSONType, default=list)
    other_reason: Mapped[str | None] = mapped_column(sa.String(200))
    free_text: Mapped[str | None] = mapped_column(sa.Text)
    # the words were removed by retention (its themes stay and count: themes.inforce.had_text)
    text_removed: Mapped[bool] = mapped_column(default=False)
    age_band: Mapped[str | None] = mapped_column(sa.String(16))
    for_self: Mapped[bool | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="new")
    urgent: Mapped[bool] = mapped_column(default=False)
    urgent_reason: Mapped[str | None] = mapped_column(sa.String(200))
    urgency: Mapped[int | None]  # 1 (most urgent) to 3; None when not urgent


class SafeguardingReview(Base):
    """A person's review of an urgent report: who, when, what was decided, and why.

    An urgent report stays in the safeguarding queue until it has a review, whatever its status
    (linking it to a local issue or closing it does not take it out).
    """

    __tablename__ = "safeguarding_review"
    __table_args__ = (sa.Index("ix_safeguarding_review_report_id", "report_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("report.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(sa.String(32))
    note: Mapped[str | None] = mapped_column(sa.Text)


class SubmissionKey(Base):
    """A report form's one-time key, once a report was stored under it (``reports.submissions``).

    Only the key's SHA-256 is here; the key itself is in her page. The receipt code is sealed
    under the key (as a receipt cookie's is under its token), so sending the same form again
    shows the same receipt and stores nothing more. No link to the report is kept.
    """

    __tablename__ = "submission_key"
    __table_args__ = (sa.Index("ix_submission_key_expires_at", "expires_at"),)

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    receipt: Mapped[str] = mapped_column(sa.String(64))  # sealed receipt code, hex
    urgent: Mapped[bool] = mapped_column(default=False)
