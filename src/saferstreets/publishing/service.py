""" "You said, we did": what people raised in an area and what was done, never exposing a reporter.

Every public figure is read from the latest published batch (``publishing.batch``), never from
the live reports: a report sent or deleted moves nothing until the next batch, and then only in a
ward with enough changes. Each batch suppresses small counts and their complements across every
published table (``publishing.suppression``); places are shown only as areas or coarse H3 cells
(resolution ``PUBLIC_H3_RESOLUTION``), never as points; free text is never shown publicly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import h3
import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.actions.models import PublicUpdate
from saferstreets.areas.models import Area
from saferstreets.errors import NotFound
from saferstreets.publishing.batch import PUBLIC_H3_RESOLUTION
from saferstreets.publishing.models import PublishBatch, PublishedFigure
from saferstreets.publishing.suppression import CellSuppression, Relation
from saferstreets.reports.models import Report
from saferstreets.themes.models import ThemeAssignment
from saferstreets.themes.taxonomy import THEMES, label

__all__ = ["PUBLIC_H3_RESOLUTION"]
PUBLIC_LEVELS = ("district", "ward")


@dataclass
class Count:
    """A count as the public may see it: the number, or None when suppressed."""

    value: int | None
    suppressed: bool

    def text(self, k: int) -> str:
        """The count in words, e.g. "1,204" or "not shown".

        A suppressed count may be under ``k`` or a larger one hidden so that a smaller one cannot
        be worked out by subtraction: both read the same, so the words never tell them apart.
        """
        return "not shown" if self.suppressed else f"{self.value:,}"


def public_count(n: int, k: int) -> Count:
    """Suppress 1..k-1 (a zero reveals nothing about anyone, so it is shown)."""
    return Count(None, True) if 0 < n < k else Count(n, False)


def suppress_parts(counts: list[int], k: int) -> list[Count]:
    """Suppress parts of a shown total (their sum) so no hidden part can be found by subtraction.

    One relation on its own, through the same method as every published table
    (``suppression.CellSuppression``): primary suppression of 1..k-1, then complements.
    """
    values: dict[Any, int] = {("part", i): n for i, n in enumerate(counts)}
    values["total"] = sum(counts)
    relation = Relation("total", tuple(("part", i) for i in range(len(counts))))
    hidden = CellSuppression(values=values, relations=[relation], k=k).fit().hidden
    return [
        Count(None, True) if ("part", i) in hidden else Count(n, False)
        for i, n in enumerate(counts)
    ]


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
    cells: list[tuple[str, int]] = field(default_factory=list)  # coarse cells shown
    published_at: datetime | None = None  # the batch these figures come from (None: none yet)


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


def latest_batch(*, session: Session) -> PublishBatch | None:
    """The newest published batch, if any (public pages show nothing until one exists)."""
    return session.scalar(sa.select(PublishBatch).order_by(PublishBatch.id.desc()).limit(1))


def _figures(
    session: Session, batch: PublishBatch | None, codes: list[str] | None = None
) -> dict[str, list[PublishedFigure]]:
    """The batch's figures by area (all areas, or only ``codes``)."""
    if batch is None:
        return {}
    query = sa.select(PublishedFigure).where(PublishedFigure.batch_id == batch.id)
    if codes is not None:
        query = query.where(PublishedFigure.area_code.in_(codes))
    by_area: dict[str, list[PublishedFigure]] = {}
    for f in session.scalars(query.order_by(PublishedFigure.id)):
        by_area.setdefault(f.area_code, []).append(f)
    return by_area


def _count(figure: PublishedFigure | None) -> Count:
    """A stored figure as the public sees it; an area with no figure has no reports."""
    if figure is None:
        return Count(0, False)
    return Count(figure.value, figure.suppressed)


def _of(figures: list[PublishedFigure], kind: str) -> list[PublishedFigure]:
    return [f for f in figures if f.figure == kind]


def area_page(*, session: Session, code: str, k: int) -> AreaPage:
    """Everything the public page of a district or ward shows, from the latest batch."""
    area = _get_public_area(session, code)
    parent = None
    if area.parent_code:
        parent = session.scalar(
            sa.select(Area).where(Area.code == area.parent_code, Area.kind == "district")
        )
    wards: list[Area] = []
    if area.kind == "district":
        wards = list(
            session.scalars(
                sa.select(Area)
                .where(Area.kind == "ward", Area.parent_code == area.code)
                .order_by(Area.name)
            )
        )
    batch = latest_batch(session=session)
    figures = _figures(session, batch, [area.code, *(w.code for w in wards)])
    mine = figures.get(area.code, [])
    total = next(iter(_of(mine, "reports")), None)
    themes = [(f.key, label(f.key), _count(f)) for f in _of(mine, "theme")]
    themes.sort(key=lambda x: (x[2].suppressed, -(x[2].value or 0), x[1]))
    children = [
        (w, _count(next(iter(_of(figures.get(w.code, []), "reports")), None))) for w in wards
    ]
    cells = [(f.key, int(f.value or 0)) for f in _of(mine, "cell") if not f.suppressed]
    updates = list(
        session.scalars(
            sa.select(PublicUpdate)
            .where(PublicUpdate.area_code.in_([area.code, *(w.code for w in wards)]))
            .order_by(PublicUpdate.published_on.desc(), PublicUpdate.id.desc())
        )
    )
    period = (total.first_on, total.last_on) if total and total.first_on else None
    return AreaPage(
        area=area,
        parent=parent,
        children=children,
        reports=_count(total),
        themes=themes,
        updates=updates,
        period=period,
        k=batch.min_count if batch else k,
        cells=sorted(cells, key=lambda x: (-x[1], x[0])),
        published_at=batch.published_at if batch else None,
    )


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
    """Districts, each with its report count and its wards' counts, from the latest batch."""
    districts = session.scalars(
        sa.select(Area).where(Area.kind == "district").order_by(Area.name)
    ).all()
    wards = session.scalars(sa.select(Area).where(Area.kind == "ward").order_by(Area.name)).all()
    figures = _figures(session, latest_batch(session=session))

    def total(code: str) -> Count:
        return _count(next(iter(_of(figures.get(code, []), "reports")), None))

    ward_map: dict[str | None, list[Area]] = {}
    for w in wards:
        ward_map.setdefault(w.parent_code, []).append(w)
    return [
        (d, total(d.code), [(w, total(w.code)) for w in ward_map.get(d.code, [])])
        for d in districts
    ]


def open_data_rows(*, session: Session, k: int) -> list[list[Any]]:
    """The open-data table: one row per area and theme, from the latest batch."""
    areas = session.scalars(
        sa.select(Area).where(Area.kind.in_(PUBLIC_LEVELS)).order_by(Area.kind, Area.code)
    ).all()
    figures = _figures(session, latest_batch(session=session))
    rows: list[list[Any]] = []
    for a in areas:
        mine = figures.get(a.code, [])
        total = _count(next(iter(_of(mine, "reports")), None))
        rows.append(_row(a, "all", "All reports", total))
        by_theme = {f.key: f for f in _of(mine, "theme")}
        order = [t.code for t in THEMES] + sorted(set(by_theme) - {t.code for t in THEMES})
        rows += [_row(a, t, label(t), _count(by_theme[t])) for t in order if t in by_theme]
    return rows


def _row(area: Area, code: str, name: str, count: Count) -> list[Any]:
    suppressed = "yes" if count.suppressed else "no"
    return [area.code, area.name, area.kind, code, name, count.value, suppressed]


OPEN_DATA_HEADER = [
    "area_code",
    "area_name",
    "area_level",
    "theme_code",
    "theme",
    "reports",
    "suppressed_below_threshold",
]
