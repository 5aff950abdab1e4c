"""Local issues worked through SARA, the actions taken, referrals to partners, public updates."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType, utcnow

SARA_STAGES = ("scanning", "analysis", "response", "assessment", "closed")


class LocalIssue(Base):
    """A local problem in a ward raised by women, worked by a ward officer."""

    __tablename__ = "local_issue"
    __table_args__ = (sa.Index("ix_local_issue_ward_code", "ward_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_code: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    themes: Mapped[list] = mapped_column(JSONType, default=list)
    stage: Mapped[str] = mapped_column(sa.String(16), default="scanning")
    priority: Mapped[int] = mapped_column(default=2)  # 1 high .. 3 low
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    due_on: Mapped[date | None]
    analysis_notes: Mapped[str | None] = mapped_column(sa.Text)
    assessment_notes: Mapped[str | None] = mapped_column(sa.Text)
    # Set when the issue is closed: why, and the reports counted before and after the response
    # (service-computed, confirmed or corrected by the officer).
    close_reason: Mapped[str | None] = mapped_column(sa.String(32))
    reports_before: Mapped[int | None]
    reports_after: Mapped[int | None]
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    # Where the issue is (actions/place.py): an outline (GeoJSON geometry, EPSG:4326) derived from
    # the linked reports (never any one report's point) or drawn by the officer; how it was made
    # (reports, drawn, places); and its name from the gazetteer ("around Mill Lane, Northgate").
    place_geometry: Mapped[dict | None] = mapped_column(JSONType)
    place_source: Mapped[str | None] = mapped_column(sa.String(16))
    place_name: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StageNote(Base):
    """One move of an issue between SARA stages and the note that justified it: the history."""

    __tablename__ = "issue_stage_note"
    __table_args__ = (sa.Index("ix_issue_stage_note_issue_id", "issue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("local_issue.id", ondelete="CASCADE"))
    from_stage: Mapped[str] = mapped_column(sa.String(16))
    to_stage: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.Text)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IssueReport(Base):
    """Which reports a local issue gathers."""

    __tablename__ = "issue_report"

    issue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("local_issue.id", ondelete="CASCADE"), primary_key=True
    )
    report_id: Mapped[int] = mapped_column(
        sa.ForeignKey("report.id", ondelete="CASCADE"), primary_key=True
    )


class Action(Base):
    __tablename__ = "issue_action"
    __table_args__ = (sa.Index("ix_issue_action_issue_id", "issue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("local_issue.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.String(32), default="police")  # patrol, enforcement, ...
    taken_on: Mapped[date]
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))


class Referral(Base):
    """A request to a partner (council lighting, CCTV, licensing, a venue) and its answer."""

    __tablename__ = "referral"
    __table_args__ = (sa.Index("ix_referral_partner", "partner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("local_issue.id", ondelete="CASCADE"))
    partner: Mapped[str] = mapped_column(sa.String(64))
    request: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(
        sa.String(16), default="sent"
    )  # sent, accepted, done, declined
    response: Mapped[str | None] = mapped_column(sa.Text)
    sent_on: Mapped[date]
    closed_on: Mapped[date | None]


UPDATE_STATUSES = ("draft", "published", "withdrawn")


class PublicUpdate(Base):
    """What the public sees on "you said, we did" for an area, once a supervisor approves it.

    A draft is public only after approval (``published``); a published update can be corrected
    (``corrected_on`` shows as "updated" on the page and in the feed) or withdrawn, which takes
    it off both. See docs/you-said-we-did.md.
    """

    __tablename__ = "public_update"
    __table_args__ = (sa.Index("ix_public_update_area_code", "area_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(sa.String(32))
    issue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("local_issue.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    themes: Mapped[list] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    published_on: Mapped[date | None]
    corrected_on: Mapped[date | None]
    withdrawn_on: Mapped[date | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    extra: Mapped[dict | None] = mapped_column(JSONType)
