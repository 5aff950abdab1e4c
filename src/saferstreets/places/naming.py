"""Name a point or an H3 cell from the nearest places and its ward (reverse lookup), e.g.
"near Mill Lane and the station car park, Netherwick"."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.areas.lookup import AreaIndex
from saferstreets.places.models import Place, tiles_round
from saferstreets.places.search import area_names

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
    centres = index.lookup("town_centre", lons, lats)
    names = area_names(session, {c for c in [*wards, *districts, *centres] if c})
    out = []
    for i in range(len(points)):
        where = names.get(wards[i] or "") or names.get(districts[i] or "")
        centre = names.get(centres[i] or "", "")
        out.append(_phrase(near[i], where, float(lats[i]), float(lons[i]), centre=centre))
    return out


def _near_each(session: Session, lats: np.ndarray, lons: np.ndarray) -> list[list[Any]]:
    """Per point, the places of the naming kinds within ``NEAR_KM``, nearest first.

    Candidates are read by the grid squares round the points (``place.tile``: a few indexed
    look-ups per point, the squares of the 800 m box round it), in one query per few hundred
    squares, then measured (a k-d tree for many points, numpy for a few)."""
    connection = session.connection()  # Core rows and a prepared statement: a point in ~1 ms
    tiles: set[int] = set()
    for lat, lon in zip(lats.tolist(), lons.tolist(), strict=True):
        tiles.update(tiles_round(lat, lon, NEAR_KM))
    ordered = sorted(tiles)
    rows: list[Any] = []
    for start in range(0, len(ordered), 500):
        rows += connection.execute(_near_tiles(), {"tiles": ordered[start : start + 500]})
    if not rows:
        return [[] for _ in lats]
    scale = math.cos(math.radians(float(lats.mean())))
    xy = np.array([(r.longitude * 111.32 * scale, r.latitude * 110.57) for r in rows])
    queries = np.column_stack([lons * 111.32 * scale, lats * 110.57])
    if len(queries) <= 4:
        hits_each = [np.flatnonzero(np.hypot(*(xy - q).T) <= NEAR_KM).tolist() for q in queries]
    else:
        from scipy.spatial import cKDTree

        hits_each = cKDTree(xy).query_ball_point(queries, r=NEAR_KM)
    out = []
    for q, hits in zip(queries, hits_each, strict=True):
        dist = np.hypot(*(xy[hits] - q).T) if hits else np.array([])
        order = sorted(range(len(hits)), key=lambda j: (dist[j], rows[hits[j]].id))
        out.append([rows[hits[j]] for j in order])
    return out


@functools.cache
def _near_tiles() -> Any:
    """Prepared once: the places to name in some grid squares (on PostgreSQL, read from the
    tile index alone: it holds every column read here)."""
    return sa.select(Place.id, Place.name, Place.kind, Place.latitude, Place.longitude).where(
        Place.tile.in_(sa.bindparam("tiles", expanding=True)),
        Place.kind.in_(NAMING_KINDS),
    )


def _phrase(
    near: list[Any], where: str | None, lat: float, lon: float, word: str = "near", centre: str = ""
) -> str:
    """The nearest street and other place, then the ward; with no place near, the town centre
    the point is in (if any) and the ward; the coordinates when nothing is known."""
    streets = [p.name for p in near if p.kind == "street"]
    others = [_spoken(p) for p in near if p.kind != "street"]
    names = list(dict.fromkeys((streets[:1] + others[:1]) or [_spoken(p) for p in near[:1]]))
    if names and where:
        return f"{word} {' and '.join(names)}, {where}"
    if names:
        return f"{word} {' and '.join(names)}"
    if centre:
        return f"{centre}, {where}" if where and where not in centre else centre
    if where:
        return where
    return f"{lat:.3f}, {lon:.3f}"


def spoken(place: Any) -> str:
    """A place's name as said aloud ("Netherwick station" for the station called Netherwick)."""
    return _spoken(place)


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


def describe_codes(*, session: Session, codes: Iterable[str]) -> dict[str, str]:
    """A name for each area code or H3 cell: an area's own name (a town centre, a ward), else
    the cell described by :func:`describe_cells`; a code that is neither stays as it is."""
    from saferstreets.areas.models import Area

    wanted = set(codes)
    areas = dict(
        session.execute(sa.select(Area.code, Area.name).where(Area.code.in_(wanted))).all()
    )
    cells = sorted(c for c in wanted if c not in areas)
    return describe_cells(session=session, cells=cells) | areas


# --------------------------------------------------------------------------- outlines

OUTLINE_MARGIN_KM = 0.05  # a place this close to an outline's edge is taken to be in it
OUTLINE_MAX_PLACES = 5000  # candidates read for one outline (its bounding box)


def places_in_outline(*, session: Session, geometry: dict[str, Any], limit: int = 8) -> list[Any]:
    """The streets, stations, stops, parks and landmarks in an outline (a GeoJSON polygon), the
    ones nearest its middle first; each row has ``name``, ``kind``, ``latitude``, ``longitude``.

    Read by the outline's bounding box (the latitude index), then kept if inside the outline or
    within 50 m of its edge. One row per name and kind (a street comes in several sections)."""
    from shapely import contains_xy
    from shapely.geometry import shape

    outline = shape(geometry)
    if outline.is_empty:
        return []
    margin = OUTLINE_MARGIN_KM / 111.0
    grown = outline.buffer(margin)
    x0, y0, x1, y1 = grown.bounds
    rows = session.execute(
        sa.select(Place.id, Place.name, Place.kind, Place.latitude, Place.longitude)
        .where(
            Place.latitude.between(y0, y1),
            Place.longitude.between(x0, x1),
            Place.kind.in_(NAMING_KINDS),
        )
        .limit(OUTLINE_MAX_PLACES)
    ).all()
    if not rows:
        return []
    lons = np.array([r.longitude for r in rows], dtype=float)
    lats = np.array([r.latitude for r in rows], dtype=float)
    inside = contains_xy(grown, lons, lats)
    middle = outline.representative_point()
    scale = math.cos(math.radians(middle.y))
    dist = np.hypot((lons - middle.x) * scale, lats - middle.y)
    order = sorted(np.flatnonzero(inside).tolist(), key=lambda i: (dist[i], rows[i].id))
    out, seen = [], set()
    for i in order:
        key = (rows[i].name.lower(), rows[i].kind)
        if key not in seen:
            seen.add(key)
            out.append(rows[i])
    return out[:limit]


def describe_outline(
    *, session: Session, geometry: dict[str, Any], index: AreaIndex | None = None
) -> str:
    """A short name for an outline: "around Mill Lane and the station car park, Netherwick".

    The street and the other place nearest the outline's middle among those in it, and the ward
    (or district) its middle is in; "near ..." the middle when no named place is in it."""
    from shapely.geometry import shape

    from saferstreets.areas.lookup import cached_area_index

    outline = shape(geometry)
    if outline.is_empty:
        return ""
    middle = outline.representative_point()
    inside = places_in_outline(session=session, geometry=geometry, limit=50)
    if not inside:
        return describe_point(session=session, lat=middle.y, lon=middle.x, index=index)
    index = index or cached_area_index(session=session)
    found = index.locate_point(middle.y, middle.x)
    ward, district = found.get("ward"), found.get("district")
    names = area_names(session, [c for c in (ward, district) if c])
    where = names.get(ward or "") or names.get(district or "")
    return _phrase(inside, where, middle.y, middle.x, word="around")
