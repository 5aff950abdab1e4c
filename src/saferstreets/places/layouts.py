"""The published layouts of the files that name British places, read row by row.

Each reader takes a file's text lines and yields, per data row, either a :class:`PlaceRow` or a
:class:`~saferstreets.ingest.service.Problem` naming the row, the field and the reason. Nothing
here touches the store; coordinates in British National Grid are converted in batches by
:func:`to_wgs84`.

Layouts (each as its publisher documents it):

- OS Open Names CSV: no header row (OS ships the header separately), 34 columns, points in
  British National Grid (EPSG:27700) as ``GEOMETRY_X``/``GEOMETRY_Y``.
- ONS Postcode Directory (ONSPD) CSV: a header row; ``pcds`` (or ``pcd``/``pcd2``), ``lat``,
  ``long``, ``doterm`` (the month a postcode was terminated; empty while it is live). ONSPD gives
  ``lat`` 99.999999 for postcodes with no grid reference.
- NaPTAN ``Stops.csv``: a header row; ``ATCOCode``, ``CommonName``, ``Indicator``,
  ``LocalityName``, ``Longitude``, ``Latitude`` (or ``Easting``/``Northing``), ``StopType``,
  ``Status``.
- Railway stations (``stationName,lat,long,crsCode``, as in davwheat/uk-railway-stations).
- A force's own landmarks: CSV with ``name``, ``kind``, ``lat``/``latitude``, ``lon``/
  ``longitude`` (optionally ``id``), or GeoJSON points with ``name`` and ``kind`` properties.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from saferstreets.ingest.service import Problem
from saferstreets.places.models import PLACE_KINDS

OS_OPEN_NAMES_COLUMNS = (
    "ID", "NAMES_URI", "NAME1", "NAME1_LANG", "NAME2", "NAME2_LANG", "TYPE", "LOCAL_TYPE",
    "GEOMETRY_X", "GEOMETRY_Y", "MOST_DETAIL_VIEW_RES", "LEAST_DETAIL_VIEW_RES",
    "MBR_XMIN", "MBR_YMIN", "MBR_XMAX", "MBR_YMAX", "POSTCODE_DISTRICT", "POSTCODE_DISTRICT_URI",
    "POPULATED_PLACE", "POPULATED_PLACE_URI", "POPULATED_PLACE_TYPE", "DISTRICT_BOROUGH",
    "DISTRICT_BOROUGH_URI", "DISTRICT_BOROUGH_TYPE", "COUNTY_UNITARY", "COUNTY_UNITARY_URI",
    "COUNTY_UNITARY_TYPE", "REGION", "REGION_URI", "COUNTRY", "COUNTRY_URI",
    "RELATED_SPATIAL_OBJECT", "SAME_AS_DBPEDIA", "SAME_AS_GEONAMES",
)  # fmt: skip
OS_TYPES = {"populatedPlace", "transportNetwork", "hydrography", "landcover", "landform", "other"}

# OS Open Names LOCAL_TYPE → our kind (anything else named: landmark, or other for nature).
OS_LOCAL_KINDS = {
    "Named Road": "street",
    "Section Of Named Road": "street",
    "Numbered Road": "street",
    "Section Of Numbered Road": "street",
    "Railway Station": "station",
    "Bus Station": "station",
    "Coach Station": "station",
    "Postcode": "postcode",
    "City": "town",
    "Town": "town",
    "Village": "village",
    "Hamlet": "village",
    "Suburban Area": "village",
    "Other Settlement": "village",
    "Urban Greenspace": "park",
}
# NaPTAN StopType codes for stations (the rest, on-street stops and bays, are stops).
NAPTAN_STATIONS = {"RLY", "RSE", "RPL", "MET", "PLT", "TMU", "BST", "FTD", "FER", "AIR", "GAT"}
NAPTAN_INACTIVE = {"inactive", "del", "deleted", "pending"}

# Britain, Northern Ireland and the Channel Islands, generously.
LAT_RANGE = (49.0, 61.5)
LON_RANGE = (-9.0, 2.5)
BNG_RANGE = ((0.0, 700_000.0), (0.0, 1_300_000.0))

POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")


# A force's own words for kinds (and the demo county's), as the gazetteer's kinds.
LANDMARK_KINDS = {
    "rail station": "station",
    "railway station": "station",
    "bus station": "station",
    "tram stop": "stop",
    "bus stop": "stop",
    "road": "street",
    "high street": "street",
    "nte street": "street",
}


@dataclass
class PlaceRow:
    """One place read from a file; exactly one of (lat, lon) and (easting, northing) is set."""

    row_number: int
    source_id: str
    name: str
    kind: str
    lat: float | None = None
    lon: float | None = None
    easting: float | None = None
    northing: float | None = None
    locality: str | None = None
    postcode: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Skipped:
    """A row left out on purpose (a terminated postcode, an inactive stop): counted, not kept."""

    row_number: int
    why: str


Read = PlaceRow | Problem | Skipped


def normalise_postcode(text: str) -> str | None:
    """``sg1 1ab`` → ``SG1 1AB``; ``None`` if it is not a whole postcode."""
    match = POSTCODE.match(" ".join(text.upper().split()))
    return f"{match.group(1)} {match.group(2)}" if match else None


def search_key(name: str, kind: str) -> str:
    """What search matches: the name in lower case, words single-spaced, with its kind word."""
    key = " ".join(re.sub(r"[^\w&']+", " ", name.lower()).split())
    word = {"station": "station", "stop": "stop", "park": "park"}.get(kind)
    if word and word not in key.split():
        key = f"{key} {word}"
    return key[:240]


def detect_layout(first_line: str, name: str) -> str | None:
    """Which layout a file is in, from its first line (and name for GeoJSON); ``None``: unknown."""
    if name.lower().endswith((".geojson", ".json")):
        return "landmarks_geojson"
    cells = next(csv.reader([first_line]), [])
    header = {c.strip().strip("\ufeff").lower() for c in cells}
    if {"atcocode", "commonname"} <= header:
        return "naptan"
    if {"stationname", "lat", "long"} <= header:
        return "rail_stations"
    if "lat" in header and "long" in header and header & {"pcds", "pcd", "pcd2"}:
        return "onspd"
    if "name" in header and ({"lat", "lon"} <= header or {"latitude", "longitude"} <= header):
        return "landmarks_csv"
    if len(cells) == len(OS_OPEN_NAMES_COLUMNS) and (
        cells[0] == "ID" or (len(cells) > 6 and cells[6] in OS_TYPES)
    ):
        return "os_open_names"
    return None


def read_layout(layout: str, lines: Iterable[str], source: str) -> Iterator[Read]:
    """Rows of a file in ``layout`` (see the module docstring)."""
    readers = {
        "os_open_names": _read_os_open_names,
        "onspd": _read_onspd,
        "naptan": _read_naptan,
        "rail_stations": _read_rail_stations,
        "landmarks_csv": _read_landmarks_csv,
    }
    if layout == "landmarks_geojson":
        yield from _read_landmarks_geojson("".join(lines), source)
        return
    yield from readers[layout](lines, source)


def _number(text: Any) -> float | None:
    try:
        value = float(text.strip() if isinstance(text, str) else text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _latlon(
    source: str, number: int, raw: dict[str, Any], lat_field: str, lon_field: str
) -> tuple[float, float] | Problem:
    lat, lon = _number(raw.get(lat_field)), _number(raw.get(lon_field))
    for value, name in ((lat, lat_field), (lon, lon_field)):
        if value is None:
            return Problem(source, number, name, "is not a number", raw)
    assert lat is not None and lon is not None
    if not (LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
        return Problem(source, number, lat_field, f"{lat} is not a latitude in the UK", raw)
    if not (LON_RANGE[0] <= lon <= LON_RANGE[1]):
        return Problem(source, number, lon_field, f"{lon} is not a longitude in the UK", raw)
    return lat, lon


def _bng(
    source: str, number: int, raw: dict[str, Any], x_field: str, y_field: str
) -> tuple[float, float] | Problem:
    x, y = _number(raw.get(x_field)), _number(raw.get(y_field))
    for value, name, (low, high) in ((x, x_field, BNG_RANGE[0]), (y, y_field, BNG_RANGE[1])):
        if value is None:
            return Problem(source, number, name, "is not a number", raw)
        if not low <= value <= high:
            return Problem(
                source, number, name, f"{value:g} is outside the British National Grid", raw
            )
    assert x is not None and y is not None
    return x, y


def _dict_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(lines)
    header = [h.strip().strip("\ufeff") for h in next(reader, [])]
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        yield number, dict(zip(header, (c.strip() for c in cells), strict=False))


def _read_os_open_names(lines: Iterable[str], source: str) -> Iterator[Read]:
    for number, cells in enumerate(csv.reader(lines), start=1):
        if not cells or (number == 1 and cells[0] == "ID"):
            continue
        raw = dict(zip(OS_OPEN_NAMES_COLUMNS, cells, strict=False))
        if len(cells) != len(OS_OPEN_NAMES_COLUMNS):
            yield Problem(source, number, None, f"has {len(cells)} columns, not 34", raw)
            continue
        name = raw["NAME1"].strip()
        if not name:
            yield Problem(source, number, "NAME1", "is empty: a place needs a name", raw)
            continue
        point = _bng(source, number, raw, "GEOMETRY_X", "GEOMETRY_Y")
        if isinstance(point, Problem):
            yield point
            continue
        local = raw["LOCAL_TYPE"].strip()
        kind = OS_LOCAL_KINDS.get(local)
        if kind is None:
            kind = "other" if raw["TYPE"] in ("hydrography", "landform") else "landmark"
        postcode = normalise_postcode(name) if kind == "postcode" else None
        yield PlaceRow(
            row_number=number,
            source_id=raw["ID"].strip() or f"row-{number}",
            name=postcode or name,
            kind=kind,
            easting=point[0],
            northing=point[1],
            locality=raw["POPULATED_PLACE"].strip() or raw["DISTRICT_BOROUGH"].strip() or None,
            postcode=postcode,
            properties={
                k.lower(): raw[k].strip()
                for k in ("LOCAL_TYPE", "NAME2", "POSTCODE_DISTRICT", "DISTRICT_BOROUGH")
                if raw[k].strip()
            },
        )


def _read_onspd(lines: Iterable[str], source: str) -> Iterator[Read]:
    for number, raw in _dict_rows(lines):
        text = raw.get("pcds") or raw.get("pcd2") or raw.get("pcd") or ""
        postcode = normalise_postcode(text)
        field_name = next((f for f in ("pcds", "pcd2", "pcd") if f in raw), "pcds")
        if postcode is None:
            yield Problem(source, number, field_name, f"'{text}' is not a postcode", raw)
            continue
        if (raw.get("doterm") or "").strip():
            yield Skipped(number, "terminated")
            continue
        if _number(raw.get("lat")) == 99.999999:
            yield Skipped(number, "no_grid_reference")
            continue
        point = _latlon(source, number, raw, "lat", "long")
        if isinstance(point, Problem):
            yield point
            continue
        yield PlaceRow(
            row_number=number,
            source_id=postcode,
            name=postcode,
            kind="postcode",
            lat=point[0],
            lon=point[1],
            postcode=postcode,
        )


def _read_naptan(lines: Iterable[str], source: str) -> Iterator[Read]:
    for number, raw in _dict_rows(lines):
        code, name = raw.get("ATCOCode", ""), raw.get("CommonName", "")
        if not code:
            yield Problem(source, number, "ATCOCode", "is empty", raw)
            continue
        if not name:
            yield Problem(source, number, "CommonName", "is empty: a stop needs a name", raw)
            continue
        if (raw.get("Status") or "active").lower() in NAPTAN_INACTIVE:
            yield Skipped(number, "inactive")
            continue
        stop_type = (raw.get("StopType") or "").upper()
        kind = "station" if stop_type in NAPTAN_STATIONS else "stop"
        row = PlaceRow(
            row_number=number,
            source_id=code,
            name=_stop_name(name, raw.get("Indicator", ""), kind),
            kind=kind,
            locality=raw.get("LocalityName") or None,
            properties={"stop_type": stop_type, "street": raw.get("Street") or None},
        )
        if raw.get("Latitude") or raw.get("Longitude") or not raw.get("Easting"):
            point = _latlon(source, number, raw, "Latitude", "Longitude")
            if not isinstance(point, Problem):
                row.lat, row.lon = point
        else:
            point = _bng(source, number, raw, "Easting", "Northing")
            if not isinstance(point, Problem):
                row.easting, row.northing = point
        yield point if isinstance(point, Problem) else row


def _stop_name(name: str, indicator: str, kind: str) -> str:
    indicator = indicator.strip()
    if kind == "stop" and indicator and indicator.lower() not in name.lower():
        return f"{name} ({indicator})"
    return name


def _read_rail_stations(lines: Iterable[str], source: str) -> Iterator[Read]:
    for number, raw in _dict_rows(lines):
        name = raw.get("stationName", "")
        if not name:
            yield Problem(source, number, "stationName", "is empty: a station needs a name", raw)
            continue
        point = _latlon(source, number, raw, "lat", "long")
        if isinstance(point, Problem):
            yield point
            continue
        yield PlaceRow(
            row_number=number,
            source_id=raw.get("crsCode") or name,
            name=name,
            kind="station",
            lat=point[0],
            lon=point[1],
            properties={"crs": raw.get("crsCode") or None},
        )


def _landmark(
    source: str, number: int, raw: dict[str, Any], name: str, kind_text: str,
    point: tuple[float, float] | Problem, given_id: str | None, locality: str | None = None,
) -> Read:  # fmt: skip
    if not name:
        return Problem(source, number, "name", "is empty: a landmark needs a name", raw)
    if isinstance(point, Problem):
        return point
    label = " ".join(kind_text.lower().replace("_", " ").split())
    kind = label if label in PLACE_KINDS else LANDMARK_KINDS.get(label, "landmark")
    return PlaceRow(
        row_number=number,
        source_id=given_id or f"{name.lower()}|{label}",
        name=name,
        kind=kind,
        lat=point[0],
        lon=point[1],
        locality=locality or None,
        properties={"type": label} if label and label != kind else {},
    )


def _read_landmarks_csv(lines: Iterable[str], source: str) -> Iterator[Read]:
    for number, raw in _dict_rows(lines):
        row = {k.lower(): v for k, v in raw.items()}
        lat_field, lon_field = ("lat", "lon") if "lat" in row else ("latitude", "longitude")
        yield _landmark(
            source, number, raw, row.get("name", ""), row.get("kind", ""),
            _latlon(source, number, row, lat_field, lon_field), row.get("id") or None,
            row.get("locality") or row.get("town"),
        )  # fmt: skip


def _read_landmarks_geojson(text: str, source: str) -> Iterator[Read]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Problem(source, None, None, f"is not valid GeoJSON ({exc.msg} at line {exc.lineno})")
        return
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        yield Problem(source, None, None, "is not a GeoJSON FeatureCollection")
        return
    for number, feature in enumerate(features, start=1):
        props = (feature or {}).get("properties") or {}
        geometry = (feature or {}).get("geometry") or {}
        raw = {"properties": props, "geometry": geometry}
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        point: tuple[float, float] | Problem
        if geometry.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
            point = Problem(source, number, "geometry", "is not a Point", raw)
        else:
            point = _latlon(source, number, {"lat": coords[1], "lon": coords[0]}, "lat", "lon")
            if isinstance(point, Problem):
                point.raw = raw
                point.field = "geometry"
        yield _landmark(
            source, number, raw, str(props.get("name") or "").strip(),
            str(props.get("kind") or ""), point, str(props["id"]) if props.get("id") else None,
            str(props.get("locality") or props.get("town") or "") or None,
        )  # fmt: skip


def to_wgs84(rows: list[PlaceRow]) -> None:
    """Fill ``lat``/``lon`` of rows given in British National Grid (in place, one batch)."""
    todo = [r for r in rows if r.lat is None and r.easting is not None]
    if not todo:
        return
    from pyproj import Transformer

    transformer = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lons, lats = transformer.transform([r.easting for r in todo], [r.northing for r in todo])
    for row, lon, lat in zip(todo, lons, lats, strict=True):
        row.lat, row.lon = round(float(lat), 6), round(float(lon), 6)
