"""Areas: force, districts, wards, LSOAs and town centres, with their boundaries."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType, utcnow


class Area(Base):
    """One area at one level. ``geometry`` is a GeoJSON geometry in EPSG:4326.

    ``geometry`` is the full boundary as imported (repaired if it was invalid) and is what points
    are assigned against; ``display_geometry`` is a simplified copy for maps only.
    ``parent_source`` says where ``parent_code`` came from: ``file`` (a field of the boundary
    file), ``overlay`` (the parent level's area that overlaps it most) or ``None`` (no parent).
    """

    __tablename__ = "area"
    __table_args__ = (
        sa.UniqueConstraint("kind", "code", name="uq_area_kind_code"),
        sa.Index("ix_area_parent_code", "parent_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    parent_code: Mapped[str | None] = mapped_column(sa.String(32))
    parent_source: Mapped[str | None] = mapped_column(sa.String(16))
    geometry: Mapped[dict] = mapped_column(JSONType)
    display_geometry: Mapped[dict | None] = mapped_column(JSONType)
    min_lon: Mapped[float] = mapped_column(sa.Float)
    min_lat: Mapped[float] = mapped_column(sa.Float)
    max_lon: Mapped[float] = mapped_column(sa.Float)
    max_lat: Mapped[float] = mapped_column(sa.Float)
    centroid_lon: Mapped[float] = mapped_column(sa.Float)
    centroid_lat: Mapped[float] = mapped_column(sa.Float)
    area_km2: Mapped[float | None] = mapped_column(sa.Float)
    population: Mapped[int | None] = mapped_column(sa.Integer)
    properties: Mapped[dict | None] = mapped_column(JSONType)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class LsoaLookup(Base):
    """One row of the ONS LSOA (2011) to LSOA (2021) lookup: which 2021 LSOA(s) a 2011 one is.

    ``change`` is the ONS ``CHGIND``: ``U`` unchanged, ``S`` split (one row per 2021 part), ``M``
    merged (several 2011 LSOAs into one 2021), ``X`` redrawn irregularly. police.uk names each
    crime's LSOA by its 2011 code; this maps it to 2021 codes (``areas.lsoa_lookup``).
    """

    __tablename__ = "lsoa_lookup"
    __table_args__ = (
        sa.UniqueConstraint("lsoa11_code", "lsoa21_code", name="uq_lsoa_lookup_pair"),
        sa.Index("ix_lsoa_lookup_lsoa21_code", "lsoa21_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lsoa11_code: Mapped[str] = mapped_column(sa.String(16))
    lsoa11_name: Mapped[str | None] = mapped_column(sa.String(100))
    lsoa21_code: Mapped[str] = mapped_column(sa.String(16))
    lsoa21_name: Mapped[str | None] = mapped_column(sa.String(100))
    change: Mapped[str] = mapped_column(sa.String(1))
    lad_code: Mapped[str | None] = mapped_column(sa.String(16))
    lad_name: Mapped[str | None] = mapped_column(sa.String(100))
    import_run_id: Mapped[int | None] = mapped_column(sa.Integer)
