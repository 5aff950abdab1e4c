"""Theme assignments: which concerns a piece of free text speaks of, by model or by analyst."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import utcnow


class ThemeAssignment(Base):
    """(text owner, theme, confidence, source). An analyst's assignment overrides the model's."""

    __tablename__ = "theme_assignment"
    __table_args__ = (
        sa.UniqueConstraint(
            "owner_kind", "owner_id", "theme", "source", name="uq_theme_assignment_owner"
        ),
        sa.Index("ix_theme_assignment_theme", "theme"),
        # Everything ``themes.inforce`` reads of a text's assignments, so the workspace's
        # theme counts read this index and not the rows (bench/results/workspace.md).
        sa.Index(
            "ix_theme_assignment_in_force", "owner_kind", "owner_id", "theme", "source", "present"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[str] = mapped_column(sa.String(32))  # report, survey_response
    owner_id: Mapped[int]
    theme: Mapped[str] = mapped_column(sa.String(64))
    confidence: Mapped[float] = mapped_column(sa.Float, default=1.0)
    source: Mapped[str] = mapped_column(sa.String(16))  # model, analyst
    model_version: Mapped[str | None] = mapped_column(sa.String(64))
    present: Mapped[bool] = mapped_column(default=True)  # an analyst can say "not this theme"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThemeScored(Base):
    """That a text's model assignments are current: which model scored which version of the text.

    ``assign_all`` scores only the texts whose row is missing or differs (a new text, an edited
    text, or a different model), so a daily ``assess`` does not score a million texts again.
    """

    __tablename__ = "theme_scored"

    owner_kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    model_version: Mapped[str] = mapped_column(sa.String(64))
    text_sha: Mapped[str] = mapped_column(sa.String(16))  # first 16 hex of the text's sha256
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
