"""Anonymous public reports of places where someone felt unsafe."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import (
    JSONType,
    Located,
    had_text_column,
    listed_condition,
    located_indexes,
    themes_column,
)
from saferstreets.themes.taxonomy import THEMES

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


# What the workspace counts reports by, when ``report_tally`` does not answer its filter (dates,
# age, theme or reason): dates first, then the rest, so a date range reads its part of the index.
WORKSPACE_COLUMNS = (
    "occurred_on",
    "occurred_hour",
    "age_band",
    "ward_code",
    "district_code",
    "h3_cell",
    "reasons",
    "themes",
    "had_text",
)


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
        # The analyst's workspace counts reports by these columns under a filter the tally
        # (``ReportTally``) does not answer: an index holding all of them lets each GROUP BY
        # read the index, not the wide rows (1M reports: see bench/results/workspace.md); the
        # second leads with the age band, for a filter by age without dates.
        sa.Index("ix_report_workspace", *WORKSPACE_COLUMNS),
        sa.Index(
            "ix_report_workspace_age",
            "age_band",
            *(c for c in WORKSPACE_COLUMNS if c != "age_band"),
        ),
        # the reports not yet in ``report_tally`` (counted live until the tally folds them in):
        # a few minutes' worth, so this index stays small whatever the store holds
        sa.Index(
            "ix_report_untallied",
            "id",
            sqlite_where=sa.text("tallied = 0"),
            postgresql_where=sa.text("tallied = false"),
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
    had_text: Mapped[bool] = had_text_column()
    themes: Mapped[list] = themes_column()
    age_band: Mapped[str | None] = mapped_column(sa.String(16))
    for_self: Mapped[bool | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="new")
    urgent: Mapped[bool] = mapped_column(default=False)
    urgent_reason: Mapped[str | None] = mapped_column(sa.String(200))
    urgency: Mapped[int | None]  # 1 (most urgent) to 3; None when not urgent
    # in ``report_tally`` yet (``reports.tally.fold``); a new report is not, so the public form
    # never waits on the tally's writers
    tallied: Mapped[bool] = mapped_column(default=False, server_default=sa.text("false"))


# ---------------------------------------------------------------------------------------------
# The workspace's theme filter: one partial index per theme of the taxonomy, holding only the
# reports with that theme in force, on the columns the workspace counts by (``had_text`` aside:
# SQLite reads the row for a generated column, and every report with a theme has words). A
# theme filter reads its theme's entries (89,180 for transport in January-June 2022 at
# 1,000,000 reports) instead of every entry in the date range (482,613), and the store keeps
# them with the ``themes`` column: no writer knows of them. Their condition is the one
# ``models_common.listed`` writes into the queries, which is how the store matches them.
THEME_INDEX_COLUMNS = tuple(c for c in WORKSPACE_COLUMNS if c != "had_text")


def _theme_index(code: str) -> sa.Index:
    return sa.Index(
        f"ix_report_theme_{code}",
        *(Report.__table__.c[name] for name in THEME_INDEX_COLUMNS),
        sqlite_where=sa.text(listed_condition("themes", code, "sqlite")),
        postgresql_where=sa.text(listed_condition("themes", code, "postgresql")),
    )


THEME_INDEXES = tuple(_theme_index(theme.code) for theme in THEMES)
# ---------------------------------------------------------------------------------------------


class ReportTally(Base):
    """Reports counted once per change, not per request: by ward and district, how many
    reports, texts, and reports per reason ticked, theme in force, weekday and hour, month and
    H3 cell. The workspace's whole-force and area views are sums over these rows.

    Holds the reports marked ``tallied``; newer ones are counted live until
    ``reports.tally.fold`` adds them. Kept by ``reports.tally``: every writer of the counted
    columns of tallied reports takes their counts away before it changes and adds them back
    after, in the same transaction; the row of kind ``changes`` counts those writes (the
    workspace cache's data stamp) and serialises them.
    """

    __tablename__ = "report_tally"

    ward_code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # '' for none
    district_code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0)


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
