""" "You said, we did": what people raised in an area and what was done, never exposing a reporter.

Counts under ``Settings.public_min_count`` (10 by default) are suppressed; places are shown only
as areas or coarse H3 cells (resolution ``PUBLIC_H3_RESOLUTION``), never as points; free text is
never shown publicly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import h3
import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.actions.models import PublicUpdate
from saferstreets.actions.updates import published_updates
from saferstreets.areas.models import Area
from saferstreets.errors import NotFound
from saferstreets.reports.models import Report
from saferstreets.themes.models import ThemeAssignment
from saferstreets.themes.taxonomy import THEMES, label

PUBLIC_H3_RESOLUTION = 7  # about 5 km² a cell: coarse enough to hide any one street
PUBLIC_LEVELS = ("district", "ward")


@dataclass
class Count:
    """A count as the public may see it: the number, or None when suppressed."""

    value: int | None
    suppressed: bool

    def text(self, k: int) -> str:
        """The count in words, e.g. "1,204" or "fewer than 10"."""
        return f"fewer than {k}" if self.suppressed else f"{self.value:,}"


def public_count(n: int, k: int) -> Count:
    """Suppress 1..k-1 (a zero reveals nothing about anyone, so it is shown)."""
    return Count(None, True) if 0 < n < k else Count(n, False)


def suppress_parts(counts: list[int], k: int) -> list[Count]:
    """Suppress parts of a shown total so no suppressed part can be found by subtraction.

    Primary suppression hides 1..k-1. If exactly one part is hidden, the total minus the others
    would reveal it, so the smallest other non-zero part is hidden too (complementary suppression).
    """
    shown = [public_count(n, k) for n in counts]
    hidden = [i for i, c in enumerate(shown) if c.suppressed]
    if len(hidden) == 1:
        others = [i for i, n in enumerate(counts) if i not in hidden and n > 0]
        if others:
            smallest = min(others, key=lambda i: counts[i])
            shown[smallest] = Count(None, True)
    return shown


@dataclass
class AreaPage:
    area: Area
    parent: Area | None
    children: list[tuple[Area, Count]]
    reports: Count
    themes: list[tuple[str, str, Count]]  # code, label, count (most raised first, suppressed last)
    updates: list[PublicUpdate]
    period: tuple[Any, Any] | None
    k: int
    cells: list[tuple[str, int]] = field(default_factory=list)  # coarse cells with >= k reports


def _area_filter(area: Area) -> Any:
    column = Report.district_code if area.kind == "district" else Report.ward_code
    return column == area.code


def _get_public_area(session: Session, code: str) -> Area:
    area = session.scalar(
        sa.select(Area).where(Area.code == code, Area.kind.in_(PUBLIC_LEVELS)).limit(1)
    )
    if area is None:
        raise NotFound(f"There is no district or ward with the code {code!r}.")
    return area


def report_themes(*, session: Session, report_ids: list[int]) -> dict[int, set[str]]:
    """Each report's themes: reasons ticked, plus those found in its words (analyst over model)."""
    themes: dict[int, set[str]] = {}
    for chunk_start in range(0, len(report_ids), 5000):
        chunk = report_ids[chunk_start : chunk_start + 5000]
        for rid, reasons in session.execute(
            sa.select(Report.id, Report.reasons).where(Report.id.in_(chunk))
        ):
            themes[rid] = {r for r in (reasons or []) if r != "other"}
        rows = session.execute(
            sa.select(
                ThemeAssignment.owner_id,
                ThemeAssignment.theme,
                ThemeAssignment.source,
                ThemeAssignment.present,
            ).where(ThemeAssignment.owner_kind == "report", ThemeAssignment.owner_id.in_(chunk))
        ).all()
        analyst = {(r.owner_id, r.theme): r.present for r in rows if r.source == "analyst"}
        for r in rows:
            decided = analyst.get((r.owner_id, r.theme))
            present = decided if decided is not None else r.present
            if present:
                themes.setdefault(r.owner_id, set()).add(r.theme)
            elif decided is False:
                themes.get(r.owner_id, set()).discard(r.theme)
    return themes


def area_page(*, session: Session, code: str, k: int) -> AreaPage:
    """Everything the public page of a district or ward shows."""
    area = _get_public_area(session, code)
    parent = None
    if area.parent_code:
        parent = session.scalar(
            sa.select(Area).where(Area.code == area.parent_code, Area.kind == "district")
        )
    where = _area_filter(area)
    report_ids = list(session.scalars(sa.select(Report.id).where(where)))
    per_theme: Counter[str] = Counter()
    for found in report_themes(session=session, report_ids=report_ids).values():
        per_theme.update(found)
    themes = [
        (t.code, t.label, public_count(per_theme.get(t.code, 0), k))
        for t in THEMES
        if per_theme.get(t.code)
    ]
    themes.sort(key=lambda x: (x[2].suppressed, -(x[2].value or 0), x[1]))
    children: list[tuple[Area, Count]] = []
    if area.kind == "district":
        wards = session.scalars(
            sa.select(Area)
            .where(Area.kind == "ward", Area.parent_code == area.code)
            .order_by(Area.name)
        ).all()
        ward_counts = dict(
            session.execute(
                sa.select(Report.ward_code, sa.func.count()).where(where).group_by(Report.ward_code)
            ).all()
        )
        shown = suppress_parts([int(ward_counts.get(w.code, 0)) for w in wards], k)
        children = list(zip(wards, shown, strict=True))
    update_codes = [area.code] + [w.code for w, _ in children]
    updates = published_updates(session=session, area_codes=update_codes)
    period = session.execute(
        sa.select(sa.func.min(Report.occurred_on), sa.func.max(Report.occurred_on)).where(where)
    ).one()
    return AreaPage(
        area=area,
        parent=parent,
        children=children,
        reports=public_count(len(report_ids), k),
        themes=themes,
        updates=updates,
        period=(period[0], period[1]) if period[0] else None,
        k=k,
        cells=coarse_cells(session=session, where=where, k=k),
    )


def coarse_cells(*, session: Session, where: Any, k: int) -> list[tuple[str, int]]:
    """Reports per coarse H3 cell, keeping only cells with at least k reports."""
    counts: Counter[str] = Counter()
    for cell in session.scalars(
        sa.select(Report.h3_cell).where(where, Report.h3_cell.is_not(None))
    ):
        counts[h3.cell_to_parent(cell, PUBLIC_H3_RESOLUTION)] += 1
    return sorted(((c, n) for c, n in counts.items() if n >= k), key=lambda x: -x[1])


def cells_geojson(cells: list[tuple[str, int]]) -> dict[str, Any]:
    """Coarse cells as GeoJSON polygons (lon, lat) with the count and a shade."""
    top = max((n for _, n in cells), default=1)
    features = []
    for cell, n in cells:
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "name": "Reports here",
                    "label": f"{n:,}",
                    "count": n,
                    "fill": "#b10e1e",
                    "opacity": round(0.15 + 0.55 * n / top, 2),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def public_areas(*, session: Session, k: int) -> list[tuple[Area, Count, list[tuple[Area, Count]]]]:
    """Districts, each with its report count and its wards' counts (suppressed below k)."""
    districts = session.scalars(
        sa.select(Area).where(Area.kind == "district").order_by(Area.name)
    ).all()
    by_district = dict(
        session.execute(
            sa.select(Report.district_code, sa.func.count()).group_by(Report.district_code)
        ).all()
    )
    by_ward = dict(
        session.execute(
            sa.select(Report.ward_code, sa.func.count()).group_by(Report.ward_code)
        ).all()
    )
    wards = session.scalars(sa.select(Area).where(Area.kind == "ward").order_by(Area.name)).all()
    ward_map: dict[str | None, list[Area]] = {}
    for w in wards:
        ward_map.setdefault(w.parent_code, []).append(w)
    result = []
    for d in districts:
        children = ward_map.get(d.code, [])
        shown = suppress_parts([int(by_ward.get(w.code, 0)) for w in children], k)
        result.append(
            (
                d,
                public_count(int(by_district.get(d.code, 0)), k),
                list(zip(children, shown, strict=True)),
            )
        )
    return result


def open_data_rows(*, session: Session, k: int) -> list[list[Any]]:
    """The open-data table: one row per area and theme, counts suppressed below k."""
    areas = session.scalars(
        sa.select(Area).where(Area.kind.in_(PUBLIC_LEVELS)).order_by(Area.kind, Area.code)
    ).all()
    reports = session.execute(sa.select(Report.id, Report.ward_code, Report.district_code)).all()
    themes = report_themes(session=session, report_ids=[r.id for r in reports])
    counts: Counter[tuple[str, str]] = Counter()
    totals: Counter[str] = Counter()
    for r in reports:
        for code in (r.ward_code, r.district_code):
            if code:
                totals[code] += 1
                for theme in themes.get(r.id, ()):
                    counts[(code, theme)] += 1
    rows: list[list[Any]] = []
    for a in areas:
        total = public_count(totals.get(a.code, 0), k)
        rows.append(
            [
                a.code,
                a.name,
                a.kind,
                "all",
                "All reports",
                total.value,
                "yes" if total.suppressed else "no",
            ]
        )
        for t in THEMES:
            n = counts.get((a.code, t.code), 0)
            if n:
                c = public_count(n, k)
                rows.append(
                    [
                        a.code,
                        a.name,
                        a.kind,
                        t.code,
                        label(t.code),
                        c.value,
                        "yes" if c.suppressed else "no",
                    ]
                )
    return rows


OPEN_DATA_HEADER = [
    "area_code",
    "area_name",
    "area_level",
    "theme_code",
    "theme",
    "reports",
    "suppressed_below_threshold",
]
