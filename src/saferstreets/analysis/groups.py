"""Comparing a share between groups (age bands, districts, wards, settings) with a stated test.

A 2 x G table (answered yes / no, by group) is tested for independence with Pearson's chi-square
test. Where expected counts are small (any expected count below 1, or more than 20% below 5:
Cochran 1954) the chi-square approximation is poor, and Fisher's exact test is used instead: exact
for a 2 x 2 table, and the Freeman-Halton extension for larger tables with a seeded Monte Carlo
p-value (scipy's ``fisher_exact`` with a ``PermutationMethod``). Every result names the test used.

References
----------
Cochran, W. G. (1954). Some methods for strengthening the common chi-square tests.
    Biometrics 10(4), 417-451.
Freeman, G. H. and Halton, J. H. (1951). Note on an exact treatment of contingency, goodness of fit
    and other problems of significance. Biometrika 38(1/2), 141-149.
Agresti, A. (2013). Categorical Data Analysis, 3rd ed., sections 3.2 and 3.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from saferstreets.analysis.proportions import proportion, suppress


@dataclass(frozen=True)
class IndependenceTest:
    """The outcome of a test of independence on an R x C table of counts."""

    test: str  # "chi-square", "fisher-exact", "fisher-freeman-halton (monte carlo)", "none"
    statistic: float | None
    dof: int | None
    p_value: float | None
    min_expected: float | None
    share_expected_below_5: float | None
    note: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def independence_test(
    table: ArrayLike, *, resamples: int = 9999, seed: int = 1
) -> IndependenceTest:
    """Test independence of rows and columns of a table of counts, choosing the test by size.

    Parameters
    ----------
    table : array_like, shape (R, C)
        Counts. Rows or columns that are all zero are dropped first (they carry no information).
    resamples : int, default 9999
        Monte Carlo resamples for the Freeman-Halton test of tables larger than 2 x 2.
    seed : int, default 1
        Seed of the Monte Carlo resampling, so that a stored result can be reproduced.

    Returns
    -------
    IndependenceTest
        Pearson's chi-square without continuity correction when expected counts are adequate
        (none below 1, at most 20% below 5), otherwise Fisher's exact test.
    """
    t = np.asarray(table, dtype=float)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0] if t.size else t
    if t.ndim != 2 or t.shape[0] < 2 or t.shape[1] < 2:
        return IndependenceTest(
            "none", None, None, None, None, None, "fewer than two groups with answers: no test"
        )
    expected = stats.contingency.expected_freq(t)
    min_exp = float(expected.min())
    below5 = float((expected < 5).mean())
    if min_exp >= 1 and below5 <= 0.2:
        res = stats.chi2_contingency(t, correction=False)
        return IndependenceTest(
            "chi-square",
            float(res.statistic),
            int(res.dof),
            float(res.pvalue),
            min_exp,
            below5,
            "Pearson chi-square test of independence (no continuity correction)",
        )
    counts = t.astype(np.int64)
    note = (
        f"expected counts are small (smallest {min_exp:.1f}; {below5:.0%} below 5), so the "
        "chi-square approximation is unreliable"
    )
    if t.shape == (2, 2):
        res = stats.fisher_exact(counts)
        return IndependenceTest(
            "fisher-exact",
            None,
            None,
            float(res.pvalue),
            min_exp,
            below5,
            note + ": Fisher's exact test",
        )
    if t.shape[0] == 2 or t.shape[1] == 2:
        pvalue = _freeman_halton_2xg(counts if t.shape[0] == 2 else counts.T, resamples, seed)
    else:
        res = stats.fisher_exact(
            counts,
            method=stats.PermutationMethod(n_resamples=resamples, rng=np.random.default_rng(seed)),
        )
        pvalue = float(res.pvalue)
    return IndependenceTest(
        "fisher-freeman-halton (monte carlo)",
        None,
        (t.shape[0] - 1) * (t.shape[1] - 1),
        pvalue,
        min_exp,
        below5,
        note + f": Freeman-Halton exact test, Monte Carlo p-value ({resamples} resamples)",
    )


def _freeman_halton_2xg(table: np.ndarray, resamples: int, seed: int) -> float:
    """Monte Carlo Freeman-Halton p-value of a 2 x G table: the share of tables with the same
    margins (drawn from the multivariate hypergeometric null) no more probable than the one seen.
    """
    from scipy.special import gammaln

    totals = table.sum(axis=0)
    x = int(table[0].sum())

    def log_prob(first_row: np.ndarray) -> np.ndarray:
        # log of prod_g C(n_g, x_g) (the common denominator C(N, X) cancels)
        return (gammaln(totals + 1) - gammaln(first_row + 1) - gammaln(totals - first_row + 1)).sum(
            axis=-1
        )

    rng = np.random.default_rng(seed)
    sims = rng.multivariate_hypergeometric(totals, x, size=resamples)
    observed = float(log_prob(table[0]))
    extreme = int((log_prob(sims) <= observed + 1e-7 * max(1.0, abs(observed))).sum())
    return (extreme + 1) / (resamples + 1)


@dataclass(frozen=True)
class GroupComparison:
    """A share by group, each with a Wilson interval, and a test of whether the groups differ."""

    groups: tuple[dict[str, Any], ...]
    test: IndependenceTest
    min_count: int
    excluded: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "groups": list(self.groups),
            "test": self.test.as_dict(),
            "min_count": self.min_count,
            "excluded": list(self.excluded),
        }


def compare_groups(
    labels: Sequence[str],
    counts: Sequence[int],
    totals: Sequence[int],
    *,
    min_count: int,
    confidence: float = 0.95,
    seed: int = 1,
) -> GroupComparison:
    """Share ``counts / totals`` per group, and a test that the share is the same in every group.

    Parameters
    ----------
    labels : sequence of str
        Group names.
    counts, totals : sequence of int
        Per group: how many gave the answer, and how many answered.
    min_count : int
        Public suppression threshold (``Settings.public_min_count``). Groups whose total is
        below it are marked ``suppressed`` and their figures blanked, and are left out of the test
        (listed in ``excluded``), so that nothing published rests on them.
    confidence : float, default 0.95
    seed : int, default 1
        Seed for a Monte Carlo exact test where one is needed.
    """
    groups: list[dict[str, Any]] = []
    rows: list[tuple[int, int]] = []
    excluded: list[str] = []
    for label, x, n in zip(labels, counts, totals, strict=True):
        hidden = suppress(int(x), int(n), min_count)
        prop = proportion(int(x), int(n), confidence)
        entry: dict[str, Any] = {"group": label, **prop.as_dict(), "suppressed": hidden}
        if hidden:
            entry.update(count=None, share=None, lower=None, upper=None)
        groups.append(entry)
        if int(n) >= min_count:
            rows.append((int(x), int(n) - int(x)))
        else:
            excluded.append(label)
    test = independence_test(np.array(rows).T if rows else np.zeros((0, 0)), seed=seed)
    return GroupComparison(tuple(groups), test, min_count, tuple(excluded))


def fmt_p(p: float | None) -> str:
    """A p-value as words and figures: ``p < 0.001`` or ``p = 0.03``."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "no test"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


ALPHA = 0.05  # the stated threshold below which a difference between groups is reported


def differed(test: dict[str, Any], by: str, *, alpha: float = ALPHA) -> str:
    """A sentence on whether a share differed ``by`` groups: "differed" only when p < alpha.

    Empty when no test was possible; otherwise names the test, the p-value and the threshold."""
    p = test.get("p_value")
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    if p < alpha:
        return f" It differed by {by} ({test['test']}, {fmt_p(p)}, below {alpha:g})."
    return (
        f" No difference by {by} was shown ({test['test']}, {fmt_p(p)}; "
        f"the threshold is {alpha:g})."
    )
