"""Placement: saferstreets' MCLP vs spopt's MCLP vs greedy + swap, on county-shaped instances.

Instances (from a seed): a 40 x 40 km county, 50,000 demand cells clustered around 40 towns with
skewed weights, candidates spread uniformly, a 3 km radius, 19 bases. With 2,000 candidates about
30-36 reach each demand cell; with 10,000 about 175. spopt builds a dense model in Python loops
(about 8 minutes at 50k x 2k on this machine, DESIGN.md), so it runs on a stated smaller instance
with a time limit, and its MIP gap is checked here (pulp reports HiGHS's time limit as "Optimal").
"""

from __future__ import annotations

import os
import time

import numpy as np

from bench.common import markdown_table, peak_rss_mb

P = 19
RADIUS = 3_000.0


def county(n_demand: int, n_cand: int, seed: int = 0, size: float = 40_000.0, towns: int = 40):
    """Clustered demand (towns of different size and spread) and uniform candidates."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.1 * size, 0.9 * size, size=(towns, 2))
    spread = rng.uniform(500, 3000, size=towns)
    mass = rng.pareto(1.5, size=towns) + 1
    k = rng.choice(towns, size=n_demand, p=mass / mass.sum())
    d = np.clip(centres[k] + rng.normal(size=(n_demand, 2)) * spread[k, None], 0, size)
    w = rng.gamma(0.6, 1.0, size=n_demand) * (1 + 3 * (rng.random(n_demand) < 0.05))
    c = np.random.default_rng(seed + 1).uniform(0, size, size=(n_cand, 2))
    return d, w, c


def _ours(d, w, c, radius, p, time_limit, method="exact"):
    from saferstreets.optimisation.mclp import MCLP

    t0 = time.perf_counter()
    model = MCLP.from_arrays(d, w, c, radius, p)
    build = time.perf_counter() - t0
    model.solve(time_limit=time_limit, mip_gap=0.005, method=method)
    return model, build


def _greedy(d, w, c, radius, p):
    from saferstreets.optimisation.coverage import coverage_from_points
    from saferstreets.optimisation.reductions import covered_weight, greedy, swap_search

    a = coverage_from_points(d, c, radius)
    ac = a.tocsc()
    t0 = time.perf_counter()
    g = greedy(a, ac, w, p)
    tg = time.perf_counter() - t0
    g_val = covered_weight(a, w, g)
    s = swap_search(a, ac, w, g)
    ts = time.perf_counter() - t0
    return g_val, tg, covered_weight(a, w, s), ts


def _spopt(d, w, c, radius, p, time_limit):
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP as SpoptMCLP

    t0 = time.perf_counter()
    cost = cdist(d, c)
    model = SpoptMCLP.from_cost_matrix(cost, w, radius, p)
    build = time.perf_counter() - t0
    solver = pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=0.0)
    t1 = time.perf_counter()
    model.solve(solver)
    solve = time.perf_counter() - t1
    chosen = [j for j, v in enumerate(model.fac_vars) if v.value() is not None and v.value() > 0.5]
    value = float(w[(cost[:, chosen] <= radius).any(axis=1)].sum())
    # pulp maps HiGHS's time limit to "Optimal": read the bound HiGHS proved, where pulp keeps it
    bound = None
    try:
        highs = model.problem.solverModel  # highspy object kept by pulp's HiGHS API
        bound = abs(float(highs.getInfo().mip_dual_bound))  # pulp minimises -w.y
    except Exception:  # not all pulp versions keep it
        bound = None
    return value, bound, build, solve, pulp.LpStatus[model.problem.status], len(chosen)


def run(*, quick: bool) -> str:
    """Time and quality of each method on each instance; returns a Markdown table."""
    sizes = [(2_000, 200, 10_000)] if quick else [(50_000, 2_000, 0), (50_000, 10_000, 0)]
    spopt_size = (2_000, 200) if quick else (10_000, 500)
    time_limit = 10.0 if quick else 30.0
    rows = []
    stage_rows = []
    for n_d, n_c, _ in sizes:
        d, w, c = county(n_d, n_c)
        print(f"   instance {n_d:,} demand x {n_c:,} candidates", flush=True)
        model, build = _ours(d, w, c, RADIUS, P, time_limit)
        reach = model.coverage.nnz / n_d
        g_val, tg, s_val, ts = _greedy(d, w, c, RADIUS, P)
        rows.append(
            [
                f"{n_d:,} x {n_c:,} ({reach:.0f} per cell)",
                "saferstreets MCLP",
                round(build + model.solve_seconds, 2),
                round(model.objective, 2),
                round(model.bound, 2),
                f"{100 * model.gap:.2f}%",
                model.status,
            ]
        )
        # ablation: the same reductions and Lagrangian bound without the core MIP rounds
        lone, lone_build = _ours(d, w, c, RADIUS, P, time_limit, method="greedy")
        rows.append(
            [
                "",
                "saferstreets, bound only (no core MIP)",
                round(lone_build + lone.solve_seconds, 2),
                round(lone.objective, 2),
                round(lone.bound, 2),
                f"{100 * lone.gap:.2f}%",
                lone.status,
            ]
        )
        rows.append(["", "greedy", round(tg, 2), round(g_val, 2), "", "", "heuristic"])
        rows.append(["", "greedy + swap", round(ts, 2), round(s_val, 2), "", "", "heuristic"])
        for s in model.stages:
            stage_rows.append(
                [
                    f"{n_d:,} x {n_c:,}",
                    s.name,
                    s.demand_rows,
                    s.candidates,
                    "" if s.objective is None else round(s.objective, 2),
                    "" if s.bound is None else round(s.bound, 2),
                    "" if s.gap is None else f"{100 * s.gap:.2f}%",
                    round(s.seconds, 2),
                    s.note,
                ]
            )
    # spopt on the stated smaller instance, side by side with ours on the same input
    n_d, n_c = spopt_size
    d, w, c = county(n_d, n_c, seed=3)
    print(f"   spopt instance {n_d:,} x {n_c:,}", flush=True)
    model, build = _ours(d, w, c, RADIUS, P, time_limit)
    g_val, tg, s_val, ts = _greedy(d, w, c, RADIUS, P)
    spopt_limit = 60.0 if quick else 240.0
    value, bound, sb, ss, status, nsel = _spopt(d, w, c, RADIUS, P, spopt_limit)
    label = f"{n_d:,} x {n_c:,} ({model.coverage.nnz / n_d:.0f} per cell)"
    rows.append(
        [
            label,
            "saferstreets MCLP",
            round(build + model.solve_seconds, 2),
            round(model.objective, 2),
            round(model.bound, 2),
            f"{100 * model.gap:.2f}%",
            model.status,
        ]
    )
    gap = "" if bound is None else f"{100 * max(0.0, (bound - value) / bound):.2f}%"
    rows.append(
        [
            "",
            f"spopt MCLP + HiGHS (pulp), {spopt_limit:.0f} s limit",
            f"{sb:.1f} build + {ss:.1f} solve",
            round(value, 2),
            "" if bound is None else round(bound, 2),
            gap,
            f"pulp says {status}; {nsel} bases",
        ]
    )
    rows.append(["", "greedy + swap", round(ts, 2), round(s_val, 2), "", "", "heuristic"])
    for s in model.stages:
        stage_rows.append(
            [
                label,
                s.name,
                s.demand_rows,
                s.candidates,
                "" if s.objective is None else round(s.objective, 2),
                "" if s.bound is None else round(s.bound, 2),
                "" if s.gap is None else f"{100 * s.gap:.2f}%",
                round(s.seconds, 2),
                s.note,
            ]
        )
    head = (
        f"19 bases, 3 km radius, time limit {time_limit:.0f} s for saferstreets (asked for a "
        f"0.5% gap). Gap = (bound - covered) / bound, proven. Seconds include building the "
        f"coverage matrix. Load average at the end {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores. Peak RSS {peak_rss_mb():.0f} MB.\n\n"
    )
    table = markdown_table(
        ["instance", "method", "seconds", "covered weight", "upper bound", "proven gap", "status"],
        rows,
    )
    stages = markdown_table(
        [
            "instance",
            "stage",
            "demand rows",
            "candidates",
            "covered",
            "bound",
            "gap",
            "seconds",
            "note",
        ],
        stage_rows,
    )
    return head + table + "\n\n## What each stage earned (saferstreets)\n\n" + stages
