"""Gi* hot spots against PySAL esda on real police.uk data, the permutation engine against brute
force, and FDR against statsmodels."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import h3
import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from saferstreets.analysis.hotspots import (
    GiStar,
    H3Weights,
    benjamini_hochberg,
    classify,
    conditional_permutation_counts,
    study_cells,
)
from saferstreets.crime.offences import WOMENS_SAFETY_TYPES

PERMUTATIONS = 999


def herts_counts(shared: Path, resolution: int) -> dict[str, int]:
    """Women's-safety crimes per H3 cell straight from the police.uk street CSVs."""
    files = sorted((shared / "police-uk-hertfordshire-2021" / "street").glob("*-street.csv"))
    frame = (
        pl.read_csv(files, schema_overrides={"Context": pl.Utf8})
        .filter(pl.col("Crime type").is_in(WOMENS_SAFETY_TYPES) & pl.col("Latitude").is_not_null())
        .select("Latitude", "Longitude")
    )
    cells = [
        h3.latlng_to_cell(lat, lon, resolution)
        for lat, lon in zip(frame["Latitude"], frame["Longitude"], strict=True)
    ]
    agg = pl.DataFrame({"cell": cells}).group_by("cell").len()
    return dict(zip(agg["cell"], agg["len"], strict=True))


@pytest.fixture(scope="module")
def herts(shared_data: Path):  # type: ignore[no-untyped-def]
    from esda.getisord import G_Local
    from libpysal.weights import W

    counts = herts_counts(shared_data, 8)
    cells = study_cells(counts, k=1)
    weights = H3Weights.from_cells(cells, k=1)
    y = np.array([counts.get(c, 0) for c in cells], dtype=float)
    ours = GiStar(y, weights, permutations=PERMUTATIONS, seed=1).fit()
    lw = W(weights.neighbour_lists(), silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = G_Local(y, lw, transform="B", star=True, permutations=PERMUTATIONS, seed=1, n_jobs=1)
    return y, weights, ours, ref


@pytest.mark.shared_data
@pytest.mark.slow
def test_weights_are_h3_contiguity_and_esda_sees_the_same(herts) -> None:  # type: ignore[no-untyped-def]
    y, weights, _ours, ref = herts
    assert weights.n > 1000
    assert y.sum() > 50_000
    # every interior cell of a ring-1 set has its 6 neighbours; none has more
    assert weights.cardinalities.max() == 6
    i = int(np.argmax(y))
    expected = set(h3.grid_ring(weights.cells[i], 1)) & set(weights.cells)
    got = {weights.cells[j] for j in weights.indices[weights.indptr[i] : weights.indptr[i + 1]]}
    assert got == expected
    # esda used binary weights with a self weight of 1 (star): E[G*_i] = (neighbours + 1) / n.
    # (esda's crand zeroes the diagonal of w.sparse in place afterwards, so check the moments.)
    np.testing.assert_allclose(ref.EGs, (weights.cardinalities + 1) / weights.n, atol=1e-15)
    assert bool(ref.star)


@pytest.mark.shared_data
@pytest.mark.slow
def test_z_scores_equal_esda(herts) -> None:  # type: ignore[no-untyped-def]
    _, _, ours, ref = herts
    np.testing.assert_allclose(ours.z, ref.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.G, ref.Gs, rtol=0, atol=1e-12)
    # esda's p_norm is one-sided; ours is two-sided
    np.testing.assert_allclose(ours.p_norm, 2 * ref.p_norm, atol=1e-12)


@pytest.mark.shared_data
@pytest.mark.slow
def test_pseudo_p_values_agree_with_esda_within_monte_carlo_error(herts) -> None:  # type: ignore[no-untyped-def]
    _, _, ours, ref = herts
    p_ref = np.asarray(ref.p_sim, dtype=float)
    diff = ours.p_sim - p_ref
    # Each is a Monte Carlo estimate from 999 draws: the difference of two independent estimates
    # of the same p has sd sqrt(2 p (1 - p) / 999); allow 5 sd (plus the 1/1000 granularity).
    p = (ours.p_sim + p_ref) / 2
    bound = 5 * np.sqrt(2 * p * (1 - p) / PERMUTATIONS) + 2 / (PERMUTATIONS + 1)
    assert np.mean(np.abs(diff) <= bound) > 0.999
    assert np.mean(np.abs(diff)) < 0.03
    # the same cells are significant either way, bar those near the threshold
    agree = (ours.p_sim <= 0.01) == (p_ref <= 0.01)
    assert agree.mean() > 0.97
    # esda shares one random matrix across all cells, so its errors move together: the mean
    # difference is one shared Monte Carlo error, small
    assert abs(diff.mean()) < 0.03


def test_permutation_engine_matches_exact_enumeration() -> None:
    rng = np.random.default_rng(11)
    n = 13
    y = rng.poisson(2.0, size=n).astype(float)
    card = rng.integers(1, 7, size=n)
    observed = np.array(
        [float(rng.choice(np.delete(y, i), c, replace=False).sum()) for i, c in enumerate(card)]
    )
    perms = 40_000
    ge, le = conditional_permutation_counts(
        y, card, observed, permutations=perms, rng=np.random.default_rng(1), block=5
    )
    for i in range(n):
        # exact: every set of card[i] other cells is equally likely
        sums = np.array([sum(c) for c in itertools.combinations(np.delete(y, i), int(card[i]))])
        p_ge, p_le = (sums >= observed[i]).mean(), (sums <= observed[i]).mean()
        for est, exact in ((ge[i] / perms, p_ge), (le[i] / perms, p_le)):
            sd = np.sqrt(exact * (1 - exact) / perms)
            assert abs(est - exact) <= 5 * sd + 1e-12, (i, est, exact)


def test_engine_never_draws_the_cell_itself() -> None:
    # a cell whose own value is huge: if it were drawn as its own neighbour, sums >= 1000 appear
    y = np.zeros(8)
    y[3] = 1000.0
    card = np.full(8, 7)
    observed = np.zeros(8)
    ge, _le = conditional_permutation_counts(
        y, card, observed + 999.0, permutations=500, rng=np.random.default_rng(0), block=8
    )
    assert ge[3] == 0  # others are all zero for cell 3
    assert np.all(ge[np.arange(8) != 3] == 500)  # everyone else always draws cell 3


def test_fdr_matches_statsmodels() -> None:
    rng = np.random.default_rng(5)
    p = np.concatenate([rng.uniform(size=900), rng.uniform(0, 0.001, size=100)])
    q = benjamini_hochberg(p)
    ref = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(q, ref, atol=1e-12)
    with_nan = benjamini_hochberg(np.array([0.01, np.nan, 0.04]))
    assert np.isnan(with_nan[1])
    np.testing.assert_allclose(with_nan[[0, 2]], multipletests([0.01, 0.04], method="fdr_bh")[1])


def test_classes_follow_arcgis_bins() -> None:
    z = np.array([3.0, 2.2, 1.7, 0.5, -1.7, -2.2, -3.0])
    p = 2 * stats.norm.sf(np.abs(z))
    assert classify(z, p).tolist() == [3, 2, 1, 0, -1, -2, -3]


def test_a_planted_cluster_is_hot_and_empty_neighbourhoods_are_not() -> None:
    centre = h3.latlng_to_cell(51.75, -0.34, 9)
    cells = study_cells(h3.grid_disk(centre, 6), k=1)
    w = H3Weights.from_cells(cells)
    rng = np.random.default_rng(2)
    y = rng.poisson(1.0, size=w.n).astype(float)
    cluster = set(h3.grid_disk(centre, 1))
    for i, c in enumerate(cells):
        if c in cluster:
            y[i] += 25
    gi = GiStar(y, w, permutations=999, seed=3, inference="analytic").fit()
    idx = cells.index(centre)
    assert gi.classes[idx] == 3
    # by permutation no random neighbourhood comes near it: the smallest attainable p-value
    assert gi.p_greater[idx] == pytest.approx(1 / 1000)
    perm = GiStar(y, w, permutations=999, seed=3, inference="permutation").fit()
    assert perm.classes[idx] > 0
    zero = GiStar(np.r_[np.zeros(w.n - 1), 5.0], w, permutations=199, seed=1).fit()
    far = cells.index(next(c for c in cells if h3.grid_distance(c, cells[-1]) > 2))
    assert zero.p[far] == 1.0  # an empty neighbourhood: ties on both sides, not significant


def test_gi_star_refuses_bad_input() -> None:
    w = H3Weights.from_cells(study_cells([h3.latlng_to_cell(51.7, -0.3, 9)]))
    with pytest.raises(ValueError, match="values"):
        GiStar(np.ones(3), w).fit()
    with pytest.raises(ValueError, match="non-negative"):
        GiStar(-np.ones(w.n), w).fit()


def test_study_cells_stay_within_the_study_area() -> None:
    cell = h3.latlng_to_cell(51.7, -0.3, 9)
    within = {cell, *list(h3.grid_ring(cell, 1))[:3]}
    out = study_cells([cell], within=within)
    assert set(out) == within


def _disk_weights(cells: list[str], k: int) -> dict[str, set[str]]:
    """Contiguity from scratch: each cell's neighbours by h3's string ``grid_disk``."""
    wanted = set(cells)
    return {c: {n for n in h3.grid_disk(c, k) if n != c and n in wanted} for c in cells}


@pytest.mark.parametrize("k", [1, 2])
def test_weights_around_data_equal_the_weights_of_the_study_cells(k: int) -> None:
    """``H3Weights.around`` (each cell's neighbours found once, by ``grid_ring`` for k=1) is
    ``from_cells(study_cells(...))``, and both are the disks counted from scratch; round a
    pentagon (5 neighbours) too."""
    rng = np.random.default_rng(5)
    centre = h3.latlng_to_cell(51.75, -0.34, 9)
    pentagon = sorted(h3.get_pentagons(9))[0]
    data = list(rng.choice(sorted(h3.grid_disk(centre, 8)), 60, replace=False))
    data += [pentagon, *sorted(h3.grid_ring(pentagon, 2))[:3]]
    within = set(h3.grid_disk(centre, 7)) | set(h3.grid_disk(pentagon, 3))
    for kept in (None, within):
        cells = study_cells(data, k=k, within=kept)
        around = H3Weights.around(data, k=k, within=kept)
        listed = H3Weights.from_cells(cells, k=k)
        assert list(around.cells) == list(listed.cells) == cells
        assert around.indptr.tolist() == listed.indptr.tolist()
        assert around.indices.tolist() == listed.indices.tolist()
        expected = _disk_weights(cells, k)
        got = around.neighbour_lists()
        assert {cells[i]: {cells[j] for j in got[i]} for i in got} == expected
        assert pentagon in cells
