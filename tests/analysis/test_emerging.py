"""Mann-Kendall against brute force and scipy; Esri's emerging-hot-spot categories."""

from __future__ import annotations

import itertools

import h3
import numpy as np
import pytest
from scipy import stats

from saferstreets.analysis.emerging import categorise, emerging_hotspots, mann_kendall
from saferstreets.analysis.hotspots import H3Weights, study_cells


def test_mann_kendall_s_matches_brute_force_with_ties() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 5, size=(50, 13)).astype(float)
    mk = mann_kendall(x)
    for row, s in zip(x, mk.s, strict=True):
        brute = sum(np.sign(row[j] - row[i]) for i, j in itertools.combinations(range(13), 2))
        assert s == brute
        # tie-corrected variance from the tie groups directly
        _, t = np.unique(row, return_counts=True)
        var = (13 * 12 * 31 - (t * (t - 1) * (2 * t + 5)).sum()) / 18
        assert var == pytest.approx(mann_kendall(row).var_s[0])


def test_mann_kendall_matches_kendalltau_on_untied_series() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 12)) + np.linspace(0, 1, 12)
    mk = mann_kendall(x, continuity=False)
    t = np.arange(12)
    for i in range(30):
        ref = stats.kendalltau(t, x[i], method="asymptotic")
        assert mk.tau[i] == pytest.approx(ref.statistic, abs=1e-12)
        assert mk.p[i] == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize(
    ("hot", "cold", "trend_z", "trend_p", "expected"),
    [
        ("000000000001", "000000000000", 0.0, 1.0, "new hot spot"),
        ("000000000111", "000000000000", 0.0, 1.0, "consecutive hot spot"),
        ("111111111111", "000000000000", 3.0, 0.001, "intensifying hot spot"),
        ("111111111111", "000000000000", 0.5, 0.6, "persistent hot spot"),
        ("111111111111", "000000000000", -3.0, 0.001, "diminishing hot spot"),
        ("010010000101", "000000000000", 0.0, 1.0, "sporadic hot spot"),
        ("000000000001", "001000000000", 0.0, 1.0, "oscillating hot spot"),
        ("111111111110", "000000000000", 0.0, 1.0, "historical hot spot"),
        ("000000000000", "111111111111", -3.0, 0.001, "intensifying cold spot"),
        ("000000000000", "000000000000", 0.0, 1.0, "no pattern"),
        ("000100000000", "000000000000", 0.0, 1.0, "no pattern"),
    ],
)
def test_esri_categories(
    hot: str, cold: str, trend_z: float, trend_p: float, expected: str
) -> None:
    h = np.array([c == "1" for c in hot])
    c = np.array([c == "1" for c in cold])
    assert categorise(h, c, trend_z, trend_p) == expected


def test_a_busy_cell_every_month_is_a_persistent_or_intensifying_hot_spot() -> None:
    centre = h3.latlng_to_cell(51.75, -0.34, 9)
    cells = study_cells(h3.grid_disk(centre, 5))
    w = H3Weights.from_cells(cells)
    rng = np.random.default_rng(4)
    counts = rng.poisson(0.5, size=(w.n, 12)).astype(float)
    idx = cells.index(centre)
    counts[idx] += np.arange(12) * 4 + 20
    em = emerging_hotspots(counts, w, tuple(f"2021-{m:02d}" for m in range(1, 13)))
    assert em.classes[idx].min() >= 2
    assert em.categories[idx] in ("intensifying hot spot", "persistent hot spot")
