"""Getis-Ord Gi* hotspots on H3 cells, with conditional-permutation inference and FDR control.

The cell set is the cells holding data plus their k-ring neighbours (optionally kept within a
study area), so that a busy cell is judged against the empty cells around it. Weights are binary
contiguity from H3's ``grid_disk`` (every cell within ``k`` steps is a neighbour, weight 1) with
the cell itself included (the "star" of Gi*).

The analytic z-scores equal PySAL esda's ``G_Local(y, w, transform='B', star=True)`` (Getis and
Ord 1992; Ord and Getis 1995). The conditional-randomisation pseudo p-values follow esda's scheme
(hold the cell's own value, draw its neighbours' values without replacement from the other
cells; Anselin 1995) with a vectorised engine: the neighbour sums of a block of cells are read off
cumulative sums of one shared random draw, counted with a binary search, and corrected exactly
for the few draws that hit the cell itself.

References
----------
Getis, A. and Ord, J. K. (1992). The analysis of spatial association by use of distance
    statistics. Geographical Analysis 24(3), 189-206.
Ord, J. K. and Getis, A. (1995). Local spatial autocorrelation statistics: distributional issues
    and an application. Geographical Analysis 27(4), 286-306.
Anselin, L. (1995). Local indicators of spatial association - LISA. Geographical Analysis 27(2),
    93-115 (conditional randomisation).
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a practical and
    powerful approach to multiple testing. Journal of the Royal Statistical Society B 57(1),
    289-300.
Esri. How Hot Spot Analysis (Getis-Ord Gi*) works. ArcGIS Pro documentation (Gi_Bin classes
    -3..3 at 99/95/90% confidence, with an optional False Discovery Rate correction).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import h3
import numpy as np
from h3.api import basic_int as h3i
from numpy.typing import ArrayLike
from scipy import sparse, stats

CONFIDENCE_LEVELS: tuple[float, float, float] = (0.90, 0.95, 0.99)


def _neighbours(cell: int, k: int) -> list[int]:
    """The cells within ``k`` rings of ``cell``, itself excluded (h3's int API). For ``k == 1``
    that is ``grid_ring``, half the cost of ``grid_disk`` (which also builds the cell itself);
    should h3 fail to draw the ring (its older versions did next to a pentagon), the disk."""
    if k == 1:
        try:
            return list(h3i.grid_ring(cell, 1))
        except h3.H3BaseException:
            pass
    return [c for c in h3i.grid_disk(cell, k) if c != cell]


def _study(
    data_cells: Iterable[str], k: int, within: Collection[str] | None
) -> tuple[list[str], dict[int, list[int]]]:
    """The study cells (as :func:`study_cells`) and the neighbours found on the way, by cell."""
    cells = set(data_cells)
    near = {c: _neighbours(c, k) for c in {h3.str_to_int(cell) for cell in cells}}
    around = {h3.int_to_str(c) for c in set().union(*near.values()).difference(near)}
    out = cells | around
    if within is not None:
        allowed = set(within)
        out = {c for c in out if c in allowed or c in cells}
    return sorted(out), near


def study_cells(
    data_cells: Iterable[str], *, k: int = 1, within: Collection[str] | None = None
) -> list[str]:
    """The cells with data plus every cell within ``k`` rings of one, kept inside ``within``.

    Parameters
    ----------
    data_cells : iterable of str
        H3 cells (one resolution) that hold at least one event.
    k : int, default 1
        Ring distance of the neighbours added (and of the weights, see :class:`H3Weights`).
    within : collection of str, optional
        The study area as a set of cells of the same resolution; neighbours outside it are not
        added (cells with data are kept even if outside, so no event is lost).

    Returns
    -------
    list of str, sorted (a stable order for results and tests)
    """
    return _study(data_cells, k, within)[0]


@dataclass(frozen=True)
class H3Weights:
    """Binary contiguity among a fixed list of H3 cells, in CSR form, self excluded.

    ``indptr``/``indices`` list each cell's neighbours (other cells of the set within ``k`` rings);
    the Gi* self-weight of 1 is added by :class:`GiStar`.
    """

    cells: tuple[str, ...]
    indptr: np.ndarray
    indices: np.ndarray
    k: int = 1

    @classmethod
    def from_cells(cls, cells: Sequence[str], *, k: int = 1) -> H3Weights:
        """Neighbours from ``h3.grid_disk(cell, k)`` restricted to ``cells``."""
        return cls._build(cells, k, {})

    @classmethod
    def around(
        cls, data_cells: Iterable[str], *, k: int = 1, within: Collection[str] | None = None
    ) -> H3Weights:
        """The weights among :func:`study_cells` ``(data_cells, k=k, within=within)``, the same
        as ``from_cells`` of them, with each cell's neighbours found once (the data cells'
        while finding the study cells)."""
        cells, near = _study(data_cells, k, within)
        return cls._build(cells, k, near)

    @classmethod
    def _build(cls, cells: Sequence[str], k: int, near: dict[int, list[int]]) -> H3Weights:
        as_int = [h3.str_to_int(c) for c in cells]  # h3's int API: no string conversions
        index = {c: i for i, c in enumerate(as_int)}
        if len(index) != len(cells):
            raise ValueError("cells must not repeat")
        indptr = np.zeros(len(cells) + 1, dtype=np.int64)
        chunks: list[list[int]] = []
        for i, cell in enumerate(as_int):
            ring = near.get(cell)
            if ring is None:
                ring = _neighbours(cell, k)
            nbrs = sorted(index[c] for c in ring if c in index)
            chunks.append(nbrs)
            indptr[i + 1] = indptr[i] + len(nbrs)
        indices = np.fromiter(
            (j for ch in chunks for j in ch), dtype=np.int64, count=int(indptr[-1])
        )
        return cls(tuple(cells), indptr, indices, k)

    @property
    def n(self) -> int:
        return len(self.cells)

    @property
    def cardinalities(self) -> np.ndarray:
        """Number of neighbours of each cell, self excluded."""
        return np.diff(self.indptr)

    def sparse(self, *, star: bool = True) -> sparse.csr_matrix:
        """The binary weights matrix (with ones on the diagonal when ``star``)."""
        n = self.n
        w = sparse.csr_matrix((np.ones(len(self.indices)), self.indices, self.indptr), shape=(n, n))
        if star:
            w = (w + sparse.identity(n, format="csr")).tocsr()
        return w

    def neighbour_lists(self) -> dict[int, list[int]]:
        """``{i: [j, ...]}`` (self excluded), e.g. for ``libpysal.weights.W``."""
        return {
            i: self.indices[self.indptr[i] : self.indptr[i + 1]].tolist() for i in range(self.n)
        }


def benjamini_hochberg(p: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values ("q-values"); NaN stays NaN.

    ``q_(i) = min_{j >= i} (m / j) p_(j)`` over the sorted p-values, capped at 1, so that rejecting
    every test with ``q <= alpha`` controls the false discovery rate at ``alpha`` for independent
    or positively dependent tests (Benjamini and Hochberg 1995). Equals statsmodels'
    ``multipletests(method='fdr_bh')[1]``.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


def classify(z: ArrayLike, p: ArrayLike, levels: Sequence[float] = CONFIDENCE_LEVELS) -> np.ndarray:
    """ArcGIS's Gi_Bin: +3/+2/+1 hot at 99/95/90% confidence, -3/-2/-1 cold, 0 not significant.

    ``p`` is a two-sided p-value (or an FDR-adjusted q-value); a cell is significant at confidence
    ``c`` when ``p <= 1 - c``.
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    out = np.zeros(z.shape, dtype=np.int64)
    for rank, conf in enumerate(sorted(levels), start=1):
        sig = (p <= 1.0 - conf) & ~np.isnan(p) & ~np.isnan(z)
        out[sig] = rank * np.sign(z[sig]).astype(np.int64)
    return out


def _distinct_draws(rng: np.random.Generator, n: int, rows: int, cols: int) -> np.ndarray:
    """``rows`` x ``cols`` integers from ``range(n)``, distinct within each row, uniformly."""
    if cols > n:
        raise ValueError("cannot draw more distinct values than there are cells")
    if cols * 4 > n:  # dense: a permutation per row is cheap enough
        keys = rng.random((rows, n))
        return (
            np.argpartition(keys, cols - 1, axis=1)[:, :cols]
            if cols < n
            else np.argsort(keys, axis=1)
        )
    out = rng.integers(0, n, size=(rows, cols))
    while True:
        s = np.sort(out, axis=1)
        bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
        if bad.size == 0:
            return out
        out[bad] = rng.integers(0, n, size=(bad.size, cols))


def conditional_permutation_counts(
    y: np.ndarray,
    cardinality: np.ndarray,
    observed: np.ndarray,
    *,
    permutations: int,
    rng: np.random.Generator,
    block: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """For each cell, how many of ``permutations`` random neighbour sums are >= and <= observed.

    Under conditional randomisation cell ``i`` keeps its value and its ``m_i`` neighbours take
    values drawn without replacement from the other ``n - 1`` cells. Within a block of cells one
    random matrix ``R`` (``permutations`` x ``max m + 1`` distinct indices over all ``n`` cells)
    is shared; the first ``m_i`` draws of a row are cell ``i``'s sample, except when they include
    ``i`` itself, when that draw is replaced by the row's last (spare) draw. By exchangeability of
    the positions this is an exact uniform draw of ``m_i`` other cells. Sums of the first ``m``
    draws are prefix sums, so counting the random sums above or below a cell's observed sum is a
    binary search in the sorted column; the replaced draws (on average ``m_i / n`` per row) are
    corrected one by one.

    Parameters
    ----------
    y : ndarray of float, shape (n,)
    cardinality : ndarray of int, shape (n,)
        Neighbours of each cell, self excluded.
    observed : ndarray of float, shape (n,)
        Observed neighbour sums, self excluded.
    permutations : int
    rng : numpy.random.Generator
    block : int, default 256
        Cells sharing one random matrix; smaller blocks make cells' random errors less dependent
        (esda shares one matrix across all cells).

    Returns
    -------
    (greater_equal, less_equal) : ndarray of int
    """
    n = len(y)
    ge = np.zeros(n, dtype=np.int64)
    le = np.zeros(n, dtype=np.int64)
    if n == 0 or permutations <= 0:
        return ge, le
    max_m = int(cardinality.max())
    width = min(max_m + 1, n)
    for start in range(0, n, block):
        stop = min(start + block, n)
        m_blk = cardinality[start:stop]
        R = _distinct_draws(rng, n, permutations, width)
        V = y[R]
        T = np.zeros((permutations, width + 1))
        np.cumsum(V, axis=1, out=T[:, 1:])
        spare = V[:, width - 1]
        cells = np.arange(start, stop)
        obs = observed[start:stop]
        for m in np.unique(m_blk):
            sel = m_blk == m
            col = np.sort(T[:, m])
            o = obs[sel]
            ge[cells[sel]] = permutations - np.searchsorted(col, o, side="left")
            le[cells[sel]] = np.searchsorted(col, o, side="right")
        # draws that hit a cell of this block among its own first m draws
        inblk = (R[:, :max_m] >= start) & (R[:, :max_m] < stop)
        pr, pk = np.nonzero(inblk)
        hit_cell = R[pr, pk]
        keep = pk < cardinality[hit_cell]
        pr, hit_cell = pr[keep], hit_cell[keep]
        if pr.size:
            m_hit = cardinality[hit_cell]
            old = T[pr, m_hit]
            new = old - y[hit_cell] + spare[pr]
            o = observed[hit_cell]
            np.add.at(ge, hit_cell, (new >= o).astype(np.int64) - (old >= o))
            np.add.at(le, hit_cell, (new <= o).astype(np.int64) - (old <= o))
    return ge, le


class GiStar:
    """Local Getis-Ord Gi* with analytic and conditional-permutation inference, FDR and classes.

    Parameters
    ----------
    y : array_like, shape (n,)
        Counts (or any non-negative attribute) per cell, in the order of ``weights.cells``.
    weights : H3Weights
        Binary contiguity; the self-weight of 1 is added here.
    permutations : int, default 999
        Conditional permutations for pseudo p-values; 0 for analytic inference only.
    seed : int, optional
        Seed of the random draws.
    fdr : bool, default True
        Classify on Benjamini-Hochberg adjusted p-values (``q``) rather than raw ``p``.
    inference : {"permutation", "analytic"}, default "permutation"
        Which p-value feeds ``p``, ``q`` and ``classes`` (permutation needs ``permutations > 0``).
    block : int, default 256
        Cells per shared random matrix (see :func:`conditional_permutation_counts`).

    Attributes
    ----------
    G : ndarray
        Gi* statistic, :math:`G^*_i = \\sum_j w_{ij} y_j / \\sum_j y_j` with :math:`w_{ii} = 1`.
    EG, VG : ndarray
        Its expectation and variance under the randomisation null (Ord and Getis 1995).
    z : ndarray
        Standardised Gi*, equal to esda ``G_Local(star=True, transform='B').Zs``.
    p_norm : ndarray
        Two-sided normal p-value of ``z`` (esda's ``p_norm`` is the one-sided half of this).
    p_sim : ndarray
        esda-compatible pseudo p-value ("directed": ``(min(larger, P - larger) + 1) / (P + 1)``
        with ``larger`` the number of random statistics >= observed). NaN without permutations.
    p_greater, p_less : ndarray
        One-sided pseudo p-values ``(#{G_rand >= G} + 1) / (P + 1)`` and likewise for <=.
    p : ndarray
        The two-sided p-value used for inference: ``min(1, 2 min(p_greater, p_less))`` with
        permutations (ties counted on both sides, so a cell whose whole neighbourhood is empty
        is not "significant", unlike esda's ``p_sim``), otherwise ``p_norm``.
    q : ndarray
        Benjamini-Hochberg adjusted ``p``.
    classes : ndarray of int
        -3..3 as ArcGIS's Gi_Bin, from ``q`` (``fdr=True``) or ``p``.

    Notes
    -----
    With :math:`n` cells, :math:`W_i = \\sum_j w_{ij}` (neighbours plus one),
    :math:`\\bar y` and :math:`s^2` the mean and (population) variance of ``y``,

    .. math::
        E[G^*_i] = W_i / n,\\qquad
        Var[G^*_i] = \\frac{W_i (n - W_i)}{n^2 (n - 1)} \\frac{s^2}{\\bar y^2}

    which is esda's expression (Ord and Getis 1995, eq. 9 written for :math:`G^*`).

    Examples
    --------
    >>> w = H3Weights.from_cells(cells)           # doctest: +SKIP
    >>> gi = GiStar(counts, w, seed=1).fit()      # doctest: +SKIP
    >>> gi.classes                                # doctest: +SKIP
    """

    def __init__(
        self,
        y: ArrayLike,
        weights: H3Weights,
        *,
        permutations: int = 999,
        seed: int | None = None,
        fdr: bool = True,
        inference: str = "permutation",
        block: int = 256,
    ) -> None:
        self.y = np.asarray(y, dtype=float).ravel()
        if self.y.shape[0] != weights.n:
            raise ValueError(f"y has {self.y.shape[0]} values but the weights {weights.n} cells")
        if np.any(self.y < 0) or np.any(np.isnan(self.y)):
            raise ValueError("Gi* needs non-negative values without gaps")
        if inference not in ("permutation", "analytic"):
            raise ValueError("inference must be 'permutation' or 'analytic'")
        self.weights = weights
        self.permutations = int(permutations)
        self.seed = seed
        self.fdr = fdr
        self.inference = inference if permutations > 0 else "analytic"
        self.block = block

    def fit(self) -> GiStar:
        """Compute the statistics, p-values, q-values and classes; return ``self``."""
        y = self.y
        n = len(y)
        w = self.weights.sparse(star=True)
        card_star = np.asarray(w.sum(axis=1)).ravel()
        total = y.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            self.G = (w @ y) / total
            mean = total / n
            var = (y**2).sum() / n - mean**2
            self.EG = card_star / n
            vg = card_star * (n - card_star)
            vg = vg / (n - 1)
            vg = vg * (1 / n**2)
            vg = vg * (var / mean**2)
            self.VG = vg
            self.z = (self.G - self.EG) / np.sqrt(self.VG)
        self.z = np.where(np.isfinite(self.z), self.z, np.nan)
        self.p_norm = 2.0 * stats.norm.sf(np.abs(self.z))
        nan = np.full(n, np.nan)
        self.p_sim, self.p_greater, self.p_less = nan, nan.copy(), nan.copy()
        if self.permutations > 0 and n > 1 and total > 0:
            card = self.weights.cardinalities
            observed = np.asarray(
                sparse.csr_matrix(
                    (np.ones(len(self.weights.indices)), self.weights.indices, self.weights.indptr),
                    shape=(n, n),
                )
                @ y
            ).ravel()
            rng = np.random.default_rng(self.seed)
            ge, le = conditional_permutation_counts(
                y, card, observed, permutations=self.permutations, rng=rng, block=self.block
            )
            P = self.permutations
            larger = np.where(P - ge < ge, P - ge, ge)
            isolated = card == 0
            self.p_sim = np.where(isolated, np.nan, (larger + 1.0) / (P + 1.0))
            self.p_greater = np.where(isolated, np.nan, (ge + 1.0) / (P + 1.0))
            self.p_less = np.where(isolated, np.nan, (le + 1.0) / (P + 1.0))
        if self.inference == "permutation" and not np.all(np.isnan(self.p_greater)):
            self.p = np.minimum(1.0, 2.0 * np.minimum(self.p_greater, self.p_less))
        else:
            self.p = self.p_norm
        self.q = benjamini_hochberg(self.p)
        self.classes = classify(self.z, self.q if self.fdr else self.p)
        return self
