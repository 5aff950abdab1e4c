"""A tiny county for report and browser tests: one force, two districts, four wards.

Written as GeoJSON with ONS-style fields and imported through the areas import service, so the
tests exercise the same path a force's real boundary files take.

    lon -0.50        -0.25         0.00
  lat 51.90 +----------+-----------+
            | Northgate| Eastbrook |
      51.75 +----------+-----------+
            | Southmead| Riverside |
      51.60 +----------+-----------+
             Alderton    Brookhaven   (districts: west and east halves)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

FORCE = ("E23000099", "Demo County")
DISTRICTS = {"E07000901": ("Alderton", -0.50), "E07000902": ("Brookhaven", -0.25)}
WARDS = {
    "E05009001": ("Northgate", "E07000901", -0.50, 51.75),
    "E05009002": ("Southmead", "E07000901", -0.50, 51.60),
    "E05009003": ("Eastbrook", "E07000902", -0.25, 51.75),
    "E05009004": ("Riverside", "E07000902", -0.25, 51.60),
}
INSIDE = {"E05009001": (51.80, -0.40), "E05009003": (51.82, -0.10), "E05009004": (51.65, -0.05)}
OUTSIDE = (52.20, -1.20)  # well beyond the force area


def _box(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _write(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def write_tiny_county(folder: Path) -> dict[str, Path]:
    """Write the force, district and ward GeoJSON files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    force = _write(folder / "force.geojson", [{
        "type": "Feature", "properties": {"PFA23CD": FORCE[0], "PFA23NM": FORCE[1]},
        "geometry": _box(-0.50, 51.60, 0.00, 51.90),
    }])  # fmt: skip
    districts = _write(folder / "districts.geojson", [
        {"type": "Feature", "properties": {"LAD23CD": code, "LAD23NM": name},
         "geometry": _box(lon, 51.60, lon + 0.25, 51.90)}
        for code, (name, lon) in DISTRICTS.items()
    ])  # fmt: skip
    wards = _write(folder / "wards.geojson", [
        {"type": "Feature", "properties": {"WD23CD": code, "WD23NM": name, "LAD23CD": parent},
         "geometry": _box(lon, lat, lon + 0.25, lat + 0.15)}
        for code, (name, parent, lon, lat) in WARDS.items()
    ])  # fmt: skip
    return {"force": force, "district": districts, "ward": wards}


def import_tiny_county(engine: sa.Engine, folder: Path) -> None:
    """Write and import the tiny county into the store behind ``engine``."""
    from saferstreets.areas.service import import_boundaries

    for level, path in write_tiny_county(folder).items():
        summary = import_boundaries(engine=engine, path=path, level=level, assign=False)
        assert summary.status == "ok", summary.line()
