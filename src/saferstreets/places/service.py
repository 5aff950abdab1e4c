"""The gazetteer: import named places from the files forces have, find them, name a point.

Import reads each file in its published layout (:mod:`saferstreets.places.layouts`), in batches:
converts British National Grid points, assigns each place to its areas and H3 cell, and stores
it keyed by (source, source id), so a file imported again updates its places instead of adding
them twice. Bad rows go to quarantine with the file, row, field and reason.

Search matches what was typed against each place's name (with its kind word, so "Stevenage
station" finds the station called Stevenage): whole name, then start of the name, then start of
a word, then anywhere; then, where those find too little, names within a small edit distance
(rapidfuzz), so "Stevenedge" still finds Stevenage. A postcode, whole or partial ("SG1",
"SG1 1"), finds the postcode or the area its postcodes fall in.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.areas.lookup import AreaIndex
from saferstreets.areas.models import Area
from saferstreets.areas.service import point_columns
from saferstreets.db import is_postgres, session_factory
from saferstreets.errors import InputFileError
from saferstreets.ingest.service import (
    MAX_PROBLEMS_SHOWN,
    ImportProgress,
    ImportSummary,
    Problem,
    finish_run,
    quarantine,
    record_failure,
    sha256_bytes,
    start_run,
    to_utf8,
)
from saferstreets.places.layouts import (
    POSTCODE,
    PlaceRow,
    Skipped,
    detect_layout,
    read_layout,
    search_key,
    to_wgs84,
)
from saferstreets.places.models import PLACE_KINDS, Place

BATCH = 5_000
KIND = "places"
LAYOUT_NAMES = {
    "os_open_names": "OS Open Names",
    "onspd": "ONS Postcode Directory",
    "naptan": "NaPTAN stops",
    "rail_stations": "railway stations",
    "landmarks_csv": "landmarks (CSV)",
    "landmarks_geojson": "landmarks (GeoJSON)",
}
SOURCES = {  # layout → the source recorded on each place
    "landmarks_csv": "landmarks",
    "landmarks_geojson": "landmarks",
}

# --------------------------------------------------------------------------- import


def _files(paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(
                p for p in path.rglob("*") if p.suffix.lower() in (".csv", ".geojson", ".json")
            )
        else:
            out.append(path)
    return out


def import_places(
    *,
    engine: Engine,
    paths: Sequence[Path],
    h3_resolution: int,
    progress: ImportProgress | None = None,
) -> list[ImportSummary]:
    """Import gazetteer files (OS Open Names, ONSPD, NaPTAN, stations, landmarks); one summary
    per file. Each file is all or nothing; its places are assigned to areas as they are stored."""
    files = _files(paths)
    if progress:
        progress.begin(files=len(files))
    with session_factory(engine)() as session:
        index = AreaIndex.from_session(session)
    summaries = []
    for path in files:
        source = str(path)
        if progress:
            progress.file_started(source)
        summary = _import_file(engine, path, index, h3_resolution, progress)
        if progress:
            progress.file_done(summary)
        summaries.append(summary)
    return summaries


def _import_file(
    engine: Engine,
    path: Path,
    index: AreaIndex,
    resolution: int,
    progress: ImportProgress | None,
) -> ImportSummary:
    source = str(path)
    summary = ImportSummary(kind=KIND, source=source)
    sha = None
    try:
        data = path.read_bytes()
        sha = sha256_bytes(data)
        text_bytes, notes = to_utf8(data, source)
        text = text_bytes.decode("utf-8")
        layout = detect_layout(text.split("\n", 1)[0], path.name)
        if layout is None:
            raise InputFileError(
                source,
                "is not in a layout the gazetteer knows",
                hint="give OS Open Names, ONSPD or NaPTAN Stops.csv as published, a stations "
                "file, or landmarks with name, kind, lat and lon columns (or GeoJSON points)",
            )
        summary.notes += notes
        summary.details["layout"] = layout
        summary.message = LAYOUT_NAMES[layout]
        with session_factory(engine)() as session:
            run = start_run(session=session, kind=KIND, source=source, sha256=sha)
            rows = read_layout(layout, text.splitlines(keepends=True), source)
            store = _Store(session, SOURCES.get(layout, layout), index, resolution)
            for batch in _batches(rows, BATCH):
                _store_batch(session, run, store, batch, summary)
                if progress:
                    progress.rows_done(len(batch))
            finish_run(session=session, run=run, summary=summary)
            session.commit()
    except (InputFileError, OSError, ValueError) as exc:
        message = exc.message if isinstance(exc, InputFileError) else str(exc)
        summary = ImportSummary(kind=KIND, source=source, status="failed", message=message)
        with session_factory(engine)() as session:
            record_failure(session=session, kind=KIND, source=source, sha256=sha, message=message)
            session.commit()
    return summary


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _Store:
    session: Session
    source: str
    index: AreaIndex
    resolution: int


def _store_batch(
    session: Session, run: Any, store: _Store, batch: list[Any], summary: ImportSummary
) -> None:
    places = [r for r in batch if isinstance(r, PlaceRow)]
    problems = [r for r in batch if isinstance(r, Problem)]
    for skipped in (r for r in batch if isinstance(r, Skipped)):
        summary.details[skipped.why] = summary.details.get(skipped.why, 0) + 1
    summary.rows_read += len(batch)
    if problems:
        summary.rows_quarantined += quarantine(
            session=session, run=run, kind=KIND, problems=problems, skip_known=True
        )
        room = MAX_PROBLEMS_SHOWN - len(summary.problems)
        summary.problems += problems[: max(room, 0)]
    places = list({p.source_id: p for p in places}.values())  # the last of a repeated id wins
    if not places:
        return
    to_wgs84(places)
    held = _held_ids(session, store.source, [p.source_id for p in places])
    summary.rows_duplicate += len(held)
    summary.rows_stored += len(places) - len(held)
    _upsert(session, _place_records(places, store))


def _held_ids(session: Session, source: str, ids: list[str]) -> set[str]:
    return set(
        session.scalars(
            sa.select(Place.source_id).where(Place.source == source, Place.source_id.in_(ids))
        )
    )


def _place_records(places: list[PlaceRow], store: _Store) -> list[dict[str, Any]]:
    lats = np.array([p.lat for p in places], dtype=float)
    lons = np.array([p.lon for p in places], dtype=float)
    columns = point_columns(lats, lons, index=store.index, resolution=store.resolution)
    records = []
    for i, p in enumerate(places):
        record = {
            "source": store.source,
            "source_id": p.source_id[:200],
            "name": p.name[:200],
            "kind": p.kind,
            "search_key": search_key(p.name, p.kind),
            "postcode_key": p.postcode.replace(" ", "") if p.postcode else None,
            "locality": (p.locality or "")[:200] or None,
            "properties": {k: v for k, v in p.properties.items() if v} or None,
            "latitude": p.lat,
            "longitude": p.lon,
        }
        record.update({name: values[i] for name, values in columns.items()})
        records.append(record)
    return records


def _upsert(session: Session, records: list[dict[str, Any]]) -> None:
    """Insert or update by (source, source id), as one executemany (not one huge statement)."""
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(Place)
    updated = {c: statement.excluded[c] for c in records[0] if c not in ("source", "source_id")}
    session.execute(
        statement.on_conflict_do_update(index_elements=["source", "source_id"], set_=updated),
        records,
    )


def save_places(
    *, session: Session, source: str, places: Sequence[PlaceRow], h3_resolution: int
) -> int:
    """Store places built in code (the demo county), assigned to areas; return how many."""
    rows = list({p.source_id: p for p in places}.values())
    if not rows:
        return 0
    to_wgs84(rows)
    index = AreaIndex.from_session(session)
    store = _Store(session, source, index, h3_resolution)
    records = _place_records(rows, store)
    for start in range(0, len(records), BATCH):
        _upsert(session, records[start : start + BATCH])
    return len(records)


def count_places(*, session: Session) -> dict[str, int]:
    """How many places the gazetteer holds, by kind."""
    rows = session.execute(sa.select(Place.kind, sa.func.count()).group_by(Place.kind))
    return {kind: int(n) for kind, n in rows}


# --------------------------------------------------------------------------- search


@dataclass
class PlaceMatch:
    """One place found by search: a place, or an area that a partial postcode falls in."""

    id: int | None
    name: str
    kind: str
    detail: str
    latitude: float
    longitude: float
    ward_code: str | None
    area_code: str | None  # the area to report against (the ward, else the district)
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


KIND_RANK = {kind: rank for rank, kind in enumerate(PLACE_KINDS)}
PARTIAL_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)(?:\s*([0-9])([A-Z]?))?$")
FUZZY_MIN_SCORE = 80.0


def _needle(text: str) -> str:
    return " ".join(re.sub(r"[^\w&']+", " ", str(text).lower()).split())[:100]


def search_places(
    *,
    session: Session,
    text: str,
    near: tuple[float, float] | None = None,
    limit: int = 10,
) -> list[PlaceMatch]:
    """Places whose name or postcode matches ``text``, best first.

    Ranked by how well the name matches (whole, start, start of a word, anywhere, near spelling),
    then by kind (stations, streets, stops, parks, landmarks, postcodes, towns), then by distance
    from ``near`` (lat, lon: the pin or the area in view) when given. One match per name and
    locality and area (a street in OS Open Names comes in several sections).
    """
    limit = max(1, min(int(limit), 50))
    postcode = _postcode_matches(session, text) or []
    needle = _needle(text)
    if len(needle) < 2:
        return postcode
    rows = _name_candidates(session, needle, limit * 20)
    scored = [(_match_rank(needle, r.search_key), r) for r in rows]
    if len(rows) < limit and len(needle) >= 4:
        scored += _fuzzy_candidates(session, needle, exclude={r.id for r in rows})
    matches = _rank(scored, near)
    if postcode:  # the postcode or its area said it: not each postcode that starts so as well
        matches = [m for m in matches if m.kind != "postcode"]
    return _dedupe(postcode + matches)[:limit]


def _name_candidates(session: Session, needle: str, cap: int) -> list[Any]:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    prefix = sa.or_(
        Place.search_key.like(escaped + "%", escape="\\"),
        Place.search_key.like("% " + escaped + "%", escape="\\"),
    )
    query = _place_columns().where(prefix).limit(cap)
    rows = list(session.execute(query))
    if len(rows) < cap:  # anywhere in the name ("lane" in "mill lane" is covered above)
        rest = _place_columns().where(
            Place.search_key.like("%" + escaped + "%", escape="\\"), sa.not_(prefix)
        )
        rows += list(session.execute(rest.limit(cap - len(rows))))
    return rows


def _place_columns() -> Any:
    return sa.select(
        Place.id, Place.name, Place.kind, Place.search_key, Place.locality, Place.latitude,
        Place.longitude, Place.ward_code, Place.district_code,
    )  # fmt: skip


def _match_rank(needle: str, key: str) -> float:
    if key == needle:
        return 0.0
    if key.startswith(needle):
        return 1.0
    if f" {needle}" in f" {key}":
        return 2.0
    return 3.0


def _fuzzy_candidates(session: Session, needle: str, exclude: set[int]) -> list[tuple[float, Any]]:
    """Names within a small edit distance: candidates sharing the first letter, scored by
    rapidfuzz (typos after the first letter are the common ones)."""
    from rapidfuzz import fuzz, process

    escaped = needle[0].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # Only ids and keys for the many candidates; whole rows for the few that score well.
    ids, keys = [], []
    for place_id, key in session.execute(
        sa.select(Place.id, Place.search_key).where(
            Place.search_key.like(escaped + "%", escape="\\")
        )
    ):
        if place_id not in exclude:
            ids.append(place_id)
            keys.append(key)
    best: dict[int, float] = {}
    # The whole name, and its start as long as what was typed ("stevenidge" ~ "stevenage …").
    for choices in (keys, [k[: len(needle)] for k in keys]):
        for _, score, i in process.extract(
            needle, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE, limit=50
        ):
            best[ids[i]] = max(best.get(ids[i], 0.0), score)
    if not best:
        return []
    rows = session.execute(_place_columns().where(Place.id.in_(list(best))))
    return [(4.0 + (100.0 - best[r.id]) / 100.0, r) for r in rows]


def _distance_km(a: tuple[float, float], lat: float, lon: float) -> float:
    dlat = math.radians(lat - a[0])
    dlon = math.radians(lon - a[1]) * math.cos(math.radians((lat + a[0]) / 2))
    return 6371.0 * math.hypot(dlat, dlon)


def _rank(scored: list[tuple[float, Any]], near: tuple[float, float] | None) -> list[PlaceMatch]:
    def key(item: tuple[float, Any]) -> tuple[float, int, float, str]:
        rank, r = item
        distance = _distance_km(near, r.latitude, r.longitude) if near else 0.0
        return (math.floor(rank), KIND_RANK.get(r.kind, 99), rank + distance / 1000, r.name)

    return [
        PlaceMatch(
            id=r.id,
            name=r.name,
            kind=r.kind,
            detail=_detail(r.kind, r.locality),
            latitude=r.latitude,
            longitude=r.longitude,
            ward_code=r.ward_code,
            area_code=r.ward_code or r.district_code,
            score=rank,
        )
        for rank, r in sorted(scored, key=key)
    ]


KIND_LABELS = {"stop": "bus or tram stop", "other": "place"}


def _detail(kind: str, locality: str | None) -> str:
    label = KIND_LABELS.get(kind, kind)
    return f"{label} in {locality}" if locality else label


def _dedupe(matches: list[PlaceMatch]) -> list[PlaceMatch]:
    seen: set[tuple[str, str, str, str | None]] = set()
    out = []
    for m in matches:
        key = (m.name.lower(), m.kind, m.detail, m.area_code)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def _postcode_matches(session: Session, text: str) -> list[PlaceMatch] | None:
    """A whole postcode held, or the area a district ("SG1") or sector ("SG1 1") of the
    postcodes held falls in; ``None`` when ``text`` is not a postcode the gazetteer knows."""
    upper = " ".join(str(text).upper().split())
    whole = POSTCODE.match(upper)
    if whole:
        key = whole.group(1) + whole.group(2)
        rows = list(session.execute(_place_columns().where(Place.postcode_key == key).limit(1)))
        return _rank([(0.0, rows[0])], None) if rows else None
    partial = PARTIAL_POSTCODE.match(upper)
    if not partial:
        return None
    district, sector, letter = partial.group(1), partial.group(2) or "", partial.group(3) or ""
    prefix = district + sector + letter
    # "SG1" must not take in SG10 to SG19: the inward code is always 3 characters.
    rows = [
        r
        for r in session.execute(
            sa.select(
                Place.latitude,
                Place.longitude,
                Place.ward_code,
                Place.district_code,
                Place.postcode_key,
            ).where(Place.postcode_key.like(prefix + "%"), Place.kind == "postcode")
        )
        if len(r.postcode_key) == len(district) + 3
    ]
    if not rows:
        return None
    label = f"{district} {sector}{letter}".strip()
    return [_postcode_area(session, label, rows)]


def _postcode_area(session: Session, label: str, rows: list[Any]) -> PlaceMatch:
    lat = sum(r.latitude for r in rows) / len(rows)
    lon = sum(r.longitude for r in rows) / len(rows)
    wards = Counter(r.ward_code for r in rows if r.ward_code)
    districts = Counter(r.district_code for r in rows if r.district_code)
    ward = wards.most_common(1)[0][0] if wards else None
    area = ward or (districts.most_common(1)[0][0] if districts else None)
    names = _area_names(session, [area] if area else [])
    where = names.get(area or "", "")
    kind = "postcode sector" if " " in label else "postcode district"
    return PlaceMatch(
        id=None,
        name=label,
        kind="postcode",
        detail=f"{kind}, mostly in {where}" if where else kind,
        latitude=lat,
        longitude=lon,
        ward_code=ward,
        area_code=area,
        score=0.0,
    )


def _area_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    rows = session.execute(sa.select(Area.code, Area.name).where(Area.code.in_(codes)))
    return {code: name for code, name in rows}


def get_place(*, session: Session, place_id: int) -> Place | None:
    """One place by id (``None`` if there is none)."""
    return session.get(Place, place_id)


# --------------------------------------------------------------------------- reverse lookup

NEAR_KM = 0.4  # places further than this from a point are not used to name it
# Kinds that name a point well, best first (postcodes and towns are said in other ways).
NAMING_KINDS = ("street", "station", "stop", "park", "landmark")


def describe_point(
    *, session: Session, lat: float, lon: float, index: AreaIndex | None = None
) -> str:
    """A short name for a point: "near Mill Lane and Netherwick station, Northgate".

    The nearest street and the nearest other place (within 400 m), and the ward (or the
    district) the point is in; the coordinates to 3 decimals when nothing is known about it.
    """
    return describe_points(session=session, points=[(lat, lon)], index=index)[0]


def describe_points(
    *, session: Session, points: Sequence[tuple[float, float]], index: AreaIndex | None = None
) -> list[str]:
    """:func:`describe_point` for many points at once: one query for the places near them all,
    a k-d tree for the nearest, and the area lookup on arrays."""
    from saferstreets.areas.lookup import cached_area_index

    if not points:
        return []
    lats = np.array([p[0] for p in points], dtype=float)
    lons = np.array([p[1] for p in points], dtype=float)
    near = _near_each(session, lats, lons)
    index = index or cached_area_index(session=session)
    wards = index.lookup("ward", lons, lats)
    districts = index.lookup("district", lons, lats)
    names = _area_names(session, {c for c in [*wards, *districts] if c})
    out = []
    for i in range(len(points)):
        where = names.get(wards[i] or "") or names.get(districts[i] or "")
        out.append(_phrase(near[i], where, float(lats[i]), float(lons[i])))
    return out


def _near_each(session: Session, lats: np.ndarray, lons: np.ndarray) -> list[list[Any]]:
    """Per point, the places of the naming kinds within ``NEAR_KM``, nearest first.

    Candidates are read by the H3 cells around the points (an indexed look-up), in one query
    per few hundred cells, then measured with a k-d tree."""
    import h3
    from scipy.spatial import cKDTree

    sample = session.scalar(sa.select(Place.h3_cell).where(Place.h3_cell.is_not(None)).limit(1))
    if sample is None:
        return [[] for _ in lats]
    res = h3.get_resolution(sample)
    k = math.ceil(NEAR_KM / h3.average_hexagon_edge_length(res, unit="km")) + 1
    cells: set[str] = set()
    for lat, lon in zip(lats.tolist(), lons.tolist(), strict=True):
        cells.update(h3.grid_disk(h3.latlng_to_cell(lat, lon, res), k))
    ordered = sorted(cells)
    rows: list[Any] = []
    for start in range(0, len(ordered), 500):
        rows += session.execute(
            sa.select(Place.id, Place.name, Place.kind, Place.latitude, Place.longitude).where(
                Place.h3_cell.in_(ordered[start : start + 500]), Place.kind.in_(NAMING_KINDS)
            )
        )
    if not rows:
        return [[] for _ in lats]
    scale = math.cos(math.radians(float(lats.mean())))
    xy = np.array([(r.longitude * 111.32 * scale, r.latitude * 110.57) for r in rows])
    queries = np.column_stack([lons * 111.32 * scale, lats * 110.57])
    tree = cKDTree(xy)
    out = []
    for q, hits in zip(queries, tree.query_ball_point(queries, r=NEAR_KM), strict=True):
        dist = np.hypot(*(xy[hits] - q).T) if hits else np.array([])
        order = sorted(range(len(hits)), key=lambda j: (dist[j], rows[hits[j]].id))
        out.append([rows[hits[j]] for j in order])
    return out


def _phrase(near: list[Any], where: str | None, lat: float, lon: float) -> str:
    streets = [p.name for p in near if p.kind == "street"]
    others = [_spoken(p) for p in near if p.kind != "street"]
    names = list(dict.fromkeys((streets[:1] + others[:1]) or [_spoken(p) for p in near[:1]]))
    if names and where:
        return f"near {' and '.join(names)}, {where}"
    if names:
        return f"near {' and '.join(names)}"
    if where:
        return where
    return f"{lat:.3f}, {lon:.3f}"


def _spoken(place: Any) -> str:
    if place.kind == "station" and "station" not in place.name.lower():
        return f"{place.name} station"
    return str(place.name)


def describe_cell(*, session: Session, cell: str, index: AreaIndex | None = None) -> str:
    """A short name for an H3 cell (its centre described as by :func:`describe_point`)."""
    import h3

    try:
        lat, lon = h3.cell_to_latlng(cell)
    except (ValueError, TypeError, h3.H3BaseException):
        return cell
    return describe_point(session=session, lat=lat, lon=lon, index=index)


def describe_cells(*, session: Session, cells: Iterable[str]) -> dict[str, str]:
    """:func:`describe_cell` for several cells at once (for pages that show many)."""
    import h3

    unique = list(dict.fromkeys(cells))
    centres: dict[str, tuple[float, float]] = {}
    for cell in unique:
        try:
            centres[cell] = h3.cell_to_latlng(cell)
        except (ValueError, TypeError, h3.H3BaseException):
            continue
    named = describe_points(session=session, points=list(centres.values()))
    out = dict(zip(centres, named, strict=True))
    return {c: out.get(c, c) for c in unique}


@dataclass
class AreaFound:
    """A ward or district found for what a resident typed (a place name, street or postcode)."""

    name: str  # what matched: the place, postcode or area
    detail: str
    area_code: str
    area_name: str


def find_public_areas(*, session: Session, text: str, limit: int = 10) -> list[AreaFound]:
    """The wards and districts a name, street or postcode is in (for "find your area")."""
    from saferstreets.areas.service import find_areas_by_name

    out = [
        AreaFound(a.name, a.kind.replace("_", " "), a.code, a.name)
        for a in find_areas_by_name(session=session, text=text, limit=limit)
        if a.kind in ("ward", "district")
    ]
    places = [p for p in search_places(session=session, text=text, limit=limit) if p.area_code]
    names = _area_names(session, [p.area_code for p in places if p.area_code])
    for p in places:
        assert p.area_code is not None
        if p.area_code in names:
            out.append(AreaFound(p.name, p.detail, p.area_code, names[p.area_code]))
    return out[:limit]
