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
