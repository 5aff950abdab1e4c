"""The demo county's street map: a PMTiles basemap in the Protomaps schema, from the county.

Every street the gazetteer names is drawn as a line through the gazetteer's point for it (so a
search for "Mill Lane" puts the pin on the drawn Mill Lane); each town centre has a High Street
through its gazetteer point; A roads join the towns (a minimum spanning tree), B roads join each
village to its nearest town; a railway runs through the stations. Parks are polygons around
their points; stations, bus stations, bus stops, parks and shopping centres are points of
interest; towns and villages are ``locality`` labels and wards ``neighbourhood`` labels.

Written by ``write_basemap`` into ``basemap.pmtiles`` beside the other demo files, with its own
random stream, so the rest of the county keeps its bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse.csgraph import minimum_spanning_tree
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from saferstreets.basemap.tiles import Feature, write_archive
from saferstreets.demo.gazetteer import GazetteerRow
from saferstreets.demo.geography import County, PlaceSpec, Town, geom_to_lonlat, to_lonlat

BASEMAP_FILE = "basemap.pmtiles"
MIN_ZOOM, MAX_ZOOM = 6, 14
ATTRIBUTION = "Synthetic demo county"
POI_KINDS = {
    "rail_station": "station",
    "bus_station": "bus_station",
    "shopping_centre": "mall",
}


def _street_line(
    x: float, y: float, towards: tuple[float, float], length: float, rng: np.random.Generator
) -> LineString:
    """A gently curved street of ``length`` km with (x, y) as one of its vertices, running
    towards or across the direction of ``towards`` (radial and ring streets)."""
    theta = math.atan2(towards[1] - y, towards[0] - x)
    if rng.random() < 0.5:
        theta += math.pi / 2
    theta += rng.normal(0.0, 0.2)
    t = rng.uniform(0.2, 0.8)
    s = np.union1d(np.linspace(-t * length, (1 - t) * length, 6), [0.0])
    bend = rng.uniform(-0.12, 0.12) / max(length, 0.1)
    off = bend * s**2
    ux, uy = math.cos(theta), math.sin(theta)
    return LineString(np.column_stack([x + s * ux - off * uy, y + s * uy + off * ux]))


def _nearest_town(towns: Sequence[Town], x: float, y: float) -> Town:
    return min(towns, key=lambda t: (t.x - x) ** 2 + (t.y - y) ** 2)


def _road(a: tuple[float, float], b: tuple[float, float], rng: np.random.Generator) -> LineString:
    """A road from a to b that bends a little halfway (by up to a tenth of its length)."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    k = rng.uniform(-0.1, 0.1)
    mid = (ax + dx / 2 - k * dy, ay + dy / 2 + k * dx)
    q1 = (ax + dx / 4 - k * dy * 0.75, ay + dy / 4 + k * dx * 0.75)
    q3 = (ax + 3 * dx / 4 - k * dy * 0.75, ay + 3 * dy / 4 + k * dx * 0.75)
    return LineString([a, q1, mid, q3, b])


def _blob(x: float, y: float, radius: float, rng: np.random.Generator) -> Polygon:
    theta = np.linspace(0, 2 * math.pi, 24, endpoint=False)
    r = radius * (1 + 0.2 * np.cos(2 * theta + rng.uniform(0, 6)) + 0.1 * np.cos(3 * theta))
    return Polygon(np.column_stack([x + r * np.cos(theta), y + r * np.sin(theta)]))


def _roads(county: County, rows: Sequence[GazetteerRow], rng: np.random.Generator) -> list[Feature]:
    towns = [t for t in county.towns if t.size != "village"]
    out: list[Feature] = []

    def add(geom: BaseGeometry, kind: str, detail: str, name: str, min_zoom: int) -> None:
        props: dict[str, str | int | float | bool] = {"kind": kind, "kind_detail": detail}
        if name:
            props["name"] = name
        out.append(Feature(geom_to_lonlat(geom), props, min_zoom))

    # A roads: a minimum spanning tree over the towns, numbered like English A roads.
    xy = np.array([(t.x, t.y) for t in towns])
    dist = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    tree = minimum_spanning_tree(dist).tocoo()
    for k, (i, j) in enumerate(sorted(zip(tree.row.tolist(), tree.col.tolist(), strict=True))):
        ref = f"A4{k + 10:02d}"
        add(_road(tuple(xy[i]), tuple(xy[j]), rng), "major_road", "primary", ref, 7)
    # B roads: each village to its nearest town.
    for k, village in enumerate(t for t in county.towns if t.size == "village"):
        town = _nearest_town(towns, village.x, village.y)
        add(
            _road((village.x, village.y), (town.x, town.y), rng),
            "major_road",
            "secondary",
            f"B4{k + 100:03d}",
            9,
        )
    # Named streets: through the gazetteer's point for each.
    for row in rows:
        if row.kind != "street":
            continue
        town = _nearest_town(towns, row.x, row.y)
        if row.name == "High Street":
            line = _street_line(row.x, row.y, (town.x, town.y), rng.uniform(0.5, 0.8), rng)
            add(line, "major_road", "tertiary", row.name, 11)
            continue
        urban = math.hypot(town.x - row.x, town.y - row.y) < 3.0
        length = rng.uniform(0.35, 0.8) if urban else rng.uniform(0.5, 1.2)
        add(
            _street_line(row.x, row.y, (town.x, town.y), length, rng),
            "minor_road",
            "residential",
            row.name,
            12,
        )
    # Night-time-economy streets, footpaths and underpasses at their places.
    for place in county.places:
        town = _nearest_town(towns, place.x, place.y)
        if place.kind == "nte_street":
            line = _street_line(place.x, place.y, (town.x, town.y), rng.uniform(0.25, 0.45), rng)
            add(line, "minor_road", "residential", str(place.props.get("street", "")), 12)
        elif place.kind in ("path", "underpass"):
            line = _street_line(place.x, place.y, (town.x, town.y), rng.uniform(0.15, 0.4), rng)
            add(line, "path", "footway", place.name.split(",")[0], 13)
    # A railway through the stations, west to east.
    stations = sorted(county.places_of("rail_station"), key=lambda p: p.x)
    if len(stations) > 1:
        add(LineString([(p.x, p.y) for p in stations]), "rail", "rail", "", 8)
    return out


def _pois(county: County, rows: Sequence[GazetteerRow]) -> list[Feature]:
    out: list[Feature] = []

    def add(x: float, y: float, kind: str, name: str, min_zoom: int) -> None:
        lon, lat = to_lonlat(x, y)
        point = Point(round(float(lon), 6), round(float(lat), 6))
        out.append(Feature(point, {"kind": kind, "name": name}, min_zoom))

    for place in county.places:
        if place.kind in POI_KINDS:
            add(place.x, place.y, POI_KINDS[place.kind], place.name, 12)
        elif place.kind == "park":
            add(place.x, place.y, "park", place.name, 13)
    for row in rows:
        if row.kind == "stop":
            add(row.x, row.y, "bus_stop", row.name.removesuffix(" bus stop"), 14)
    return out


def _parks(parks: Sequence[PlaceSpec], rng: np.random.Generator) -> list[Feature]:
    out = []
    for park in parks:
        radius = rng.uniform(0.12, 0.3)
        geom = geom_to_lonlat(_blob(park.x, park.y, radius, rng))
        out.append(Feature(geom, {"kind": "park", "name": park.name}, 10))
    return out


def _places(county: County) -> list[Feature]:
    out = []
    rank = {"large": (6, 11), "medium": (7, 10), "small": (8, 9), "village": (10, 8)}
    for town in county.towns:
        min_zoom, population_rank = rank[town.size]
        detail = "village" if town.size == "village" else "town"
        lon, lat = to_lonlat(town.x, town.y)
        props: dict[str, str | int | float | bool] = {
            "kind": "locality",
            "kind_detail": detail,
            "name": town.name,
            "min_zoom": min_zoom,
            "population_rank": population_rank,
        }
        out.append(Feature(Point(float(lon), float(lat)), props, min_zoom))
    for ward in county.wards:
        point = geom_to_lonlat(ward.geom.representative_point())
        props = {"kind": "neighbourhood", "kind_detail": "ward", "name": ward.name, "min_zoom": 12}
        out.append(Feature(point, props, 12))
    return out


def basemap_layers(
    county: County, rows: Sequence[GazetteerRow], rng: np.random.Generator
) -> dict[str, list[Feature]]:
    """The county as Protomaps-schema layers (lon/lat geometries)."""
    land = geom_to_lonlat(county.outline.buffer(40.0))
    return {
        "earth": [Feature(land, {"kind": "earth"}, 0)],
        "landuse": _parks(county.places_of("park"), rng),
        "roads": _roads(county, rows, rng),
        "pois": _pois(county, rows),
        "places": _places(county),
    }


def write_basemap(
    county: County, rows: Sequence[GazetteerRow], rng: np.random.Generator, out: Path
) -> Path:
    """Write ``basemap.pmtiles`` under ``out`` and return its path."""
    layers = basemap_layers(county, rows, rng)
    minx, miny, maxx, maxy = shapely.bounds(geom_to_lonlat(county.outline.buffer(2.0))).tolist()
    path = Path(out) / BASEMAP_FILE
    write_archive(
        path,
        layers,
        bbox=(minx, miny, maxx, maxy),
        min_zoom=MIN_ZOOM,
        max_zoom=MAX_ZOOM,
        attribution=ATTRIBUTION,
        name=f"{county.name} (synthetic)",
    )
    return path
