"""The assessment as a chief officer reads it: each stored finding as a sentence, a chart or map,
and a small table. The staff assessment page and the HTML/PDF report are both built from here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h3
import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.analysis.groups import fmt_p
from saferstreets.areas.models import Area
from saferstreets.assessment.models import AnalysisRun
from saferstreets.assessment.service import hotspot_cells, latest_results
from saferstreets.crime.offences import OUTCOME_GROUP_WORDS
from saferstreets.publishing import charts
from saferstreets.publishing.formatting import interval, p_cell, pct, points, zfmt
from saferstreets.publishing.sentences import finding_for, question
from saferstreets.publishing.wording import FEARED_HIGH_CRIME, FEARED_LITTLE_CRIME, Finding
from saferstreets.reports.schemas import AGE_BANDS
from saferstreets.themes.taxonomy import label

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
QUADRANT_COLOURS = {
    "patrol_enforcement": "#b10e1e",
    "design": "#f47738",
    "awareness": "#005ea5",
    "monitor": "#e8e6f3",
}
NO_DATA = "#f4f4f4"
# the map's quadrants split wards at the average ward (z = 0): above or below average, which is
# not "feared" (see wording.FEARED_LITTLE_CRIME for that category's definition)
QUADRANT_LABELS = {
    "patrol_enforcement": "Concern and crime above average: patrol, enforcement",
    "design": "Concern above average, crime below: lighting, sightlines, CCTV",
    "awareness": "Crime above average, concern below: awareness",
    "monitor": "Both below average: monitor",
}


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[list[Any]]

    def __post_init__(self) -> None:
        # Whole numbers are counts: written with thousands separators, as in the sentences.
        self.rows = [
            [f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v for v in row]
            for row in self.rows
        ]


@dataclass
class Section:
    key: str
    title: str
    sentence: str
    figures: list[str] = field(default_factory=list)  # <img> tags with alt text
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quotes: dict[str, list[str]] = field(default_factory=dict)
    finding: Finding | None = None  # the sentence's size, interval and test (wording rules)


def _ranked_chart(ranked: list[dict[str, Any]], title: str, xlabel: str, top: int = 12) -> str:
    """Shares with their intervals, largest first; ``xlabel`` names the denominator."""
    rows = [r for r in ranked if r.get("share") is not None and not r.get("suppressed")][:top]
    if not rows:
        return ""
    svg = charts.bar_intervals(
        [r.get("label") or label(r["code"]) for r in rows],
        [r["share"] for r in rows],
        [r["lower"] for r in rows],
        [r["upper"] for r in rows],
        title=title,
        xlabel=xlabel,
    )
    alt = "; ".join(f"{r.get('label') or label(r['code'])} {pct(r['share'])}" for r in rows)
    return charts.as_img(svg, f"{title}: {alt}")


def _concerns(run: AnalysisRun, ctx: Context) -> Section:
    res = run.result
    section = Section("concerns", "Main concerns", run.summary or "")
    if res.get("ranked"):
        section.figures.append(
            _ranked_chart(
                res["ranked"],
                "Share of respondents naming each concern (95% interval)",
                f"% of the {res.get('n_answered', 0):,} respondents who answered",
            )
        )
    by_age = (res.get("by") or {}).get("age_band") or {}
    top_code = res["ranked"][0]["code"] if res.get("ranked") else None
    if top_code and top_code in by_age:
        comp = by_age[top_code]
        names = dict(AGE_BANDS)  # the report form's codes, in words; survey labels as they are
        rows = [
            [
                names.get(g["group"], g["group"]),
                "suppressed" if g.get("suppressed") else interval(g),
                g.get("n") or "",
            ]
            for g in comp["groups"]
        ]
        test = comp.get("test") or {}
        section.tables.append(
            Table(
                f"{label(top_code)} by age band",
                ["Age band", "Share (95% interval)", "Answered"],
                rows,
            )
        )
        if test.get("test") and test["test"] != "none":
            section.notes.append(
                f"Difference between age bands: {test['test']}, {fmt_p(test['p_value'])}."
                if test.get("p_value") is not None
                else test.get("note", "")
            )
    reports = res.get("reports") or {}
    if reports.get("ranked"):
        section.figures.append(
            _ranked_chart(
                reports["ranked"],
                "Reasons ticked in public reports (95% interval)",
                f"% of the {reports.get('n', 0):,} reports",
            )
        )
    return section


def _feel_safe(run: AnalysisRun, ctx: Context) -> Section:
    res = run.result
    section = Section("feel_safe", "Feeling safe", run.summary or "")
    qs = [q for q in res.get("questions", []) if q.get("unsafe", {}).get("share") is not None]
    if qs:
        ordered = sorted(qs, key=lambda q: (q["when"] != "after_dark", -q["unsafe"]["share"]))
        labels = [
            f"{label(q['setting'])} ({'after dark' if q['when'] == 'after_dark' else 'by day'})"
            for q in ordered
        ]
        svg = charts.bar_intervals(
            labels,
            [q["unsafe"]["share"] for q in ordered],
            [q["unsafe"]["lower"] for q in ordered],
            [q["unsafe"]["upper"] for q in ordered],
            title="Feel very or fairly unsafe (95% interval)",
            xlabel="% of those who answered each question (numbers in the table below)",
            highlight=None,
        )
        section.figures.append(
            charts.as_img(
                svg,
                "Share feeling unsafe: "
                + "; ".join(
                    f"{lab} {pct(q['unsafe']['share'])}"
                    for lab, q in zip(labels, ordered, strict=True)
                ),
            )
        )
        section.tables.append(
            Table(
                "Share feeling very or fairly unsafe",
                ["Question", "Unsafe (95% interval)", "Answered"],
                [
                    [lab, interval(q["unsafe"]), q["n"]]
                    for lab, q in zip(labels, ordered, strict=True)
                ],
            )
        )
    return section


def _who(run: AnalysisRun, ctx: Context) -> Section:
    res = run.result
    section = Section("who", "Who feels unsafe", run.summary or "")
    stage = (res.get("by_life_stage") or {}).get("feel_unsafe") or {}
    rows = []
    for key, comp in stage.items():
        cells = {
            g["group"]: ("suppressed" if g.get("suppressed") else interval(g))
            for g in comp.get("groups", [])
        }
        test = comp.get("test") or {}
        p = test.get("p_value")
        rows.append(
            [
                _question(key),
                cells.get("girls", "–"),
                cells.get("women", "–"),
                p_cell(p),
            ]
        )
    if rows:
        section.tables.append(
            Table(
                "Feel unsafe: girls (under 18) and women", ["Question", "Girls", "Women", "p"], rows
            )
        )
    return section


def _when_reports(run: AnalysisRun, ctx: Context) -> Section:
    res = run.result
    section = Section("when_reports", "When: reports by day and hour", run.summary or "")
    counts = res.get("counts")
    if counts and res.get("n_timed"):
        nte = res.get("nte_window") or {}
        outline = []
        names = list(res.get("weekdays") or WEEKDAYS)
        nights = [
            names.index(n) if isinstance(n, str) else int(n) for n in nte.get("nights", [4, 5])
        ]
        start, end = nte.get("start_hour", 20), nte.get("end_hour", 4)
        for night in nights:
            for hour in range(start, 24):
                outline.append((night, hour))
            for hour in range(0, end):
                outline.append(((night + 1) % 7, hour))
        svg = charts.heatmap(
            counts,
            list(WEEKDAYS),
            [f"{h:02d}" for h in range(24)],
            title="Reports by weekday and hour (night-time economy outlined)",
            colorbar_label="reports",
            outline=outline,
        )
        section.figures.append(
            charts.as_img(svg, "Heat map of reports by weekday and hour: " + (run.summary or ""))
        )
    return section


def _when_crime(run: AnalysisRun, ctx: Context) -> Section:
    res = run.result
    section = Section("when_crime", "When: recorded crime by month", run.summary or "")
    if res.get("months"):
        months = [_month_label(m) for m in res["months"]]
        svg = charts.lines(
            months,
            {"Women's-safety crimes": res["counts"]},
            title="Recorded crime by month",
            ylabel="crimes",
        )
        counts = list(res["counts"])
        peak = max(range(len(counts)), key=lambda i: counts[i]) if counts else 0
        alt = "Line chart of recorded crime by month"
        if counts:
            alt += (
                f": {counts[0]:,} in {months[0]}, {counts[-1]:,} in {months[-1]}, "
                f"most ({counts[peak]:,}) in {months[peak]}"
            )
        section.figures.append(charts.as_img(svg, alt))
    if res.get("note"):
        section.notes.append(res["note"])
    return section


def _question(key: str) -> str:
    """ "after_dark.park" -> "In parks and open spaces after dark"."""
    text = question(key)
    return text[:1].upper() + text[1:]


def _month_label(month: str) -> str:
    """ "2021-10" -> "Oct 21"."""
    names = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    try:
        year, mon = month.split("-")[:2]
        return f"{names[int(mon) - 1]} {year[2:]}"
    except (ValueError, IndexError):
        return month


def _themes(run: AnalysisRun, ctx: Context) -> Section:
    res = run.result
    section = Section("themes", "Themes in people's own words", run.summary or "")
    reports = res.get("report") or {}
    if reports.get("ranked"):
        section.figures.append(
            _ranked_chart(
                reports["ranked"],
                "Themes found in the words of public reports (95% interval)",
                f"% of the {reports.get('n_texts', 0):,} reports with words",
            )
        )
        if ctx.quotes:
            for row in reports["ranked"][:5]:
                quotes = ctx.quotes(row["code"])
                if quotes:
                    section.quotes[row.get("label") or label(row["code"])] = quotes
    return section


def _hotspots(run: AnalysisRun, ctx: Context, what: str) -> Section:
    res = run.result
    section = Section(run.kind, f"Where: hot spots of {what}", run.summary or "")
    cells = [c for c in ctx.cells(run.id) if c.klass != 0]
    if cells:
        features, colours = [], []
        for c in cells:
            ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(c.cell)]
            features.append({"geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}})
            colours.append(charts.HOTSPOT_COLOURS[c.klass])
        base = ctx.ward_features()
        svg = charts.area_map(
            base + features,
            colours=["#eeedf5"] * len(base) + colours,
            title=f"Hot and cold spots of {what} (false discovery rate 5%)",
            legend={
                charts.HOTSPOT_LABELS[k]: charts.HOTSPOT_COLOURS[k] for k in (3, 2, 1, -1, -2, -3)
            },
        )
        by_class = Counter(c.klass for c in cells)
        shown = "; ".join(
            f"{by_class[k]:,} cells {charts.HOTSPOT_LABELS[k].lower()}"
            for k in (3, 2, 1, -1, -2, -3)
            if by_class.get(k)
        )
        hottest = sorted((c for c in cells if c.klass > 0), key=lambda c: -c.klass)[:30]
        wards = sorted({w for c in hottest if (w := ctx.ward_of_cell(c.cell))})
        alt = f"Map of hot and cold spots of {what}: {shown}".replace(" cells ", " areas ")
        if wards:
            alt += f"; hot spots in {', '.join(wards[:10])}"
        section.figures.append(charts.as_img(svg, alt))
    classes = res.get("classes") or {}
    if classes:
        section.tables.append(
            Table(
                "Small areas by class",
                ["Class", "Areas"],
                [
                    [charts.HOTSPOT_LABELS[int(k)], v]
                    for k, v in sorted(classes.items(), key=lambda kv: -int(kv[0]))
                    if v
                ],
            )
        )
    # A cell's z is None where Gi* is undefined (no variance among its neighbours): not a hot spot.
    top = [t for t in res.get("top") or [] if t.get("z") is not None]
    if top:
        names = ctx.cell_names([t["cell"] for t in top[:10]])
        section.tables.append(
            Table(
                "The strongest hot spots",
                ["Where", "Count", "Gi* z-score"],
                [
                    [
                        names.get(t["cell"]) or ctx.ward_of_cell(t["cell"]) or "unnamed area",
                        t["count"],
                        f"{t['z']:.1f}",
                    ]
                    for t in top[:10]
                ],
            )
        )
    return section


def _emerging(run: AnalysisRun, ctx: Context) -> Section:
    res = run.result
    what = "reports" if run.kind.endswith("reports") else "recorded crime"
    section = Section(run.kind, f"Emerging hot spots of {what}", run.summary or "")
    cats = {k: v for k, v in (res.get("categories") or {}).items() if v}
    if cats:
        section.tables.append(
            Table(
                "Small areas by pattern over the months",
                ["Pattern", "Areas"],
                [[k.replace("_", " "), v] for k, v in sorted(cats.items(), key=lambda kv: -kv[1])],
            )
        )
    return section


def _fusion(run: AnalysisRun, ctx: Context) -> Section:
    res = run.result
    section = Section("fusion", "Fear against recorded crime", run.summary or "")
    wards = (res.get("wards") or {}).get("areas") or []
    if wards:
        by_code = {w["code"]: w for w in wards}
        feats, colours = [], []
        for area in ctx.wards():
            row = by_code.get(area.code)
            feats.append({"geometry": area.display_geometry or area.geometry})
            # a ward too thin to place ("unknown") is drawn as one with no data
            colours.append(QUADRANT_COLOURS.get(row["response"], NO_DATA) if row else NO_DATA)
        legend = {QUADRANT_LABELS[k]: QUADRANT_COLOURS[k] for k in QUADRANT_COLOURS}
        if NO_DATA in colours:
            legend["Too few answers or crimes to place"] = NO_DATA
        svg = charts.area_map(
            feats,
            colours=colours,
            title="Wards by concern and recorded crime, against the average ward",
            legend=legend,
        )
        groups = {k: [w["name"] for w in wards if w["response"] == k] for k in QUADRANT_LABELS}
        alt = "Map of wards coloured by the response their quadrant suggests: " + "; ".join(
            f"{QUADRANT_LABELS[k]}: {', '.join(names[:8])}{' and others' if len(names) > 8 else ''}"
            for k, names in groups.items()
            if names
        )
        section.figures.append(charts.as_img(svg, alt))
        for category, key in ((FEARED_LITTLE_CRIME, "concern_z"), (FEARED_HIGH_CRIME, "crime_z")):
            members = sorted(category.members(wards), key=lambda w: -w[key])[:10]
            section.notes.append(category.stated())
            if members:
                section.tables.append(
                    Table(
                        f"Wards {category.name}",
                        ["Ward", "Concern (z)", "Crime (z)"],
                        [[w["name"], zfmt(w["concern_z"]), zfmt(w["crime_z"])] for w in members],
                    )
                )
            else:
                section.notes.append("No ward meets this definition.")
    section.notes.append(
        "Recorded crime undercounts harassment and sexual offences, "
        "so 'feared, little recorded crime' "
        "may be hidden crime; design fixes help either way."
    )
    return section


def _outcomes(run: AnalysisRun, ctx: Context) -> Section:
    res = run.result
    section = Section(
        "outcomes",
        "Pursuing offenders: outcomes of violence and sexual offences",
        run.summary or "",
    )
    areas = [a for a in res.get("by_area", []) if not a.get("suppressed")]
    groups = res.get("groups") or []
    charged_key = next((g for g in groups if "charged" in g), None)
    if areas and charged_key:
        rows = [
            a
            for a in areas
            if isinstance(a.get(charged_key), dict) and a[charged_key].get("share") is not None
        ]
        names = [
            ctx.area_name(a["code"]) if a["code"] != "unknown" else "No district (no location)"
            for a in rows
        ]
        svg = charts.bar_intervals(
            names,
            [a[charged_key]["share"] for a in rows],
            [a[charged_key]["lower"] for a in rows],
            [a[charged_key]["upper"] for a in rows],
            title="Charged or summonsed, by district (95% interval)",
            xlabel="% of crimes with an outcome",
            highlight=None,
        )
        shares = "; ".join(
            f"{n} {pct(a[charged_key]['share'])}" for n, a in zip(names, rows, strict=True)
        )
        alt = f"Share charged or summonsed by district: {shares}"
        section.figures.append(charts.as_img(svg, alt))
    overall = res.get("overall") or {}
    if groups and overall:
        section.tables.append(
            Table(
                "Latest outcome, all districts",
                ["Outcome", "Share (95% interval)", "Crimes"],
                [
                    [OUTCOME_GROUP_WORDS.get(g, g), interval(overall[g]), overall[g].get("count")]
                    for g in groups
                    if isinstance(overall.get(g), dict)
                ],
            )
        )
    return section


def _waves(run: AnalysisRun, ctx: Context) -> Section:
    res = run.result
    section = Section("waves", "Change since the last survey", run.summary or "")
    comps = [c for c in res.get("comparisons", []) if c.get("difference") is not None]
    feel = [c for c in comps if c["measure"] == "feel_unsafe"]
    if feel:
        section.tables.append(
            Table(
                f"Feel unsafe: {res['latest']['name']} against {res['previous']['name']}",
                ["Question", "Before", "Now", "Change (95% interval)", "p"],
                [
                    [
                        _question(c["key"]),
                        pct(c["p2"]),
                        pct(c["p1"]),
                        f"{points(c['difference'])} points "
                        f"({points(c['lower'])} to {points(c['upper'])})",
                        p_cell(c["p_value"]),
                    ]
                    for c in feel
                ],
            )
        )
    return section


@dataclass
class Context:
    """Look-ups the sections share (lazy, so a page that needs no map reads no geometry)."""

    session: Session
    quotes: Callable[[str], list[str]] | None = None
    _wards: list[Area] | None = None
    _names: dict[str, str] | None = None

    def wards(self) -> list[Area]:
        if self._wards is None:
            self._wards = list(
                self.session.scalars(sa.select(Area).where(Area.kind == "ward").order_by(Area.code))
            )
        return self._wards

    def ward_features(self) -> list[dict[str, Any]]:
        return [{"geometry": a.display_geometry or a.geometry} for a in self.wards()]

    def area_name(self, code: str) -> str:
        if self._names is None:
            rows = self.session.execute(sa.select(Area.code, Area.name)).all()
            self._names = {code: name for code, name in rows}
        return self._names.get(code, code)

    def cells(self, run_id: int) -> list[Any]:
        return hotspot_cells(session=self.session, run_id=run_id)

    def cell_names(self, cells: list[str]) -> dict[str, str]:
        """A name for each cell from the gazetteer and the wards ("near Mill Lane, Northgate")."""
        from saferstreets.places.naming import describe_cells

        return describe_cells(session=self.session, cells=cells)

    def ward_of_cell(self, cell: str) -> str:
        from saferstreets.reports.models import Report

        code = self.session.scalar(
            sa.select(Report.ward_code).where(Report.h3_cell == cell).limit(1)
        )
        if code is None:
            from saferstreets.crime.models import Crime

            code = self.session.scalar(
                sa.select(Crime.ward_code).where(Crime.h3_cell == cell).limit(1)
            )
        return self.area_name(code) if code else ""


BUILDERS: list[tuple[str, Callable[..., Section]]] = [
    ("concerns", _concerns),
    ("feel_safe", _feel_safe),
    ("who", _who),
    ("themes", _themes),
    ("when_reports", _when_reports),
    ("when_crime", _when_crime),
    ("hotspots_reports", lambda run, ctx: _hotspots(run, ctx, "public reports")),
    ("hotspots_crime", lambda run, ctx: _hotspots(run, ctx, "women's-safety crime")),
    ("emerging_reports", _emerging),
    ("emerging_crime", _emerging),
    ("fusion", _fusion),
    ("outcomes", _outcomes),
    ("waves", _waves),
]


def build_sections(
    *, session: Session, with_quotes: bool = True, quoted: list[dict[str, Any]] | None = None
) -> tuple[list[Section], dict[str, AnalysisRun]]:
    """Every stored finding, in reading order, ready for a page or a report; ``quoted``, if
    given, gets the record each quote shown comes from (for the audit trail)."""
    results = latest_results(session=session)
    quotes = None
    if with_quotes:
        from saferstreets.themes.service import quotes_for_theme

        def quotes(theme: str) -> list[str]:
            return quotes_for_theme(session=session, theme=theme, limit=2, sources=quoted)

    ctx = Context(session=session, quotes=quotes)
    sections = []
    for kind, builder in BUILDERS:
        run = results.get(kind)
        if run is not None:
            section = builder(run, ctx)
            section.figures = [f for f in section.figures if f]
            section.finding = finding_for(kind, run.result, run.params or {}, ctx.cell_names)
            if section.finding is not None:
                section.sentence = section.finding.text
            sections.append(section)
    return sections, results
