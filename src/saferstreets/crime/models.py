"""Recorded crime from police.uk: street rows, outcome events, stop and search."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.crime.policeuk import KEY_BYTES
from saferstreets.db import Base
from saferstreets.models_common import Located, located_indexes

# Row keys are 16 bytes (128 bits): a quarter of the 64-character hex they replaced, so the unique
# index an import checks every row against is small enough to stay in memory (bench_crime_import).
RowKey = sa.LargeBinary(KEY_BYTES)


class Crime(Located, Base):
    """One row of a police.uk ``*-street.csv``.

    A row's identity (``row_key``, which makes re-imports idempotent) is its Crime ID and its
    occurrence among the rows of its file with that ID: the first row's key is the Crime ID's
    key (``policeuk.crime_key``), a later row's (police.uk publishes some IDs on two or more
    rows: another place, another outcome, or the same values again) is ``policeuk.shared_key``
    of the ID and ``crime_id_occurrence`` (1, 2, ...). Every such row is kept and counted, as
    police.uk counts them, and flagged (``crime_id_shared``); counting distinct IDs instead
    keeps the rows with ``crime_id_occurrence == 0`` (``crime.service.counted``). A row without
    a Crime ID (anti-social behaviour) is keyed by a hash of the whole row and its occurrence
    number within its file. Look a crime up by Crime ID through ``row_key`` (unique, indexed);
    ``crime_id`` keeps the ID as police.uk wrote it, without an index of its own.

    LSOAs: ``source_lsoa_code`` is the LSOA police.uk gave (2011 codes); ``source_lsoa21_code``
    is its 2021 successor by the ONS lookup (``areas.lsoa_lookup``), where that is one LSOA;
    ``lsoa_code`` is the one saferstreets assigned from the point and the imported boundaries.
    """

    __tablename__ = "crime"
    __table_args__ = (
        *located_indexes("crime"),
        sa.UniqueConstraint("row_key", name="uq_crime_row_key"),
        sa.Index("ix_crime_month", "month"),
        sa.Index("ix_crime_crime_type", "crime_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    row_key: Mapped[bytes] = mapped_column(RowKey)
    crime_id: Mapped[str | None] = mapped_column(sa.String(64))
    month: Mapped[date]
    reported_by: Mapped[str] = mapped_column(sa.String(100))
    falls_within: Mapped[str] = mapped_column(sa.String(100))
    location: Mapped[str | None] = mapped_column(sa.String(200))
    source_lsoa_code: Mapped[str | None] = mapped_column(sa.String(16))
    source_lsoa_name: Mapped[str | None] = mapped_column(sa.String(100))
    source_lsoa21_code: Mapped[str | None] = mapped_column(sa.String(16))
    crime_type: Mapped[str] = mapped_column(sa.String(64))
    last_outcome: Mapped[str | None] = mapped_column(sa.String(120))
    context: Mapped[str | None] = mapped_column(sa.Text)
    crime_id_shared: Mapped[bool] = mapped_column(default=False)
    crime_id_occurrence: Mapped[int] = mapped_column(default=0)
    import_run_id: Mapped[int | None] = mapped_column(sa.Integer)


class Outcome(Located, Base):
    """One row of a police.uk ``*-outcomes.csv``: an outcome event for a Crime ID.

    ``crime_key`` is its Crime ID's key, equal to the crime's ``row_key``: the indexed join.
    """

    __tablename__ = "crime_outcome"
    __table_args__ = (
        *located_indexes("crime_outcome"),
        sa.UniqueConstraint("row_key", name="uq_crime_outcome_row_key"),
        sa.Index("ix_crime_outcome_crime_key", "crime_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    row_key: Mapped[bytes] = mapped_column(RowKey)
    crime_id: Mapped[str] = mapped_column(sa.String(64))
    crime_key: Mapped[bytes] = mapped_column(RowKey)
    month: Mapped[date]
    reported_by: Mapped[str] = mapped_column(sa.String(100))
    falls_within: Mapped[str] = mapped_column(sa.String(100))
    location: Mapped[str | None] = mapped_column(sa.String(200))
    source_lsoa_code: Mapped[str | None] = mapped_column(sa.String(16))
    source_lsoa_name: Mapped[str | None] = mapped_column(sa.String(100))
    outcome_type: Mapped[str] = mapped_column(sa.String(120))
    import_run_id: Mapped[int | None] = mapped_column(sa.Integer)


class StopSearch(Located, Base):
    """One row of a police.uk ``*-stop-and-search.csv``."""

    __tablename__ = "stop_search"
    __table_args__ = (
        *located_indexes("stop_search"),
        sa.UniqueConstraint("row_key", name="uq_stop_search_row_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    row_key: Mapped[bytes] = mapped_column(RowKey)
    force: Mapped[str | None] = mapped_column(sa.String(100))
    type: Mapped[str | None] = mapped_column(sa.String(64))
    occurred_at: Mapped[str | None] = mapped_column(sa.String(40))
    part_of_policing_operation: Mapped[str | None] = mapped_column(sa.String(16))
    policing_operation: Mapped[str | None] = mapped_column(sa.String(200))
    gender: Mapped[str | None] = mapped_column(sa.String(32))
    age_range: Mapped[str | None] = mapped_column(sa.String(32))
    self_defined_ethnicity: Mapped[str | None] = mapped_column(sa.String(200))
    officer_defined_ethnicity: Mapped[str | None] = mapped_column(sa.String(64))
    legislation: Mapped[str | None] = mapped_column(sa.String(200))
    object_of_search: Mapped[str | None] = mapped_column(sa.String(200))
    outcome: Mapped[str | None] = mapped_column(sa.String(200))
    outcome_linked_to_object: Mapped[str | None] = mapped_column(sa.String(16))
    removal_of_outer_clothing: Mapped[str | None] = mapped_column(sa.String(16))
    import_run_id: Mapped[int | None] = mapped_column(sa.Integer)
