"""Proportions with honest intervals: Wilson score intervals, Newcombe's difference interval,
the two-proportion test, and small-cell suppression.

Pure functions: numbers and arrays in, numbers and frozen dataclasses out.

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    Journal of the American Statistical Association 22(158), 209-212.
Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions:
    comparison of eleven methods. Statistics in Medicine 17(8), 873-890 (method 10).
Agresti, A. (2013). Categorical Data Analysis, 3rd ed., section 3.1 (two-proportion z test).
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


@functools.lru_cache(maxsize=64)
def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    return float(stats.norm.isf((1.0 - confidence) / 2.0))


def wilson_interval(
    successes: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[Any, Any]:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes : int or array_like
        Number of successes (0 <= successes <= n).
    n : int or array_like
        Number of trials. Where ``n`` is 0 the interval is ``(nan, nan)``.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    (lower, upper) : tuple of float, or of ndarray when the inputs are arrays

    Notes
    -----
    With :math:`\\hat p = x/n` and :math:`z = \\Phi^{-1}(1 - \\alpha/2)`, the interval is

    .. math:: \\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    It stays inside [0, 1] and keeps close to its nominal coverage for small ``n`` and for
    proportions near 0 or 1, unlike the Wald interval (Wilson 1927; Newcombe 1998).
    """
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    if np.any(x < 0) or np.any(x > m):
        raise ValueError("successes must lie between 0 and n")
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / m
        denom = 1.0 + z * z / m
        centre = (p + z * z / (2.0 * m)) / denom
        half = z * np.sqrt(p * (1.0 - p) / m + z * z / (4.0 * m * m)) / denom
        lower = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        upper = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
        # exact bounds at the edges (removes rounding such as 1e-17 for x = 0)
        lower = np.where((m > 0) & (x == 0), 0.0, lower)
        upper = np.where((m > 0) & (x == m), 1.0, upper)
    if lower.ndim == 0:
        return float(lower), float(upper)
    return lower, upper


@dataclass(frozen=True)
class Proportion:
    """A share with its Wilson interval (``share`` and bounds are ``None`` when ``n`` is 0)."""

    count: int
    n: int
    share: float | None
    lower: float | None
    upper: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def proportion(successes: int, n: int, confidence: float = 0.95) -> Proportion:
    """A :class:`Proportion` for ``successes`` out of ``n`` with a Wilson interval."""
    if n <= 0:
        return Proportion(int(successes), int(n), None, None, None)
    lo, hi = wilson_interval(successes, n, confidence)
    return Proportion(int(successes), int(n), successes / n, float(lo), float(hi))


@dataclass(frozen=True)
class DifferenceOfProportions:
    """``p1 - p2`` with Newcombe's hybrid score interval and a two-proportion z test."""

    count1: int
    n1: int
    count2: int
    n2: int
    p1: float
    p2: float
    difference: float
    lower: float
    upper: float
    z: float
    p_value: float

    def as_dict(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in asdict(self).items()}


def newcombe_interval(
    count1: int, n1: int, count2: int, n2: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for ``p1 - p2`` from independent samples.

    Parameters
    ----------
    count1, n1 : int
        Successes and trials in the first sample.
    count2, n2 : int
        Successes and trials in the second sample.
    confidence : float, default 0.95

    Returns
    -------
    (lower, upper) : tuple of float

    Notes
    -----
    With Wilson intervals :math:`(l_i, u_i)` for each proportion and
    :math:`\\delta = \\hat p_1 - \\hat p_2`,

    .. math::
        L = \\delta - \\sqrt{(\\hat p_1 - l_1)^2 + (u_2 - \\hat p_2)^2},\\quad
        U = \\delta + \\sqrt{(u_1 - \\hat p_1)^2 + (\\hat p_2 - l_2)^2}

    (Newcombe 1998, method 10). Newcombe's worked example 56/70 vs 48/80 gives
    0.0524 to 0.3339.
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both samples need at least one observation")
    p1, p2 = count1 / n1, count2 / n2
    l1, u1 = wilson_interval(count1, n1, confidence)
    l2, u2 = wilson_interval(count2, n2, confidence)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return lower, upper


def two_proportion_test(count1: int, n1: int, count2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z test of ``p1 == p2``: ``(z, two-sided p)`` (nan when undefined)."""
    if n1 <= 0 or n2 <= 0:
        return math.nan, math.nan
    pooled = (count1 + count2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return math.nan, 1.0
    z = (count1 / n1 - count2 / n2) / se
    return z, float(2 * stats.norm.sf(abs(z)))


def difference(
    count1: int, n1: int, count2: int, n2: int, confidence: float = 0.95
) -> DifferenceOfProportions:
    """``p1 - p2`` with Newcombe's interval and the pooled z test (:func:`newcombe_interval`)."""
    lower, upper = newcombe_interval(count1, n1, count2, n2, confidence)
    z, p = two_proportion_test(count1, n1, count2, n2)
    p1, p2 = count1 / n1, count2 / n2
    return DifferenceOfProportions(count1, n1, count2, n2, p1, p2, p1 - p2, lower, upper, z, p)


def suppress(count: int | None, n: int | None, k: int) -> bool:
    """True where a cell must not be shown publicly: a denominator or a non-zero count below ``k``.

    Primary suppression only (Office for National Statistics practice for survey and crime
    counts): a group with fewer than ``k`` people, or fewer than ``k`` (but some) people giving an
    answer, could identify someone in a small area.
    """
    if n is not None and n < k:
        return True
    return count is not None and 0 < count < k


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
