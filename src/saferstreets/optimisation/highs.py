"""HiGHS models for the MCLP: the exact MIP on a reduced model and on a core of candidates.

A HiGHS failure to find a placement raises :class:`saferstreets.errors.PlanningError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from saferstreets.errors import PlanningError
from saferstreets.optimisation.reductions import (
    covered_weight,
    merge_identical_rows,
)

# --------------------------------------------------------------------------------------------
# Exact MIP on the reduced model (HiGHS)
# --------------------------------------------------------------------------------------------


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
    sel, _obj, _bound, _name = highs_mclp(
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


def highs_mclp(
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
