"""Where a local issue is: an outline derived from its reports, or drawn by the officer.

Derived from the reports, the outline must never show where any one report was made. The linked
reports' points are counted in H3 cells and only cells holding at least ``MIN_REPORTS`` (3) of
them are kept (k-anonymity with k = 3: wherever the outline is drawn, at least three reports were
made in each of its cells). The finest resolution is used, from the reports' stored one (9 by
default, cells of about 0.1 km²) down to 7 (about 5 km²), at which the kept cells hold at least
half the located reports; their union is rounded off (grown and shrunk by half a cell edge),
simplified and clipped to the ward. With fewer than three located reports, or reports too
scattered, no outline is derived and the page asks the officer to draw one: an outline of one
or two reports would point at them.

Drawn by the officer, the outline is a polygon tapped out on the map or, without JavaScript,
streets and places named from the gazetteer (each a circle of 100 m round its point, joined by
their convex hull). It must touch the issue's ward and be smaller than ``DRAWN_MAX_KM2``.

Every change of an issue's place is audited; the place is named by the gazetteer ("around Mill
Lane and Netherwick station, Northgate"). The issue's point, used where many issues share one map,
is a point inside its place (no place, no point): never the mean of its reports' points, which
for one located report would be where she was.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import User
from saferstreets.accounts.service import audit
from saferstreets.actions.models import IssueReport, LocalIssue
from saferstreets.areas.models import Area
from saferstreets.errors import ValidationFailed
from saferstreets.reports.models import Report

MIN_REPORTS = 3  # a derived outline's every cell holds at least this many reports
MIN_SHARE = 0.5  # ... and its cells hold at least this share of the located reports
COARSEST_RESOLUTION = 7
DRAWN_MAX_KM2 = 25.0
DRAWN_MAX_VERTICES = 200
NAMED_RADIUS_KM = 0.1  # a named street or place stands for a circle this wide round its point
NAMED_MAX = 12
PLACE_SOURCES = {
    "reports": "from the linked reports",
    "drawn": "drawn on the map",
    "places": "from the streets and places named",
}
KM_PER_DEGREE_LAT = 110.574
KM_PER_DEGREE_LON = 111.320


@dataclass(frozen=True)
class Outline:
    """An outline derived from report points: the GeoJSON geometry (EPSG:4326), the H3
    resolution of its cells, and how many of the located reports its cells hold."""

    geometry: dict[str, Any]
    resolution: int
    reports_in: int
    reports_located: int


# --------------------------------------------------------------------------- geometry in km


def _to_km(geom: Any, lat0: float) -> Any:
    import shapely

    scale = math.cos(math.radians(lat0))
    return shapely.transform(geom, lambda xy: xy * [KM_PER_DEGREE_LON * scale, KM_PER_DEGREE_LAT])


def _to_degrees(geom: Any, lat0: float) -> Any:
    import shapely

    scale = math.cos(math.radians(lat0))
    return shapely.transform(geom, lambda xy: xy / [KM_PER_DEGREE_LON * scale, KM_PER_DEGREE_LAT])


def _geojson(geom: Any) -> dict[str, Any]:
    from shapely.geometry import mapping

    out = mapping(geom)
    return json.loads(json.dumps(out))  # tuples to lists, as stored JSON comes back


def outline_from_points(
    points: Sequence[tuple[float, float]],
    *,
    resolution: int = 9,
    min_reports: int = MIN_REPORTS,
    clip: Any = None,
) -> Outline | None:
    """The generalised outline of report points (lat, lon), or None when too few or scattered.

    Pure: see the module docstring for the rule. ``clip`` is a shapely geometry (the ward) the
    outline is cut to."""
    import h3
    from shapely.geometry import shape
    from shapely.ops import unary_union

    if len(points) < min_reports:
        return None
    lat0 = sum(p[0] for p in points) / len(points)
    for res in range(resolution, COARSEST_RESOLUTION - 1, -1):
        counts = Counter(h3.latlng_to_cell(lat, lon, res) for lat, lon in points)
        kept = sorted(c for c, n in counts.items() if n >= min_reports)
        held = sum(counts[c] for c in kept)
        if not kept or held < MIN_SHARE * len(points):
            continue
        cells = unary_union([shape(h3.cells_to_geo([c])) for c in kept])
        edge = h3.average_hexagon_edge_length(res, unit="km")
        km = _to_km(cells, lat0).buffer(edge / 2).buffer(-edge / 2).simplify(edge / 4)
        geom = _to_degrees(km, lat0)
        if clip is not None and not clip.is_empty:
            geom = geom.intersection(clip.buffer(0))
        if geom.is_empty:
            return None
        return Outline(_geojson(geom), res, held, len(points))
    return None


# --------------------------------------------------------------------------- service


def _ward(session: Session, issue: LocalIssue) -> Area | None:
    return session.scalar(sa.select(Area).where(Area.kind == "ward", Area.code == issue.ward_code))


def _store(
    session: Session, issue: LocalIssue, user: User | None, geometry: Any, source: str | None
) -> LocalIssue:
    from saferstreets.places.naming import describe_outline

    issue.place_geometry = geometry
    issue.place_source = source
    issue.latitude, issue.longitude = _point_of(geometry)
    issue.place_name = (
        describe_outline(session=session, geometry=geometry)[:300] if geometry else None
    )
    session.flush()
    audit(
        session=session,
        user=user,
        action="update",
        object_kind="local_issue",
        object_id=issue.id,
        detail={"place": source or "cleared"},
    )
    return issue


def _point_of(geometry: Any) -> tuple[float | None, float | None]:
    """The issue's point (for maps of many issues): a point inside its place, never a report's
    own point; no place, no point."""
    if not geometry:
        return None, None
    from shapely.geometry import shape

    point = shape(geometry).representative_point()
    return float(point.y), float(point.x)


def derive_place(
    *, session: Session, issue: LocalIssue, user: User | None = None
) -> Outline | None:
    """Set the issue's place from its linked reports (in its ward); clear a derived place when
    they no longer support one. A drawn place is replaced only when this is asked for."""
    import h3
    from shapely.geometry import shape

    points = session.execute(
        sa.select(Report.latitude, Report.longitude, Report.h3_cell)
        .join(IssueReport, IssueReport.report_id == Report.id)
        .where(
            IssueReport.issue_id == issue.id,
            Report.ward_code == issue.ward_code,
            Report.latitude.is_not(None),
            Report.longitude.is_not(None),
        )
    ).all()
    ward = _ward(session, issue)
    stored = next((c for _lat, _lon, c in points if c and h3.is_valid_cell(c)), None)
    outline = outline_from_points(
        [(lat, lon) for lat, lon, _c in points if lat is not None and lon is not None],
        resolution=max(h3.get_resolution(stored), COARSEST_RESOLUTION) if stored else 9,
        clip=shape(ward.geometry) if ward is not None else None,
    )
    if outline is not None:
        _store(session, issue, user, outline.geometry, "reports")
    elif issue.place_source in (None, "reports") and issue.place_geometry is not None:
        _store(session, issue, user, None, None)
    return outline


def _bad(message: str, field: str) -> ValidationFailed:
    return ValidationFailed(message, field_errors={field: message})


def _parse_polygon(text: str) -> list[tuple[float, float]]:
    """[[lat, lon], ...] as the map sends it; a clear error for anything else."""
    try:
        data = json.loads(text)
    except ValueError:
        raise _bad("The outline could not be read: draw it again.", "polygon") from None
    if not isinstance(data, list) or not 3 <= len(data) <= DRAWN_MAX_VERTICES:
        raise _bad(f"An outline needs between 3 and {DRAWN_MAX_VERTICES} corners.", "polygon")
    out = []
    for pair in data:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(v, int | float) and math.isfinite(v) for v in pair)
            or not (-90 <= pair[0] <= 90 and -180 <= pair[1] <= 180)
        ):
            raise _bad("Each corner of the outline must be a latitude and a longitude.", "polygon")
        out.append((float(pair[0]), float(pair[1])))
    return out


def _check_drawn(session: Session, issue: LocalIssue, geom: Any, field: str) -> dict[str, Any]:
    from shapely.geometry import shape

    if not geom.is_valid or geom.is_empty:
        raise _bad("The outline crosses itself: draw it again without crossing lines.", field)
    lat0 = geom.representative_point().y
    if _to_km(geom, lat0).area > DRAWN_MAX_KM2:
        raise _bad(
            f"The outline is larger than {DRAWN_MAX_KM2:g} km²: draw the place itself.", field
        )
    ward = _ward(session, issue)
    if ward is not None and not shape(ward.geometry).buffer(0).intersects(geom):
        raise _bad(f"The outline is not in the issue's ward ({ward.name}).", field)
    return _geojson(geom)


def draw_place(
    *, session: Session, issue: LocalIssue, user: User | None, polygon: str
) -> LocalIssue:
    """Set the issue's place to an outline drawn on the map (``polygon``: [[lat, lon], ...])."""
    from shapely.geometry import Polygon

    corners = _parse_polygon(polygon)
    geom = Polygon([(lon, lat) for lat, lon in corners])
    return _store(session, issue, user, _check_drawn(session, issue, geom, "polygon"), "drawn")


def place_from_names(
    *, session: Session, issue: LocalIssue, user: User | None, names: str
) -> LocalIssue:
    """Set the issue's place from streets and places named (one per line, or separated by ";"),
    each found by the gazetteer in or by the issue's ward; names not found are all listed."""
    from shapely.geometry import MultiPoint

    wanted = [n.strip() for n in re.split(r"[;\n]+", names or "") if n.strip()]
    if not wanted:
        raise _bad("Name at least one street or place.", "names")
    if len(wanted) > NAMED_MAX:
        raise _bad(f"Name at most {NAMED_MAX} streets or places.", "names")
    ward = _ward(session, issue)
    found, missing = [], []
    for name in wanted:
        hit = _find_in_ward(session, name[:100], ward)
        (found.append(hit) if hit else missing.append(name[:60]))
    if missing:
        where = ward.name if ward is not None else issue.ward_code
        raise _bad(
            f"Not found in or by {where}: {', '.join(missing)}. Nothing was changed.", "names"
        )
    lat0 = sum(p[0] for p in found) / len(found)
    points = _to_km(MultiPoint([(lon, lat) for lat, lon in found]), lat0)
    hull = points.convex_hull.buffer(NAMED_RADIUS_KM)
    return _store(
        session,
        issue,
        user,
        _check_drawn(session, issue, _to_degrees(hull, lat0), "names"),
        "places",
    )


def _find_in_ward(session: Session, name: str, ward: Area | None) -> tuple[float, float] | None:
    """The point of the best gazetteer match for a name in the ward (or within 1 km of it)."""
    from saferstreets.places.search import search_places

    near = (ward.centroid_lat, ward.centroid_lon) if ward is not None else None
    matches = search_places(session=session, text=name, near=near, limit=20)
    for m in matches:
        if ward is None or m.ward_code == ward.code:
            return (m.latitude, m.longitude)
    if ward is not None:
        pad = 0.01
        for m in matches:
            if (
                ward.min_lat - pad <= m.latitude <= ward.max_lat + pad
                and ward.min_lon - pad <= m.longitude <= ward.max_lon + pad
            ):
                return (m.latitude, m.longitude)
    return None


def set_place(
    *,
    session: Session,
    issue: LocalIssue,
    user: User | None,
    polygon: str = "",
    names: str = "",
    from_reports: bool = False,
) -> LocalIssue:
    """What the issue page's form asks: an outline drawn on the map (``polygon``), else streets
    and places named (``names``), or the outline derived from the linked reports again."""
    if from_reports:
        issue.place_source = None
        if derive_place(session=session, issue=issue, user=user) is None:
            raise _bad(
                f"Fewer than {MIN_REPORTS} of the linked reports were made close together, so an "
                "outline of them could point at single reports: draw the place or name its "
                "streets instead.",
                "place",
            )
        return issue
    if polygon.strip():
        return draw_place(session=session, issue=issue, user=user, polygon=polygon)
    return place_from_names(session=session, issue=issue, user=user, names=names)


def place_geojson(issue: LocalIssue) -> dict[str, Any]:
    """The issue's place as a GeoJSON FeatureCollection (empty when it has none): the outline
    only, never a report's point."""
    if not issue.place_geometry:
        return {"type": "FeatureCollection", "features": []}
    feature = {
        "type": "Feature",
        "geometry": issue.place_geometry,
        "properties": {
            "name": issue.place_name or "The issue's place",
            "label": PLACE_SOURCES.get(issue.place_source or "", ""),
            "fill": "#8e88c9",
            "opacity": 0.3,
        },
    }
    return {"type": "FeatureCollection", "features": [feature]}
