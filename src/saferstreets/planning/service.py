"""Make, store, list and compare deployment plans from what the store holds."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any, Literal

import numpy as np
import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.errors import NotFound, PlanningError
from saferstreets.exports import safe_cell
from saferstreets.planning.models import PatrolSlot, Plan, PlanTeam, WardAllocation

Progress = Callable[[str], None] | None

NTE_HOURS_DEFAULT = [20, 21, 22, 23, 0, 1, 2, 3]

STATUS_TEXT = {
    "optimal": "proven optimal",
    "gap": "proven within the requested gap",
    "time_limit": "stopped at the time limit",
    "bounded": "stopped at the time limit (model too large for the exact stage)",
    "heuristic": "heuristic (no proof)",
}


class PlanParams(BaseModel):
    """Everything a "what if" can change. Defaults follow the Met's 2021 model."""

    teams: int = Field(default=19, description="Town-centre teams (bases) to place.")
    officers: int = Field(default=500, description="Officers shared across the teams.")
    radius: float = Field(default=800.0, description="Walking distance a team covers, in metres.")
    min_team: int = Field(default=8, description="Fewest officers in a team.")
    max_team: int = Field(default=60, description="Most officers in a team.")
    ward_officers: int = Field(
        default=150, description="Extra officers shared across wards by need."
    )
    ward_min: int = Field(default=0, description="Fewest extra officers in any ward.")
    force_in: list[str] = Field(default_factory=list, description="Base codes that must be used.")
    force_out: list[str] = Field(default_factory=list, description="Base codes that must not.")
    weights: dict[str, float] = Field(
        default_factory=lambda: {"reports": 1.0, "survey": 1.0, "crime": 1.0},
        description="Weight of each demand source (reports, survey, crime).",
    )
    method: Literal["mclp", "pmedian"] = "mclp"
    apportionment: Literal["webster", "hamilton"] = "webster"
    time_limit: float = Field(default=30.0, description="Seconds the optimiser may take.")
    mip_gap: float = Field(default=1e-4, description="Stop when proven within this relative gap.")
    phases: int = 4
    rollout_start: date = date(2021, 11, 1)
    rollout_end: date = date(2022, 4, 1)
    nte_hours: list[int] = Field(default_factory=lambda: list(NTE_HOURS_DEFAULT))
    nte_weight: float = Field(
        default=1.5, description="Multiplier for reports in night-time hours."
    )
    busy_quantile: float = Field(
        default=0.97, description="Cells this busy or more are candidates."
    )
    busy_min_records: int = Field(default=10, description="…and with at least this many records.")
    hotspots_per_team: int = 8
    visits_per_pair_shift: int = 3
    duty_share: float = 0.25
    patrol_seed: int = 2021

    def check(self) -> None:
        """Raise PlanningError naming each setting that cannot work, and why."""
        errors: dict[str, str] = {}
        if self.teams < 1:
            errors["teams"] = f"must be at least 1 (it is {self.teams})"
        if self.officers < 1:
            errors["officers"] = f"must be at least 1 (it is {self.officers})"
        if not self.radius > 0:
            errors["radius"] = f"must be more than 0 metres (it is {self.radius:g})"
        if self.min_team < 0:
            errors["min_team"] = "cannot be negative"
        if self.max_team < self.min_team:
            errors["max_team"] = f"is below the minimum team size ({self.min_team})"
        if self.teams >= 1 and self.min_team * self.teams > self.officers:
            errors["min_team"] = (
                f"{self.teams} teams of at least {self.min_team} need "
                f"{self.teams * self.min_team} officers, but there are {self.officers}"
            )
        if self.teams >= 1 and self.max_team * self.teams < self.officers:
            errors["max_team"] = (
                f"{self.teams} teams of at most {self.max_team} hold only "
                f"{self.teams * self.max_team} of the {self.officers} officers"
            )
        if self.ward_officers < 0:
            errors["ward_officers"] = "cannot be negative"
        if self.ward_min < 0:
            errors["ward_min"] = "cannot be negative"
        if not self.time_limit > 0:
            errors["time_limit"] = "must be more than 0 seconds"
        if not 0 <= self.mip_gap < 1:
            errors["mip_gap"] = "must be between 0 and 1"
        if self.phases < 1:
            errors["phases"] = "must be at least 1"
        if self.rollout_end < self.rollout_start:
            errors["rollout_end"] = "is before the rollout start"
        if any(not 0 <= h <= 23 for h in self.nte_hours):
            errors["nte_hours"] = "hours must be 0 to 23"
        if not 0 < self.busy_quantile <= 1:
            errors["busy_quantile"] = "must be above 0 and at most 1"
        for key, value in self.weights.items():
            if key not in ("reports", "survey", "crime"):
                errors["weights"] = f"unknown source {key!r}: use reports, survey, crime"
            elif value < 0:
                errors["weights"] = f"{key} must be 0 or more"
        if both := sorted(set(self.force_in) & set(self.force_out)):
            errors["force_in"] = f"{', '.join(both)} is also forced out"
        if errors:
            first = next(iter(errors.items()))
            raise PlanningError(
                f"This plan cannot be made: {first[0]} {first[1]}",
                field_errors=errors,
            )


def parse_weights(text: str) -> dict[str, float]:
    """``reports=1,survey=0.5,crime=2`` -> dict; a bad item is a PlanningError naming it."""
    out: dict[str, float] = {"reports": 1.0, "survey": 1.0, "crime": 1.0}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in out:
            raise PlanningError(
                f"Cannot read the weight {item!r}",
                field_errors={"weights": "use reports=1,survey=1,crime=1"},
            )
        try:
            out[key] = float(value)
        except ValueError:
            raise PlanningError(
                f"The weight of {key} must be a number, not {value!r}",
                field_errors={"weights": f"{key} must be a number"},
            ) from None
    return out


# --------------------------------------------------------------------------------------------
# Reading the store
# --------------------------------------------------------------------------------------------


def _cell_latlng(cell: str) -> tuple[float, float]:
    import h3

    return h3.cell_to_latlng(cell)


def _settings_value(name: str, default: Any) -> Any:
    from saferstreets.config import get_settings

    return getattr(get_settings(), name, None) or default


def load_inputs(*, session: Session) -> dict[str, Any]:
    """Reports, survey responses, crime, wards, town centres and hotspots, as plain lists."""
    from saferstreets.areas.models import Area
    from saferstreets.crime.models import Crime
    from saferstreets.crime.offences import HARM_WEIGHTS, WOMENS_SAFETY_TYPES
    from saferstreets.reports.models import Report
    from saferstreets.surveys.models import SurveyResponse

    reports = session.execute(
        sa.select(Report.h3_cell, Report.occurred_hour, Report.occurred_on, Report.ward_code)
    ).all()
    surveys = session.execute(
        sa.select(SurveyResponse.h3_cell, SurveyResponse.ward_code, SurveyResponse.concerns)
    ).all()
    harm = dict(_settings_value("harm_weights", HARM_WEIGHTS))
    womens = tuple(_settings_value("womens_safety_crime_types", WOMENS_SAFETY_TYPES))
    crimes = session.execute(
        sa.select(Crime.h3_cell, Crime.crime_type, Crime.ward_code, sa.func.count()).group_by(
            Crime.h3_cell, Crime.crime_type, Crime.ward_code
        )
    ).all()
    areas = session.execute(
        sa.select(Area.code, Area.name, Area.kind, Area.centroid_lat, Area.centroid_lon)
        .where(Area.kind.in_(("ward", "town_centre")))
        .order_by(Area.kind, Area.code)
    ).all()
    hotspots: list[tuple[str, float, int]] = []
    hotspot_runs: list[int] = []
    try:
        from saferstreets.assessment.models import AnalysisRun, HotspotCell

        # the latest run of each hotspot kind (hotspots, hotspots_crime, hotspots_reports, ...)
        hotspot_runs = [
            int(r)
            for r in session.scalars(
                sa.select(sa.func.max(AnalysisRun.id))
                .where(AnalysisRun.kind.like("hotspots%"))
                .group_by(AnalysisRun.kind)
            )
        ]
        if hotspot_runs:
            best: dict[str, tuple[float, int]] = {}
            for c, z, k in session.execute(
                sa.select(HotspotCell.cell, HotspotCell.z, HotspotCell.klass).where(
                    HotspotCell.run_id.in_(hotspot_runs), HotspotCell.klass >= 2
                )
            ):
                if c not in best or z > best[c][0]:
                    best[c] = (float(z), int(k))
            hotspots = [(c, z, k) for c, (z, k) in sorted(best.items())]
    except sa.exc.SQLAlchemyError:  # pragma: no cover - an older store without the table
        hotspots = []
    return {
        "reports": reports,
        "surveys": surveys,
        "crimes": crimes,
        "harm": harm,
        "womens": womens,
        "wards": [a for a in areas if a.kind == "ward"],
        "town_centres": [a for a in areas if a.kind == "town_centre"],
        "hotspots": hotspots,
        "hotspot_runs": sorted(hotspot_runs),
    }


# --------------------------------------------------------------------------------------------
# Making a plan
# --------------------------------------------------------------------------------------------


def compute_plan(*, inputs: dict[str, Any], params: PlanParams, progress: Progress = None) -> dict:
    """The whole plan as plain data (no store access): placement, sizes, rollout, wards, patrols."""
    from saferstreets.optimisation.apportion import Apportionment
    from saferstreets.optimisation.coverage import coverage_from_points, project_lonlat
    from saferstreets.optimisation.demand import Demand
    from saferstreets.optimisation.mclp import MCLP
    from saferstreets.optimisation.patrols import PatrolPlan, hour_of_week_profile
    from saferstreets.optimisation.pmedian import PMedian
    from saferstreets.optimisation.rollout import Rollout
    from saferstreets.optimisation.wards import WardAllocation as WardModel

    say = progress or (lambda _msg: None)
    params.check()
    started = time.perf_counter()
    say("building demand")
    wards = inputs["wards"]
    ward_cells: dict[str, list[str]] = defaultdict(list)
    report_cells = [r.h3_cell for r in inputs["reports"] if r.h3_cell]
    report_hours = [
        r.occurred_hour if r.occurred_hour is not None else -1
        for r in inputs["reports"]
        if r.h3_cell
    ]
    crime_cells, crime_types = [], []
    for cell, ctype, ward, count in inputs["crimes"]:
        if cell and ctype in inputs["womens"]:
            crime_cells += [cell] * int(count)
            crime_types += [ctype] * int(count)
        if cell and ward:
            ward_cells[ward].append(cell)
    for r in inputs["reports"]:
        if r.h3_cell and r.ward_code:
            ward_cells[r.ward_code].append(r.h3_cell)
    survey_cells: list[str] = []
    survey_amounts: list[float] = []
    ward_centroid = {w.code: (w.centroid_lat, w.centroid_lon) for w in wards}
    import h3

    res = _settings_value("h3_resolution", 9)
    for cell, ward, concerns in inputs["surveys"]:
        amount = float(len(concerns or []))
        if amount <= 0:
            continue
        if cell:
            survey_cells.append(cell)
            survey_amounts.append(amount)
        elif ward and ward_cells.get(ward):
            spread = sorted(set(ward_cells[ward]))
            survey_cells += spread
            survey_amounts += [amount / len(spread)] * len(spread)
        elif ward in ward_centroid:
            lat, lon = ward_centroid[ward]
            survey_cells.append(h3.latlng_to_cell(lat, lon, res))
            survey_amounts.append(amount)
    demand = Demand.from_arrays(
        report_cells=report_cells,
        report_hours=report_hours,
        survey_cells=survey_cells,
        survey_amounts=survey_amounts,
        crime_cells=crime_cells,
        crime_types=crime_types,
        weights=params.weights,
        harm_weights=inputs["harm"],
        nte_hours=params.nte_hours,
        nte_weight=params.nte_weight,
    ).solve()
    cells = list(demand.cells)
    latlng = np.array([_cell_latlng(c) for c in cells])
    lon0, lat0 = float(latlng[:, 1].mean()), float(latlng[:, 0].mean())
    demand_xy = project_lonlat(latlng[:, 1], latlng[:, 0], lon0=lon0, lat0=lat0)

    say("finding candidate bases")
    candidates = find_candidates(
        inputs=inputs,
        params=params,
        report_cells=report_cells,
        crime_cells=crime_cells,
        ward_cells=ward_cells,
    )
    if not candidates:
        raise PlanningError(
            "There are no candidate bases: no town centres are imported and no area is busy enough",
            field_errors={"busy_min_records": "lower it, or import town centre boundaries"},
            hint="import town centres with saferstreets import boundaries --kind town_centre",
        )
    codes = [c["code"] for c in candidates]
    index = {code: i for i, code in enumerate(codes)}
    for label, wanted in (("force_in", params.force_in), ("force_out", params.force_out)):
        unknown = [code for code in wanted if code not in index]
        if unknown:
            raise PlanningError(
                f"{', '.join(unknown)} is not a candidate base",
                field_errors={label: "not a candidate"},
                hint="candidate bases are town centre codes and busy H3 cells: "
                "saferstreets plan candidates lists them",
            )
    if params.teams > len(candidates) - len(params.force_out):
        raise PlanningError(
            f"{params.teams} teams were asked for but there are only "
            f"{len(candidates) - len(params.force_out)} candidate bases",
            field_errors={"teams": f"at most {len(candidates) - len(params.force_out)}"},
            hint="lower the number of teams, import town centres, or lower busy_min_records",
        )
    cand_xy = project_lonlat(
        [c["lon"] for c in candidates], [c["lat"] for c in candidates], lon0=lon0, lat0=lat0
    )
    forced_in = [index[c] for c in params.force_in]
    forced_out = [index[c] for c in params.force_out]
    w = demand.demand
    cover = coverage_from_points(demand_xy, cand_xy, params.radius)

    say(f"placing {params.teams} bases ({params.method})")
    if params.method == "mclp":
        model = MCLP(cover, w, params.teams, forced_in=forced_in, forced_out=forced_out).solve(
            time_limit=params.time_limit, mip_gap=params.mip_gap
        )
        selected = model.selected
        solver = {
            "objective": model.objective,
            "bound": model.bound,
            "gap": model.gap,
            "status": model.status,
            "seconds": model.solve_seconds,
            "stages": model.stages_table(),
            "greedy_objective": model.greedy_objective,
        }
    else:
        pm = PMedian.from_arrays(
            demand_xy, w, cand_xy, params.teams, forced_in=forced_in, forced_out=forced_out
        ).solve(time_limit=params.time_limit, mip_gap=params.mip_gap)
        selected = pm.selected
        solver = {
            "objective": pm.objective,
            "bound": pm.bound if np.isfinite(pm.bound) else None,
            "gap": pm.gap if np.isfinite(pm.gap) else None,
            "status": pm.status,
            "seconds": pm.solve_seconds,
            "stages": [],
            "mean_distance_m": pm.mean_distance,
        }
    sel_cover = cover[:, selected].tocsc()
    covered = np.asarray(sel_cover.sum(axis=1)).ravel() > 0
    total = float(w.sum())
    coverage_share = float(w[covered].sum() / total)

    # each covered cell counts for its nearest chosen base, so no demand counts twice
    from scipy.spatial import cKDTree

    _, nearest = cKDTree(cand_xy[selected]).query(demand_xy)
    dist_nearest = np.linalg.norm(demand_xy - cand_xy[selected][nearest], axis=1)
    own = np.where(dist_nearest <= params.radius, nearest, -1)
    team_demand = np.bincount(own[own >= 0], weights=w[own >= 0], minlength=len(selected))

    say(f"sizing teams ({params.officers} officers)")
    sizing = Apportionment.from_arrays(
        team_demand,
        params.officers,
        lower=params.min_team,
        upper=params.max_team,
        method=params.apportionment,
        what="officers",
        unit="team",
    ).solve()

    say("ordering the rollout")
    roll = Rollout.from_arrays(
        sel_cover, w, phases=params.phases, start=params.rollout_start, end=params.rollout_end
    ).solve()

    say("allocating ward officers")
    ward_result: list[dict[str, Any]] = []
    if wards and params.ward_officers > 0:
        codes_w = [wd.code for wd in wards]
        pos = {c: i for i, c in enumerate(codes_w)}
        comp = {k: np.zeros(len(codes_w)) for k in ("reports", "survey", "crime")}
        for r in inputs["reports"]:
            if r.ward_code in pos:
                comp["reports"][pos[r.ward_code]] += 1
        for _cell, ward, concerns in inputs["surveys"]:
            if ward in pos:
                comp["survey"][pos[ward]] += len(concerns or [])
        for _cell, ctype, ward, count in inputs["crimes"]:
            if ward in pos and ctype in inputs["womens"]:
                comp["crime"][pos[ward]] += inputs["harm"].get(ctype, 0.0) * count
        alloc = WardModel.from_arrays(
            codes_w,
            [wd.name for wd in wards],
            comp,
            params.weights,
            total=params.ward_officers,
            minimum=params.ward_min,
            method=params.apportionment,
        ).solve()
        for i, wd in enumerate(wards):
            ward_result.append(
                {
                    "code": wd.code,
                    "name": wd.name,
                    "officers": int(alloc.officers[i]),
                    "need": float(alloc.need[i]),
                    "reason": alloc.reasons[i],
                    "reports": float(comp["reports"][i]),
                    "survey": float(comp["survey"][i]),
                    "crime": float(comp["crime"][i]),
                }
            )

    say("planning patrols")
    # hours of the week from reports: the county's profile, and each cell's own
    reports_by_cell: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    all_wd, all_hr = [], []
    for r in inputs["reports"]:
        hr = r.occurred_hour if r.occurred_hour is not None else -1
        wd = r.occurred_on.weekday() if r.occurred_on is not None else -1
        all_wd.append(wd)
        all_hr.append(hr)
        if r.h3_cell:
            reports_by_cell[r.h3_cell][0].append(wd)
            reports_by_cell[r.h3_cell][1].append(hr)
    if any(h >= 0 for h in all_hr):
        county = hour_of_week_profile(
            all_wd,
            all_hr,
            nte_hours=tuple(params.nte_hours),
            nte_weight=params.nte_weight,
            threshold=0.0,
        )
    else:  # no hours known: the night-time economy's hours, every day
        county = hour_of_week_profile([-1] * len(params.nte_hours), params.nte_hours, threshold=0.0)
    cell_pos = {c: i for i, c in enumerate(cells)}
    gi = hot_demand_cells(cells, inputs["hotspots"])
    gi_used = 0
    teams_out = []
    for t, j in enumerate(selected):
        mine = np.flatnonzero(own == t)
        if gi:
            pool = [cells[i] for i in mine if cells[i] in gi]
            pool.sort(key=lambda c: (-gi[c], -w[cell_pos[c]]))
            if len(pool) < params.hotspots_per_team:  # top up with the team's busiest cells
                rest = [
                    cells[i]
                    for i in mine[np.argsort(-w[mine], kind="stable")]
                    if cells[i] not in gi
                ]
                pool += rest
        else:
            pool = [cells[i] for i in mine[np.argsort(-w[mine], kind="stable")]]
        spots = pool[: params.hotspots_per_team]
        gi_used += sum(1 for c in spots if c in gi)
        when = np.array(
            [
                hour_of_week_profile(
                    *reports_by_cell.get(c, ([], [])),
                    prior=county,
                    nte_hours=tuple(params.nte_hours),
                    nte_weight=params.nte_weight,
                )
                for c in spots
            ]
        ).reshape(len(spots), 7, 24)
        spot_w = np.array([w[cell_pos[c]] for c in spots])
        patrol = PatrolPlan.from_arrays(
            spot_w,
            when,
            officers=int(sizing.seats[t]),
            duty_share=params.duty_share,
            visits_per_pair_shift=params.visits_per_pair_shift,
            seed=params.patrol_seed + 7919 * t,
        ).solve()
        cand = candidates[int(j)]
        teams_out.append(
            {
                "name": f"Team {t + 1}: {cand['name']}",
                "base_code": cand["code"],
                "base_kind": cand["kind"],
                "lat": cand["lat"],
                "lon": cand["lon"],
                "officers": int(sizing.seats[t]),
                "quota": float(sizing.quota[t]),
                "covered_demand": float(team_demand[t]),
                "covered_share": float(team_demand[t] / total),
                "phase": int(roll.phase_of[t]),
                "phase_start": roll.phase_dates[int(roll.phase_of[t]) - 1],
                "rollout_rank": int(np.flatnonzero(roll.order == t)[0]) + 1,
                "marginal": float(roll.marginal[np.flatnonzero(roll.order == t)[0]] / total),
                "capacity": patrol.capacity,
                "hotspots": [
                    {
                        "cell": c,
                        "lat": _cell_latlng(c)[0],
                        "lon": _cell_latlng(c)[1],
                        "demand_share": float(spot_w[k] / total),
                        "z": gi.get(c),
                        "visits": int(patrol.visits_per_hotspot[k]) if len(spots) else 0,
                    }
                    for k, c in enumerate(spots)
                ],
                "visits": [
                    {
                        "hotspot": spots[v.hotspot],
                        "weekday": v.weekday,
                        "start_minute": v.start_minute,
                        "minutes": v.minutes,
                    }
                    for v in patrol.visits
                ],
            }
        )
    phases = [
        {
            "phase": i + 1,
            "start": roll.phase_dates[i].isoformat(),
            "teams": roll.phase_sizes[i],
            "cumulative_coverage": roll.cumulative[i],
        }
        for i in range(len(roll.phase_dates))
    ]
    return {
        "coverage": coverage_share,
        "solver": solver,
        "teams": teams_out,
        "wards": ward_result,
        "summary": {
            "demand_cells": len(cells),
            "demand_sources": demand.used,
            "demand_totals": {k: float(v.sum()) for k, v in demand.components.items()},
            "candidates": len(candidates),
            "town_centres": sum(1 for c in candidates if c["kind"] == "town centre"),
            "busy_cells": sum(1 for c in candidates if c["kind"] == "busy area"),
            "hotspot_source": (
                f"Gi* hotspots (95% or more; {gi_used} cells) topped up with top demand cells"
                if gi_used
                else "top demand cells"
                + (
                    " (no Gi* hot cell is within reach of a base)"
                    if inputs["hotspots"]
                    else " (no hotspot analysis is stored)"
                )
            ),
            "hotspot_runs": inputs["hotspot_runs"],
            "apportionment": sizing.method_name,
            "ward_apportionment": (
                f"{params.ward_officers} officers, at least {params.ward_min} "
                f"per ward, the rest by need ({sizing.method_name})"
            ),
            "rollout": phases,
            "seconds": time.perf_counter() - started,
        },
    }


def find_candidates(
    *,
    inputs: dict[str, Any],
    params: PlanParams,
    report_cells: list[str],
    crime_cells: list[str],
    ward_cells: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """Town centres (their centroids) and cells at least as busy as the configured threshold."""
    wards = inputs["wards"]
    candidates: list[dict[str, Any]] = []
    for tc in inputs["town_centres"]:
        candidates.append(
            {
                "code": tc.code,
                "name": tc.name,
                "lat": tc.centroid_lat,
                "lon": tc.centroid_lon,
                "kind": "town centre",
            }
        )
    busy = Counter(report_cells) + Counter(crime_cells)
    for cell, _ward, _c in inputs["surveys"]:
        if cell:
            busy[cell] += 1
    if busy:
        counts = np.array(list(busy.values()), dtype=float)
        threshold = max(
            float(params.busy_min_records), float(np.quantile(counts, params.busy_quantile))
        )
        ward_name = {w.code: w.name for w in wards}
        cell_ward: dict[str, str] = {}
        for ward, wcells in ward_cells.items():
            for c in wcells:
                cell_ward.setdefault(c, ward)
        for cell, n in sorted(busy.items(), key=lambda kv: (-kv[1], kv[0])):
            if n < threshold:
                break
            lat, lon = _cell_latlng(cell)
            near = ward_name.get(cell_ward.get(cell, ""), "")
            candidates.append(
                {
                    "code": cell,
                    "name": f"Busy area{' in ' + near if near else ''} ({n} records)",
                    "lat": lat,
                    "lon": lon,
                    "kind": "busy area",
                }
            )
    return candidates


def candidate_list(*, session: Session, params: PlanParams | None = None) -> list[dict[str, Any]]:
    """The candidate bases the store gives with ``params`` (default settings if none)."""
    inputs = load_inputs(session=session)
    params = params or PlanParams()
    ward_cells: dict[str, list[str]] = defaultdict(list)
    for cell, _t, ward, _n in inputs["crimes"]:
        if cell and ward:
            ward_cells[ward].append(cell)
    crime_cells = [
        c for c, t, _w, n in inputs["crimes"] if c and t in inputs["womens"] for _ in range(int(n))
    ]
    return find_candidates(
        inputs=inputs,
        params=params,
        report_cells=[r.h3_cell for r in inputs["reports"] if r.h3_cell],
        crime_cells=crime_cells,
        ward_cells=ward_cells,
    )


def hot_demand_cells(cells: list[str], hotspots: list[tuple[str, float, int]]) -> dict[str, float]:
    """Demand cells inside a Gi* hot cell -> its z, matching H3 resolutions either way."""
    import h3

    if not hotspots or not cells:
        return {}
    z = {c: zz for c, zz, _k in hotspots}
    resolutions = sorted({h3.get_resolution(c) for c in z})
    out: dict[str, float] = {}
    for cell in cells:
        res = h3.get_resolution(cell)
        found: list[float] = []
        for r in resolutions:
            if r == res and cell in z:
                found.append(z[cell])
            elif r < res and (parent := h3.cell_to_parent(cell, r)) in z:
                found.append(z[parent])
            elif r > res:  # a finer hotspot grid: hot if any child is
                found += [z[k] for k in h3.cell_to_children(cell, r) if k in z]
        if found:
            out[cell] = max(found)
    return out


def make_plan(*, engine: Engine, name: str, params: PlanParams, progress: Progress = None) -> Plan:
    """Make a plan from the store and save it under ``name`` (replacing a plan of that name)."""
    from saferstreets.db import session_scope

    name = (name or "").strip()
    if not name or len(name) > 200:
        raise PlanningError(
            "A plan needs a name of 1 to 200 characters",
            field_errors={"name": "1 to 200 characters"},
        )
    params.check()
    with session_scope(engine) as session:
        inputs = load_inputs(session=session)
    result = compute_plan(inputs=inputs, params=params, progress=progress)
    say = progress or (lambda _msg: None)
    say("saving the plan")
    with session_scope(engine) as session:
        old = session.scalar(sa.select(Plan).where(Plan.name == name))
        if old is not None:
            _delete_plan_rows(session=session, plan_id=old.id)
            session.delete(old)
            session.flush()
        solver = result["solver"]
        plan = Plan(
            name=name,
            params=params.model_dump(mode="json"),
            coverage=result["coverage"],
            objective=solver["objective"],
            bound=solver["bound"],
            gap=solver["gap"],
            solve_seconds=solver["seconds"],
            status=solver["status"],
            result={
                "solver": solver,
                "summary": result["summary"],
                "teams": [
                    {k: v for k, v in t.items() if k != "visits"}
                    | {"phase_start": t["phase_start"].isoformat()}
                    for t in result["teams"]
                ],
            },
        )
        session.add(plan)
        session.flush()
        for t in result["teams"]:
            team = PlanTeam(
                plan_id=plan.id,
                name=t["name"][:200],
                base_code=t["base_code"],
                latitude=t["lat"],
                longitude=t["lon"],
                officers=t["officers"],
                covered_demand=t["covered_demand"],
                phase=t["phase"],
                phase_start=t["phase_start"],
            )
            session.add(team)
            session.flush()
            spots = {h["cell"]: h for h in t["hotspots"]}
            session.add_all(
                PatrolSlot(
                    team_id=team.id,
                    place=v["hotspot"],
                    latitude=spots[v["hotspot"]]["lat"],
                    longitude=spots[v["hotspot"]]["lon"],
                    weekday=v["weekday"],
                    start_minute=v["start_minute"],
                    minutes=v["minutes"],
                )
                for v in t["visits"]
            )
        session.add_all(
            WardAllocation(
                plan_id=plan.id,
                ward_code=wd["code"],
                officers=wd["officers"],
                need=wd["need"],
                reason=wd["reason"],
            )
            for wd in result["wards"]
        )
        session.flush()
        session.expunge(plan)
    return plan


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
    from saferstreets.areas.models import Area

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
    return {
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


def compare_plans(*, session: Session, ids: list[int]) -> dict:
    """Plans side by side: headline figures, the settings that differ, and the bases each uses."""
    if len(ids) < 2:
        raise PlanningError(
            "Choose at least two plans to compare", field_errors={"ids": "two or more"}
        )
    details = [plan_detail(session=session, plan_id=i) for i in ids]
    keys = sorted({k for d in details for k in (d["params"] or {})})
    differing = {
        k: [d["params"].get(k) for d in details]
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
    for pos, d in enumerate(details):
        for wd in d["wards"]:
            ward_officers.setdefault(wd["code"], [None] * len(details))[pos] = wd["officers"]
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
            }
            for d in details
        ],
        "differing_params": differing,
        "bases": dict(sorted(bases.items(), key=lambda kv: kv[1]["name"])),
        "ward_changes": {k: v for k, v in ward_officers.items() if len(set(v)) > 1},
    }


# --------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


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
            "officers",
            "weekday",
            "start",
            "end",
            "minutes",
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
                        t["base_code"],
                        t["officers"],
                        WEEKDAY_NAMES[v["weekday"]],
                        hhmm(v["start_minute"]),
                        hhmm((v["start_minute"] + v["minutes"]) % 1440),
                        v["minutes"],
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
