"""Small test builders: areas and reports inserted directly, so domain tests stay independent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from saferstreets.areas.models import Area
from saferstreets.crime.models import Crime
from saferstreets.reports import tally
from saferstreets.reports.models import Report


def square(lon: float, lat: float, size: float = 0.01) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def add_area(
    session: Session,
    code: str,
    name: str,
    kind: str,
    parent: str | None = None,
    lon: float = -0.3,
    lat: float = 51.8,
    size: float = 0.01,
) -> Area:
    area = Area(
        code=code,
        name=name,
        kind=kind,
        parent_code=parent,
        geometry=square(lon, lat, size),
        min_lon=lon,
        min_lat=lat,
        max_lon=lon + size,
        max_lat=lat + size,
        centroid_lon=lon + size / 2,
        centroid_lat=lat + size / 2,
        area_km2=size * size * 7700,
    )
    session.add(area)
    session.flush()
    return area


def add_report(
    session: Session,
    *,
    ward: str | None,
    district: str | None,
    reasons: list[str],
    free_text: str | None = None,
    lat: float = 51.805,
    lon: float = -0.295,
    h3_cell: str | None = None,
    occurred_on: date = date(2021, 10, 8),
    **extra: Any,
) -> Report:
    report = Report(
        received_hour=datetime(2021, 10, 9, 22),
        occurred_on=occurred_on,
        time_band="night",
        reasons=reasons,
        free_text=free_text,
        ward_code=ward,
        district_code=district,
        latitude=lat,
        longitude=lon,
        h3_cell=h3_cell,
        source="test",
        **extra,
    )
    session.add(report)
    session.flush()
    tally.count(session, [report.id])  # as reports.service.create_report does
    return report


def add_crime(session: Session, i: int, *, month: date, crime_type: str, **extra: Any) -> Crime:
    """A police.uk street crime numbered ``i`` (its row key and Crime ID follow from it), with
    any other column given (place, areas, outcome)."""
    crime = Crime(
        row_key=f"c{i}".encode(),
        crime_id=f"id{i}",
        month=month,
        reported_by="X",
        falls_within="X",
        crime_type=crime_type,
        **extra,
    )
    session.add(crime)
    return crime
