"""MCLP against brute force (every p-subset) and against spopt's MCLP on real-shaped instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from saferstreets.errors import PlanningError
from saferstreets.planning.coverage import coverage_from_points
from saferstreets.planning.mclp import MCLP, dominated_columns, merge_identical_rows


def brute_force(a: sp.csr_matrix, w: np.ndarray, p: int, forced_in=(), forced_out=()) -> float:
    m = a.shape[1]
    dense = a.toarray()
    best = -1.0
    pool = [j for j in range(m) if j not in forced_out and j not in forced_in]
    for combo in itertools.combinations(pool, p - len(forced_in)):
        cols = list(combo) + list(forced_in)
        best = max(best, float(w[dense[:, cols].any(axis=1)].sum()))
    return best


def instance(seed: int, n: int = 60, m: int = 12, radius: float = 2500.0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 10_000, size=(3, 2))
    d = centres[rng.integers(0, 3, n)] + rng.normal(scale=1500, size=(n, 2))
    c = rng.uniform(0, 10_000, size=(m, 2))
    w = rng.gamma(0.8, 1.0, size=n)
    return d, w, c, radius


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("p", [1, 2, 3, 5])
def test_exact_equals_brute_force(seed: int, p: int) -> None:
    d, w, c, r = instance(seed)
    model = MCLP.from_arrays(d, w, c, r, p).solve(time_limit=20)
    a = coverage_from_points(d, c, r)
    assert model.objective == pytest.approx(brute_force(a, w, p), rel=1e-9)
    assert model.gap <= 1e-4 + 1e-12
    assert model.bound >= model.objective - 1e-9
    assert len(model.selected) == p and len(set(model.selected.tolist())) == p
    assert model.objective == pytest.approx(float(w[model.covered].sum()))


@pytest.mark.parametrize("seed", range(4))
def test_forced_in_and_out_are_respected_and_optimal(seed: int) -> None:
    d, w, c, r = instance(seed, m=10)
    a = coverage_from_points(d, c, r)
    model = MCLP.from_arrays(d, w, c, r, 3, forced_in=[seed], forced_out=[9 - seed]).solve()
    assert seed in model.selected and (9 - seed) not in model.selected
    assert model.objective == pytest.approx(brute_force(a, w, 3, (seed,), (9 - seed,)), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(5, 9))
def test_random_instances_match_brute_force(seed: int, p: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    a = sp.csr_matrix(rng.random((25, m)) < rng.uniform(0.05, 0.5))
    w = rng.integers(0, 5, size=25).astype(float) + (rng.random(25) < 0.9)
    p = min(p, m)
    model = MCLP.from_coverage(a, w, p).solve(time_limit=10)
    assert model.objective == pytest.approx(brute_force(a, w, p), rel=1e-9)


def test_reductions_keep_the_optimum() -> None:
    rng = np.random.default_rng(3)
    a = sp.csr_matrix(rng.random((40, 10)) < 0.3)
    a = sp.vstack([a, a[:10]]).tocsr()  # duplicated rows to merge
    w = rng.random(50)
    merged, mw = merge_identical_rows(a, w)
    assert merged.shape[0] <= 40 and mw.sum() == pytest.approx(w.sum())
    dom = dominated_columns(merged)
    dense = merged.toarray()
    for j in np.flatnonzero(dom):  # every dropped column is inside a kept one
        rows = dense[:, j]
        assert any((dense[rows, k]).all() for k in np.flatnonzero(~dom) if k != j)
    for p in (1, 2, 3):
        assert brute_force(merged[:, ~dom], mw, min(p, int((~dom).sum()))) == pytest.approx(
            brute_force(a, w, p)
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": 30}, "only 12 candidate bases"),
        ({"p": 0}, "at least 1"),
        ({"p": 2, "forced_in": [0, 1, 2]}, "3 bases are forced in"),
        ({"p": 2, "forced_in": [1], "forced_out": [1]}, "both forced in and forced out"),
    ],
)
def test_infeasible_settings_are_named(kwargs: dict, message: str) -> None:
    d, w, c, r = instance(0)
    p = kwargs.pop("p")
    with pytest.raises(PlanningError, match=message):
        MCLP.from_arrays(d, w, c, r, p, **kwargs)


@pytest.mark.parametrize("radius", [0, -5, float("nan")])
def test_radius_must_be_positive(radius: float) -> None:
    d, w, c, _ = instance(0)
    with pytest.raises(PlanningError, match="radius must be more than zero"):
        MCLP.from_arrays(d, w, c, radius, 2)


def test_no_demand_is_a_clear_error() -> None:
    d, w, c, r = instance(0)
    with pytest.raises(PlanningError, match="no demand"):
        MCLP.from_arrays(d, np.zeros_like(w), c, r, 2).solve()


def spopt_objective(cost: np.ndarray, w: np.ndarray, radius: float, p: int) -> float:
    pulp = pytest.importorskip("pulp")
    from spopt.locate import MCLP as SpoptMCLP

    model = SpoptMCLP.from_cost_matrix(cost, w, radius, p)
    model.solve(
        pulp.HiGHS(msg=False, timeLimit=120)
        if pulp.HiGHS().available()
        else pulp.PULP_CBC_CMD(msg=False, timeLimit=120)
    )
    chosen = [j for j, var in enumerate(model.fac_vars) if var.value() and var.value() > 0.5]
    return float(w[(cost[:, chosen] <= radius).any(axis=1)].sum())


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_same_objective_as_spopt_on_real_shaped_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(3_000, 17_000, size=(6, 2))
    d = centres[rng.integers(0, 6, 1500)] + rng.normal(scale=1200, size=(1500, 2))
    c = rng.uniform(0, 20_000, size=(150, 2))
    w = rng.gamma(0.6, 1.0, size=1500)
    from scipy.spatial.distance import cdist

    cost = cdist(d, c)
    ours = MCLP.from_cost_matrix(cost, w, 2000.0, 8).solve(time_limit=60, mip_gap=0.0)
    assert ours.status == "optimal"
    assert ours.objective == pytest.approx(spopt_objective(cost, w, 2000.0, 8), rel=1e-7)
