"""The analyst's workspace: the assessment's counts on a filtered subset, aggregated in the store.

Every figure here is counted in SQL, never one record at a time in Python. The whole force and
a district or ward (no dates, age, theme or reason) are sums over ``report_tally``, the reports
counted once per change by the writers (:mod:`saferstreets.reports.tally`); any other filter
is a ``GROUP BY`` over ``ix_report_workspace`` (reports by reasons and themes in force, by day
and hour, by ward and H3 cell); survey respondents by concerns named and themes; recorded crime
by month and ward. Shares carry Wilson 95% intervals
(:func:`saferstreets.analysis.proportions.proportion`) and the Gi* hot spots are the analytic
statistic of :class:`saferstreets.analysis.hotspots.GiStar` on the filtered counts.
:mod:`saferstreets.assessment.cache` keeps the result between requests.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.actions.models import LocalIssue
from saferstreets.analysis.hotspots import GiStar, H3Weights
from saferstreets.analysis.inputs import cell_at
from saferstreets.analysis.proportions import proportion, suppress
from saferstreets.areas.models import Area
from saferstreets.assessment.filters import (
    WorkspaceFilter,
    crime_conditions,
    report_conditions,
    response_conditions,
)
from saferstreets.config import Settings
from saferstreets.crime.models import Crime
from saferstreets.crime.service import counted
from saferstreets.errors import ValidationFailed
from saferstreets.reports import tally
from saferstreets.reports.models import Report, ReportTally
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.themes.inforce import had_text
from saferstreets.themes.taxonomy import label

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_MONTHS = 240  # months filled in between (twenty years); a wider span keeps its gaps


@dataclass
class Workspace:
    """What the workspace shows for one filter: counts, ranked shares, grids and layers.

    Ranked rows are ``{code, label, count, n, share, lower, upper, suppressed}`` (shares of
    fewer than ``k`` people are flagged, as the stored findings flag them).
    """

    flt: WorkspaceFilter
    k: int
    resolution: int
    n_reports: int = 0
    n_respondents: int = 0
    n_answered: int = 0
    n_crimes: int = 0
    reasons: list[dict[str, Any]] = field(default_factory=list)
    concerns: list[dict[str, Any]] = field(default_factory=list)
    themes: list[dict[str, Any]] = field(default_factory=list)
    n_texts: int = 0
    wards: list[dict[str, Any]] = field(default_factory=list)
    when: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in WEEKDAYS])
    n_timed: int = 0
    months: list[dict[str, Any]] = field(default_factory=list)  # crimes None: not published
    crime_published: tuple[date, date] | None = None  # police.uk's months in the store
    cells: list[dict[str, Any]] = field(default_factory=list)
    hotspots: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Choices:
    """What the filter form offers: districts and wards, survey waves."""

    districts: list[tuple[str, str]]
    wards: list[tuple[str, str, str]]  # code, name, district name
    waves: list[tuple[int, str]]


def filter_choices(*, session: Session) -> Choices:
    """The areas and survey waves the filter form lists."""
    areas = session.execute(
        sa.select(Area.code, Area.name, Area.kind, Area.parent_code)
        .where(Area.kind.in_(("district", "ward")))
        .order_by(Area.name)
    ).all()
    districts = [(a.code, a.name) for a in areas if a.kind == "district"]
    names = dict(districts)
    wards = [
        (a.code, a.name, names.get(a.parent_code or "", "")) for a in areas if a.kind == "ward"
    ]
    waves = [
        (int(i), str(n))
        for i, n in session.execute(
            sa.select(SurveyWave.id, SurveyWave.name).order_by(SurveyWave.id)
        )
    ]
    return Choices(districts, wards, waves)


def resolve_filter(*, session: Session, flt: WorkspaceFilter) -> WorkspaceFilter:
    """The filter with its area's kind found (a code that is no district or ward is refused)."""
    from dataclasses import replace

    if flt.area:
        kind = session.scalar(sa.select(Area.kind).where(Area.code == flt.area))
        if kind not in ("district", "ward"):
            raise ValidationFailed(
                f"{flt.area!r} is not a district or ward", field_errors={"area": "not an area"}
            )
        flt = replace(flt, area_kind=kind)
    if flt.wave_id is not None and session.get(SurveyWave, flt.wave_id) is None:
        raise ValidationFailed("There is no such survey wave", field_errors={"source": "no wave"})
    return flt


# ---------------------------------------------------------------------------------------------
# what the tally answers


def tallied(flt: WorkspaceFilter) -> bool:
    """Whether ``report_tally`` answers this filter's report counts: the whole force, or one
    district or ward (the tally is kept by ward and district, not by day, age or code)."""
    return flt.wants_reports and not any((flt.start, flt.end, flt.age, flt.theme, flt.reason))


# ---------------------------------------------------------------------------------------------
# the counts


def _ranked(groups: list[tuple[Any, int]], n: int, k: int) -> list[dict[str, Any]]:
    """Codes ranked by how many named them, from (list of codes, people) groups."""
    counts: Counter[str] = Counter()
    for codes, people in groups:
        for code in set(codes or ()):
            counts[str(code)] += int(people)
    rows = []
    for code, count in counts.items():
        row = {"code": code, "label": label(code), **proportion(count, n).as_dict()}
        row["suppressed"] = suppress(count, n, k)
        rows.append(row)
    rows.sort(key=lambda r: (-r["count"], r["code"]))
    return rows


@dataclass
class ReportCounts:
    """The filtered reports' counts, from the tally or from ``GROUP BY``: the same either way."""

    n: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    texts: int = 0
    themes: Counter[str] = field(default_factory=Counter)
    when: Counter[tuple[int, int]] = field(default_factory=Counter)  # (weekday, hour)
    months: Counter[date] = field(default_factory=Counter)
    wards: Counter[str] = field(default_factory=Counter)
    cells: Counter[str] = field(default_factory=Counter)  # stored cells, any resolution

    def __iadd__(self, other: ReportCounts) -> ReportCounts:
        self.n += other.n
        self.texts += other.texts
        self.reasons.update(other.reasons)
        self.themes.update(other.themes)
        self.when.update(other.when)
        self.months.update(other.months)
        self.wards.update(other.wards)
        self.cells.update(other.cells)
        return self


def _from_tally(session: Session, flt: WorkspaceFilter) -> ReportCounts:
    """Sums over ``report_tally`` (:func:`tallied` filters): 14,194 rows at 1,000,000 reports
    in the benchmark's store, not a scan of the reports; plus the few reports the tally does
    not hold yet, counted live (``reports.tally.fold`` adds them every minute)."""
    out = _tally_sums(session, flt)
    out += _live(session, [*report_conditions(flt), tally.untallied_ids()])
    return out


def _tally_sums(session: Session, flt: WorkspaceFilter) -> ReportCounts:
    t = ReportTally
    where: list[Any] = [t.kind != "changes"]
    if flt.area:
        column = t.district_code if flt.area_kind == "district" else t.ward_code
        where.append(column == flt.area)
    out = ReportCounts()
    for kind, code, n in session.execute(
        sa.select(t.kind, t.code, sa.func.sum(t.n)).where(*where).group_by(t.kind, t.code)
    ):
        _tally_row(out, str(kind), str(code), int(n))
    for ward, n in session.execute(
        sa.select(t.ward_code, sa.func.sum(t.n))
        .where(*where, t.kind == "reports", t.ward_code != "")
        .group_by(t.ward_code)
    ):
        out.wards[str(ward)] += int(n)
    return out


def _tally_row(out: ReportCounts, kind: str, code: str, n: int) -> None:
    if kind == "reports":
        out.n += n
    elif kind == "texts":
        out.texts += n
    elif kind == "reason":
        out.reasons[code] += n
    elif kind == "theme":
        out.themes[code] += n
    elif kind == "when":
        weekday, hour = code.split("-")
        out.when[(int(weekday), int(hour))] += n
    elif kind == "month":
        out.months[date.fromisoformat(code)] += n
    elif kind == "cell":
        out.cells[code] += n


def _live(session: Session, where: list[Any], *, themed: bool = False) -> ReportCounts:
    """The same counts for any other filter, by ``GROUP BY`` over ``ix_report_workspace`` (or
    ``ix_report_workspace_age``): each count is aggregated in the store, never row by row in
    Python (one read of the matching rows into Python took 39 s for 400,000 of them).

    ``themed``: ``where`` keeps only reports holding a theme in force, so every one has (or
    had) words (:func:`_by_reasons_and_themes`)."""
    r = Report
    out = ReportCounts()
    _room_to_group(session)
    for reasons, themes, texted, n in _by_reasons_and_themes(session, where, themed):
        out.n += int(n)
        out.reasons.update(dict.fromkeys(set(reasons or ()), int(n)))
        if texted:
            out.texts += int(n)
            out.themes.update(dict.fromkeys(set(themes or ()), int(n)))
    for day, hour, n in session.execute(
        sa.select(r.occurred_on, r.occurred_hour, sa.func.count())
        .where(*where, r.occurred_on.is_not(None))
        .group_by(r.occurred_on, r.occurred_hour)
    ):
        assert day is not None  # the query keeps dated reports only
        out.months[day.replace(day=1)] += int(n)
        if hour is not None:
            out.when[(day.weekday(), int(hour))] += int(n)
    # grouped by ``ward || ''`` (the same value, NULL kept), not the bare columns: SQLite would
    # otherwise follow ``ix_report_ward_code`` for the order and read every report's row (a
    # theme filter without dates: 3.7 s at 1,000,000 reports), not the filter's index
    places = [column.op("||")(sa.literal_column("''")) for column in (r.ward_code, r.h3_cell)]
    by_place: Any = sa.select(*places, sa.func.count()).where(*where).group_by(*places)
    for ward, cell, n in session.execute(by_place):
        if ward is not None:
            out.wards[str(ward)] += int(n)
        if cell:
            out.cells[str(cell)] += int(n)
    return out


def _room_to_group(session: Session) -> None:
    """PostgreSQL: memory for this transaction's grouping (``work_mem`` 64 MB, not 4 MB), so
    some 60,000 reasons-and-themes groups are hashed in memory, not sorted on disk (the theme
    and dates filter at 1,000,000 reports: 0.78 to 0.29 s for that query)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL work_mem = '64MB'"))


def _by_reasons_and_themes(session: Session, where: list[Any], themed: bool) -> Any:
    """(reasons, themes, had words, reports) groups of the filtered reports.

    SQLite (3.40) reads the table row of every index entry whose generated column it needs, so
    grouping by ``had_text`` reads each matching report's wide row (0.3 s of the theme filter
    at 1,000,000 reports). Under a theme filter it is not needed: only a text with words gets
    themes (the model scores and an analyst labels only those, ``themes.service``) and
    retention keeps ``had_text`` when it removes the words (tests/reports/test_tally.py checks
    it after every writer), so every matching report had words and the index alone answers."""
    r = Report
    if themed:
        return session.execute(
            sa.select(r.reasons, r.themes, sa.true(), sa.func.count())
            .where(*where)
            .group_by(r.reasons, r.themes)
        )
    return session.execute(
        sa.select(r.reasons, r.themes, r.had_text, sa.func.count())
        .where(*where)
        .group_by(r.reasons, r.themes, r.had_text)
    )


def _reports(ws: Workspace, counts: ReportCounts) -> None:
    ws.n_reports = counts.n
    ws.reasons = _ranked([([c], n) for c, n in counts.reasons.items()], counts.n, ws.k)
    for (weekday, hour), n in counts.when.items():
        ws.when[weekday][hour] += n
        ws.n_timed += n
    ws.months = [{"month": m, "reports": n, "crimes": 0} for m, n in sorted(counts.months.items())]
    by_cell: Counter[str] = Counter()
    for stored, n in counts.cells.items():
        cell = cell_at(None, None, stored, ws.resolution)
        if cell:  # a finer stored cell's parent
            by_cell[cell] += n
    _cells(ws, by_cell)


def _survey(session: Session, ws: Workspace, where: list[Any]) -> None:
    r = SurveyResponse
    groups = session.execute(
        sa.select(r.concerns, sa.func.count()).where(*where).group_by(r.concerns)
    )
    grouped = [(codes, int(n)) for codes, n in groups]
    ws.n_respondents = sum(n for _, n in grouped)
    ws.n_answered = sum(n for c, n in grouped if c)
    ws.concerns = _ranked([(c, n) for c, n in grouped if c], ws.n_answered, ws.k)


def _texts(
    session: Session, ws: Workspace, flt: WorkspaceFilter, reports: ReportCounts | None
) -> None:
    """Themes in force of the filtered free texts: the reports' (counted with them) and the
    survey answers' (a ``GROUP BY`` of their ``themes``)."""
    counts: Counter[str] = Counter()
    if reports is not None:
        ws.n_texts += reports.texts
        counts.update(reports.themes)
    if flt.wants_survey:
        r = SurveyResponse
        for themes, n in session.execute(
            sa.select(r.themes, sa.func.count())
            .where(*response_conditions(flt), had_text(r))
            .group_by(r.themes)
        ):
            ws.n_texts += int(n)
            counts.update(dict.fromkeys(set(themes or ()), int(n)))
    ws.themes = _ranked([([code], n) for code, n in counts.items()], ws.n_texts, ws.k)


@dataclass(frozen=True)
class CrimeCounts:
    """Women's-safety crimes by month and by ward for a filter's dates and area (crime has no
    age, theme or reason, so these are shared by every filter with the same dates and area)."""

    months: dict[date, int]
    wards: dict[str, int]
    # the first and last month of recorded crime the store holds (any type, any area): a month
    # outside them has no police.uk figure yet (police.uk publishes a month some weeks after it
    # ends), which is not the same as none recorded
    published: tuple[date, date] | None = None


def crime_key(flt: WorkspaceFilter) -> str:
    """The part of a filter recorded crime follows (for keeping its counts apart)."""
    return "|".join((str(flt.start), str(flt.end), flt.area))


def crime_counts(*, session: Session, flt: WorkspaceFilter, settings: Settings) -> CrimeCounts:
    """Recorded crime of the women's-safety types, by month and by ward, counted in SQL as the
    assessment counts it (``crime_counting``: every published row, or one per Crime ID)."""
    c = Crime
    where = [
        *crime_conditions(flt),
        c.crime_type.in_(list(settings.womens_safety_crime_types)),
        counted(settings.crime_counting),
    ]
    months: Counter[date] = Counter()
    wards: Counter[str] = Counter()
    # one pass by month and ward, summed both ways (two GROUP BYs read the rows twice)
    for month, ward, n in session.execute(
        sa.select(c.month, c.ward_code, sa.func.count())
        .where(*where)
        .group_by(c.month, c.ward_code)
    ):
        months[month] += int(n)
        if ward is not None:
            wards[str(ward)] += int(n)
    first, last = session.execute(sa.select(sa.func.min(c.month), sa.func.max(c.month))).one()
    published = (first, last) if first is not None and last is not None else None
    return CrimeCounts(dict(months), dict(wards), published)


def _crime(ws: Workspace, crime: CrimeCounts) -> None:
    months = {m["month"]: m for m in ws.months}
    for month, n in crime.months.items():
        row = months.setdefault(month, {"month": month, "reports": 0, "crimes": 0})
        row["crimes"] = n
        ws.n_crimes += n
    if months:  # every month from the first to the last, so the chart's axis is even
        first, last = min(months), max(months)
        month = first
        while month < last and len(months) < MAX_MONTHS:
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            months.setdefault(month, {"month": month, "reports": 0, "crimes": 0})
    for row in months.values():  # no police.uk figure for the month: not a count of 0
        if crime.published is None or not crime.published[0] <= row["month"] <= crime.published[1]:
            row["crimes"] = None
    ws.months = sorted(months.values(), key=lambda m: m["month"])
    ws.crime_published = crime.published


def _wards(
    session: Session,
    ws: Workspace,
    flt: WorkspaceFilter,
    crime: CrimeCounts,
    reports: Counter[str],
) -> None:
    """Reports (counted with the rest of the reports' counts), respondents and crimes by ward."""
    counts: dict[str, dict[str, int]] = {w: {"crimes": n} for w, n in crime.wards.items()}
    for ward, n in reports.items():
        counts.setdefault(ward, {})["reports"] = n
    if flt.wants_survey:
        column = SurveyResponse.ward_code
        for code, n in session.execute(
            sa.select(column, sa.func.count())
            .where(*response_conditions(flt), column.is_not(None))
            .group_by(column)
        ):
            counts.setdefault(str(code), {})["respondents"] = int(n)
    names = dict(
        session.execute(sa.select(Area.code, Area.name).where(Area.code.in_(counts))).all()
    )
    ws.wards = sorted(
        (
            {
                "code": code,
                "name": names.get(code, code),
                "reports": c.get("reports", 0),
                "respondents": c.get("respondents", 0),
                "crimes": c.get("crimes", 0),
            }
            for code, c in counts.items()
        ),
        key=lambda w: (-w["reports"], -w["crimes"], w["name"]),
    )


def _cells(ws: Workspace, counts: Counter[str]) -> None:
    """Reports by H3 cell, and the analytic Gi* of those counts (FDR-corrected classes)."""
    ws.cells = [{"cell": c, "reports": n} for c, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    if len(counts) < 2:
        return
    weights = H3Weights.around(counts, k=1)  # the study cells: data cells and their ring
    cells = weights.cells
    y = np.array([counts.get(c, 0) for c in cells], dtype=float)
    gi = GiStar(y, weights, permutations=0).fit()
    ws.hotspots = sorted(
        (
            {
                "cell": cells[i],
                "reports": int(y[i]),
                "z": float(gi.z[i]),
                "p": float(gi.p[i]),
                "q": float(gi.q[i]),
                "klass": int(gi.classes[i]),
            }
            for i in np.flatnonzero(gi.classes != 0).tolist()
        ),
        key=lambda h: (-h["klass"], -h["z"]),
    )


def _issues(session: Session, ws: Workspace, flt: WorkspaceFilter) -> None:
    """Local issues with a place, in the filtered area (issues have no age, theme or reason)."""
    i = LocalIssue
    where: list[Any] = [i.latitude.is_not(None), i.longitude.is_not(None)]
    if flt.area_kind == "ward":
        where.append(i.ward_code == flt.area)
    elif flt.area_kind == "district":
        wards = sa.select(Area.code).where(Area.parent_code == flt.area)
        where.append(i.ward_code.in_(wards))
    ws.issues = [
        {
            "id": r.id,
            "title": r.title,
            "stage": r.stage,
            "ward": r.ward_code,
            "latitude": r.latitude,
            "longitude": r.longitude,
        }
        for r in session.execute(
            sa.select(i.id, i.title, i.stage, i.ward_code, i.latitude, i.longitude)
            .where(*where)
            .order_by(i.id)
        )
    ]


def compute_workspace(
    *, session: Session, flt: WorkspaceFilter, settings: Settings, crime: CrimeCounts | None = None
) -> Workspace:
    """Every count of the workspace for ``flt`` (resolved by :func:`resolve_filter`); ``crime``
    as :func:`crime_counts` gives it for the same dates and area, if already known."""
    ws = Workspace(flt=flt, k=settings.public_min_count, resolution=settings.h3_resolution)
    crime = crime or crime_counts(session=session, flt=flt, settings=settings)
    reports: ReportCounts | None = None
    if tallied(flt):
        reports = _from_tally(session, flt)
    elif flt.wants_reports:
        reports = _live(session, report_conditions(flt), themed=bool(flt.theme))
    if reports is not None:
        _reports(ws, reports)
    if flt.wants_survey:
        _survey(session, ws, response_conditions(flt))
    _texts(session, ws, flt, reports)
    _crime(ws, crime)
    _wards(session, ws, flt, crime, reports.wards if reports is not None else Counter())
    _issues(session, ws, flt)
    return ws
