"""The analyst's workspace as the page shows it and as it downloads: tables (CSV and XLSX),
charts (SVG) and map layers (GeoJSON), all from one :class:`~saferstreets.assessment.workspace.
Workspace` so that a download always holds what the page showed for the same filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import h3
from sqlalchemy.orm import Session

from saferstreets.assessment.cache import assessment_stamp, data_stamp, remember
from saferstreets.assessment.filters import WorkspaceFilter
from saferstreets.assessment.workspace import (
    WEEKDAYS,
    CrimeCounts,
    Workspace,
    compute_workspace,
    crime_counts,
    crime_key,
)
from saferstreets.config import Settings
from saferstreets.exports import safe_cell
from saferstreets.places.naming import describe_cells
from saferstreets.publishing import charts
from saferstreets.publishing.formatting import interval, p_cell, pct, zfmt

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class WsTable:
    """One table: ``header``/``rows`` are the plain values a download holds; ``shown`` the
    formatted rows the page shows (``shown_header`` its columns)."""

    key: str
    caption: str
    header: list[str]
    rows: list[list[Any]]
    shown_header: list[str]
    shown: list[list[Any]]


@dataclass
class WsChart:
    key: str
    alt: str


def _ranked_table(key: str, caption: str, what: str, rows: list[dict[str, Any]], k: int) -> WsTable:
    def share(r: dict[str, Any], name: str) -> Any:
        return None if r["suppressed"] or r[name] is None else round(r[name], 6)

    plain = [
        [
            r["label"],
            r["code"],
            r["count"],
            r["n"],
            share(r, "share"),
            share(r, "lower"),
            share(r, "upper"),
            "yes" if r["suppressed"] else "no",
        ]
        for r in rows
    ]
    shown = [
        [r["label"], f"{r['count']:,}", f"fewer than {k}" if r["suppressed"] else interval(r)]
        for r in rows
    ]
    return WsTable(
        key,
        caption,
        ["label", "code", what, "out_of", "share", "lower_95", "upper_95", "fewer_than_k"],
        plain,
        ["", what.capitalize(), "Share (95% interval)"],
        shown,
    )


def month_label(month: Any) -> str:
    return f"{MONTHS[month.month - 1]} {month.year}"


def tables(ws: Workspace, names: dict[str, str]) -> dict[str, WsTable]:
    """Every table of the workspace by key; ``names`` names the hot-spot cells."""
    k = ws.k
    out = {
        "reasons": _ranked_table(
            "reasons",
            f"Reasons ticked in {ws.n_reports:,} public reports",
            "reports",
            ws.reasons,
            k,
        ),
        "concerns": _ranked_table(
            "concerns",
            f"Concerns named by {ws.n_answered:,} survey respondents",
            "respondents",
            ws.concerns,
            k,
        ),
        "themes": _ranked_table(
            "themes",
            f"Themes in {ws.n_texts:,} free texts (analysts' corrections applied)",
            "texts",
            ws.themes,
            k,
        ),
    }
    out["wards"] = WsTable(
        "wards",
        "Reports, survey respondents and recorded crime by ward",
        ["ward", "code", "reports", "survey_respondents", "crimes"],
        [[w["name"], w["code"], w["reports"], w["respondents"], w["crimes"]] for w in ws.wards],
        ["Ward", "Reports", "Respondents", "Crimes"],
        [
            [w["name"], f"{w['reports']:,}", f"{w['respondents']:,}", f"{w['crimes']:,}"]
            for w in ws.wards
        ],
    )
    out["months"] = WsTable(
        "months",
        "Reports and recorded crime by month (months with any)",
        ["month", "reports", "crimes"],
        [[m["month"].strftime("%Y-%m"), m["reports"], m["crimes"]] for m in ws.months],
        ["Month", "Reports", "Crimes"],
        [
            [month_label(m["month"]), f"{m['reports']:,}", _crimes_cell(ws, m)]
            for m in ws.months
            if m["reports"] or m["crimes"]
        ],  # months with none: the download
    )
    out["when"] = WsTable(
        "when",
        "Reports by weekday and hour",
        ["weekday", *[f"{h:02d}" for h in range(24)]],
        [[day, *row] for day, row in zip(WEEKDAYS, ws.when, strict=True)],
        ["Day", *[f"{h:02d}" for h in range(24)]],
        [[day, *row] for day, row in zip(WEEKDAYS, ws.when, strict=True)],
    )
    out["hotspots"] = WsTable(
        "hotspots",
        "Hot and cold spots of reports (Gi*, FDR-corrected)",
        ["where", "cell", "reports", "z", "p", "q", "class"],
        [
            [
                names.get(h["cell"], ""),
                h["cell"],
                h["reports"],
                round(h["z"], 4),
                h["p"],
                h["q"],
                charts.HOTSPOT_LABELS[h["klass"]],
            ]
            for h in ws.hotspots
        ],
        ["Where", "Reports", "z", "q", "Class"],
        [
            [
                names.get(h["cell"], h["cell"]),
                f"{h['reports']:,}",
                zfmt(h["z"]),
                p_cell(h["q"]),
                charts.HOTSPOT_LABELS[h["klass"]],
            ]
            for h in ws.hotspots[:15]
        ],
    )
    return out


def _crimes_cell(ws: Workspace, month: dict[str, Any]) -> str:
    """A month's recorded crime, or why there is no figure: police.uk publishes a month some
    weeks after it ends, and the store holds the months that were imported."""
    if month["crimes"] is not None:
        return f"{month['crimes']:,}"
    if ws.crime_published and month["month"] > ws.crime_published[1]:
        return "not yet published"
    return "not imported"


def _crime_span(ws: Workspace) -> str:
    if ws.crime_published is None:
        return "no recorded crime imported"
    first, last = ws.crime_published
    return f"recorded crime {month_label(first)} to {month_label(last)}, police.uk's months"


def chart_alts(ws: Workspace) -> dict[str, str]:
    """The charts the page shows (key -> alt text saying what each shows)."""
    out: dict[str, str] = {}
    for key, rows, title in (
        ("reasons", ws.reasons, "Reasons ticked in public reports"),
        ("concerns", ws.concerns, "Concerns named by survey respondents"),
        ("themes", ws.themes, "Themes found in free text"),
    ):
        shown = [r for r in rows if not r["suppressed"]][:12]
        if shown:
            out[key] = f"{title}: " + "; ".join(f"{r['label']} {pct(r['share'])}" for r in shown)
    if ws.n_timed:
        busiest = max(
            ((d, h) for d in range(7) for h in range(24)), key=lambda dh: ws.when[dh[0]][dh[1]]
        )
        out["when"] = (
            f"Heat map of {ws.n_timed:,} reports by weekday and hour: most on "
            f"{WEEKDAYS[busiest[0]]} at {busiest[1]:02d}:00 ({ws.when[busiest[0]][busiest[1]]:,})"
        )
    if ws.months:
        top = max(ws.months, key=lambda m: (m["crimes"] or 0) + m["reports"])
        out["months"] = (
            f"Lines of reports and recorded crime by month, {month_label(ws.months[0]['month'])} "
            f"to {month_label(ws.months[-1]['month'])} ({_crime_span(ws)}): busiest "
            f"{month_label(top['month'])} ({top['reports']:,} reports, crimes "
            f"{_crimes_cell(ws, top)})"
        )
    return out


def chart_svg(ws: Workspace, key: str) -> str | None:
    """One chart as SVG (the one chart path: :mod:`saferstreets.publishing.charts`)."""
    if key in ("reasons", "concerns", "themes"):
        rows = [r for r in getattr(ws, key) if not r["suppressed"] and r["share"] is not None][:12]
        if not rows:
            return None
        denominators = {
            "reasons": "reports",
            "concerns": "respondents who named a concern",
            "themes": "free texts",
        }
        return charts.bar_intervals(
            [r["label"] for r in rows],
            [r["share"] for r in rows],
            [r["lower"] for r in rows],
            [r["upper"] for r in rows],
            title=f"Share of {rows[0]['n']:,} {denominators[key]} (95% interval)",
            xlabel=f"% of {denominators[key]}",
            highlight=None,
        )
    if key == "when" and ws.n_timed:
        return charts.heatmap(
            ws.when,
            list(WEEKDAYS),
            [f"{h:02d}" for h in range(24)],
            title=f"Reports by weekday and hour ({ws.n_timed:,} with an hour)",
            colorbar_label="reports",
        )
    if key == "months" and ws.months:
        return charts.lines(
            [month_label(m["month"]) for m in ws.months],
            {
                "Public reports": [m["reports"] for m in ws.months],
                "Women's-safety crimes": [m["crimes"] for m in ws.months],
            },
            title="Reports and recorded crime by month (counts, axis from zero)",
            note=f"Gaps: no police.uk figure for the month ({_crime_span(ws)})"
            if any(m["crimes"] is None for m in ws.months)
            else "",
            ylabel="count",
        )
    return None


# ---------------------------------------------------------------------------------------------
# map layers


def _polygon(cell: str) -> dict[str, Any]:
    ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


LAYERS = ("hotspots", "cells", "issues")


def layer(ws: Workspace, key: str, names: dict[str, str]) -> dict[str, Any]:
    """One map layer as a GeoJSON FeatureCollection (lon/lat, EPSG:4326)."""
    features: list[dict[str, Any]] = []
    if key == "hotspots":
        for h in ws.hotspots:
            props = {
                "cell": h["cell"],
                "where": names.get(h["cell"], ""),
                "reports": h["reports"],
                "z": round(h["z"], 4),
                "q": h["q"],
                "class": h["klass"],
                "label": charts.HOTSPOT_LABELS[h["klass"]],
                "colour": charts.HOTSPOT_COLOURS[h["klass"]],
            }
            features.append(
                {"type": "Feature", "geometry": _polygon(h["cell"]), "properties": props}
            )
    elif key == "cells":
        for c in ws.cells:
            features.append(
                {
                    "type": "Feature",
                    "geometry": _polygon(c["cell"]),
                    "properties": {"cell": c["cell"], "reports": c["reports"]},
                }
            )
    elif key == "issues":
        for i in ws.issues:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [i["longitude"], i["latitude"]]},
                    "properties": {
                        "id": i["id"],
                        "title": i["title"],
                        "stage": i["stage"],
                        "ward": i["ward"],
                    },
                }
            )
    for f in features:  # text a spreadsheet could run, made safe as in the CSV downloads
        f["properties"] = {k: safe_cell(v) for k, v in f["properties"].items()}
    return {
        "type": "FeatureCollection",
        "name": key,
        "filter": ws.flt.params(),
        "features": features,
    }


# ---------------------------------------------------------------------------------------------
# kept between requests


@dataclass
class View:
    """A workspace with the names of its hot-spot cells, as kept in the cache."""

    ws: Workspace
    names: dict[str, str]
    stamp: tuple[Any, ...]


def workspace_view(*, session: Session, flt: WorkspaceFilter, settings: Settings) -> View:
    """The workspace for a resolved filter, from the cache when nothing it counts has changed."""
    stamp = (assessment_stamp(session=session), data_stamp(session=session))

    def crime() -> CrimeCounts:
        return crime_counts(session=session, flt=flt, settings=settings)

    def compute() -> View:
        known = remember(("crime", stamp, crime_key(flt), settings.crime_counting), crime)
        ws = compute_workspace(session=session, flt=flt, settings=settings, crime=known)
        names = describe_cells(session=session, cells=[h["cell"] for h in ws.hotspots[:50]])
        return View(ws, names, stamp)

    key = ("workspace", stamp, flt.key(), settings.public_min_count, settings.crime_counting)
    return remember(key, compute)


def chart_for(view: View, key: str) -> str | None:
    """A chart's SVG, drawn once per workspace view."""
    return remember(("chart", view.stamp, view.ws.flt.key(), key), lambda: chart_svg(view.ws, key))
