"""Proportions: Wilson and Newcombe intervals and the two-proportion test against statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from saferstreets.analysis.proportions import (
    difference,
    newcombe_interval,
    proportion,
    suppress,
    two_proportion_test,
    wilson_interval,
)


@pytest.mark.parametrize("confidence", [0.90, 0.95, 0.99])
def test_wilson_matches_statsmodels_vectorised(confidence: float) -> None:
    rng = np.random.default_rng(3)
    n = rng.integers(1, 5000, size=500)
    x = rng.integers(0, n + 1)
    lo, hi = wilson_interval(x, n, confidence)
    ref_lo, ref_hi = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, atol=1e-12)
    np.testing.assert_allclose(hi, ref_hi, atol=1e-12)


def test_wilson_scalar_edges_and_empty() -> None:
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0
    lo, hi = wilson_interval(0, 0)
    assert np.isnan(lo) and np.isnan(hi)
    assert proportion(3, 0).share is None
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_newcombe_published_example() -> None:
    # Newcombe (1998), Table II, example (a): 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    lo, hi = newcombe_interval(56, 70, 48, 80)
    assert round(lo, 4) == 0.0524
    assert round(hi, 4) == 0.3339


def test_newcombe_matches_statsmodels() -> None:
    rng = np.random.default_rng(4)
    for _ in range(200):
        n1, n2 = rng.integers(5, 3000, size=2)
        x1, x2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
        ours = newcombe_interval(int(x1), int(n1), int(x2), int(n2))
        ref = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
        np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_two_proportion_test_matches_statsmodels() -> None:
    z, p = two_proportion_test(420, 1000, 380, 1000)
    ref_z, ref_p = proportions_ztest([420, 380], [1000, 1000])
    assert z == pytest.approx(ref_z, abs=1e-12)
    assert p == pytest.approx(ref_p, abs=1e-12)
    d = difference(420, 1000, 380, 1000)
    assert d.difference == pytest.approx(0.04)
    assert d.lower < 0.04 < d.upper
    assert d.as_dict()["p_value"] == pytest.approx(ref_p)


def test_suppression_rule() -> None:
    assert suppress(5, 100, 10)  # a small non-zero count
    assert suppress(50, 9, 10)  # a small group
    assert not suppress(0, 100, 10)  # nobody: nothing to identify
    assert not suppress(10, 10, 10)
