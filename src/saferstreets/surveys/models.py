"""Survey waves and their normalised responses."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import (
    JSONType,
    Located,
    had_text_column,
    located_indexes,
    themes_column,
    utcnow,
)


class SurveyWave(Base):
    """One survey export imported as a wave (for example "Autumn 2021")."""

    __tablename__ = "survey_wave"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_survey_wave_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    source: Mapped[str | None] = mapped_column(sa.String(200))  # file name or tool
    mapping: Mapped[dict | None] = mapped_column(JSONType)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyResponse(Located, Base):
    """One respondent's answers, normalised, with the raw row kept.

    ``feel_safe`` maps question keys (e.g. ``after_dark.quiet_street``) to a level on the
    question's scale, stored as the scale's label; ``concerns`` is a list of taxonomy codes.
    """

    __tablename__ = "survey_response"
    __table_args__ = (
        *located_indexes("survey_response"),
        sa.Index("ix_survey_response_wave_id", "wave_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_wave.id", ondelete="CASCADE"))
    respondent_ref: Mapped[str | None] = mapped_column(sa.String(64))
    answered_on: Mapped[date | None]
    age_band: Mapped[str | None] = mapped_column(sa.String(16))
    gender: Mapped[str | None] = mapped_column(sa.String(32))
    postcode: Mapped[str | None] = mapped_column(sa.String(16))
    concerns: Mapped[list] = mapped_column(JSONType, default=list)
    settings: Mapped[list] = mapped_column(JSONType, default=list)
    feel_safe: Mapped[dict] = mapped_column(JSONType, default=dict)
    free_text: Mapped[str | None] = mapped_column(sa.Text)
    # the words were removed by retention (its themes stay and count: themes.inforce.had_text)
    text_removed: Mapped[bool] = mapped_column(default=False)
    had_text: Mapped[bool] = had_text_column()
    themes: Mapped[list] = themes_column()
    raw: Mapped[dict | None] = mapped_column(JSONType)
