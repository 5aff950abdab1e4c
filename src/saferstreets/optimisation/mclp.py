"""Maximal covering location (MCLP): choose p bases that cover the most weighted demand.

Pure computation, spopt style: build from data (:meth:`MCLP.from_arrays`,
:meth:`MCLP.from_cost_matrix`, :meth:`MCLP.from_coverage`), call :meth:`MCLP.solve`, read the
documented attributes. A failure to find or prove an answer raises
:class:`saferstreets.errors.PlanningError`, never a solver traceback.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from saferstreets.errors import PlanningError
from saferstreets.optimisation.coverage import coverage_from_cost_matrix, coverage_from_points


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


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    if bound <= 0:
        return 0.0
    return max(0.0, (bound - objective) / bound)


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


# --------------------------------------------------------------------------------------------
# Lagrangian relaxation
# --------------------------------------------------------------------------------------------


@dataclass
class LagrangianResult:
    bound: float
    incumbent: np.ndarray
    incumbent_value: float
    fixed_zero: np.ndarray
    fixed_one: np.ndarray
    iterations: int
    #: the multipliers that gave ``bound``
    multipliers: np.ndarray
    #: running average of the subproblems' choices: an estimate of the LP's ``x`` (volume algorithm)
    primal_average: np.ndarray
    #: where the volume algorithm stopped (for a warm start): step size and row-cover average
    step: float = 0.5
    row_average: np.ndarray | None = None


def _lagrangian_value(a_csc: sp.csc_matrix, w: np.ndarray, lam: np.ndarray, p: int) -> float:
    """``L(lambda)`` in double precision: a valid upper bound for any ``0 <= lambda <= w``."""
    c = a_csc.T @ lam
    top = np.sort(c)[::-1][:p]
    return float((w - lam).sum() + np.clip(top, 0, None).sum())


def lagrangian(
    a_csr: sp.csr_matrix,
    a_csc: sp.csc_matrix,
    w: np.ndarray,
    p: int,
    incumbent: np.ndarray,
    incumbent_value: float,
    *,
    max_iter: int = 1000,
    target_gap: float = 1e-4,
    deadline: float | None = None,
    start: LagrangianResult | None = None,
) -> LagrangianResult:
    """Subgradient optimisation of the Lagrangian dual of the MCLP, with primal repair and probing.

    Relaxing ``y_i <= sum_{j in N_i} x_j`` with multipliers ``0 <= lambda_i <= w_i`` gives

    ``L(lambda) = sum_i (w_i - lambda_i) + (sum of the p largest c_j)``,
    ``c_j = sum_{i: j in N_i} lambda_i``,

    an upper bound for every ``lambda`` (Fisher 1981; Galvao & ReVelle 1996 for the MCLP). Each
    iterate's top-p candidates are a feasible placement (the primal), improved by swap search when
    it beats the incumbent. Probing: forcing ``x_j = 1`` bounds the objective by
    ``L - c_(p) + c_j`` and forcing ``x_j = 0`` by ``L - c_j + c_(p+1)``; where that is below the
    incumbent's value, ``x_j`` is fixed (to 0, resp. 1) in every better solution. ``start``
    continues from an earlier run (its multipliers, step size and averages), typically after a
    better incumbent has been found: the Polyak step aims at the incumbent, so it then improves.

    The multipliers move along the volume algorithm's direction (Barahona & Anbil 2000): the
    subgradient is taken at a running average of the subproblems' solutions (an estimate of the
    LP's primal solution) rather than at the last one, with a Polyak step towards the incumbent
    that is halved after 20 iterations without a better bound. On the 50,000 x 2,000 benchmark
    it levels off at 25,148 within 1,000 iterations (the LP bound of the unreduced model is
    25,155), where the deflected subgradient (Camerini, Fratta & Maffioli 1975) used before was
    at 25,217 after as many.
    """
    n, m = a_csr.shape
    w = w.astype(float)
    eps = 1e-9 * max(1.0, float(w.sum()))
    best_lb, best_x = float(incumbent_value), np.asarray(incumbent, dtype=int)
    # start: each row's multiplier is its weight if the incumbent misses it, half if it covers it
    x_inc = np.zeros(m)
    x_inc[best_x] = 1.0
    lam = np.where((a_csr @ x_inc) > 0, 0.5 * w, w)
    best_ub = np.inf
    theta, stall = 0.5, 0
    v_bar: np.ndarray | None = None  # running average of the subproblems' row-cover counts
    x_bar = np.zeros(m)  # and of their choices of candidates
    if start is not None:
        lam, theta = start.multipliers.copy(), max(start.step, 1e-3)
        v_bar, x_bar = start.row_average, start.primal_average.copy()
    best_lam = lam.copy()
    improved = False
    fixed_zero = np.zeros(m, dtype=bool)
    fixed_one = np.zeros(m, dtype=bool)
    pp = min(p, m)
    # the iterations use single precision for the product (a quarter faster on large models); the
    # bound reported is recomputed in double precision, and probing keeps a margin for rounding
    a_t32 = a_csc.T.astype(np.float32)
    margin = eps + 1e-5 * float(w.sum())
    it = 0
    for it in range(1, max_iter + 1):
        c = (a_t32 @ lam.astype(np.float32)).astype(np.float64)
        if pp < m:
            part = np.argpartition(-c, pp)  # part[:pp] the top p, part[pp] the (p+1)-th
            top = part[:pp]
            c_next = float(c[part[pp]])
        else:
            top, c_next = np.arange(m), 0.0
        c_top = c[top]
        # the primal estimate (volume algorithm): a running average of the choices
        first = it == 1 and start is None
        x_bar *= 0.0 if first else 0.9
        x_bar[top] += 1.0 if first else 0.1
        ub = float((w - lam).sum() + np.clip(c_top, 0, None).sum())
        if ub < best_ub - eps:
            best_ub, best_lam, stall = ub, lam.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
        # probing (valid for any lambda; uses the incumbent value known now)
        c_p = float(max(np.min(c_top), 0.0)) if len(top) == pp and pp > 0 else 0.0
        in_top = np.zeros(m, dtype=bool)
        in_top[top] = True
        fixed_zero |= (~in_top) & (ub - c_p + c < best_lb - margin)
        fixed_one |= in_top & (ub - c + max(c_next, 0.0) < best_lb - margin)
        # primal: the relaxation's own choice of bases
        # how many chosen candidates reach each row: gather the p chosen columns only
        rows = np.concatenate([a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]] for j in top])
        cnt = np.bincount(rows, minlength=n).astype(float)
        value = float(w[cnt > 0].sum())
        if value > best_lb + eps:
            best_lb, best_x, improved = value, top.copy(), True
        if _gap(best_lb, best_ub) is not None and (_gap(best_lb, best_ub) or 0) <= target_gap:
            break
        if theta < 1e-5 or (deadline is not None and time.perf_counter() > deadline):
            break
        # volume algorithm: the direction is the subgradient at the averaged primal estimate
        v_bar = cnt if v_bar is None else 0.1 * cnt + 0.9 * v_bar
        g = 1.0 - v_bar  # the negative (averaged) subgradient of L at lambda
        g[(lam <= 0) & (g < 0)] = 0.0  # projected: cannot move outside [0, w]
        g[(lam >= w) & (g > 0)] = 0.0
        norm = float(g @ g)
        if norm <= 0:
            break
        step = theta * (ub - best_lb) / norm
        lam = np.clip(lam + step * g, 0.0, w)
    best_ub = _lagrangian_value(a_csc, w, best_lam, pp) if np.isfinite(best_ub) else best_ub
    if improved:  # polish the best of the relaxation's own placements
        cand = swap_search(
            a_csr,
            a_csc,
            w,
            best_x,
            deadline=None if deadline is None else max(deadline, time.perf_counter() + 1.0),
        )
        cand_value = covered_weight(a_csr, w, cand)
        if cand_value > best_lb:
            best_lb, best_x = cand_value, cand
    return LagrangianResult(
        bound=float(best_ub),
        incumbent=best_x,
        incumbent_value=float(best_lb),
        fixed_zero=fixed_zero & ~fixed_one,
        fixed_one=fixed_one,
        iterations=it,
        multipliers=best_lam,
        primal_average=x_bar,
        step=theta,
        row_average=v_bar,
    )


# --------------------------------------------------------------------------------------------
# Exact MIP on the reduced model (HiGHS)
# --------------------------------------------------------------------------------------------


def probe(
    a_csc: sp.csc_matrix, w: np.ndarray, lam: np.ndarray, p: int, value: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lagrangian probing at ``lam`` against a placement worth ``value``: (fixed out, fixed in).

    As in :func:`lagrangian`, but run once more after a better placement has been found.
    """
    m = a_csc.shape[1]
    eps = 1e-9 * max(1.0, float(w.sum()))
    c = a_csc.T @ lam
    order = np.argsort(-c, kind="stable")
    pp = min(p, m)
    ub = float((w - lam).sum() + np.clip(c[order[:pp]], 0, None).sum())
    c_p = float(max(c[order[pp - 1]], 0.0)) if pp > 0 else 0.0
    c_next = float(max(c[order[pp]], 0.0)) if pp < m else 0.0
    in_top = np.zeros(m, dtype=bool)
    in_top[order[:pp]] = True
    fixed_zero = (~in_top) & (ub - c_p + c < value - eps)
    fixed_one = in_top & (ub - c + c_next < value - eps)
    return fixed_zero, fixed_one


def core_mip(
    a_csr: sp.csr_matrix,
    w: np.ndarray,
    p: int,
    incumbent: np.ndarray,
    primal_average: np.ndarray,
    *,
    time_limit: float,
    threshold: float = 0.03,
    max_candidates: int = 150,
) -> tuple[np.ndarray, float, int]:
    """Best placement among the candidates the relaxation uses (a core problem), by HiGHS.

    The core is the support of the Lagrangian relaxation's averaged choice (its estimate of the
    LP solution: on county instances a few dozen candidates) plus the incumbent's. Restricted to
    those columns, demand rows reached by the same core candidates merge, so the MIP is small.
    This is a heuristic (a restricted master, as in kernel search; Angelelli, Mansini & Speranza
    2010): the core's own bound is not a bound for the whole problem. Returns (the chosen
    columns of ``a_csr``, their covered weight, the core's size).
    """
    inc = np.asarray(incumbent, dtype=int)
    order = np.argsort(-primal_average, kind="stable")
    support = order[primal_average[order] > threshold][:max_candidates]
    core = np.union1d(support, inc)
    b = a_csr[:, core]
    reach = np.diff(b.indptr) > 0
    b, wb = b[reach], w[reach]
    b.sort_indices()
    b, wb = merge_identical_rows(b, wb)
    start = np.searchsorted(core, inc)
    sel, _obj, _bound, _name = _highs_mclp(
        b.astype(np.float64), wb, min(p, len(core)), start, time_limit=time_limit, mip_rel_gap=1e-4
    )
    chosen = core[sel]
    return chosen, covered_weight(a_csr, w, chosen), len(core)


def new_highs() -> Any:
    """A silent HiGHS instance (its licence banner goes to the C-level stdout on first use)."""
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    h.setOptionValue("output_flag", False)
    return h


def _highs_mclp(
    a_csr: sp.csr_matrix,
    w: np.ndarray,
    p: int,
    start: np.ndarray,
    *,
    time_limit: float,
    mip_rel_gap: float,
) -> tuple[np.ndarray, float, float, str]:
    """max w.y  s.t.  y_i - sum_{j in N_i} x_j <= 0,  sum x <= p,  x binary, 0 <= y <= 1."""
    import highspy

    n, m = a_csr.shape
    h = new_highs()
    h.setOptionValue("time_limit", float(max(time_limit, 0.5)))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("random_seed", 0)
    lp = highspy.HighsLp()
    lp.num_col_ = m + n
    lp.num_row_ = n + 1
    lp.col_cost_ = np.concatenate([np.zeros(m), w.astype(float)])
    lp.col_lower_ = np.zeros(m + n)
    lp.col_upper_ = np.ones(m + n)
    lp.row_lower_ = np.full(n + 1, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate([np.zeros(n), [float(p)]])
    # rows: -A x + I y <= 0 ; last row: 1.x <= p
    coo = a_csr.tocoo()
    rows = np.concatenate([coo.row, np.arange(n), np.full(m, n)])
    cols = np.concatenate([coo.col, m + np.arange(n), np.arange(m)])
    vals = np.concatenate([-np.ones(len(coo.row)), np.ones(n), np.ones(m)])
    csc = sp.csc_matrix((vals, (rows, cols)), shape=(n + 1, m + n))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)
    lp.a_matrix_.num_col_ = m + n
    lp.a_matrix_.num_row_ = n + 1
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * n
    h.passModel(lp)
    x0 = np.zeros(m)
    x0[start] = 1.0
    y0 = np.minimum(a_csr @ x0, 1.0)
    sol = highspy.HighsSolution()
    sol.col_value = list(np.concatenate([x0, y0]))
    sol.value_valid = True
    h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    name = h.modelStatusToString(status)
    info = h.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        raise PlanningError(
            f"The optimiser found no feasible placement (HiGHS: {name})",
            hint="check the number of teams and the forced-in and forced-out bases",
        )
    values = np.asarray(h.getSolution().col_value)
    chosen = np.flatnonzero(values[:m] > 0.5)
    obj = float(info.objective_function_value)
    bound = float(info.mip_dual_bound)
    if not np.isfinite(bound):
        bound = float(w.sum())
    return chosen, obj, bound, name


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


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
        Returns ``self``.
        """
        started = time.perf_counter()
        deadline = started + float(time_limit)
        a0, w0 = self.coverage, self.weights
        n0, m0 = a0.shape
        total = float(w0.sum())
        stages = self.stages = []

        def stage(
            name: str,
            rows: int,
            cols: int,
            obj: float | None,
            bnd: float | None,
            t: float,
            note: str = "",
        ) -> None:
            stages.append(Stage(name, rows, cols, obj, bnd, _gap(obj, bnd), round(t, 4), note))

        if total <= 0:
            raise PlanningError(
                "There is no demand to cover (every demand weight is zero)",
                hint="import reports, survey responses or crime first",
            )
        stage("input", n0, m0, None, None, 0.0)

        t = time.perf_counter()
        cols = np.setdiff1d(np.arange(m0), self.forced_out)  # reduced col -> original col
        a = a0[:, cols]
        forced_local = np.searchsorted(cols, self.forced_in)
        const = 0.0
        if len(forced_local):
            hit = a[:, forced_local].sum(axis=1).A1 > 0
            const = float(w0[hit].sum())
            keep_rows = ~hit
        else:
            keep_rows = np.ones(n0, dtype=bool)
        free = np.setdiff1d(np.arange(len(cols)), forced_local)
        a = a[keep_rows][:, free]
        cols = cols[free]
        w = w0[keep_rows]
        reach = np.diff(a.indptr) > 0
        a, w = a[reach & (w > 0)], w[reach & (w > 0)]
        p_rem = self.p - len(self.forced_in)
        stage(
            "forced bases, unreachable and zero-weight demand removed",
            a.shape[0],
            a.shape[1],
            None,
            None,
            time.perf_counter() - t,
            f"{len(self.forced_in)} forced in, {len(self.forced_out)} forced out",
        )

        t = time.perf_counter()
        a, w = merge_identical_rows(a, w, seed)
        stage(
            "identical demand rows merged",
            a.shape[0],
            a.shape[1],
            None,
            None,
            time.perf_counter() - t,
        )

        t = time.perf_counter()
        dom = dominated_columns(a, deadline=t + 0.05 * max(deadline - t, 0.0))
        keep = ~dom
        a, cols = a[:, keep], cols[keep]
        a.sort_indices()
        a, w = merge_identical_rows(a, w, seed)
        stage(
            "dominated candidates dropped",
            a.shape[0],
            a.shape[1],
            None,
            None,
            time.perf_counter() - t,
            f"{int(dom.sum())} dominated",
        )

        # float data once: sparse products with a boolean matrix would convert it on every call
        a = a.astype(np.float64)
        a_csc = a.tocsc()
        t = time.perf_counter()
        if p_rem > 0 and a.shape[1] > 0:
            inc = greedy(a, a_csc, w, p_rem)
            greedy_value = covered_weight(a, w, inc)
            stage(
                "greedy",
                a.shape[0],
                a.shape[1],
                const + greedy_value,
                None,
                time.perf_counter() - t,
            )
            t = time.perf_counter()
            # swap search gets at most 40% of the time left; the bound needs the rest
            inc = swap_search(
                a, a_csc, w, inc, deadline=t + 0.4 * max(deadline - time.perf_counter(), 0.0)
            )
            inc_value = covered_weight(a, w, inc)
            stage(
                "swap search",
                a.shape[0],
                a.shape[1],
                const + inc_value,
                None,
                time.perf_counter() - t,
            )
        else:
            inc, inc_value = np.zeros(0, dtype=int), 0.0
        self.greedy_objective = const + (greedy_value if p_rem > 0 and a.shape[1] > 0 else 0.0)

        chosen_local = inc
        bound_total = const + float(w.sum())
        status = "heuristic"
        if p_rem > 0 and a.shape[1] > p_rem:
            # the subgradient gets most of the time left and the MIP what remains; where the
            # model is far too large for HiGHS to finish even its root LP, the subgradient gets
            # nearly all. It runs in rounds: after each, HiGHS solves the MCLP restricted to the
            # candidates the relaxation uses (its core), and a better placement found there
            # sharpens the next round's Polyak steps and the probing.
            t_lag = time.perf_counter()
            share = 0.9 if a.nnz > 2 * self.max_mip_nonzeros else 0.6
            lag_end = t_lag + share * max(deadline - t_lag, 0.0)
            rounds = (0.35, 0.75, 1.0) if method == "exact" else (1.0,)
            lag: LagrangianResult | None = None
            fz = np.zeros(a.shape[1], dtype=bool)
            fo = np.zeros(a.shape[1], dtype=bool)
            core_tried: set[tuple[int, ...]] = set()
            for k, frac in enumerate(rounds):
                t = time.perf_counter()
                lag = lagrangian(
                    a,
                    a_csc,
                    w,
                    p_rem,
                    chosen_local,
                    inc_value,
                    max_iter=max_lagrangian_iter,
                    target_gap=mip_gap,
                    deadline=t_lag + frac * (lag_end - t_lag),
                    start=lag,
                )
                chosen_local, inc_value = lag.incumbent, lag.incumbent_value
                bound_total = min(bound_total, const + lag.bound)
                fz, fo = (fz | lag.fixed_zero) & ~(fo | lag.fixed_one), fo | lag.fixed_one
                stage(
                    "Lagrangian relaxation (volume algorithm)"
                    + (f", round {k + 1}" if len(rounds) > 1 else ""),
                    a.shape[0],
                    a.shape[1],
                    const + inc_value,
                    bound_total,
                    time.perf_counter() - t,
                    f"{lag.iterations} iterations",
                )
                gap_now = _gap(const + inc_value, bound_total) or 0.0
                if method != "exact" or gap_now <= mip_gap:
                    break
                t = time.perf_counter()
                remaining = deadline - t
                support = np.flatnonzero(lag.primal_average > 0.03)
                key = tuple(support.tolist())
                if remaining <= 0.5 or key in core_tried:
                    continue
                core_tried.add(key)
                try:
                    core_x, core_value, core_size = core_mip(
                        a,
                        w,
                        p_rem,
                        chosen_local,
                        lag.primal_average,
                        time_limit=0.3 * remaining,
                    )
                except PlanningError:  # HiGHS found nothing in time: keep the incumbent
                    core_x, core_value, core_size = chosen_local, inc_value, 0
                if core_value > inc_value + 1e-9 * max(1.0, total):
                    core_x = swap_search(a, a_csc, w, core_x, deadline=t + 0.4 * remaining)
                    core_value = covered_weight(a, w, core_x)
                    chosen_local, inc_value = core_x, core_value
                    # a better placement fixes more candidates at the same multipliers
                    fz2, fo2 = probe(a_csc, w, lag.multipliers, p_rem, inc_value)
                    fz, fo = (fz | fz2) & ~(fo | fo2), fo | fo2
                stage(
                    "MIP on the relaxation's core candidates, then swap search"
                    + f", round {k + 1}",
                    a.shape[0],
                    a.shape[1],
                    const + inc_value,
                    bound_total,
                    time.perf_counter() - t,
                    f"{core_size} candidates in the core",
                )
                if (_gap(const + inc_value, bound_total) or 0.0) <= mip_gap:
                    break
            assert lag is not None
            if (_gap(const + inc_value, bound_total) or 0) <= mip_gap:
                status = "gap"  # proven within the requested gap by the Lagrangian bound
            if method == "exact" and (_gap(const + inc_value, bound_total) or 0) > mip_gap:
                t = time.perf_counter()
                # fixed-to-one candidates: their demand is covered for sure
                const2 = const
                b, wb, colsb = a, w, cols
                p2 = p_rem - int(fo.sum())
                if fo.any():
                    hit = b[:, np.flatnonzero(fo)].sum(axis=1).A1 > 0
                    const2 += float(wb[hit].sum())
                    b, wb = b[~hit], wb[~hit]
                keepc = ~(fz | fo)
                b, colsb = b[:, keepc], colsb[keepc]
                reach = np.diff(b.indptr) > 0
                b, wb = b[reach], wb[reach]
                b.sort_indices()
                b, wb = merge_identical_rows(b, wb, seed)
                dom2 = (
                    dominated_columns(b, deadline=deadline)
                    if b.shape[1] < 0.9 * a.shape[1]
                    else np.zeros(b.shape[1], dtype=bool)
                )
                b, colsb = b[:, ~dom2], colsb[~dom2]
                b.sort_indices()
                b, wb = merge_identical_rows(b, wb, seed)
                stage(
                    "Lagrangian probing fixed candidates",
                    b.shape[0],
                    b.shape[1],
                    const + inc_value,
                    bound_total,
                    time.perf_counter() - t,
                    f"{int(fz.sum())} fixed out, {int(fo.sum())} fixed in, "
                    f"{int(dom2.sum())} more dominated",
                )
                t = time.perf_counter()
                fixed_one_orig = cols[np.flatnonzero(fo)]
                too_big = b.nnz > self.max_mip_nonzeros
                if p2 <= 0 or b.shape[1] == 0 or b.shape[0] == 0 or too_big:
                    sel_b = np.zeros(0, dtype=int)
                    mip_obj, mip_bound, hname = 0.0, 0.0, "Optimal"
                    if too_big:  # HiGHS would not finish its root LP in time: keep the bound
                        mip_bound, hname = float("inf"), "skipped (reduced model too large)"
                else:
                    inc_orig = set(cols[chosen_local].tolist())
                    start = np.flatnonzero(np.isin(colsb, list(inc_orig)))
                    remaining = deadline - time.perf_counter()
                    if remaining < 0.5:
                        remaining = 0.5
                    sel_b, mip_obj, mip_bound, hname = _highs_mclp(
                        b, wb, p2, start[:p2], time_limit=remaining, mip_rel_gap=mip_gap
                    )
                mip_total = const2 + mip_obj
                if mip_total > const + inc_value + 1e-9 * max(1.0, total):
                    chosen_orig = np.concatenate([fixed_one_orig, colsb[sel_b]])
                    chosen_local = np.searchsorted(cols, chosen_orig)
                    inc_value = mip_total - const
                bound_total = min(bound_total, max(const2 + mip_bound, const + inc_value))
                status = (
                    "optimal"
                    if hname == "Optimal" and mip_gap <= 1e-6
                    else "gap"
                    if hname == "Optimal"
                    else "bounded"
                    if too_big
                    else "time_limit"
                )
                stage(
                    "HiGHS branch-and-bound on the reduced model",
                    b.shape[0],
                    b.shape[1],
                    const + inc_value,
                    bound_total,
                    time.perf_counter() - t,
                    f"HiGHS: {hname}",
                )

        selected = np.concatenate([self.forced_in, cols[np.asarray(chosen_local, dtype=int)]])
        selected = np.unique(selected.astype(int))
        selected = self._pad(selected)
        x = np.zeros(m0)
        x[selected] = 1.0
        self.covered = (a0 @ x) > 0
        self.objective = float(w0[self.covered].sum())
        self.bound = max(float(bound_total), self.objective)
        self.gap = float(_gap(self.objective, self.bound) or 0.0)
        if self.gap <= 1e-9:
            status = "optimal"
        self.status = status
        self.selected = selected
        self.perc_cov = 100.0 * self.objective / total
        self.solve_seconds = time.perf_counter() - started
        stage("answer", n0, m0, self.objective, self.bound, self.solve_seconds, status)
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
            hint="for example --radius 800",
        )
