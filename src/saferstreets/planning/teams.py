"""A plan's teams: their patrol places (Gi* hot cells first) and week of visits, and the
plan's summary. Steps of :func:`saferstreets.planning.compute.compute_plan`; no store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import h3
import numpy as np

from saferstreets.optimisation.apportion import Apportionment
from saferstreets.optimisation.patrols import PatrolPlan, hour_of_week_profile
from saferstreets.optimisation.rollout import Rollout
from saferstreets.planning.params import PlanParams
from saferstreets.planning.plandata import (
    Candidates,
    DemandStep,
    Placement,
    PlanInputs,
    cell_latlng,
)


def hot_demand_cells(cells: list[str], hotspots: list[tuple[str, float, int]]) -> dict[str, float]:
    """Demand cells inside a Gi* hot cell -> its z, matching H3 resolutions either way."""
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


@dataclass
class WeekProfiles:
    """When reports happen: the county's hour-of-week profile, and each cell's reports."""

    county: np.ndarray
    by_cell: dict[str, tuple[list[int], list[int]]]  # cell -> (weekdays, hours)


def week_profiles(inputs: PlanInputs, params: PlanParams) -> WeekProfiles:
    """Hours of the week from reports: the county's profile (NTE hours if none), each cell's."""
    by_cell: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    all_wd, all_hr = [], []
    for r in inputs.reports:
        hr = r.occurred_hour if r.occurred_hour is not None else -1
        wd = r.occurred_on.weekday() if r.occurred_on is not None else -1
        all_wd.append(wd)
        all_hr.append(hr)
        if r.h3_cell:
            by_cell[r.h3_cell][0].append(wd)
            by_cell[r.h3_cell][1].append(hr)
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
    return WeekProfiles(county, by_cell)


def team_hotspots(
    t: int, demand: DemandStep, placement: Placement, gi: Mapping[str, float], per_team: int
) -> list[str]:
    """A team's patrol places: its Gi* hot cells first, topped up with its busiest cells."""
    cells, w = demand.cells, demand.weights
    cell_pos = {c: i for i, c in enumerate(cells)}
    mine = np.flatnonzero(placement.own == t)
    busiest = mine[np.argsort(-w[mine], kind="stable")]
    if not gi:
        return [cells[i] for i in busiest][:per_team]
    pool = [cells[i] for i in mine if cells[i] in gi]
    pool.sort(key=lambda c: (-gi[c], -w[cell_pos[c]]))
    if len(pool) < per_team:  # top up with the team's busiest cells
        pool += [cells[i] for i in busiest if cells[i] not in gi]
    return pool[:per_team]


def plan_patrols(
    inputs: PlanInputs,
    params: PlanParams,
    demand: DemandStep,
    candidates: Candidates,
    placement: Placement,
    sizing: Apportionment,
    rollout: Rollout,
) -> tuple[list[dict[str, Any]], int]:
    """Each team as plain data with its hotspots and its week of visits; and Gi* cells used."""
    profiles = week_profiles(inputs, params)
    gi = hot_demand_cells(demand.cells, inputs.hotspots)
    gi_used = 0
    teams = []
    for t, j in enumerate(placement.selected):
        spots = team_hotspots(t, demand, placement, gi, params.hotspots_per_team)
        gi_used += sum(1 for c in spots if c in gi)
        patrol, spot_w = _patrol(t, spots, demand, profiles, int(sizing.seats[t]), params)
        team = _team(t, candidates.bases[int(j)], placement, sizing, rollout, patrol)
        team["hotspots"] = [
            {
                "cell": c,
                "lat": cell_latlng(c)[0],
                "lon": cell_latlng(c)[1],
                "demand_share": float(spot_w[k] / placement.total),
                "z": gi.get(c),
                "visits": int(patrol.visits_per_hotspot[k]) if len(spots) else 0,
            }
            for k, c in enumerate(spots)
        ]
        team["visits"] = [
            {
                "hotspot": spots[v.hotspot],
                "weekday": v.weekday,
                "start_minute": v.start_minute,
                "minutes": v.minutes,
            }
            for v in patrol.visits
        ]
        teams.append(team)
    return teams, gi_used


def _patrol(
    t: int,
    spots: list[str],
    demand: DemandStep,
    profiles: WeekProfiles,
    officers: int,
    params: PlanParams,
) -> tuple[PatrolPlan, np.ndarray]:
    """One team's week of short, unpredictable visits at the hours each place needs."""
    cell_pos = {c: i for i, c in enumerate(demand.cells)}
    when = np.array(
        [
            hour_of_week_profile(
                *profiles.by_cell.get(c, ([], [])),
                prior=profiles.county,
                nte_hours=tuple(params.nte_hours),
                nte_weight=params.nte_weight,
            )
            for c in spots
        ]
    ).reshape(len(spots), 7, 24)
    spot_w = np.array([demand.weights[cell_pos[c]] for c in spots])
    patrol = PatrolPlan.from_arrays(
        spot_w,
        when,
        officers=officers,
        duty_share=params.duty_share,
        visits_per_pair_shift=params.visits_per_pair_shift,
        max_visits_per_hotspot=params.max_visits_per_hotspot,
        visits_per_hour=params.visits_per_hour,
        seed=params.patrol_seed + 7919 * t,
    ).solve()
    return patrol, spot_w


def _team(
    t: int,
    base: dict[str, Any],
    placement: Placement,
    sizing: Apportionment,
    rollout: Rollout,
    patrol: PatrolPlan,
) -> dict[str, Any]:
    rank = int(np.flatnonzero(rollout.order == t)[0])
    return {
        "name": f"Team {t + 1}: {base['name']}",
        "base_code": base["code"],
        "base_kind": base["kind"],
        "lat": base["lat"],
        "lon": base["lon"],
        "officers": int(sizing.seats[t]),
        "quota": float(sizing.quota[t]),
        "covered_demand": float(placement.team_demand[t]),
        "covered_share": float(placement.team_demand[t] / placement.total),
        "phase": int(rollout.phase_of[t]),
        "phase_start": rollout.phase_dates[int(rollout.phase_of[t]) - 1],
        "rollout_rank": rank + 1,
        "marginal": float(rollout.marginal[rank] / placement.total),
        "capacity": patrol.capacity,
    }


def summarise(
    inputs: PlanInputs,
    params: PlanParams,
    demand: DemandStep,
    candidates: Candidates,
    sizing: Apportionment,
    rollout: Rollout,
    gi_used: int,
) -> dict[str, Any]:
    """The plan's summary: demand, candidates, hotspot source, apportionment, rollout phases."""
    bases = candidates.bases
    dates = rollout.phase_dates
    phases = [
        {
            "phase": i + 1,
            "start": dates[i].isoformat(),
            # a phase runs to the day before the next one starts; the last one carries on
            "end": (dates[i + 1] - timedelta(days=1)).isoformat() if i + 1 < len(dates) else None,
            "teams": rollout.phase_sizes[i],
            "cumulative_coverage": rollout.cumulative[i],
        }
        for i in range(len(dates))
    ]
    if gi_used:
        source = (
            f"the assessment's hot spots (95% confidence or more; {gi_used} small areas), "
            "topped up with the busiest areas"
        )
    elif inputs.hotspots:
        source = "the busiest areas (no assessed hot spot is within reach of a base)"
    else:
        source = "the busiest areas (no hot spot assessment is stored)"
    return {
        "demand_cells": len(demand.cells),
        "demand_sources": demand.demand.used,
        "demand_totals": {k: float(v.sum()) for k, v in demand.demand.components.items()},
        "candidates": len(bases),
        "town_centres": sum(1 for c in bases if c["kind"] == "town centre"),
        "busy_cells": sum(1 for c in bases if c["kind"] == "busy area"),
        "hotspot_source": source,
        "hotspot_runs": inputs.hotspot_runs,
        "apportionment": sizing.method_name,
        "ward_apportionment": (
            f"{params.ward_officers} officers, at least {params.ward_min} "
            f"per ward, the rest by need ({sizing.method_name})"
        ),
        "rollout": phases,
    }
