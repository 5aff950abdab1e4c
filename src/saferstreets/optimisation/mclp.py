"""Maximal covering location (MCLP): choose p bases that cover the most weighted demand.

Pure computation, spopt style: build from data (:meth:`MCLP.from_arrays`,
:meth:`MCLP.from_cost_matrix`, :meth:`MCLP.from_coverage`), call :meth:`MCLP.solve`, read the
documented attributes. A failure to find or prove an answer raises
:class:`saferstreets.errors.PlanningError`, never a solver traceback.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from saferstreets.errors import PlanningError
from saferstreets.optimisation.coverage import coverage_from_cost_matrix, coverage_from_points
from saferstreets.optimisation.highs import core_mip, highs_mclp
from saferstreets.optimisation.lagrangian import LagrangianResult, lagrangian, probe
from saferstreets.optimisation.reductions import (
    Reduced,
    Search,
    Stage,
    covered_weight,
    dominated_columns,
    greedy,
    merge_identical_rows,
    relative_gap,
    swap_search,
)


class MCLP:
    """Maximal covering location problem (Church & ReVelle 1974).

    Choose ``p`` of the candidate sites to maximise the weight of demand within reach
    (``coverage[i, j]`` true when candidate ``j`` is within the service radius of demand ``i``):

    .. math::  \\max \\sum_i w_i y_i \\quad\\text{s.t.}\\quad y_i \\le \\sum_{j \\in N_i} x_j,
               \\;\\sum_j x_j = p,\\; x_j \\in \\{0,1\\},\\; 0 \\le y_i \\le 1.

    Parameters
    ----------
    coverage : scipy.sparse matrix (n_demand x n_candidates), boolean
    weights : array of n_demand non-negative weights
    p : number of bases to choose
    forced_in, forced_out : candidate indices that must (must not) be chosen

    Attributes (after :meth:`solve`)
    ----------
    selected : numpy.ndarray
        Indices of the ``p`` chosen candidates (ascending).
    objective : float
        Weight of the demand covered.
    bound : float
        A proven upper bound on the best possible covered weight.
    gap : float
        ``(bound - objective) / bound``; 0 means proven optimal.
    perc_cov : float
        Share of all demand weight covered, in percent (spopt's name).
    covered : numpy.ndarray of bool
        Whether each demand point is covered.
    status : str
        ``optimal``, ``gap`` (stopped at the requested gap), ``time_limit`` or ``heuristic``.
    stages : list of Stage
        The instance size, objective, bound and gap after each reduction and solver stage.
    solve_seconds : float

    Notes
    -----
    :meth:`solve` does the modelling that makes large instances tractable: demand rows with the
    same candidate set are merged (weights summed); dominated candidates (covering a subset of
    another's demand) are dropped; greedy plus swap search gives an incumbent; a Lagrangian
    relaxation of the coverage constraints, optimised by the volume algorithm (Fisher 1981;
    Barahona & Anbil 2000), gives an upper bound, an estimate of the LP solution and fixes
    candidates whose probing bound falls below the incumbent. In rounds, HiGHS solves the MCLP
    restricted to the few dozen candidates that LP estimate uses (a core problem), which on county
    instances finds placements that swap search misses, and the relaxation continues from where
    it stopped with the better incumbent. Where a gap remains and the reduced model is small
    enough, HiGHS solves it from the incumbent. The Lagrangian bound equals the LP bound (the
    subproblem has the integrality property), so only that last branching can prove more.

    References
    ----------
    Church, R. and ReVelle, C. (1974) The maximal covering location problem. *Papers of the
    Regional Science Association* 32, 101-118.
    Angelelli, E., Mansini, R. and Speranza, M. G. (2010) Kernel search: a general heuristic for
    the multi-dimensional knapsack problem. *Computers & Operations Research* 37(11), 2017-2026.
    Barahona, F. and Anbil, R. (2000) The volume algorithm: producing primal solutions with a
    subgradient method. *Mathematical Programming* 87(3), 385-399.
    Fisher, M. L. (1981) The Lagrangian relaxation method for solving integer programming problems.
    *Management Science* 27(1), 1-18.
    Galvao, R. D. and ReVelle, C. (1996) A Lagrangean heuristic for the maximal covering location
    problem. *European Journal of Operational Research* 88(1), 114-123.
    Teitz, M. B. and Bart, P. (1968) Heuristic methods for estimating the generalized vertex median
    of a weighted graph. *Operations Research* 16(5), 955-961.
    """

    def __init__(
        self,
        coverage: sp.spmatrix,
        weights: ArrayLike,
        p: int,
        *,
        forced_in: ArrayLike | None = None,
        forced_out: ArrayLike | None = None,
        name: str = "mclp",
    ) -> None:
        a = sp.csr_matrix(coverage, dtype=bool)
        a.eliminate_zeros()
        a.sort_indices()
        w = np.asarray(weights, dtype=float).ravel()
        n, _m = a.shape
        if len(w) != n:
            raise PlanningError(f"There are {len(w)} demand weights for {n} demand points")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise PlanningError("Demand weights must be finite and not negative")
        self.name = name
        self.coverage = a
        self.weights = w
        self.p = int(p)
        self.forced_in = np.unique(
            np.asarray(forced_in if forced_in is not None else [], dtype=int)
        )
        self.forced_out = np.unique(
            np.asarray(forced_out if forced_out is not None else [], dtype=int)
        )
        self._validate()
        self.selected = np.zeros(0, dtype=int)
        self.objective: float = float("nan")
        self.bound: float = float("nan")
        self.gap: float = float("nan")
        self.perc_cov: float = float("nan")
        self.covered = np.zeros(n, dtype=bool)
        self.status = "unsolved"
        self.stages: list[Stage] = []
        self.solve_seconds = 0.0
        self.greedy_objective: float = float("nan")
        #: the reduced model is handed to HiGHS only up to this many coverage entries
        self.max_mip_nonzeros = 400_000

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_coverage(cls, coverage: sp.spmatrix, weights: ArrayLike, p: int, **kw: Any) -> MCLP:
        """From a boolean (demand x candidate) coverage matrix."""
        return cls(coverage, weights, p, **kw)

    @classmethod
    def from_arrays(
        cls,
        demand_xy: ArrayLike,
        weights: ArrayLike,
        candidate_xy: ArrayLike,
        radius: float,
        p: int,
        **kw: Any,
    ) -> MCLP:
        """From projected coordinates (metres) of demand points and candidates, and a radius."""
        _check_radius(radius)
        return cls(coverage_from_points(demand_xy, candidate_xy, radius), weights, p, **kw)

    @classmethod
    def from_cost_matrix(
        cls,
        cost_matrix: ArrayLike | sp.spmatrix,
        weights: ArrayLike,
        radius: float,
        p: int,
        **kw: Any,
    ) -> MCLP:
        """From a (demand x candidate) cost matrix, as spopt's ``MCLP.from_cost_matrix``."""
        _check_radius(radius)
        return cls(coverage_from_cost_matrix(cost_matrix, radius), weights, p, **kw)

    def _validate(self) -> None:
        _n, m = self.coverage.shape
        if self.p < 1:
            raise PlanningError(
                f"The number of teams must be at least 1 (it is {self.p})",
                field_errors={"teams": "at least 1"},
            )
        for label, idx in (("forced-in", self.forced_in), ("forced-out", self.forced_out)):
            if len(idx) and (idx.min() < 0 or idx.max() >= m):
                raise PlanningError(f"A {label} base is not one of the {m} candidates")
        both = np.intersect1d(self.forced_in, self.forced_out)
        if len(both):
            raise PlanningError(
                "A base cannot be both forced in and forced out",
                field_errors={"force_in": "also forced out"},
            )
        available = m - len(self.forced_out)
        if self.p > available:
            raise PlanningError(
                f"{self.p} teams were asked for but there are only {available} candidate bases"
                + (f" ({len(self.forced_out)} forced out)" if len(self.forced_out) else ""),
                field_errors={"teams": f"at most {available}"},
                hint="lower the number of teams, or add candidates (town centres, busy areas)",
            )
        if len(self.forced_in) > self.p:
            raise PlanningError(
                f"{len(self.forced_in)} bases are forced in but only {self.p} teams are "
                "to be placed",
                field_errors={"force_in": f"at most {self.p}"},
            )

    # -- solving ---------------------------------------------------------------------------

    def solve(
        self,
        *,
        method: Literal["exact", "greedy"] = "exact",
        time_limit: float = 30.0,
        mip_gap: float = 1e-4,
        max_lagrangian_iter: int = 5000,
        seed: int = 0,
    ) -> MCLP:
        """Place the bases. ``exact`` proves optimality (or ``mip_gap``) within ``time_limit`` s.

        ``greedy`` stops after greedy + swap search and the Lagrangian bound (no MIP).
        Returns ``self``. The steps: reduce, heuristics, relax (in rounds, each followed by a
        MIP on the relaxation's core), then branch-and-bound on what probing leaves.
        """
        started = time.perf_counter()
        deadline = started + float(time_limit)
        self.stages = []
        total = float(self.weights.sum())
        if total <= 0:
            raise PlanningError(
                "There is no demand to cover (every demand weight is zero)",
                hint="import reports, survey responses or crime first",
            )
        self._stage("input", self.coverage.shape, None, None, 0.0)
        red = self._reduce(deadline=deadline, seed=seed)
        search = self._heuristics(red, deadline=deadline)
        if red.p > 0 and red.a.shape[1] > red.p:
            rounds = (0.35, 0.75, 1.0) if method == "exact" else (1.0,)
            self._relax(
                red,
                search,
                rounds=rounds,
                mip_gap=mip_gap,
                deadline=deadline,
                max_iter=max_lagrangian_iter,
                total=total,
            )
            if method == "exact" and search.gap(red) > mip_gap:
                probed = self._fix_probed(red, search, deadline=deadline, seed=seed)
                self._branch(red, probed, search, mip_gap=mip_gap, deadline=deadline, total=total)
        return self._answer(red, search, started=started, total=total)

    # -- the steps of :meth:`solve` ----------------------------------------------------------

    def _stage(
        self,
        name: str,
        shape: tuple[int, int],
        obj: float | None,
        bnd: float | None,
        t: float,
        note: str = "",
    ) -> None:
        """Record a step: the instance it left (rows, columns) and the answer's value after it."""
        gap = relative_gap(obj, bnd)
        self.stages.append(Stage(name, *shape, obj, bnd, gap, round(t, 4), note))

    def _reduce(self, *, deadline: float, seed: int) -> Reduced:
        """Remove forced bases and what they cover, merge identical rows, drop dominated ones."""
        t = time.perf_counter()
        a0, w0 = self.coverage, self.weights
        n0, m0 = a0.shape
        cols = np.setdiff1d(np.arange(m0), self.forced_out)  # reduced col -> original col
        a = a0[:, cols]
        forced_local = np.searchsorted(cols, self.forced_in)
        const = 0.0
        keep_rows = np.ones(n0, dtype=bool)
        if len(forced_local):
            hit = a[:, forced_local].sum(axis=1).A1 > 0
            const = float(w0[hit].sum())
            keep_rows = ~hit
        free = np.setdiff1d(np.arange(len(cols)), forced_local)
        a, cols, w = a[keep_rows][:, free], cols[free], w0[keep_rows]
        useful = (np.diff(a.indptr) > 0) & (w > 0)
        a, w = a[useful], w[useful]
        forced = f"{len(self.forced_in)} forced in, {len(self.forced_out)} forced out"
        self._stage(
            "forced bases, unreachable and zero-weight demand removed",
            a.shape,
            None,
            None,
            time.perf_counter() - t,
            forced,
        )
        t = time.perf_counter()
        a, w = merge_identical_rows(a, w, seed)
        self._stage("identical demand rows merged", a.shape, None, None, time.perf_counter() - t)
        t = time.perf_counter()
        dom = dominated_columns(a, deadline=t + 0.05 * max(deadline - t, 0.0))
        a, cols = a[:, ~dom], cols[~dom]
        a.sort_indices()
        a, w = merge_identical_rows(a, w, seed)
        self._stage(
            "dominated candidates dropped",
            a.shape,
            None,
            None,
            time.perf_counter() - t,
            f"{int(dom.sum())} dominated",
        )
        # float data once: sparse products with a boolean matrix would convert it on every call
        a = a.astype(np.float64)
        return Reduced(a, w, cols, const, self.p - len(self.forced_in), a.tocsc())

    def _heuristics(self, red: Reduced, *, deadline: float) -> Search:
        """Greedy, then swap search (with at most 40% of the time left): the first incumbent."""
        a, a_csc, w = red.a, red.csc(), red.w
        t = time.perf_counter()
        inc, inc_value, greedy_value = np.zeros(0, dtype=int), 0.0, 0.0
        if red.p > 0 and a.shape[1] > 0:
            inc = greedy(a, a_csc, w, red.p)
            greedy_value = covered_weight(a, w, inc)
            self._stage("greedy", a.shape, red.const + greedy_value, None, time.perf_counter() - t)
            t = time.perf_counter()
            # swap search gets at most 40% of the time left; the bound needs the rest
            inc = swap_search(
                a, a_csc, w, inc, deadline=t + 0.4 * max(deadline - time.perf_counter(), 0.0)
            )
            inc_value = covered_weight(a, w, inc)
            self._stage(
                "swap search", a.shape, red.const + inc_value, None, time.perf_counter() - t
            )
        self.greedy_objective = red.const + greedy_value
        m = a.shape[1]
        return Search(
            inc, inc_value, red.const + float(w.sum()), np.zeros(m, bool), np.zeros(m, bool)
        )

    def _relax(
        self,
        red: Reduced,
        search: Search,
        *,
        rounds: tuple[float, ...],
        mip_gap: float,
        deadline: float,
        max_iter: int,
        total: float,
    ) -> None:
        """The Lagrangian relaxation in rounds, each followed by a MIP on its core candidates.

        The subgradient gets most of the time left and the MIP what remains; where the model is
        far too large for HiGHS to finish even its root LP, the subgradient gets nearly all. A
        better placement found on the core sharpens the next round's Polyak steps and probing.
        """
        t_lag = time.perf_counter()
        share = 0.9 if red.a.nnz > 2 * self.max_mip_nonzeros else 0.6
        lag_end = t_lag + share * max(deadline - t_lag, 0.0)
        lag: LagrangianResult | None = None
        core_tried: set[tuple[int, ...]] = set()
        for k, frac in enumerate(rounds):
            until = t_lag + frac * (lag_end - t_lag)
            label = f", round {k + 1}" if len(rounds) > 1 else ""
            lag = self._lagrangian_round(
                red, search, lag, label=label, until=until, mip_gap=mip_gap, max_iter=max_iter
            )
            if len(rounds) == 1 or search.gap(red) <= mip_gap:
                break
            tried = self._core_round(
                red,
                search,
                lag,
                label=f", round {k + 1}",
                deadline=deadline,
                tried=core_tried,
                total=total,
            )
            if tried and search.gap(red) <= mip_gap:
                break
        if search.gap(red) <= mip_gap:
            search.status = "gap"  # proven within the requested gap by the Lagrangian bound

    def _lagrangian_round(
        self,
        red: Reduced,
        search: Search,
        start: LagrangianResult | None,
        *,
        label: str,
        until: float,
        mip_gap: float,
        max_iter: int,
    ) -> LagrangianResult:
        """One round of the volume algorithm from ``start``: a better bound, perhaps placement."""
        t = time.perf_counter()
        lag = lagrangian(
            red.a,
            red.csc(),
            red.w,
            red.p,
            search.chosen,
            search.value,
            max_iter=max_iter,
            target_gap=mip_gap,
            deadline=until,
            start=start,
        )
        search.chosen, search.value = lag.incumbent, lag.incumbent_value
        search.bound = min(search.bound, red.const + lag.bound)
        search.fix(lag.fixed_zero, lag.fixed_one)
        self._stage(
            "Lagrangian relaxation (volume algorithm)" + label,
            red.a.shape,
            red.const + search.value,
            search.bound,
            time.perf_counter() - t,
            f"{lag.iterations} iterations",
        )
        return lag

    def _core_round(
        self,
        red: Reduced,
        search: Search,
        lag: LagrangianResult,
        *,
        label: str,
        deadline: float,
        tried: set[tuple[int, ...]],
        total: float,
    ) -> bool:
        """HiGHS on the candidates the relaxation uses, then swap search; False if skipped."""
        a, a_csc, w = red.a, red.csc(), red.w
        t = time.perf_counter()
        remaining = deadline - t
        key = tuple(np.flatnonzero(lag.primal_average > 0.03).tolist())
        if remaining <= 0.5 or key in tried:
            return False
        tried.add(key)
        try:
            core_x, core_value, core_size = core_mip(
                a, w, red.p, search.chosen, lag.primal_average, time_limit=0.3 * remaining
            )
        except PlanningError:  # HiGHS found nothing in time: keep the incumbent
            core_x, core_value, core_size = search.chosen, search.value, 0
        if core_value > search.value + 1e-9 * max(1.0, total):
            core_x = swap_search(a, a_csc, w, core_x, deadline=t + 0.4 * remaining)
            search.chosen, search.value = core_x, covered_weight(a, w, core_x)
            # a better placement fixes more candidates at the same multipliers
            search.fix(*probe(a_csc, w, lag.multipliers, red.p, search.value))
        self._stage(
            "MIP on the relaxation's core candidates, then swap search" + label,
            a.shape,
            red.const + search.value,
            search.bound,
            time.perf_counter() - t,
            f"{core_size} candidates in the core",
        )
        return True

    def _fix_probed(self, red: Reduced, search: Search, *, deadline: float, seed: int) -> Reduced:
        """The model probing leaves: fixed-in bases' demand covered for sure, fixed-out gone."""
        t = time.perf_counter()
        fz, fo = search.fixed_zero, search.fixed_one
        const, b, w, cols = red.const, red.a, red.w, red.cols
        if fo.any():
            hit = b[:, np.flatnonzero(fo)].sum(axis=1).A1 > 0
            const += float(w[hit].sum())
            b, w = b[~hit], w[~hit]
        keep = ~(fz | fo)
        b, cols = b[:, keep], cols[keep]
        reach = np.diff(b.indptr) > 0
        b, w = b[reach], w[reach]
        b.sort_indices()
        b, w = merge_identical_rows(b, w, seed)
        dom = (
            dominated_columns(b, deadline=deadline)
            if b.shape[1] < 0.9 * red.a.shape[1]
            else np.zeros(b.shape[1], dtype=bool)
        )
        b, cols = b[:, ~dom], cols[~dom]
        b.sort_indices()
        b, w = merge_identical_rows(b, w, seed)
        self._stage(
            "Lagrangian probing fixed candidates",
            b.shape,
            red.const + search.value,
            search.bound,
            time.perf_counter() - t,
            f"{int(fz.sum())} fixed out, {int(fo.sum())} fixed in, {int(dom.sum())} more dominated",
        )
        return Reduced(b, w, cols, const, red.p - int(fo.sum()))

    def _branch(
        self,
        red: Reduced,
        probed: Reduced,
        search: Search,
        *,
        mip_gap: float,
        deadline: float,
        total: float,
    ) -> None:
        """HiGHS branch-and-bound on the probed model, from the incumbent (skipped if too big)."""
        t = time.perf_counter()
        b = probed.a
        too_big = b.nnz > self.max_mip_nonzeros
        sel, mip_obj, mip_bound, hname = np.zeros(0, dtype=int), 0.0, 0.0, "Optimal"
        if too_big:  # HiGHS would not finish its root LP in time: keep the bound
            mip_bound, hname = float("inf"), "skipped (reduced model too large)"
        elif probed.p > 0 and b.shape[1] > 0 and b.shape[0] > 0:
            incumbent = set(red.cols[search.chosen].tolist())
            start = np.flatnonzero(np.isin(probed.cols, list(incumbent)))
            sel, mip_obj, mip_bound, hname = highs_mclp(
                b,
                probed.w,
                probed.p,
                start[: probed.p],
                time_limit=max(deadline - time.perf_counter(), 0.5),
                mip_rel_gap=mip_gap,
            )
        mip_total = probed.const + mip_obj
        if mip_total > red.const + search.value + 1e-9 * max(1.0, total):
            fixed_one = red.cols[np.flatnonzero(search.fixed_one)]
            chosen = np.concatenate([fixed_one, probed.cols[sel]])
            search.chosen = np.searchsorted(red.cols, chosen)
            search.value = mip_total - red.const
        search.bound = min(search.bound, max(probed.const + mip_bound, red.const + search.value))
        search.status = (
            "optimal"
            if hname == "Optimal" and mip_gap <= 1e-6
            else "gap"
            if hname == "Optimal"
            else "bounded"
            if too_big
            else "time_limit"
        )
        self._stage(
            "HiGHS branch-and-bound on the reduced model",
            b.shape,
            red.const + search.value,
            search.bound,
            time.perf_counter() - t,
            f"HiGHS: {hname}",
        )

    def _answer(self, red: Reduced, search: Search, *, started: float, total: float) -> MCLP:
        """The chosen bases in the original numbering, padded to ``p``, and what they cover."""
        chosen = red.cols[np.asarray(search.chosen, dtype=int)]
        selected = self._pad(np.unique(np.concatenate([self.forced_in, chosen]).astype(int)))
        x = np.zeros(self.coverage.shape[1])
        x[selected] = 1.0
        self.covered = (self.coverage @ x) > 0
        self.objective = float(self.weights[self.covered].sum())
        self.bound = max(float(search.bound), self.objective)
        self.gap = float(relative_gap(self.objective, self.bound) or 0.0)
        self.status = "optimal" if self.gap <= 1e-9 else search.status
        self.selected = selected
        self.perc_cov = 100.0 * self.objective / total
        self.solve_seconds = time.perf_counter() - started
        self._stage(
            "answer",
            self.coverage.shape,
            self.objective,
            self.bound,
            self.solve_seconds,
            self.status,
        )
        return self

    def _pad(self, selected: np.ndarray) -> np.ndarray:
        """Make up exactly ``p`` bases (coverage cannot fall): add the biggest-covering spares."""
        if len(selected) >= self.p:
            return np.sort(selected[: self.p]) if len(selected) > self.p else np.sort(selected)
        col_w = self.coverage.T @ self.weights
        col_w[selected] = -np.inf
        col_w[self.forced_out] = -np.inf
        extra = np.argsort(-col_w, kind="stable")[: self.p - len(selected)]
        return np.sort(np.concatenate([selected, extra]).astype(int))

    def stages_table(self) -> list[dict[str, Any]]:
        """The stages as plain dicts (for storing and printing)."""
        return [s.as_dict() for s in self.stages]


def _check_radius(radius: float) -> None:
    if not np.isfinite(radius) or radius <= 0:
        raise PlanningError(
            f"The walking-distance radius must be more than zero metres (it is {radius})",
            field_errors={"radius": "more than 0"},
            hint="for example 800 metres",
        )
