"""The assessment: read what the store holds, run every analysis, store each finding with its
parameters and a plain sentence.

Each finding is one ``AnalysisRun`` (``kind``, ``params``, ``result`` JSON, ``summary``); the
hotspot runs also store one ``HotspotCell`` per H3 cell. docs/methods.md lists every kind and its
result schema. The analyses themselves are the pure package :mod:`saferstreets.analysis`
(:mod:`~saferstreets.analysis.people` and :mod:`~saferstreets.analysis.place`); this module only
reads their input from the store, runs them in order and stores what they found.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.analysis.inputs import (
    AssessParams,
    Events,
    Finding,
    Progress,
    ReportTallies,
    StoreData,
    crime_events,
    events_at,
    jsonable,
)
from saferstreets.analysis.people import (
    assess_concerns,
    assess_feel_safe,
    assess_themes,
    assess_waves,
    assess_who,
)
from saferstreets.analysis.place import (
    assess_fusion,
    assess_hotspots,
    assess_outcomes,
    assess_when,
    study_area,
)
from saferstreets.areas.models import Area
from saferstreets.assessment.models import AnalysisRun, HotspotCell
from saferstreets.config import Settings
from saferstreets.crime.models import Crime, Outcome
from saferstreets.crime.service import counted
from saferstreets.db import in_short_transactions, session_scope
from saferstreets.errors import AppError
from saferstreets.ingest.service import settled
from saferstreets.progress import silent
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.themes.inforce import had_text
from saferstreets.themes.models import ThemeAssignment

__all__ = [
    "AssessParams",
    "Events",
    "Finding",
    "crime_events",
    "events_at",
    "hotspot_cells",
    "latest_results",
    "load",
    "report_events",
    "report_tallies",
    "run_assessment",
]


# ---------------------------------------------------------------------------------------------
# reading the store


def load(*, session: Session, crime_counting: str = "rows") -> StoreData:
    """Everything the analyses read, as plain rows."""
    r = SurveyResponse
    responses = session.execute(
        sa.select(
            r.id,
            r.wave_id,
            r.age_band,
            r.gender,
            r.ward_code,
            r.district_code,
            r.concerns,
            r.settings,
            r.feel_safe,
            r.latitude,
            r.longitude,
            r.h3_cell,
        )
    ).all()
    waves = session.execute(
        sa.select(
            SurveyWave.id, SurveyWave.name, SurveyWave.period_start, SurveyWave.mapping
        ).order_by(SurveyWave.id)
    ).all()
    reports = report_tallies(session=session)
    c = Crime
    crimes = session.execute(
        sa.select(
            c.crime_id,
            c.month,
            c.crime_type,
            c.latitude,
            c.longitude,
            c.h3_cell,
            c.ward_code,
            c.district_code,
            c.last_outcome,
        ).where(counted(crime_counting))  # every police.uk row, or one per Crime ID
    ).all()
    outcomes = session.execute(
        sa.select(Outcome.crime_id, Outcome.month, Outcome.outcome_type).where(settled(Outcome))
    ).all()
    t = ThemeAssignment
    themes = session.execute(
        sa.select(t.owner_kind, t.owner_id, t.theme, t.source, t.present).order_by(t.id)
    ).all()
    areas = session.execute(
        sa.select(Area.code, Area.name, Area.kind, Area.area_km2, Area.population, Area.geometry)
    ).all()
    texts = {
        "report": set(session.scalars(sa.select(Report.id).where(had_text(Report)))),
        "survey_response": set(
            session.scalars(sa.select(SurveyResponse.id).where(had_text(SurveyResponse)))
        ),
    }
    return StoreData(
        list(responses),
        list(waves),
        reports,
        list(crimes),
        list(outcomes),
        list(themes),
        list(areas),
        texts,
    )


def report_tallies(*, session: Session) -> ReportTallies:
    """Reports by reasons ticked, by day and hour, by time band and by ward, counted in SQL."""
    p = Report
    n = int(session.scalar(sa.select(sa.func.count()).select_from(p)) or 0)
    reasons = [
        (list(codes), int(count))
        for codes, count in session.execute(
            sa.select(p.reasons, sa.func.count()).group_by(p.reasons)
        )
        if codes
    ]
    when = [
        (day, hour, int(count))
        for day, hour, count in session.execute(
            sa.select(p.occurred_on, p.occurred_hour, sa.func.count()).group_by(
                p.occurred_on, p.occurred_hour
            )
        )
    ]
    bands = {
        str(band): int(count)
        for band, count in session.execute(
            sa.select(p.time_band, sa.func.count())
            .where(p.time_band.is_not(None), p.time_band != "")
            .group_by(p.time_band)
            .order_by(p.time_band)
        )
    }
    wards = {
        str(code): int(count)
        for code, count in session.execute(
            sa.select(p.ward_code, sa.func.count())
            .where(p.ward_code.is_not(None), p.ward_code != "")
            .group_by(p.ward_code)
        )
    }
    return ReportTallies(n, reasons, when, bands, wards)


def report_events(*, session: Session, res: int) -> Events:
    """The cell and month of every located report, read as columns."""
    p = Report
    rows = session.execute(
        sa.select(p.latitude, p.longitude, p.h3_cell, sa.cast(p.occurred_on, sa.String)).order_by(
            p.id
        )
    ).all()
    if not rows:
        return events_at([], [], [], [], res)
    lats, lons, cells, days = zip(*rows, strict=True)
    return events_at(lats, lons, cells, days, res)


# ---------------------------------------------------------------------------------------------
# orchestration


def _run_themes(engine: Engine, settings: Settings, progress: Progress) -> None:
    try:
        from saferstreets.themes.service import assign_all
    except ImportError:
        progress("themes: no classifier installed, using stored theme assignments")
        return

    def counted(what: str, done: int | None = None, total: int | None = None) -> None:
        progress(f"{what} ({done or 0:,} of {total or 0:,})")

    try:
        assign_all(engine=engine, progress=counted, settings=settings)
    except AppError as exc:
        progress(f"themes: not assigned ({exc.message}); using stored assignments")


def run_assessment(
    *,
    engine: Engine,
    settings: Settings,
    progress: Progress | None = None,
    resolution: int | None = None,
    permutations: int = 999,
    seed: int = 1,
    inference: str = "analytic",
    assign_themes: bool = True,
) -> list[AnalysisRun]:
    """Run every analysis on what the store holds and store each finding; return the runs."""
    say: Progress = progress or silent
    params = AssessParams(
        resolution=resolution or settings.h3_resolution,
        permutations=permutations,
        seed=seed,
        inference=inference,
        crime_types=tuple(settings.womens_safety_crime_types),
    )
    if assign_themes:
        say("assigning themes to free text")
        _run_themes(engine, settings, say)
    say("reading the store")
    with session_scope(engine) as session:
        data = load(session=session, crime_counting=settings.crime_counting)
    findings: list[Finding] = []
    steps: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("concerns", lambda: [assess_concerns(data, settings)]),
        ("feeling safe", lambda: [assess_feel_safe(data, settings)]),
        ("who", lambda: [assess_who(data, settings)]),
        ("when", lambda: assess_when(data, settings, params)),
        ("themes", lambda: [assess_themes(data, settings)]),
        ("outcomes", lambda: [assess_outcomes(data, settings, params)]),
        ("survey waves", lambda: [assess_waves(data, settings)]),
    ]
    for name, step in steps:
        say(name)
        findings.extend(step())
    res = params.resolution
    say("study area")
    within = study_area(data, res)
    say("locating reports and crime in H3 cells")
    with session_scope(engine) as session:
        rep_events = report_events(session=session, res=res)
    cri_events = crime_events(data, params)
    say("hot spots of reports")
    f_rep, layer_rep = assess_hotspots("reports", rep_events, params, within, say)
    say("hot spots of crime")
    f_cri, layer_cri = assess_hotspots("crime", cri_events, params, within, say)
    findings.extend(f_rep + f_cri)
    say("fear and recorded crime")
    findings.append(assess_fusion(data, params, layer_rep, layer_cri))
    say("storing the findings")
    # Each finding (its run and its cells) whole, in short transactions: a page shows the latest
    # run of each kind, and on SQLite a report posted meanwhile does not wait long for the lock.
    return in_short_transactions(engine, findings, _store_finding)


def _store_finding(session: Session, f: Finding) -> AnalysisRun:
    run = AnalysisRun(
        kind=f.kind, params=jsonable(f.params), result=jsonable(f.result), summary=f.summary
    )
    session.add(run)
    session.flush()
    if f.cells:
        session.execute(
            sa.insert(HotspotCell),
            [{"run_id": run.id, **{k: v for k, v in c.items() if k != "p_sim"}} for c in f.cells],
        )
    return run


def latest_results(*, session: Session) -> dict[str, AnalysisRun]:
    """The most recent run of each kind."""
    newest = (
        sa.select(AnalysisRun.kind, sa.func.max(AnalysisRun.id).label("id"))
        .group_by(AnalysisRun.kind)
        .subquery()
    )
    rows = session.scalars(sa.select(AnalysisRun).join(newest, AnalysisRun.id == newest.c.id))
    return {run.kind: run for run in rows}


def hotspot_cells(*, session: Session, run_id: int) -> list[HotspotCell]:
    """The cells of one hotspot run."""
    return list(session.scalars(sa.select(HotspotCell).where(HotspotCell.run_id == run_id)))
