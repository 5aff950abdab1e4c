"""Publishing a batch: freeze what each ward shows, suppress across every table, store the figures.

Public figures never move live. ``publish`` (run by ``saferstreets publish``, once a day from
``Settings.publish_hour``) is the only writer of public figures:

1. **Units.** Reports are grouped into units: each ward, and each district's reports that lie in
   none of its wards. A unit's published counts move only when at least
   ``Settings.publish_min_new_reports`` of its reports were added or removed since it last moved;
   otherwise it keeps its last published counts (so one report sent, or deleted, moves nothing).
2. **Table.** Districts are the sums of their units, so every published relation holds exactly:
   district = its wards + its no-ward remainder, for the totals, for each theme and for each map
   cell; an area's total = its map cells + reports with no cell; a theme's count <= the total.
3. **Suppression.** ``suppression.CellSuppression`` hides small counts and their complements
   until no hidden count can be worked out from the shown ones over all relations at once.
4. **Figures.** Every figure of every public area is stored with the batch; public pages read the
   latest batch's figures and nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import h3
import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.areas.models import Area
from saferstreets.config import Settings
from saferstreets.publishing.models import PublishBatch, PublishedFigure, PublishedUnit
from saferstreets.publishing.suppression import CellSuppression, Key, Relation
from saferstreets.reports.models import Report

PUBLIC_H3_RESOLUTION = 7  # about 5 km² a cell: coarse enough to hide any one street
WARD, REST = "ward", "district_rest"


@dataclass
class UnitCounts:
    """One unit's reports and raw counts (private: only suppressed figures leave the store)."""

    ids: list[int] = field(default_factory=list)
    themes: Counter[str] = field(default_factory=Counter)
    cells: Counter[str] = field(default_factory=Counter)
    no_cell: int = 0
    first: date | None = None
    last: date | None = None

    def add(self, rid: int, themes: Iterable[str], cell: str | None, on: date | None) -> None:
        self.ids.append(rid)
        self.themes.update(themes)
        if cell:
            self.cells[h3.cell_to_parent(cell, PUBLIC_H3_RESOLUTION)] += 1
        else:
            self.no_cell += 1
        if on is not None:
            self.first = on if self.first is None else min(self.first, on)
            self.last = on if self.last is None else max(self.last, on)

    def as_json(self) -> dict[str, Any]:
        return {
            "reports": len(self.ids),
            "themes": dict(self.themes),
            "cells": dict(self.cells),
            "no_cell": self.no_cell,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
        }


@dataclass
class Geography:
    """The public areas: districts, and each ward's district (None if it has none)."""

    districts: list[str]
    wards: dict[str, str | None]

    @classmethod
    def load(cls, session: Session) -> Geography:
        rows = session.execute(
            sa.select(Area.code, Area.kind, Area.parent_code).where(
                Area.kind.in_(("district", "ward"))
            )
        ).all()
        districts = sorted(r.code for r in rows if r.kind == "district")
        known = set(districts)
        wards = {
            r.code: (r.parent_code if r.parent_code in known else None)
            for r in rows
            if r.kind == "ward"
        }
        return cls(districts=districts, wards=wards)


def current_units(*, session: Session, geo: Geography) -> dict[tuple[str, str], UnitCounts]:
    """Every unit's reports as they stand now (empty units included)."""
    from saferstreets.publishing.service import report_themes

    units = {(WARD, w): UnitCounts() for w in geo.wards}
    units.update({(REST, d): UnitCounts() for d in geo.districts})
    rows = session.execute(
        sa.select(
            Report.id, Report.ward_code, Report.district_code, Report.h3_cell, Report.occurred_on
        ).order_by(Report.id)
    ).all()
    themes = report_themes(session=session, report_ids=[r.id for r in rows])
    for r in rows:
        if r.ward_code in geo.wards:
            key = (WARD, r.ward_code)
        elif (REST, r.district_code) in units:
            key = (REST, r.district_code)
        else:
            continue  # outside every public area: counted nowhere public
        units[key].add(r.id, sorted(themes.get(r.id, ())), r.h3_cell, r.occurred_on)
    return units


def units_to_move(
    *,
    stored: dict[tuple[str, str], PublishedUnit],
    current: dict[tuple[str, str], UnitCounts],
    min_changed: int,
) -> dict[tuple[str, str], UnitCounts]:
    """The units whose reports changed by at least ``min_changed`` (or never published)."""
    return {
        key: now
        for key, now in current.items()
        if key not in stored or len(set(stored[key].report_ids) ^ set(now.ids)) >= min_changed
    }


def _move_units(
    session: Session,
    batch: PublishBatch,
    stored: dict[tuple[str, str], PublishedUnit],
    moves: dict[tuple[str, str], UnitCounts],
) -> None:
    for (kind, code), now in moves.items():
        unit = stored.get((kind, code))
        if unit is None:
            unit = PublishedUnit(kind=kind, code=code)
            session.add(unit)
        unit.batch_id = batch.id
        unit.report_ids = now.ids
        unit.counts = now.as_json()


@dataclass
class PublicTable:
    """Every public cell's true count, the relations among them, and cells never shown."""

    values: Counter[Key] = field(default_factory=Counter)
    relations: list[Relation] = field(default_factory=list)
    at_most: list[tuple[Key, Key]] = field(default_factory=list)
    never_shown: set[Key] = field(default_factory=set)
    periods: dict[str, tuple[date, date]] = field(default_factory=dict)
    themes: dict[str, set[str]] = field(default_factory=dict)
    cells: dict[str, set[str]] = field(default_factory=dict)


def _add_unit(table: PublicTable, area: str, counts: dict[str, Any], prefix: str = "") -> None:
    """Add a unit's counts to an area's cells (``prefix`` "~" for a district's no-ward cells)."""
    table.values[(prefix + "n", area)] += counts.get("reports", 0)
    for theme, n in counts.get("themes", {}).items():
        table.values[(prefix + "t", area, theme)] += n
        table.themes.setdefault(area, set()).add(theme)
    for cell, n in counts.get("cells", {}).items():
        table.values[(prefix + "c", area, cell)] += n
        table.cells.setdefault(area, set()).add(cell)
    if not prefix:
        table.values[("c0", area)] += counts.get("no_cell", 0)
        if counts.get("first"):
            first, last = date.fromisoformat(counts["first"]), date.fromisoformat(counts["last"])
            was = table.periods.get(area)
            table.periods[area] = (min(was[0], first), max(was[1], last)) if was else (first, last)


def build_table(*, geo: Geography, units: dict[tuple[str, str], dict[str, Any]]) -> PublicTable:
    """The published cells and every additive relation among them."""
    table = PublicTable()
    children: dict[str, list[str]] = {d: [] for d in geo.districts}
    for ward, district in geo.wards.items():
        counts = units.get((WARD, ward), {})
        _add_unit(table, ward, counts)
        if district:
            children[district].append(ward)
            _add_unit(table, district, counts)
    for district in geo.districts:
        rest = units.get((REST, district), {})
        _add_unit(table, district, rest)
        _add_unit(table, district, rest, prefix="~")
        _district_relations(table, district, sorted(children[district]))
    for area in [*geo.districts, *geo.wards]:
        cells = tuple(("c", area, c) for c in sorted(table.cells.get(area, ())))
        table.relations.append(Relation(("n", area), (*cells, ("c0", area))))
        table.at_most += [(("t", area, t), ("n", area)) for t in table.themes.get(area, ())]
    structural = ("~n", "~t", "~c", "c0")
    table.never_shown = {k for k in table.values if isinstance(k, tuple) and k[0] in structural}
    return table


def _district_relations(table: PublicTable, district: str, wards: list[str]) -> None:
    table.relations.append(
        Relation(("n", district), (*(("n", w) for w in wards), ("~n", district)))
    )
    for theme in sorted(table.themes.get(district, ())):
        parts = tuple(("t", w, theme) for w in wards if table.values.get(("t", w, theme)))
        table.relations.append(Relation(("t", district, theme), (*parts, ("~t", district, theme))))
    for cell in sorted(table.cells.get(district, ())):
        parts = tuple(("c", w, cell) for w in wards if table.values.get(("c", w, cell)))
        table.relations.append(Relation(("c", district, cell), (*parts, ("~c", district, cell))))


def publish(*, session: Session, settings: Settings, now: datetime) -> PublishBatch:
    """Publish a batch: move units with enough changes, suppress, store every public figure.

    Everything is read and computed first (the suppression takes seconds), and only then
    written, so the store's write lock (SQLite's one lock) is held for the writes alone.
    """
    geo = Geography.load(session)
    with session.no_autoflush:
        stored = {(u.kind, u.code): u for u in session.scalars(sa.select(PublishedUnit))}
    moves = units_to_move(
        stored=stored,
        current=current_units(session=session, geo=geo),
        min_changed=settings.publish_min_new_reports,
    )
    units = {key: unit.counts for key, unit in stored.items()}
    units.update({key: counts.as_json() for key, counts in moves.items()})
    table = build_table(geo=geo, units=units)
    suppression = CellSuppression(
        values=table.values,
        relations=table.relations,
        at_most=table.at_most,
        k=settings.public_min_count,
        never_shown=table.never_shown,
    ).fit()
    figures = list(_figures(table, suppression.hidden, [*geo.districts, *geo.wards]))
    batch = PublishBatch(
        published_at=now,
        min_count=settings.public_min_count,
        min_new_reports=settings.publish_min_new_reports,
        units_moved=len(moves),
    )
    session.add(batch)
    session.flush()
    _move_units(session, batch, stored, moves)
    for f in figures:
        f.batch_id = batch.id
    session.add_all(figures)
    batch.figures_hidden = sum(f.suppressed for f in figures)
    batch.figures_shown = len(figures) - batch.figures_hidden
    session.flush()
    return batch


def _figures(table: PublicTable, hidden: set[Key], areas: list[str]) -> Iterable[PublishedFigure]:
    def figure(area: str, kind: str, key: Key, code: str = "") -> PublishedFigure:
        n = int(table.values.get(key, 0))
        hide = key in hidden and n > 0
        return PublishedFigure(
            area_code=area, figure=kind, key=code, value=None if hide else n, suppressed=hide
        )

    for area in areas:
        total = figure(area, "reports", ("n", area))
        if not total.suppressed and area in table.periods:
            total.first_on, total.last_on = table.periods[area]
        yield total
        for theme in sorted(table.themes.get(area, ())):
            if table.values.get(("t", area, theme)):
                yield figure(area, "theme", ("t", area, theme), theme)
        for cell in sorted(table.cells.get(area, ())):
            if table.values.get(("c", area, cell)):
                yield figure(area, "cell", ("c", area, cell), cell)


def latest_batch(*, session: Session) -> PublishBatch | None:
    """The newest published batch, if any."""
    return session.scalar(sa.select(PublishBatch).order_by(PublishBatch.id.desc()).limit(1))


def is_due(*, session: Session, settings: Settings, now: datetime) -> bool:
    """True if no batch was published since the last scheduled hour (``publish_hour``, UTC)."""
    latest = latest_batch(session=session)
    if latest is None:
        return True
    scheduled = now.replace(hour=settings.publish_hour, minute=0, second=0, microsecond=0)
    if scheduled > now:
        scheduled -= timedelta(days=1)
    return latest.published_at < scheduled
