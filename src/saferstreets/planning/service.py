"""Make, store, list and compare deployment plans from what the store holds.

The computing is :mod:`saferstreets.planning.compute` (no store); this module reads its inputs,
runs it and stores the plan. Two ways in: :func:`create_plan` inside the caller's session (the
web form: the request's one transaction), :func:`make_plan` with an ``engine=`` (batch callers:
the CLI and the demo; short transactions around the computing).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.areas.models import Area
from saferstreets.assessment.models import AnalysisRun, HotspotCell
from saferstreets.config import Settings, get_settings
from saferstreets.crime.models import Crime
from saferstreets.crime.service import counted
from saferstreets.db import session_scope
from saferstreets.errors import NotFound, PlanningError
from saferstreets.exports import safe_cell
from saferstreets.planning.compute import common_coverage, compute_plan, find_candidates
from saferstreets.planning.models import PatrolSlot, Plan, PlanTeam, WardAllocation
from saferstreets.planning.params import (
    DEFAULT_WEIGHTS,
    PlanParams,
    setting_text,
    weights_words,
)
from saferstreets.planning.plandata import (
    CrimeRow,
    Place,
    PlanInputs,
    PlanResult,
    ReportRow,
    SurveyRow,
)
from saferstreets.progress import Progress, silent
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse

STATUS_TEXT = {
    "optimal": "proven optimal",
    "gap": "proven within the requested gap",
    "time_limit": "stopped at the time limit",
    "bounded": "stopped at the time limit (model too large for the exact stage)",
    "heuristic": "heuristic (no proof)",
}


# --------------------------------------------------------------------------------------------
# Reading the store
# --------------------------------------------------------------------------------------------


def load_inputs(*, session: Session, settings: Settings) -> PlanInputs:
    """Reports, survey responses, crime, wards, town centres and hotspots, as plain rows."""
    reports = session.execute(
        sa.select(Report.h3_cell, Report.occurred_hour, Report.occurred_on, Report.ward_code)
    ).all()
    surveys = session.execute(
        sa.select(SurveyResponse.h3_cell, SurveyResponse.ward_code, SurveyResponse.concerns)
    ).all()
    crimes = session.execute(
        sa.select(Crime.h3_cell, Crime.crime_type, Crime.ward_code, sa.func.count())
        .where(counted(settings.crime_counting))  # every police.uk row, or one per Crime ID
        .group_by(Crime.h3_cell, Crime.crime_type, Crime.ward_code)
    ).all()
    areas = session.execute(
        sa.select(Area.code, Area.name, Area.kind, Area.centroid_lat, Area.centroid_lon)
        .where(Area.kind.in_(("ward", "town_centre")))
        .order_by(Area.kind, Area.code)
    ).all()
    runs, hotspots = hot_cells(session=session)
    places = [Place(*a) for a in areas]
    return PlanInputs(
        reports=[ReportRow(*r) for r in reports],
        surveys=[SurveyRow(*r) for r in surveys],
        crimes=[CrimeRow(*r) for r in crimes],
        harm=dict(settings.harm_weights),
        womens=tuple(settings.womens_safety_crime_types),
        wards=[a for a in places if a.kind == "ward"],
        town_centres=[a for a in places if a.kind == "town_centre"],
        hotspots=hotspots,
        hotspot_runs=runs,
        resolution=settings.h3_resolution,
    )


def hot_cells(*, session: Session) -> tuple[list[int], list[tuple[str, float, int]]]:
    """The latest run of each hotspot kind, and its hot cells (95% or more) with their best z."""
    runs = [
        int(r)
        for r in session.scalars(
            sa.select(sa.func.max(AnalysisRun.id))
            .where(AnalysisRun.kind.like("hotspots%"))
            .group_by(AnalysisRun.kind)
        )
    ]
    if not runs:
        return [], []
    best: dict[str, tuple[float, int]] = {}
    for c, z, k in session.execute(
        sa.select(HotspotCell.cell, HotspotCell.z, HotspotCell.klass).where(
            HotspotCell.run_id.in_(runs), HotspotCell.klass >= 2
        )
    ):
        if c not in best or z > best[c][0]:
            best[c] = (float(z), int(k))
    return sorted(runs), [(c, z, k) for c, (z, k) in sorted(best.items())]


def candidate_list(
    *, session: Session, settings: Settings, params: PlanParams | None = None
) -> list[dict[str, Any]]:
    """The candidate bases the store gives with ``params`` (default settings if none)."""
    inputs = load_inputs(session=session, settings=settings)
    ward_cells: dict[str, list[str]] = defaultdict(list)
    for cell, _t, ward, _n in inputs.crimes:
        if cell and ward:
            ward_cells[ward].append(cell)
    crime_cells = [
        c for c, t, _w, n in inputs.crimes if c and t in inputs.womens for _ in range(int(n))
    ]
    report_cells = [r.h3_cell for r in inputs.reports if r.h3_cell]
    return find_candidates(inputs, params or PlanParams(), report_cells, crime_cells, ward_cells)


# --------------------------------------------------------------------------------------------
# Making and storing a plan
# --------------------------------------------------------------------------------------------


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise PlanningError(
            "A plan needs a name of 1 to 200 characters",
            field_errors={"name": "1 to 200 characters"},
        )
    return name


def make_plan(
    *,
    engine: Engine,
    name: str,
    params: PlanParams,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Make a plan from the store and save it under ``name`` (replacing a plan of that name).

    A batch service: it reads in one short transaction, computes with none open, and stores in
    another. ``settings`` default to the process's settings.
    """
    name = _check_name(name)
    params.check()
    with session_scope(engine) as session:
        inputs = load_inputs(session=session, settings=settings or get_settings())
    result = compute_plan(inputs=inputs, params=params, progress=progress)
    (progress or silent)("saving the plan")
    with session_scope(engine) as session:
        plan = store_plan(session=session, name=name, params=params, result=result)
        session.expunge(plan)
    return plan


def create_plan(
    *,
    session: Session,
    name: str,
    params: PlanParams,
    settings: Settings,
    progress: Progress | None = None,
) -> Plan:
    """Make a plan and store it in ``session`` (the caller commits), as the web form does."""
    name = _check_name(name)
    params.check()
    inputs = load_inputs(session=session, settings=settings)
    result = compute_plan(inputs=inputs, params=params, progress=progress)
    (progress or silent)("saving the plan")
    return store_plan(session=session, name=name, params=params, result=result)


def store_plan(*, session: Session, name: str, params: PlanParams, result: PlanResult) -> Plan:
    """Store a computed plan under ``name``, replacing a plan of that name."""
    old = session.scalar(sa.select(Plan).where(Plan.name == name))
    if old is not None:
        _delete_plan_rows(session=session, plan_id=old.id)
        session.delete(old)
        session.flush()
    solver = result.solver
    plan = Plan(
        name=name,
        params=params.model_dump(mode="json"),
        coverage=result.coverage,
        objective=solver["objective"],
        bound=solver["bound"],
        gap=solver["gap"],
        solve_seconds=solver["seconds"],
        status=solver["status"],
        result={
            "solver": solver,
            "summary": result.summary,
            "teams": [
                {k: v for k, v in t.items() if k != "visits"}
                | {"phase_start": t["phase_start"].isoformat()}
                for t in result.teams
            ],
        },
    )
    session.add(plan)
    session.flush()
    for t in result.teams:
        _store_team(session=session, plan_id=plan.id, team=t)
    session.add_all(
        WardAllocation(
            plan_id=plan.id,
            ward_code=wd["code"],
            officers=wd["officers"],
            need=wd["need"],
            reason=wd["reason"],
        )
        for wd in result.wards
    )
    session.flush()
    return plan


def _store_team(*, session: Session, plan_id: int, team: dict[str, Any]) -> None:
    row = PlanTeam(
        plan_id=plan_id,
        name=team["name"][:200],
        base_code=team["base_code"],
        latitude=team["lat"],
        longitude=team["lon"],
        officers=team["officers"],
        covered_demand=team["covered_demand"],
        phase=team["phase"],
        phase_start=team["phase_start"],
    )
    session.add(row)
    session.flush()
    spots = {h["cell"]: h for h in team["hotspots"]}
    session.add_all(
        PatrolSlot(
            team_id=row.id,
            place=v["hotspot"],
            latitude=spots[v["hotspot"]]["lat"],
            longitude=spots[v["hotspot"]]["lon"],
            weekday=v["weekday"],
            start_minute=v["start_minute"],
            minutes=v["minutes"],
        )
        for v in team["visits"]
    )


def _delete_plan_rows(*, session: Session, plan_id: int) -> None:
    team_ids = sa.select(PlanTeam.id).where(PlanTeam.plan_id == plan_id)
    session.execute(sa.delete(PatrolSlot).where(PatrolSlot.team_id.in_(team_ids)))
    session.execute(sa.delete(PlanTeam).where(PlanTeam.plan_id == plan_id))
    session.execute(sa.delete(WardAllocation).where(WardAllocation.plan_id == plan_id))


def delete_plan(*, session: Session, plan_id: int) -> None:
    """Remove a plan and everything in it."""
    plan = get_plan(session=session, plan_id=plan_id)
    _delete_plan_rows(session=session, plan_id=plan.id)
    session.delete(plan)


def list_plans(*, session: Session) -> list[Plan]:
    """Every stored plan, newest first."""
    return list(session.scalars(sa.select(Plan).order_by(Plan.created_at.desc(), Plan.id.desc())))


def get_plan(*, session: Session, plan_id: int) -> Plan:
    """One plan, or NotFound."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"There is no plan {plan_id}")
    return plan


def find_plan(*, session: Session, ref: str) -> Plan:
    """A plan by id or exact name."""
    plan = session.get(Plan, int(ref)) if ref.isdigit() else None
    plan = plan or session.scalar(sa.select(Plan).where(Plan.name == ref))
    if plan is None:
        raise NotFound(
            f"There is no plan called {ref!r}", hint="saferstreets plan list shows the stored plans"
        )
    return plan


def plan_detail(*, session: Session, plan_id: int) -> dict[str, Any]:
    """A plan with its teams, ward allocations and patrol slots, as plain data."""
    plan = get_plan(session=session, plan_id=plan_id)
    teams = list(
        session.scalars(
            sa.select(PlanTeam).where(PlanTeam.plan_id == plan.id).order_by(PlanTeam.id)
        )
    )
    slots = defaultdict(list)
    if teams:
        for s in session.scalars(
            sa.select(PatrolSlot)
            .where(PatrolSlot.team_id.in_([t.id for t in teams]))
            .order_by(PatrolSlot.weekday, PatrolSlot.start_minute, PatrolSlot.id)
        ):
            slots[s.team_id].append(s)
    wards = list(
        session.scalars(
            sa.select(WardAllocation)
            .where(WardAllocation.plan_id == plan.id)
            .order_by(WardAllocation.officers.desc(), WardAllocation.ward_code)
        )
    )
    names = dict(session.execute(sa.select(Area.code, Area.name).where(Area.kind == "ward")).all())
    extra = {t["base_code"]: t for t in (plan.result or {}).get("teams", [])}
    detail: dict[str, Any] = {
        "id": plan.id,
        "name": plan.name,
        "created_at": plan.created_at.isoformat(timespec="seconds"),
        "params": plan.params,
        "coverage": plan.coverage,
        "objective": plan.objective,
        "bound": plan.bound,
        "gap": plan.gap,
        "status": plan.status,
        "solve_seconds": plan.solve_seconds,
        "solver": (plan.result or {}).get("solver", {}),
        "summary": (plan.result or {}).get("summary", {}),
        "teams": [
            {
                "id": t.id,
                "name": t.name,
                "base_code": t.base_code,
                "lat": t.latitude,
                "lon": t.longitude,
                "officers": t.officers,
                "covered_demand": t.covered_demand,
                "covered_share": extra.get(t.base_code, {}).get("covered_share"),
                "phase": t.phase,
                "phase_start": t.phase_start.isoformat() if t.phase_start else None,
                "hotspots": extra.get(t.base_code, {}).get("hotspots", []),
                "capacity": extra.get(t.base_code, {}).get("capacity"),
                "visits": [
                    {
                        "place": s.place,
                        "lat": s.latitude,
                        "lon": s.longitude,
                        "weekday": s.weekday,
                        "start_minute": s.start_minute,
                        "minutes": s.minutes,
                    }
                    for s in slots[t.id]
                ],
            }
            for t in teams
        ],
        "weights_words": weights_words((plan.params or {}).get("weights") or DEFAULT_WEIGHTS),
        "wards": [
            {
                "code": wd.ward_code,
                "name": names.get(wd.ward_code, wd.ward_code),
                "officers": wd.officers,
                "need": wd.need,
                "reason": wd.reason,
            }
            for wd in wards
        ],
    }
    _name_places(session, detail)
    return detail


def _name_places(session: Session, detail: dict[str, Any]) -> None:
    """Names for the bases, hotspots and visits' places (H3 ids or area codes), from the areas
    and the gazetteer ("near Mill Lane, Northgate"): ``base_name``, ``name``, ``place_name``."""
    from saferstreets.places.naming import describe_cells

    teams = detail["teams"]
    codes = {t["base_code"] for t in teams if t["base_code"]}
    areas = dict(session.execute(sa.select(Area.code, Area.name).where(Area.code.in_(codes))).all())
    cells = [c for c in codes if c not in areas]
    cells += [h["cell"] for t in teams for h in t["hotspots"]]
    cells += [str(v["place"]) for t in teams for v in t["visits"]]
    named = describe_cells(session=session, cells=cells)
    for t in teams:
        code = t["base_code"] or ""
        t["base_name"] = areas.get(code) or named.get(code, code)
        for h in t["hotspots"]:
            h["name"] = named.get(h["cell"], h["cell"])
        for v in t["visits"]:
            v["place_name"] = named.get(str(v["place"]), str(v["place"]))


def compare_plans(*, session: Session, ids: list[int], settings: Settings | None = None) -> dict:
    """Plans side by side: headline figures, the settings that differ, and the bases each uses.

    Plans made with different demand weights cover different things, so each is also measured
    on one common demand (every source weighted 1): ``common_coverage`` per plan, and
    ``comparable`` says whether the plans' own coverage figures can be set side by side."""
    if len(ids) < 2:
        raise PlanningError(
            "Choose at least two plans to compare", field_errors={"ids": "two or more"}
        )
    details = [plan_detail(session=session, plan_id=i) for i in ids]
    keys = sorted({k for d in details for k in (d["params"] or {})})
    differing = {
        k: [setting_text(k, d["params"].get(k)) for d in details]
        for k in keys
        if len({repr(d["params"].get(k)) for d in details}) > 1
    }
    bases: dict[str, dict[str, Any]] = {}
    for pos, d in enumerate(details):
        for t in d["teams"]:
            row = bases.setdefault(
                t["base_code"],
                {"name": t["name"].split(": ", 1)[-1], "officers": [None] * len(details)},
            )
            row["officers"][pos] = t["officers"]
    ward_officers: dict[str, list[int | None]] = {}
    ward_names: dict[str, str] = {}
    for pos, d in enumerate(details):
        for wd in d["wards"]:
            ward_officers.setdefault(wd["code"], [None] * len(details))[pos] = wd["officers"]
            ward_names[wd["code"]] = wd.get("name") or wd["code"]
    comparable = "weights" not in differing
    common, _ = common_coverage(
        load_inputs(session=session, settings=settings or get_settings()),
        [[(t["lat"], t["lon"]) for t in d["teams"]] for d in details],
        [float(d["params"].get("radius", PlanParams().radius)) for d in details],
    )
    return {
        "plans": [
            {
                k: d[k]
                for k in (
                    "id",
                    "name",
                    "created_at",
                    "coverage",
                    "objective",
                    "bound",
                    "gap",
                    "status",
                    "solve_seconds",
                )
            }
            | {
                "teams": len(d["teams"]),
                "officers": sum(t["officers"] for t in d["teams"]),
                "ward_officers": sum(wd["officers"] for wd in d["wards"]),
                "rollout": d["summary"].get("rollout", []),
                "weights_words": weights_words(d["params"].get("weights") or {}),
                "common_coverage": common[pos],
            }
            for pos, d in enumerate(details)
        ],
        "comparable": comparable,
        "common_weights_words": weights_words(DEFAULT_WEIGHTS),
        "differing_params": differing,
        "bases": dict(sorted(bases.items(), key=lambda kv: kv[1]["name"])),
        "ward_changes": {ward_names[k]: v for k, v in ward_officers.items() if len(set(v)) > 1},
    }


# --------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def long_date(iso: str | None) -> str:
    """ "2027-01-01" -> "1 January 2027" (as a superintendent writes a date)."""
    from datetime import date

    if not iso:
        return ""
    d = date.fromisoformat(str(iso)[:10])
    return f"{d.day} {d:%B %Y}"


def patrols_csv(*, session: Session, plan_id: int, team_id: int | None = None) -> str:
    """The plan's patrol visits as CSV (one row per visit)."""
    detail = plan_detail(session=session, plan_id=plan_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "plan",
            "team",
            "base",
            "base_code",
            "officers",
            "weekday",
            "start",
            "end",
            "minutes",
            "hotspot",
            "hotspot_cell",
            "latitude",
            "longitude",
        ]
    )
    for t in detail["teams"]:
        if team_id is not None and t["id"] != team_id:
            continue
        for v in t["visits"]:
            writer.writerow(
                [
                    safe_cell(x)
                    for x in (
                        detail["name"],
                        t["name"],
                        t["base_name"],
                        t["base_code"],
                        t["officers"],
                        WEEKDAY_NAMES[v["weekday"]],
                        hhmm(v["start_minute"]),
                        hhmm((v["start_minute"] + v["minutes"]) % 1440),
                        v["minutes"],
                        v["place_name"],
                        v["place"],
                        round(v["lat"], 5),
                        round(v["lon"], 5),
                    )
                ]
            )
    return out.getvalue()


def teams_csv(*, session: Session, plan_id: int) -> str:
    """The plan's teams and ward allocations as CSV."""
    detail = plan_detail(session=session, plan_id=plan_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "kind",
            "name",
            "place",
            "code",
            "officers",
            "covered_share_or_need",
            "phase",
            "phase_start",
            "reason",
        ]
    )
    for t in detail["teams"]:
        writer.writerow(
            [
                safe_cell(x)
                for x in (
                    "team",
                    t["name"],
                    t["base_name"],
                    t["base_code"],
                    t["officers"],
                    round(t["covered_share"] or 0, 4),
                    t["phase"],
                    t["phase_start"],
                    "",
                )
            ]
        )
    for wd in detail["wards"]:
        writer.writerow(
            [
                safe_cell(x)
                for x in (
                    "ward",
                    wd["name"],
                    wd["name"],
                    wd["code"],
                    wd["officers"],
                    round(wd["need"], 4),
                    "",
                    "",
                    wd["reason"],
                )
            ]
        )
    return out.getvalue()
