"""p-median: choose p bases that minimise the demand-weighted distance to the nearest base."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from saferstreets.errors import PlanningError

MAX_ASSIGNMENTS = 3_000_000  # demand x candidate pairs the exact model is built for


def _cost_of(cost: np.ndarray, w: np.ndarray, chosen: np.ndarray) -> float:
    return float((w * cost[:, chosen].min(axis=1)).sum())


def interchange(
    cost: np.ndarray,
    w: np.ndarray,
    p: int,
    forced: np.ndarray,
    excluded: np.ndarray,
    deadline: float | None = None,
) -> np.ndarray:
    """Greedy add, then Teitz & Bart (1968) vertex substitution until no swap improves."""
    n, m = cost.shape
    allowed = np.ones(m, dtype=bool)
    allowed[excluded] = False
    chosen = list(forced.tolist())
    best = np.full(n, np.inf) if not chosen else cost[:, chosen].min(axis=1)
    while len(chosen) < p:
        gain = (
            (w[:, None] * np.maximum(best[:, None] - cost, 0.0)).sum(axis=0)
            if np.isfinite(best).all()
            else -(w[:, None] * cost).sum(axis=0)
        )
        gain[~allowed] = -np.inf
        gain[chosen] = -np.inf
        j = int(np.argmax(gain))
        chosen.append(j)
        best = np.minimum(best, cost[:, j])
    chosen_arr = np.asarray(chosen, dtype=int)
    value = _cost_of(cost, w, chosen_arr)
    improved = True
    while improved:
        improved = False
        for pos in range(len(chosen_arr)):
            if chosen_arr[pos] in forced:
                continue
            if deadline is not None and time.perf_counter() > deadline:
                return chosen_arr
            others = np.delete(chosen_arr, pos)
            base = cost[:, others].min(axis=1) if len(others) else np.full(n, np.inf)
            totals = (w[:, None] * np.minimum(base[:, None], cost)).sum(axis=0)
            totals[~allowed] = np.inf
            totals[chosen_arr] = np.inf
            k = int(np.argmin(totals))
            if totals[k] < value - 1e-9 * max(1.0, value):
                chosen_arr[pos] = k
                value = float(totals[k])
                improved = True
    return np.sort(chosen_arr)


class PMedian:
    """The p-median problem (Hakimi 1964; ReVelle & Swain 1970 formulation).

    .. math:: \\min \\sum_i \\sum_j w_i d_{ij} z_{ij} \\quad\\text{s.t.}\\quad \\sum_j z_{ij} = 1,
              \\; z_{ij} \\le x_j, \\; \\sum_j x_j = p, \\; x_j \\in \\{0, 1\\}.

    Parameters
    ----------
    cost_matrix : (n_demand x n_candidates) distances (metres)
    weights : demand weights
    p : bases to choose
    forced_in, forced_out : candidate indices that must (must not) be chosen

    Attributes (after :meth:`solve`)
    ----------
    selected, objective (weighted distance), bound (proven lower bound), gap, status,
    mean_distance (demand-weighted mean distance to the nearest base), assignment (nearest
    chosen base per demand point), solve_seconds.

    Notes
    -----
    A greedy-plus-interchange (Teitz & Bart 1968) answer starts HiGHS on the full assignment model,
    which is built only up to ``MAX_ASSIGNMENTS`` demand-candidate pairs; beyond that the
    heuristic answer is returned with status ``heuristic`` and no proven bound.

    References
    ----------
    Hakimi, S. L. (1964) Optimum locations of switching centers and the absolute centers and
    medians of a graph. *Operations Research* 12(3), 450-459.
    ReVelle, C. S. and Swain, R. W. (1970) Central facilities location. *Geographical Analysis*
    2(1), 30-42.
    Teitz, M. B. and Bart, P. (1968) Heuristic methods for estimating the generalized vertex median
    of a weighted graph. *Operations Research* 16(5), 955-961.
    """

    def __init__(
        self,
        cost_matrix: ArrayLike,
        weights: ArrayLike,
        p: int,
        *,
        forced_in: ArrayLike | None = None,
        forced_out: ArrayLike | None = None,
    ) -> None:
        cost = np.asarray(
            cost_matrix.toarray() if sp.issparse(cost_matrix) else cost_matrix,  # type: ignore[union-attr]
            dtype=float,
        )
        w = np.asarray(weights, dtype=float).ravel()
        if cost.ndim != 2 or cost.shape[0] != len(w):
            raise PlanningError(f"The cost matrix is {cost.shape} but there are {len(w)} weights")
        if not np.all(np.isfinite(cost)) or np.any(cost < 0):
            raise PlanningError("Distances must be finite and not negative")
        if np.any(w < 0) or not np.all(np.isfinite(w)):
            raise PlanningError("Demand weights must be finite and not negative")
        self.cost, self.weights, self.p = cost, w, int(p)
        self.forced_in = np.unique(
            np.asarray(forced_in if forced_in is not None else [], dtype=int)
        )
        self.forced_out = np.unique(
            np.asarray(forced_out if forced_out is not None else [], dtype=int)
        )
        m = cost.shape[1]
        if self.p < 1:
            raise PlanningError(
                "The number of teams must be at least 1", field_errors={"teams": "at least 1"}
            )
        if self.p > m - len(self.forced_out):
            raise PlanningError(
                f"{self.p} teams were asked for but there are only {m - len(self.forced_out)} "
                "candidate bases",
                field_errors={"teams": f"at most {m - len(self.forced_out)}"},
            )
        if len(self.forced_in) > self.p:
            raise PlanningError(
                f"{len(self.forced_in)} bases are forced in but only {self.p} teams",
                field_errors={"force_in": f"at most {self.p}"},
            )
        if len(np.intersect1d(self.forced_in, self.forced_out)):
            raise PlanningError("A base cannot be both forced in and forced out")
        self.selected = np.zeros(0, dtype=int)
        self.objective = self.bound = self.gap = float("nan")
        self.status = "unsolved"
        self.assignment = np.zeros(len(w), dtype=int)
        self.mean_distance = float("nan")
        self.solve_seconds = 0.0

    @classmethod
    def from_cost_matrix(
        cls, cost_matrix: ArrayLike, weights: ArrayLike, p: int, **kw: Any
    ) -> PMedian:
        return cls(cost_matrix, weights, p, **kw)

    @classmethod
    def from_arrays(
        cls, demand_xy: ArrayLike, weights: ArrayLike, candidate_xy: ArrayLike, p: int, **kw: Any
    ) -> PMedian:
        from scipy.spatial.distance import cdist

        d = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
        c = np.asarray(candidate_xy, dtype=float).reshape(-1, 2)
        if d.shape[0] * c.shape[0] > 4 * MAX_ASSIGNMENTS:
            raise PlanningError(
                f"p-median over {d.shape[0]:,} demand cells and {c.shape[0]:,} candidates is too "
                "large to hold",
                field_errors={"method": "too large for p-median: use mclp"},
                hint="use the MCLP method, or a coarser H3 resolution",
            )
        return cls(cdist(d, c), weights, p, **kw)

    def solve(self, *, time_limit: float = 30.0, mip_gap: float = 1e-4) -> PMedian:
        """Place the bases; returns ``self``."""
        started = time.perf_counter()
        deadline = started + time_limit
        cost, w = self.cost, self.weights
        n, m = cost.shape
        chosen = interchange(cost, w, self.p, self.forced_in, self.forced_out, deadline)
        value = _cost_of(cost, w, chosen)
        bound, status = float("nan"), "heuristic"
        if n * m <= MAX_ASSIGNMENTS and time.perf_counter() < deadline:
            chosen, value, bound, status = self._mip(
                chosen, value, deadline - time.perf_counter(), mip_gap
            )
        self.selected = np.sort(chosen)
        self.objective = value
        self.bound = bound
        self.gap = (
            (value - bound) / value
            if value > 0 and np.isfinite(bound)
            else (0.0 if value == 0 else float("nan"))
        )
        self.status = "optimal" if np.isfinite(self.gap) and self.gap <= 1e-9 else status
        self.assignment = self.selected[np.argmin(cost[:, self.selected], axis=1)]
        self.mean_distance = value / float(w.sum()) if w.sum() > 0 else 0.0
        self.solve_seconds = time.perf_counter() - started
        return self

    def _mip(
        self, start: np.ndarray, start_value: float, time_limit: float, mip_gap: float
    ) -> tuple[np.ndarray, float, float, str]:
        import highspy

        cost, w = self.cost, self.weights
        n, m = cost.shape
        nz = n * m
        from saferstreets.optimisation.highs import new_highs

        h = new_highs()
        h.setOptionValue("time_limit", float(max(time_limit, 0.5)))
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        # columns: x_0..x_{m-1}, then z_{ij} row-major
        lp = highspy.HighsLp()
        lp.num_col_ = m + nz
        lp.num_row_ = n + nz + 1
        lp.col_cost_ = np.concatenate([np.zeros(m), (w[:, None] * cost).ravel()])
        lower = np.zeros(m + nz)
        upper = np.ones(m + nz)
        upper[self.forced_out] = 0.0
        lower[self.forced_in] = 1.0
        lp.col_lower_, lp.col_upper_ = lower, upper
        zi = m + np.arange(nz)
        i_of, j_of = np.divmod(np.arange(nz), m)
        rows = np.concatenate([i_of, n + np.arange(nz), n + np.arange(nz), np.full(m, n + nz)])
        cols = np.concatenate([zi, zi, j_of, np.arange(m)])
        vals = np.concatenate([np.ones(nz), np.ones(nz), -np.ones(nz), np.ones(m)])
        csc = sp.csc_matrix((vals, (rows, cols)), shape=(n + nz + 1, m + nz))
        lp.row_lower_ = np.concatenate([np.ones(n), np.full(nz, -highspy.kHighsInf), [self.p]])
        lp.row_upper_ = np.concatenate([np.ones(n), np.zeros(nz), [self.p]])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = csc.indices.astype(np.int32)
        lp.a_matrix_.value_ = csc.data
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = m + nz, n + nz + 1
        lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [
            highspy.HighsVarType.kContinuous
        ] * nz
        h.passModel(lp)
        x0 = np.zeros(m)
        x0[start] = 1.0
        z0 = np.zeros((n, m))
        z0[np.arange(n), start[np.argmin(cost[:, start], axis=1)]] = 1.0
        sol = highspy.HighsSolution()
        sol.col_value = list(np.concatenate([x0, z0.ravel()]))
        sol.value_valid = True
        h.setSolution(sol)
        h.run()
        name = h.modelStatusToString(h.getModelStatus())
        info = h.getInfo()
        if info.primal_solution_status != 2:
            return start, start_value, float("nan"), "heuristic"
        x = np.asarray(h.getSolution().col_value)[:m]
        chosen = np.flatnonzero(x > 0.5)
        value = _cost_of(cost, w, chosen) if len(chosen) == self.p else np.inf
        if value > start_value:
            chosen, value = start, start_value
        bound = float(info.mip_dual_bound)
        status = (
            "gap" if name == "Optimal" else "time_limit" if "time" in name.lower() else name.lower()
        )
        return chosen, value, bound, status
