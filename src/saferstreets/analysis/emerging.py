"""Emerging hot spots: each cell's monthly Gi* series, its Mann-Kendall trend, Esri's categories.

For every time step (month) Gi* is computed on the same cells and weights (so every month is judged
on one footprint), giving each cell a series of z-scores and of significance classes. The
Mann-Kendall test on the z-score series says whether the intensity of clustering is rising or
falling. The categories then follow Esri's Emerging Hot Spot Analysis definitions (ArcGIS Pro,
"How Emerging Hot Spot Analysis works"), with "hot" meaning a significant positive Gi* at the
chosen level in that month, and "90 percent of the time-step intervals" meaning at least
``ceil(0.9 * T)`` of the ``T`` months:

=================  ====================================================================
new                hot in the final month, never hot before
consecutive        a single unbroken run of >= 2 hot months ending in the final month, never
                   hot before that run, and hot in < 90% of months
intensifying       hot in >= 90% of months including the final one, clustering intensity
                   rising significantly (Mann-Kendall)
persistent         hot in >= 90% of months including the final one, no significant trend
diminishing        hot in >= 90% of months including the final one, intensity falling
                   significantly
sporadic           hot in the final month, hot in < 90% of months, on-and-off, never cold
oscillating        hot in the final month, cold in some earlier month, hot in < 90% of months
historical         not hot in the final month, hot in >= 90% of months
=================  ====================================================================

and the same for cold spots with the signs reversed; anything else is "no pattern". Where a cell
fits more than one (hot only in the final month after a cold month: "new" and "oscillating"),
the cold history wins: oscillating. Esri runs Gi*
on a space-time cube (neighbours in earlier time steps count too); here each month stands alone,
which is the cube with a time window of one step.

References
----------
Esri. How Emerging Hot Spot Analysis works. ArcGIS Pro tool reference (Space Time Pattern Mining).
Mann, H. B. (1945). Nonparametric tests against trend. Econometrica 13(3), 245-259.
Kendall, M. G. (1975). Rank Correlation Methods, 4th ed. Griffin, London.
Hamed, K. H. and Rao, A. R. (1998) for the tie correction used in Var(S) (as in Kendall 1975).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from saferstreets.analysis.hotspots import GiStar, H3Weights

CATEGORIES = (
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "sporadic",
    "oscillating",
    "historical",
)


@dataclass(frozen=True)
class MannKendall:
    """Mann-Kendall trend test for each row of a (cells x time) array."""

    s: np.ndarray
    var_s: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray


def mann_kendall(x: ArrayLike, *, continuity: bool = True) -> MannKendall:
    """Mann-Kendall test of a monotonic trend in each row of ``x`` (time along axis 1).

    Parameters
    ----------
    x : array_like, shape (cells, T) or (T,)
    continuity : bool, default True
        Apply the continuity correction ``(S - sign(S)) / sqrt(Var S)``.

    Returns
    -------
    MannKendall
        ``s``: :math:`S = \\sum_{i<j} \\mathrm{sign}(x_j - x_i)`; ``var_s``: with the tie
        correction :math:`[T(T-1)(2T+5) - \\sum_g t_g(t_g-1)(2t_g+5)]/18`; ``z`` and the
        two-sided normal ``p``; ``tau``: :math:`S / (T(T-1)/2)` (Kendall's tau-a against time).
    """
    a = np.atleast_2d(np.asarray(x, dtype=float))
    T = a.shape[1]
    diff = a[:, None, :] - a[:, :, None]  # [c, i, j] = x_j - x_i
    upper = np.triu(np.ones((T, T), dtype=bool), k=1)
    s = np.sign(diff[:, upper]).sum(axis=1)
    equal = (a[:, :, None] == a[:, None, :]).sum(axis=2)  # t of each element's tie group
    ties = ((equal - 1) * (2 * equal + 5)).sum(axis=1)  # = sum over groups of t(t-1)(2t+5)
    var_s = (T * (T - 1) * (2 * T + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        num = s - np.sign(s) if continuity else s
        z = np.where(var_s > 0, num / np.sqrt(var_s), 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    tau = s / (T * (T - 1) / 2.0) if T > 1 else np.zeros_like(s)
    return MannKendall(s, var_s, z, p, tau)


def _runs_end(flags: np.ndarray) -> int:
    """Length of the run of True at the end of ``flags``."""
    n = 0
    for f in flags[::-1]:
        if not f:
            break
        n += 1
    return n


def categorise(
    hot: np.ndarray, cold: np.ndarray, trend_z: float, trend_p: float, *, alpha: float = 0.05
) -> str:
    """Esri's emerging-hot-spot category of one cell from its hot/cold flags over time.

    Returns e.g. ``"new hot spot"``, ``"persistent cold spot"`` or ``"no pattern"`` (see the
    module docstring for the definitions).
    """
    T = len(hot)
    need = math.ceil(0.9 * T)
    for flags, other, word, rising in ((hot, cold, "hot", 1), (cold, hot, "cold", -1)):
        n_sig = int(flags.sum())
        last = bool(flags[-1])
        if n_sig == 0:
            continue
        trending = trend_p <= alpha
        if last and n_sig >= need:
            if trending and np.sign(trend_z) == rising:
                return f"intensifying {word} spot"
            if trending and np.sign(trend_z) == -rising:
                return f"diminishing {word} spot"
            return f"persistent {word} spot"
        if not last and n_sig >= need:
            return f"historical {word} spot"
        if last:
            if other[:-1].any():  # a cold history makes it oscillating, whatever else
                return f"oscillating {word} spot"
            if n_sig == 1:
                return f"new {word} spot"
            run = _runs_end(flags)
            if run >= 2 and run == n_sig:
                return f"consecutive {word} spot"
            return f"sporadic {word} spot"
    return "no pattern"


@dataclass(frozen=True)
class EmergingHotspots:
    """Per cell: the category, the Mann-Kendall trend of its Gi* z-series, and the series."""

    cells: tuple[str, ...]
    periods: tuple[str, ...]
    z: np.ndarray  # cells x T
    classes: np.ndarray  # cells x T, -3..3
    trend: MannKendall
    categories: tuple[str, ...]


def emerging_hotspots(
    counts: ArrayLike,
    weights: H3Weights,
    periods: tuple[str, ...],
    *,
    permutations: int = 0,
    seed: int | None = None,
    inference: str = "analytic",
    confidence: float = 0.95,
    trend_alpha: float = 0.05,
    fdr: bool = True,
) -> EmergingHotspots:
    """Gi* per period on fixed cells and weights, Mann-Kendall on each cell's z-series, categories.

    Parameters
    ----------
    counts : array_like, shape (cells, T)
        Events per cell (rows in ``weights.cells`` order) and period (columns, oldest first).
    weights : H3Weights
    periods : tuple of str
        Labels of the columns, e.g. ``("2021-01", ...)``.
    permutations, seed, inference, fdr
        Passed to :class:`~saferstreets.analysis.hotspots.GiStar` for each period.
    confidence : float, default 0.95
        A cell is hot (cold) in a period when its Gi* class is at least this confident.
    trend_alpha : float, default 0.05
        Significance level of the Mann-Kendall trend.
    """
    c = np.asarray(counts, dtype=float)
    T = c.shape[1]
    z = np.full(c.shape, np.nan)
    classes = np.zeros(c.shape, dtype=np.int64)
    level = {0.90: 1, 0.95: 2, 0.99: 3}[round(confidence, 2)]
    for t in range(T):
        gi = GiStar(
            c[:, t],
            weights,
            permutations=permutations,
            seed=None if seed is None else seed + t,
            inference=inference,
            fdr=fdr,
        ).fit()
        z[:, t] = gi.z
        classes[:, t] = gi.classes
    zz = np.nan_to_num(z, nan=0.0)
    trend = mann_kendall(zz)
    hot = classes >= level
    cold = classes <= -level
    cats = (
        tuple(
            categorise(hot[i], cold[i], float(trend.z[i]), float(trend.p[i]), alpha=trend_alpha)
            for i in range(c.shape[0])
        )
        if T
        else ()
    )
    return EmergingHotspots(tuple(weights.cells), periods, z, classes, trend, cats)
