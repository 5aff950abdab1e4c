"""Group comparisons: the test chosen and its numbers against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from saferstreets.analysis.groups import compare_groups, independence_test


def test_chi_square_matches_scipy() -> None:
    table = np.array([[120, 90, 60], [180, 210, 240]])
    res = independence_test(table)
    ref = stats.chi2_contingency(table, correction=False)
    assert res.test == "chi-square"
    assert res.statistic == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)
    assert res.dof == ref.dof


def test_small_two_by_two_uses_fisher_exact() -> None:
    table = np.array([[3, 1], [1, 3]])
    res = independence_test(table)
    assert res.test == "fisher-exact"
    assert res.p_value == pytest.approx(stats.fisher_exact(table).pvalue)
    assert "small" in res.note


def test_small_larger_table_uses_monte_carlo_fisher() -> None:
    table = np.array([[3, 1, 4], [2, 6, 1]])
    res = independence_test(table, resamples=20_000, seed=2)
    assert res.test.startswith("fisher-freeman-halton")
    ref = stats.fisher_exact(
        table, method=stats.PermutationMethod(n_resamples=4999, rng=np.random.default_rng(2))
    )
    # two Monte Carlo estimates of the same exact p-value
    assert abs(res.p_value - ref.pvalue) < 5 * np.sqrt(ref.pvalue * (1 - ref.pvalue) / 4999)
    wide = independence_test(np.array([[2, 1, 0], [0, 1, 3], [1, 0, 2]]), resamples=999)
    assert wide.test.startswith("fisher-freeman-halton") and 0 < wide.p_value <= 1


def test_one_group_has_no_test() -> None:
    assert independence_test(np.array([[5], [7]])).test == "none"


def test_compare_groups_suppresses_small_groups_and_leaves_them_out_of_the_test() -> None:
    res = compare_groups(["16-24", "25-34", "35-44"], [40, 30, 2], [100, 120, 5], min_count=10)
    groups = {g["group"]: g for g in res.groups}
    assert groups["35-44"]["suppressed"] and groups["35-44"]["share"] is None
    assert groups["16-24"]["share"] == pytest.approx(0.4)
    assert res.excluded == ("35-44",)
    ref = stats.chi2_contingency(np.array([[40, 30], [60, 90]]), correction=False)
    assert res.test.p_value == pytest.approx(ref.pvalue)
