"""Stored assessment results, each with the parameters that produced it.

``analysis/`` itself is pure code (frames in, results out); these tables belong to the assess
service that runs it and stores what it found.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType, utcnow


class AnalysisRun(Base):
    """One finding computed once: ``kind`` (concerns, feel_safe, when, themes, hotspots, ...)."""

    __tablename__ = "analysis_run"
    __table_args__ = (sa.Index("ix_analysis_run_kind", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    result: Mapped[dict] = mapped_column(JSONType, default=dict)
    summary: Mapped[str | None] = mapped_column(sa.Text)  # the plain sentence shown with it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HotspotCell(Base):
    """Gi* result for one H3 cell in one hotspot run."""

    __tablename__ = "hotspot_cell"
    __table_args__ = (sa.Index("ix_hotspot_cell_run_id", "run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("analysis_run.id", ondelete="CASCADE"))
    cell: Mapped[str] = mapped_column(sa.String(16))
    count: Mapped[float] = mapped_column(sa.Float)
    z: Mapped[float] = mapped_column(sa.Float)
    p: Mapped[float] = mapped_column(sa.Float)
    q: Mapped[float] = mapped_column(sa.Float)
    klass: Mapped[int] = mapped_column(sa.Integer)  # -3..3 (99/95/90% cold .. hot)
    trend: Mapped[str | None] = mapped_column(sa.String(32))  # emerging-hotspot category


class FindingsRendering(Base):
    """The stored findings drawn once for the page (sentences, tables and SVG charts as JSON), for
    the assessment run whose id is the newest: a new run has a new id, so it is drawn afresh."""

    __tablename__ = "findings_rendering"

    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("analysis_run.id", ondelete="CASCADE"), primary_key=True
    )
    sections: Mapped[list] = mapped_column(JSONType, default=list)
    latest: Mapped[datetime | None] = mapped_column()  # the newest finding's time
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
