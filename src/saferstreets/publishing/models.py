"""Published batches of public figures: what the public sees moves only when a batch is published.

``PublishBatch`` is one run of ``saferstreets publish``; ``PublishedFigure`` holds every figure of
that batch as the public may see it (suppressed figures with no value); ``PublishedUnit`` is the
private working state behind the figures: each ward's (and each district's no-ward remainder's)
report ids and raw counts as last published, so that a ward moves only when enough of its reports
have changed. Public pages read ``PublishedFigure`` of the latest batch and nothing else.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType


class PublishBatch(Base):
    """One published batch of public figures."""

    __tablename__ = "publish_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    published_at: Mapped[datetime]
    min_count: Mapped[int]  # k: counts below it were suppressed
    min_new_reports: Mapped[int]  # a ward moved only with at least this many changed reports
    units_moved: Mapped[int] = mapped_column(default=0)
    figures_shown: Mapped[int] = mapped_column(default=0)
    figures_hidden: Mapped[int] = mapped_column(default=0)


class PublishedFigure(Base):
    """One public figure of one batch: an area's reports, a theme's reports, or a map cell's.

    ``figure`` is ``reports`` (``key`` empty; ``first_on``/``last_on`` the period), ``theme``
    (``key`` the theme code) or ``cell`` (``key`` the coarse H3 cell). ``value`` is None when the
    figure is suppressed.
    """

    __tablename__ = "published_figure"
    __table_args__ = (sa.Index("ix_published_figure_batch_area", "batch_id", "area_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("publish_batch.id", ondelete="CASCADE"))
    area_code: Mapped[str] = mapped_column(sa.String(32))
    figure: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(32), default="")
    value: Mapped[int | None]
    suppressed: Mapped[bool] = mapped_column(default=False)
    first_on: Mapped[date | None]
    last_on: Mapped[date | None]


class PublishedUnit(Base):
    """The private state behind the figures: a ward's (or no-ward remainder's) reports.

    ``kind`` is ``ward`` or ``district_rest`` (reports in a district that lie in none of its
    wards). ``report_ids`` are the reports counted; ``counts`` their raw figures
    (``{"reports": n, "themes": {...}, "cells": {...}, "no_cell": n, "first": iso, "last": iso}``).
    Never shown to anyone: only the suppressed figures built from it are.
    """

    __tablename__ = "published_unit"
    __table_args__ = (sa.UniqueConstraint("kind", "code", name="uq_published_unit_kind_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    code: Mapped[str] = mapped_column(sa.String(32))
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("publish_batch.id", ondelete="CASCADE"))
    report_ids: Mapped[list] = mapped_column(JSONType, default=list)
    counts: Mapped[dict] = mapped_column(JSONType, default=dict)
