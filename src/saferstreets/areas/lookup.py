"""Point → area lookup: whole arrays of points against each level's prepared polygons.

A point on a boundary shared by two areas intersects both; it goes to the area whose code sorts
first, so the answer is the same on every run, on every machine and whatever order the
boundaries were imported in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from saferstreets.models_common import AREA_LEVELS

CHUNK = 500_000  # points per query: bounds the memory held by shapely point objects
#: Up to this many points are looked up in a tree of the level's polygons (a report from the
#: form is one point); more are put in a tree of their own and queried with every polygon.
FEW_POINTS = 16


@dataclass
class _Level:
    codes: np.ndarray  # object array of codes, sorted
    geoms: np.ndarray  # shapely geometries in the same order, prepared
    tree: shapely.STRtree  # of ``geoms``, for looking up a few points


class AreaIndex:
    """Areas of each level, ready for vectorised point-in-polygon lookups.

    Build with :meth:`from_session` (the store) or :meth:`from_arrays` (codes and geometries).

    Attributes
    ----------
    levels : tuple of str
        The levels that have at least one area, in ``AREA_LEVELS`` order.
    """

    def __init__(self, levels: Mapping[str, _Level], version: Any = None) -> None:
        self._levels = dict(levels)
        self.levels = tuple(lv for lv in AREA_LEVELS if lv in self._levels) + tuple(
            lv for lv in self._levels if lv not in AREA_LEVELS
        )
        self.version = version

    @classmethod
    def from_arrays(
        cls, levels: Mapping[str, tuple[Sequence[str], Any]], version: Any = None
    ) -> AreaIndex:
        """From ``{level: (codes, shapely geometries)}``; empty levels are left out."""
        built: dict[str, _Level] = {}
        for level, (codes, geoms) in levels.items():
            codes_arr = np.asarray(list(codes), dtype=object)
            geoms_arr = np.asarray(list(geoms), dtype=object)
            keep = np.array([g is not None for g in geoms_arr], dtype=bool)
            codes_arr, geoms_arr = codes_arr[keep], geoms_arr[keep]
            if not len(codes_arr):
                continue
            order = np.argsort(codes_arr.astype(str), kind="stable")
            codes_arr, geoms_arr = codes_arr[order], geoms_arr[order]
            shapely.prepare(geoms_arr)
            built[level] = _Level(codes_arr, geoms_arr, shapely.STRtree(geoms_arr))
        return cls(built, version=version)

    @classmethod
    def from_session(cls, session: Any, *, levels: Sequence[str] | None = None) -> AreaIndex:
        """Every area in the store (or only ``levels``), with their full geometries."""
        import sqlalchemy as sa

        from saferstreets.areas.geometry import from_geojson_dicts
        from saferstreets.areas.models import Area

        # The geometry as JSON text, parsed straight into GEOS (no Python dicts on the way).
        query = sa.select(Area.kind, Area.code, sa.cast(Area.geometry, sa.Text))
        if levels is not None:
            query = query.where(Area.kind.in_(list(levels)))
        grouped: dict[str, tuple[list[str], list[Any]]] = {}
        for kind, code, geometry in session.execute(query):
            codes, geoms = grouped.setdefault(kind, ([], []))
            codes.append(code)
            geoms.append(geometry)
        arrays = {
            kind: (codes, from_geojson_dicts(geoms)) for kind, (codes, geoms) in grouped.items()
        }
        return cls.from_arrays(arrays, version=store_version(session))

    def __contains__(self, level: object) -> bool:
        return level in self._levels

    def size(self, level: str) -> int:
        """How many areas the index holds at ``level``."""
        return len(self._levels[level].codes) if level in self._levels else 0

    def lookup(self, level: str, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """The code of the ``level`` area each point is in (object array; ``None`` if none)."""
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        n = len(lons)
        out = np.full(n, None, dtype=object)
        entry = self._levels.get(level)
        if entry is None or n == 0:
            return out
        sentinel = len(entry.codes)
        for start in range(0, n, CHUNK):
            x = lons[start : start + CHUNK]
            y = lats[start : start + CHUNK]
            finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
            if not len(finite):
                continue
            points = shapely.points(x[finite], y[finite])
            area_idx, point_idx = _candidates(entry, points)
            best = np.full(len(finite), sentinel, dtype=np.int64)
            np.minimum.at(best, point_idx, area_idx)  # lowest code wins on a shared boundary
            hit = best < sentinel
            out[start + finite[hit]] = entry.codes[best[hit]]
        return out

    def locate_point(self, lat: float, lon: float) -> dict[str, str | None]:
        """The area code at every level for one point (a report from the form): what
        :meth:`locate_arrays` gives for it, without the arrays' set-up: 21 microseconds against
        94 on the demo county's five levels (best of 3 x 2,000, 2026-12-04)."""
        found: dict[str, str | None] = dict.fromkeys(self.levels)
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return found
        point = shapely.Point(lon, lat)
        for level in self.levels:
            entry = self._levels[level]
            hits = entry.tree.query(point, predicate="intersects")
            if len(hits):
                found[level] = entry.codes[hits.min()]  # lowest code wins on a shared boundary
        return found

    def locate_arrays(self, lats: Any, lons: Any) -> dict[str, np.ndarray]:
        """:func:`locate` returning object arrays instead of lists."""
        lats_arr = np.asarray(lats, dtype=float)
        lons_arr = np.asarray(lons, dtype=float)
        return {level: self.lookup(level, lons_arr, lats_arr) for level in self.levels}


def _candidates(entry: _Level, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(area index, point index) of every polygon of ``entry`` each point intersects.

    Many points: index the points and query with the (prepared) polygons, so each polygon's
    prepared point-in-area locator serves all its candidate points (several times faster than
    querying a polygon tree with unprepared points). A few points (a report from the form):
    query the level's polygon tree with them, which looks at the handful of polygons whose boxes
    hold each point instead of every polygon of the level."""
    if len(points) <= FEW_POINTS:
        point_idx, area_idx = entry.tree.query(points, predicate="intersects")
        return area_idx, point_idx
    area_idx, point_idx = shapely.STRtree(points).query(entry.geoms, predicate="intersects")
    return area_idx, point_idx


def locate(lats: Any, lons: Any, *, index: AreaIndex) -> dict[str, list[str | None]]:
    """The area code at every level for each point (``None`` where a point is in no area)."""
    return {level: codes.tolist() for level, codes in index.locate_arrays(lats, lons).items()}


def store_version(session: Any) -> tuple[Any, ...]:
    """A cheap fingerprint of the areas in the store (count, last id, last import time)."""
    import sqlalchemy as sa

    from saferstreets.areas.models import Area

    row = session.execute(
        sa.select(sa.func.count(Area.id), sa.func.max(Area.id), sa.func.max(Area.imported_at))
    ).one()
    return (int(row[0] or 0), row[1], str(row[2]))


_cache: dict[str, AreaIndex] = {}
_checked: dict[str, float] = {}  # when each store's index was last found current (monotonic)


def cached_area_index(*, session: Any, fresh_within: float = 0.0) -> AreaIndex:
    """The index for this store, rebuilt only when its areas have changed (for per-request use).

    ``fresh_within``: for that many seconds after the store last said the index is current, it
    is used without asking again (a round trip saved on each report; ``reports.service``). A
    report in that moment after another process imported boundaries is then located by the
    boundaries they replaced, as one sent a moment before the import would have been; this
    process's own imports ``forget`` the index at once.
    """
    key = session.get_bind().url.render_as_string(hide_password=True)
    index = _cache.get(key)
    now = time.monotonic()
    if index is not None and now - _checked.get(key, -math.inf) < fresh_within:
        return index
    version = store_version(session)
    if index is None or index.version != version:
        index = AreaIndex.from_session(session)
        _cache[key] = index
    _checked[key] = now
    return index


def forget() -> None:
    """Forget every store's index: its areas were written, or the store replaced."""
    _cache.clear()
    _checked.clear()
