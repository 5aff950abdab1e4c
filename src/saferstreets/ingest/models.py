"""Import runs and quarantined rows: every file read, and every row that could not be kept."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType, utcnow


class ImportRun(Base):
    """One file (or zip member) read by one import, with what became of its rows."""

    __tablename__ = "import_run"
    __table_args__ = (sa.Index("ix_import_run_kind", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # crime_street, crime_outcomes, ...
    source: Mapped[str] = mapped_column(sa.Text)  # path, or zip path + '!' + member
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="running")  # ok, failed, skipped
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_stored: Mapped[int] = mapped_column(default=0)
    rows_duplicate: Mapped[int] = mapped_column(default=0)
    rows_quarantined: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict | None] = mapped_column(JSONType)


class QuarantinedRow(Base):
    """A row that was not stored, with where it came from and why, until an analyst acts on it."""

    __tablename__ = "quarantined_row"
    __table_args__ = (sa.Index("ix_quarantined_row_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("import_run.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    source: Mapped[str] = mapped_column(sa.Text)
    row_number: Mapped[int | None]  # 1-based line in the file, header counted
    field: Mapped[str | None] = mapped_column(sa.String(200))
    reason: Mapped[str] = mapped_column(sa.Text)
    raw: Mapped[dict | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")  # open, fixed, discarded
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
