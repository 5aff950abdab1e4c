"""The analyst's workspace: the assessment's counts on a filtered subset, aggregated in the store.

Every figure here is a ``GROUP BY`` in SQL (reports by reasons ticked, by day and hour, by ward
and by H3 cell; survey respondents by concerns named; themes of free text with analysts'
corrections applied; recorded crime by month and ward): no row is read into Python one record
at a time, so a page costs the same few queries at 2,000 reports or 1 million. Shares carry
Wilson 95% intervals (:func:`saferstreets.analysis.proportions.proportion`) and the Gi* hot
spots are the analytic statistic of :class:`saferstreets.analysis.hotspots.GiStar` on the
filtered counts. :mod:`saferstreets.assessment.cache` keeps the result between requests.
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
from saferstreets.analysis.hotspots import GiStar, H3Weights, study_cells
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
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.themes.inforce import had_text, in_force, themed_owners
from saferstreets.themes.models import ThemeAssignment
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
    months: list[dict[str, Any]] = field(default_factory=list)
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
# the filtered owners


def report_where(flt: WorkspaceFilter) -> list[Any]:
    """Every condition on ``report`` for this filter, the theme included."""
    out = report_conditions(flt)
    if flt.theme:
        out.append(Report.id.in_(themed_owners("report", flt.theme)))
    return out


def response_where(flt: WorkspaceFilter) -> list[Any]:
    out = response_conditions(flt)
    if flt.theme:
        out.append(SurveyResponse.id.in_(themed_owners("survey_response", flt.theme)))
    return out


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


def _reports(session: Session, ws: Workspace, where: list[Any]) -> None:
    p = Report
    groups = session.execute(
        sa.select(p.reasons, sa.func.count()).where(*where).group_by(p.reasons)
    )
    grouped = [(codes, int(n)) for codes, n in groups]
    ws.n_reports = sum(n for _, n in grouped)
    ws.reasons = _ranked([(c, n) for c, n in grouped if c], ws.n_reports, ws.k)
    timed = session.execute(
        sa.select(p.occurred_on, p.occurred_hour, sa.func.count())
        .where(*where, p.occurred_on.is_not(None))
        .group_by(p.occurred_on, p.occurred_hour)
    )
    by_month: Counter[date] = Counter()
    for day, hour, n in timed:
        assert day is not None  # the query keeps dated reports only
        by_month[day.replace(day=1)] += int(n)
        if hour is not None:
            ws.when[day.weekday()][int(hour)] += int(n)
            ws.n_timed += int(n)
    ws.months = [{"month": m, "reports": n, "crimes": 0} for m, n in sorted(by_month.items())]


def _survey(session: Session, ws: Workspace, where: list[Any]) -> None:
    r = SurveyResponse
    groups = session.execute(
        sa.select(r.concerns, sa.func.count()).where(*where).group_by(r.concerns)
    )
    grouped = [(codes, int(n)) for codes, n in groups]
    ws.n_respondents = sum(n for _, n in grouped)
    ws.n_answered = sum(n for c, n in grouped if c)
    ws.concerns = _ranked([(c, n) for c, n in grouped if c], ws.n_answered, ws.k)


def _texts(session: Session, ws: Workspace, flt: WorkspaceFilter) -> None:
    """Themes of the filtered free texts (reports and survey answers), corrections applied."""
    t = ThemeAssignment
    counts: Counter[str] = Counter()
    for kind, model, where, wanted in (
        ("report", Report, report_where(flt), flt.wants_reports),
        ("survey_response", SurveyResponse, response_where(flt), flt.wants_survey),
    ):
        if not wanted:
            continue
        owners = sa.select(model.id).where(*where, had_text(model))
        ws.n_texts += int(
            session.scalar(sa.select(sa.func.count()).select_from(owners.subquery())) or 0
        )
        rows = session.execute(
            sa.select(t.theme, sa.func.count(sa.distinct(t.owner_id)))
            .where(t.owner_kind == kind, t.owner_id.in_(owners), in_force())
            .group_by(t.theme)
        )
        counts.update({str(theme): int(n) for theme, n in rows})
    ws.themes = _ranked([([code], n) for code, n in counts.items()], ws.n_texts, ws.k)


@dataclass(frozen=True)
class CrimeCounts:
    """Women's-safety crimes by month and by ward for a filter's dates and area (crime has no
    age, theme or reason, so these are shared by every filter with the same dates and area)."""

    months: dict[date, int]
    wards: dict[str, int]


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
    months = {
        m: int(n)
        for m, n in session.execute(
            sa.select(c.month, sa.func.count()).where(*where).group_by(c.month)
        )
    }
    wards = {
        str(w): int(n)
        for w, n in session.execute(
            sa.select(c.ward_code, sa.func.count())
            .where(*where, c.ward_code.is_not(None))
            .group_by(c.ward_code)
        )
    }
    return CrimeCounts(months, wards)


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
    ws.months = sorted(months.values(), key=lambda m: m["month"])


def _wards(
    session: Session,
    ws: Workspace,
    flt: WorkspaceFilter,
    crime: CrimeCounts,
    reports: Counter[str],
) -> None:
    """Reports (counted by :func:`_places`), respondents and crimes by ward."""
    counts: dict[str, dict[str, int]] = {w: {"crimes": n} for w, n in crime.wards.items()}
    for ward, n in reports.items():
        counts.setdefault(ward, {})["reports"] = n
    if flt.wants_survey:
        column = SurveyResponse.ward_code
        for code, n in session.execute(
            sa.select(column, sa.func.count())
            .where(*response_where(flt), column.is_not(None))
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


def _places(session: Session, ws: Workspace, where: list[Any]) -> Counter[str]:
    """Reports by H3 cell (with their Gi*, see :func:`_cells`) and by ward, from one
    ``GROUP BY`` ward and cell (one read of ``ix_report_workspace``); the ward counts."""
    r = Report
    by_ward: Counter[str] = Counter()
    by_cell: Counter[str] = Counter()
    for ward, stored, n in session.execute(
        sa.select(r.ward_code, r.h3_cell, sa.func.count())
        .where(*where)
        .group_by(r.ward_code, r.h3_cell)
    ):
        if ward is not None:
            by_ward[str(ward)] += int(n)
        cell = cell_at(None, None, str(stored), ws.resolution) if stored else None
        if cell:  # a finer stored cell's parent
            by_cell[cell] += int(n)
    _cells(ws, by_cell)
    return by_ward


def _cells(ws: Workspace, counts: Counter[str]) -> None:
    """Reports by H3 cell, and the analytic Gi* of those counts (FDR-corrected classes)."""
    ws.cells = [{"cell": c, "reports": n} for c, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    if len(counts) < 2:
        return
    cells = study_cells(counts, k=1)
    y = np.array([counts.get(c, 0) for c in cells], dtype=float)
    gi = GiStar(y, H3Weights.from_cells(cells, k=1), permutations=0).fit()
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
    by_ward: Counter[str] = Counter()
    if flt.wants_reports:
        where = report_where(flt)
        _reports(session, ws, where)
        by_ward = _places(session, ws, where)
    if flt.wants_survey:
        _survey(session, ws, response_where(flt))
    _texts(session, ws, flt)
    _crime(ws, crime)
    _wards(session, ws, flt, crime, by_ward)
    _issues(session, ws, flt)
    return ws
