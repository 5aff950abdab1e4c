"""The demo county's gazetteer: named streets, a high street in each town centre, bus stops.

Written as a force's own landmarks CSV (``id,name,kind,lat,lon,locality``), the layout
``saferstreets import places`` takes, beside ``places.geojson`` (stations, parks, paths,
underpasses, venues), which the same import also reads. Its own random stream, so the other
parts of the county keep their bytes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saferstreets.demo.geography import County, to_lonlat

GAZETTEER_FILE = "gazetteer.csv"
STOP_SHARE = 0.5  # share of urban streets with a bus stop (a modelling choice)
STOP_OFFSET_KM = 0.03


@dataclass(frozen=True)
class GazetteerRow:
    """One named place of the gazetteer, at (x, y) in the county's local kilometres."""

    id: str
    name: str
    kind: str
    x: float
    y: float
    locality: str


def gazetteer_rows(county: County, rng: np.random.Generator) -> list[GazetteerRow]:
    """The gazetteer's rows: a High Street per town centre, each ward's streets, bus stops."""
    ward_of = {w.code: w for w in county.wards}
    rows: list[GazetteerRow] = []
    for centre in county.town_centres:
        town = centre.name.removesuffix(" town centre")
        point = centre.geom.representative_point()
        rows.append(
            GazetteerRow(f"high-{centre.code}", "High Street", "street", point.x, point.y, town)
        )
    seen: set[tuple[str, str]] = set()
    for snap in county.snaps:
        if snap.kind != "street" or not snap.label.startswith("On or near "):
            continue
        ward = ward_of.get(county.lsoas[snap.lsoa].parent)
        street = snap.label.removeprefix("On or near ")
        if ward is None or (ward.code, street) in seen:
            continue
        seen.add((ward.code, street))
        rows.append(
            GazetteerRow(f"st-{ward.code}-{street}", street, "street", snap.x, snap.y, ward.name)
        )
        if ward.urban and rng.random() < STOP_SHARE:
            angle = rng.uniform(0, 2 * np.pi)
            x = snap.x + STOP_OFFSET_KM * np.cos(angle)
            y = snap.y + STOP_OFFSET_KM * np.sin(angle)
            stop = f"{street} bus stop"
            rows.append(GazetteerRow(f"bus-{ward.code}-{street}", stop, "stop", x, y, ward.name))
    return rows


def write_gazetteer_rows(rows: list[GazetteerRow], out: Path) -> Path:
    """Write ``gazetteer.csv`` under ``out`` and return its path."""
    path = Path(out) / GAZETTEER_FILE
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "kind", "lat", "lon", "locality"])
        for row in rows:
            lon, lat = to_lonlat(row.x, row.y)
            writer.writerow(
                [row.id, row.name, row.kind, f"{float(lat):.6f}", f"{float(lon):.6f}", row.locality]
            )
    return path


def write_gazetteer(county: County, rng: np.random.Generator, out: Path) -> Path:
    """Write ``gazetteer.csv`` under ``out`` and return its path."""
    return write_gazetteer_rows(gazetteer_rows(county, rng), out)
