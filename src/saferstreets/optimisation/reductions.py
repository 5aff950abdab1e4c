"""Reductions and heuristics for the MCLP on a (rows x cols) boolean coverage matrix.

Merging identical demand rows, dropping dominated candidates, greedy and swap search
(Teitz & Bart 1968). Pure: arrays in, arrays out; used by
:class:`~saferstreets.optimisation.mclp.MCLP`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``(bound - objective) / bound``, 0 when the bound is not positive; None if either is."""
    if objective is None or bound is None:
        return None
    if bound <= 0:
        return 0.0
    return max(0.0, (bound - objective) / bound)


@dataclass
class Stage:
    """One step of :meth:`MCLP.solve`: the instance it left and how good the answer was after it."""

    name: str
    demand_rows: int
    candidates: int
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass
class Reduced:
    """An instance left after reductions: local column ``j`` is original column ``cols[j]``."""

    a: sp.csr_matrix  # demand rows x candidate columns
    w: np.ndarray  # demand weights
    cols: np.ndarray  # the original candidate of each column
    const: float  # weight covered for sure by the bases fixed in
    p: int  # bases still to choose
    a_csc: sp.csc_matrix | None = None

    def csc(self) -> sp.csc_matrix:
        if self.a_csc is None:
            self.a_csc = self.a.tocsc()
        return self.a_csc


@dataclass
class Search:
    """The best placement so far (columns of the reduced instance) and the proven bound."""

    chosen: np.ndarray
    value: float  # weight ``chosen`` covers in the reduced instance
    bound: float  # upper bound on the whole covered weight (the constant included)
    fixed_zero: np.ndarray  # candidates proven out of every better placement
    fixed_one: np.ndarray  # candidates proven in it
    status: str = "heuristic"

    def gap(self, red: Reduced) -> float:
        return relative_gap(red.const + self.value, self.bound) or 0.0

    def fix(self, zero: np.ndarray, one: np.ndarray) -> None:
        fz, fo = self.fixed_zero, self.fixed_one
        self.fixed_zero, self.fixed_one = (fz | zero) & ~(fo | one), fo | one


# --------------------------------------------------------------------------------------------
# Reductions on a (rows x cols) boolean coverage matrix with row weights
# --------------------------------------------------------------------------------------------


def merge_identical_rows(
    a: sp.csr_matrix, w: np.ndarray, seed: int = 0
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Merge demand rows reached by exactly the same candidates, summing their weights.

    Rows are grouped by (length, two independent 64-bit sums of random column keys); two different
    sets collide with probability about 2**-128, so the grouping is exact in practice.
    """
    n, m = a.shape
    if n == 0:
        return a, w
    rng = np.random.default_rng(seed + 7919)
    keys1 = rng.integers(0, 2**63 - 1, size=m, dtype=np.int64).astype(np.uint64)
    keys2 = rng.integers(0, 2**63 - 1, size=m, dtype=np.int64).astype(np.uint64)
    lengths = np.diff(a.indptr)
    starts = a.indptr[:-1]
    h1 = np.zeros(n, dtype=np.uint64)
    h2 = np.zeros(n, dtype=np.uint64)
    nonempty = lengths > 0
    if a.indptr[-1]:
        with np.errstate(over="ignore"):
            s1 = np.add.reduceat(keys1[a.indices], starts[nonempty])
            s2 = np.add.reduceat(keys2[a.indices], starts[nonempty])
        h1[nonempty] = s1
        h2[nonempty] = s2
    table = np.empty(n, dtype=[("l", np.int64), ("a", np.uint64), ("b", np.uint64)])
    table["l"], table["a"], table["b"] = lengths, h1, h2
    _, first, inverse = np.unique(table, return_index=True, return_inverse=True)
    if len(first) == n:
        return a, w
    merged_w = np.bincount(inverse.ravel(), weights=w, minlength=len(first))
    return a[first], merged_w


def dominated_columns(
    a_csr: sp.csr_matrix, protected: np.ndarray | None = None, deadline: float | None = None
) -> np.ndarray:
    """Boolean mask of candidates whose covered set is contained in another candidate's.

    Of two candidates covering exactly the same demand the lower index is kept. A candidate that
    covers nothing is dominated. ``protected`` candidates are never marked (nor used as the only
    reason to drop another: domination is transitive, so some kept candidate always dominates).
    Candidates are checked smallest first (the likeliest to be dominated); at ``deadline`` the
    check stops and the rest are kept, which is always safe.
    """
    _n, _m = a_csr.shape
    a_csc = a_csr.tocsc()
    a_csc.sort_indices()
    col_len = np.diff(a_csc.indptr)
    row_len = np.diff(a_csr.indptr)
    out = col_len == 0
    for count, j in enumerate(np.argsort(col_len, kind="stable")):
        if col_len[j] == 0:
            continue
        if deadline is not None and count % 64 == 0 and time.perf_counter() > deadline:
            break
        rows = a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]]
        order = rows[np.argsort(row_len[rows], kind="stable")]
        r0 = order[0]
        k = a_csr.indices[a_csr.indptr[r0] : a_csr.indptr[r0 + 1]]
        k = k[k != j]
        # a dominator covers at least as much; equal sets keep the lowest index
        k = k[(col_len[k] > col_len[j]) | ((col_len[k] == col_len[j]) & (k < j))]
        # narrow the suspects on the few most selective rows, then test each survivor's inclusion
        for r in order[1:8]:
            if len(k) == 0:
                break
            k = np.intersect1d(
                k, a_csr.indices[a_csr.indptr[r] : a_csr.indptr[r + 1]], assume_unique=True
            )
        for kk in k:
            rows_k = a_csc.indices[a_csc.indptr[kk] : a_csc.indptr[kk + 1]]
            pos = np.minimum(np.searchsorted(rows_k, rows), len(rows_k) - 1)
            if np.array_equal(rows_k[pos], rows):
                out[j] = True
                break
    if protected is not None and len(protected):
        out[protected] = False
    return out


# --------------------------------------------------------------------------------------------
# Heuristics
# --------------------------------------------------------------------------------------------


def covered_weight(a_csr: sp.csr_matrix, w: np.ndarray, cols: np.ndarray) -> float:
    """Weight of the rows reached by at least one of ``cols``."""
    if len(cols) == 0:
        return 0.0
    x = np.zeros(a_csr.shape[1])
    x[np.asarray(cols, dtype=int)] = 1.0
    return float(w[(a_csr @ x) > 0].sum())


def greedy(
    a_csr: sp.csr_matrix,
    a_csc: sp.csc_matrix,
    w: np.ndarray,
    p: int,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy: add the candidate with the largest marginal covered weight, p times.

    (Church & ReVelle 1974.)
    """
    _n, m = a_csr.shape
    uncovered_w = w.astype(float).copy()
    chosen: list[int] = []
    for j in np.asarray(start if start is not None else [], dtype=int):
        rows = a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]]
        uncovered_w[rows] = 0.0
        chosen.append(int(j))
    gains = a_csc.T @ uncovered_w
    taken = np.zeros(m, dtype=bool)
    taken[chosen] = True
    while len(chosen) < p and len(chosen) < m:
        gains_masked = np.where(taken, -1.0, gains)
        j = int(np.argmax(gains_masked))
        if gains_masked[j] <= 0:
            break
        rows = a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]]
        newly = rows[uncovered_w[rows] > 0]
        if len(newly):
            # every candidate reaching a newly covered row loses that row's weight
            sub = a_csr[newly]
            gains -= sub.T @ uncovered_w[newly]
            uncovered_w[newly] = 0.0
        taken[j] = True
        chosen.append(j)
    return np.asarray(chosen, dtype=int)


def swap_search(
    a_csr: sp.csr_matrix,
    a_csc: sp.csc_matrix,
    w: np.ndarray,
    chosen: np.ndarray,
    fixed: np.ndarray | None = None,
    max_rounds: int = 500,
    deadline: float | None = None,
) -> np.ndarray:
    """Best-improvement 1-swap local search (Teitz & Bart 1968 interchange, adapted to coverage)."""
    chosen = np.asarray(chosen, dtype=int).copy()
    if len(chosen) == 0:
        return chosen
    m = a_csr.shape[1]
    fixed_set = set(np.asarray(fixed if fixed is not None else [], dtype=int).tolist())
    x = np.zeros(m)
    x[chosen] = 1.0
    count = a_csr @ x
    for _ in range(max_rounds):
        if deadline is not None and time.perf_counter() > deadline:
            break
        gain_add = a_csc.T @ np.where(count == 0, w, 0.0)
        gain_add[chosen] = -np.inf
        once = np.where(count == 1, w, 0.0)
        best_delta, best_pair = 1e-9 * max(1.0, float(w.sum())), None
        for pos, j in enumerate(chosen):
            if int(j) in fixed_set:
                continue
            rows = a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]]
            loss = float(once[rows].sum())
            corr = a_csr[rows].T @ once[rows]  # rows only j reaches, also reached by k
            delta = gain_add + corr - loss
            k = int(np.argmax(delta))
            if delta[k] > best_delta:
                best_delta, best_pair = float(delta[k]), (pos, k)
        if best_pair is None:
            break
        pos, k = best_pair
        j = chosen[pos]
        rows_j = a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]]
        rows_k = a_csc.indices[a_csc.indptr[k] : a_csc.indptr[k + 1]]
        count[rows_j] -= 1
        count[rows_k] += 1
        chosen[pos] = k
    return chosen
