"""A plan computed from plain inputs, as named steps: demand, candidates, place, size, phase,
wards, patrols. Nothing here reads or writes the store (the planning service does, around it).

Each step takes typed inputs and returns a typed result; :func:`compute_plan` runs them in order
and returns the plan as plain data, as the service stores it.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import h3
import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from saferstreets.errors import PlanningError
from saferstreets.optimisation.apportion import Apportionment
from saferstreets.optimisation.coverage import coverage_from_points, project_lonlat
from saferstreets.optimisation.demand import Demand
from saferstreets.optimisation.mclp import MCLP
from saferstreets.optimisation.pmedian import PMedian
from saferstreets.optimisation.rollout import Rollout
from saferstreets.optimisation.wards import WardApportionment
from saferstreets.planning.params import PlanParams
from saferstreets.planning.plandata import (
    Candidates,
    DemandStep,
    Placement,
    PlanInputs,
    PlanResult,
    cell_latlng,
)
from saferstreets.planning.teams import plan_patrols, summarise
from saferstreets.progress import Progress, silent

# --------------------------------------------------------------------------------------------
# the steps


def compute_plan(
    *, inputs: PlanInputs, params: PlanParams, progress: Progress | None = None
) -> PlanResult:
    """The whole plan (no store access): placement, sizes, rollout, wards, patrols."""
    say = progress or silent
    params.check()
    started = time.perf_counter()
    say("building demand")
    demand = build_demand(inputs, params)
    say("finding candidate bases")
    candidates = choose_candidates(inputs, params, demand)
    say(f"placing {params.teams} bases ({params.method})")
    placement = place(demand, candidates, params)
    say(f"sizing teams ({params.officers} officers)")
    sizing = size_teams(placement, params)
    say("ordering the rollout")
    rollout = phase(placement, demand, params)
    say("allocating ward officers")
    wards = allocate_wards(inputs, params)
    say("planning patrols")
    teams, gi_used = plan_patrols(inputs, params, demand, candidates, placement, sizing, rollout)
    summary = summarise(inputs, params, demand, candidates, sizing, rollout, gi_used)
    summary["seconds"] = time.perf_counter() - started
    return PlanResult(placement.coverage_share, placement.solver, teams, wards, summary)


def build_demand(inputs: PlanInputs, params: PlanParams) -> DemandStep:
    """Demand per cell from reports, survey concerns and harm-weighted crime; cells projected."""
    ward_cells: dict[str, list[str]] = defaultdict(list)
    report_cells = [r.h3_cell for r in inputs.reports if r.h3_cell]
    report_hours = [
        r.occurred_hour if r.occurred_hour is not None else -1 for r in inputs.reports if r.h3_cell
    ]
    crime_cells: list[str] = []
    crime_types: list[str] = []
    for cell, ctype, ward, count in inputs.crimes:
        if cell and ctype in inputs.womens:
            crime_cells += [cell] * int(count)
            crime_types += [ctype] * int(count)
        if cell and ward:
            ward_cells[ward].append(cell)
    for r in inputs.reports:
        if r.h3_cell and r.ward_code:
            ward_cells[r.ward_code].append(r.h3_cell)
    survey_cells, survey_amounts = _survey_demand(inputs, ward_cells)
    demand = Demand.from_arrays(
        report_cells=report_cells,
        report_hours=report_hours,
        survey_cells=survey_cells,
        survey_amounts=survey_amounts,
        crime_cells=crime_cells,
        crime_types=crime_types,
        weights=params.weights,
        harm_weights=inputs.harm,
        nte_hours=params.nte_hours,
        nte_weight=params.nte_weight,
    ).solve()
    cells = list(demand.cells)
    latlng = np.array([cell_latlng(c) for c in cells])
    lon0, lat0 = float(latlng[:, 1].mean()), float(latlng[:, 0].mean())
    xy = project_lonlat(latlng[:, 1], latlng[:, 0], lon0=lon0, lat0=lat0)
    return DemandStep(demand, cells, xy, lon0, lat0, report_cells, crime_cells, ward_cells)


def _survey_demand(
    inputs: PlanInputs, ward_cells: Mapping[str, list[str]]
) -> tuple[list[str], list[float]]:
    """Each answer's concerns in its cell; else spread over its ward's cells; else the centroid."""
    cells: list[str] = []
    amounts: list[float] = []
    ward_centroid = {w.code: (w.centroid_lat, w.centroid_lon) for w in inputs.wards}
    for cell, ward, concerns in inputs.surveys:
        amount = float(len(concerns or []))
        if amount <= 0:
            continue
        if cell:
            cells.append(cell)
            amounts.append(amount)
        elif ward and ward_cells.get(ward):
            spread = sorted(set(ward_cells[ward]))
            cells += spread
            amounts += [amount / len(spread)] * len(spread)
        elif ward in ward_centroid:
            lat, lon = ward_centroid[ward]
            cells.append(h3.latlng_to_cell(lat, lon, inputs.resolution))
            amounts.append(amount)
    return cells, amounts


def find_candidates(
    inputs: PlanInputs,
    params: PlanParams,
    report_cells: Sequence[str],
    crime_cells: Sequence[str],
    ward_cells: Mapping[str, list[str]],
) -> list[dict[str, Any]]:
    """Town centres (their centroids) and cells at least as busy as the configured threshold."""
    candidates: list[dict[str, Any]] = [
        {
            "code": tc.code,
            "name": tc.name,
            "lat": tc.centroid_lat,
            "lon": tc.centroid_lon,
            "kind": "town centre",
        }
        for tc in inputs.town_centres
    ]
    busy = Counter(report_cells) + Counter(crime_cells)
    for cell, _ward, _c in inputs.surveys:
        if cell:
            busy[cell] += 1
    if not busy:
        return candidates
    counts = np.array(list(busy.values()), dtype=float)
    threshold = max(
        float(params.busy_min_records), float(np.quantile(counts, params.busy_quantile))
    )
    ward_name = {w.code: w.name for w in inputs.wards}
    cell_ward: dict[str, str] = {}
    for ward, wcells in ward_cells.items():
        for c in wcells:
            cell_ward.setdefault(c, ward)
    for cell, n in sorted(busy.items(), key=lambda kv: (-kv[1], kv[0])):
        if n < threshold:
            break
        lat, lon = cell_latlng(cell)
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


def choose_candidates(inputs: PlanInputs, params: PlanParams, demand: DemandStep) -> Candidates:
    """The candidate bases, checked against the teams asked for and the forced bases."""
    bases = find_candidates(
        inputs, params, demand.report_cells, demand.crime_cells, demand.ward_cells
    )
    if not bases:
        raise PlanningError(
            "There are no candidate bases: no town centres are imported and no area is busy enough",
            field_errors={"busy_min_records": "lower it, or import town centre boundaries"},
            hint="import town centre boundaries",
        )
    index = {c["code"]: i for i, c in enumerate(bases)}
    for label, wanted in (("force_in", params.force_in), ("force_out", params.force_out)):
        unknown = [code for code in wanted if code not in index]
        if unknown:
            raise PlanningError(
                f"{', '.join(unknown)} is not a candidate base",
                field_errors={label: "not a candidate"},
                hint="candidate bases are town centre codes and busy H3 cells",
            )
    available = len(bases) - len(params.force_out)
    if params.teams > available:
        raise PlanningError(
            f"{params.teams} teams were asked for but there are only {available} candidate bases",
            field_errors={"teams": f"at most {available}"},
            hint="lower the number of teams, import town centres, or lower busy_min_records",
        )
    xy = project_lonlat(
        [c["lon"] for c in bases], [c["lat"] for c in bases], lon0=demand.lon0, lat0=demand.lat0
    )
    return Candidates(
        bases, xy, [index[c] for c in params.force_in], [index[c] for c in params.force_out]
    )


def place(demand: DemandStep, candidates: Candidates, params: PlanParams) -> Placement:
    """Choose the bases (MCLP or p-median); each covered cell counts for its nearest base."""
    w = demand.weights
    cover = coverage_from_points(demand.xy, candidates.xy, params.radius)
    if params.method == "mclp":
        selected, solver = _place_mclp(cover, w, candidates, params)
    else:
        selected, solver = _place_pmedian(demand, candidates, params)
    covered = np.asarray(cover[:, selected].tocsc().sum(axis=1)).ravel() > 0
    total = float(w.sum())
    # each covered cell counts for its nearest chosen base, so no demand counts twice
    _, nearest = cKDTree(candidates.xy[selected]).query(demand.xy)
    dist_nearest = np.linalg.norm(demand.xy - candidates.xy[selected][nearest], axis=1)
    own = np.where(dist_nearest <= params.radius, nearest, -1)
    team_demand = np.bincount(own[own >= 0], weights=w[own >= 0], minlength=len(selected))
    share = float(w[covered].sum() / total)
    return Placement(selected, solver, cover, share, total, own, team_demand)


def _place_mclp(
    cover: sp.csr_matrix, w: np.ndarray, candidates: Candidates, params: PlanParams
) -> tuple[np.ndarray, dict[str, Any]]:
    model = MCLP(
        cover, w, params.teams, forced_in=candidates.forced_in, forced_out=candidates.forced_out
    ).solve(time_limit=params.time_limit, mip_gap=params.mip_gap)
    return model.selected, {
        "objective": model.objective,
        "bound": model.bound,
        "gap": model.gap,
        "status": model.status,
        "seconds": model.solve_seconds,
        "stages": model.stages_table(),
        "greedy_objective": model.greedy_objective,
    }


def _place_pmedian(
    demand: DemandStep, candidates: Candidates, params: PlanParams
) -> tuple[np.ndarray, dict[str, Any]]:
    pm = PMedian.from_arrays(
        demand.xy,
        demand.weights,
        candidates.xy,
        params.teams,
        forced_in=candidates.forced_in,
        forced_out=candidates.forced_out,
    ).solve(time_limit=params.time_limit, mip_gap=params.mip_gap)
    return pm.selected, {
        "objective": pm.objective,
        "bound": pm.bound if np.isfinite(pm.bound) else None,
        "gap": pm.gap if np.isfinite(pm.gap) else None,
        "status": pm.status,
        "seconds": pm.solve_seconds,
        "stages": [],
        "mean_distance_m": pm.mean_distance,
    }


def size_teams(placement: Placement, params: PlanParams) -> Apportionment:
    """Officers per team in proportion to the demand each covers, within the team-size bounds."""
    return Apportionment.from_arrays(
        placement.team_demand,
        params.officers,
        lower=params.min_team,
        upper=params.max_team,
        method=params.apportionment,
        what="officers",
        unit="team",
    ).solve()


def phase(placement: Placement, demand: DemandStep, params: PlanParams) -> Rollout:
    """The order and phases in which the teams start (most new coverage first)."""
    return Rollout.from_arrays(
        placement.selected_cover,
        demand.weights,
        phases=params.phases,
        start=params.rollout_start,
        end=params.rollout_start + timedelta(weeks=params.phase_weeks * (params.phases - 1)),
    ).solve()


def allocate_wards(inputs: PlanInputs, params: PlanParams) -> list[dict[str, Any]]:
    """Ward officers shared by need (reports, survey concerns, harm-weighted crime)."""
    wards = inputs.wards
    if not wards or params.ward_officers <= 0:
        return []
    codes = [wd.code for wd in wards]
    pos = {c: i for i, c in enumerate(codes)}
    comp = {k: np.zeros(len(codes)) for k in ("reports", "survey", "crime")}
    for r in inputs.reports:
        if r.ward_code in pos:
            comp["reports"][pos[r.ward_code]] += 1
    for _cell, ward, concerns in inputs.surveys:
        if ward in pos:
            comp["survey"][pos[ward]] += len(concerns or [])
    for _cell, ctype, ward, count in inputs.crimes:
        if ward in pos and ctype in inputs.womens:
            comp["crime"][pos[ward]] += inputs.harm.get(ctype, 0.0) * count
    alloc = WardApportionment.from_arrays(
        codes,
        [wd.name for wd in wards],
        comp,
        params.weights,
        total=params.ward_officers,
        minimum=params.ward_min,
        method=params.apportionment,
    ).solve()
    return [
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
        for i, wd in enumerate(wards)
    ]


def common_coverage(
    inputs: PlanInputs, bases: Sequence[Sequence[tuple[float, float]]], radii: Sequence[float]
) -> tuple[list[float], PlanParams]:
    """Each plan's share of one common demand measure (every source weighted 1) within its
    radius of its bases ((lat, lon) each), so that plans made with different demand weights can
    be compared; and the settings of that measure."""
    common = PlanParams()  # the default weights: each source an equal say
    demand = build_demand(inputs, common)
    w = demand.weights
    total = float(w.sum()) or 1.0
    shares = []
    for points, radius in zip(bases, radii, strict=True):
        if not points:
            shares.append(0.0)
            continue
        xy = project_lonlat(
            [lon for _lat, lon in points],
            [lat for lat, _lon in points],
            lon0=demand.lon0,
            lat0=demand.lat0,
        )
        cover = coverage_from_points(demand.xy, xy, radius)
        covered = np.asarray(cover.sum(axis=1)).ravel() > 0
        shares.append(float(w[covered].sum() / total))
    return shares, common
