"""Rollout: which teams start first, in phases with dates, and the coverage each phase adds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from saferstreets.errors import PlanningError


@dataclass
class Rollout:
    """Order chosen bases by marginal coverage and group them into dated phases.

    Parameters
    ----------
    coverage : boolean (demand x bases) matrix for the chosen bases only
    weights : demand weights
    phases : number of phases (at most the number of bases)
    start, end : the date the first phase starts and the date the last phase starts

    Attributes (after :meth:`solve`)
    ----------
    order : numpy.ndarray
        Base indices, highest marginal benefit first: each next base is the one that adds most
        newly covered demand given those before it (the greedy order; Nemhauser, Wolsey & Fisher
        1978 show each prefix is within 1 - 1/e of the best set of that size).
    marginal : numpy.ndarray
        Demand each base adds, in ``order``.
    phase_of : numpy.ndarray
        Phase number (1-based) of each base, indexed like the input columns.
    phase_dates : list of date
        Start date of each phase, evenly spaced from ``start`` to ``end``.
    cumulative : list of float
        Share of all demand covered once each phase has started (0..1).

    References
    ----------
    Nemhauser, G. L., Wolsey, L. A. and Fisher, M. L. (1978) An analysis of approximations for
    maximizing submodular set functions. *Mathematical Programming* 14, 265-294.
    """

    coverage: sp.csr_matrix
    weights: np.ndarray
    phases: int
    start: date
    end: date
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    marginal: np.ndarray = field(default_factory=lambda: np.zeros(0))
    phase_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    phase_dates: list[date] = field(default_factory=list)
    cumulative: list[float] = field(default_factory=list)
    phase_sizes: list[int] = field(default_factory=list)

    @classmethod
    def from_arrays(
        cls, coverage: sp.spmatrix, weights: ArrayLike, *, phases: int, start: date, end: date
    ) -> Rollout:
        """Check the phase settings and build."""
        a = sp.csc_matrix(coverage, dtype=bool)
        k = a.shape[1]
        if phases < 1:
            raise PlanningError(
                "The rollout needs at least one phase", field_errors={"phases": "at least 1"}
            )
        if end < start:
            raise PlanningError(
                f"The rollout ends ({end}) before it starts ({start})",
                field_errors={"rollout_end": "on or after the start"},
            )
        return cls(
            sp.csr_matrix(a), np.asarray(weights, dtype=float), min(phases, max(k, 1)), start, end
        )

    def solve(self) -> Rollout:
        """Order, phase and date the bases; returns ``self``."""
        a = sp.csc_matrix(self.coverage)
        w = self.weights
        k = a.shape[1]
        total = float(w.sum()) or 1.0
        left = w.copy()
        remaining = list(range(k))
        order, marginal = [], []
        while remaining:
            gains = np.array(
                [left[a.indices[a.indptr[j] : a.indptr[j + 1]]].sum() for j in remaining]
            )
            best = int(np.argmax(gains))  # ties: the earlier base
            j = remaining.pop(best)
            order.append(j)
            marginal.append(float(gains[best]))
            left[a.indices[a.indptr[j] : a.indptr[j + 1]]] = 0.0
        self.order = np.asarray(order, dtype=int)
        self.marginal = np.asarray(marginal)
        # phase sizes as even as possible, the larger phases first
        sizes = [k // self.phases + (1 if i < k % self.phases else 0) for i in range(self.phases)]
        self.phase_sizes = sizes
        self.phase_of = np.zeros(k, dtype=int)
        pos = 0
        self.cumulative = []
        covered = 0.0
        for ph, size in enumerate(sizes, start=1):
            for j in self.order[pos : pos + size]:
                self.phase_of[j] = ph
            covered += float(self.marginal[pos : pos + size].sum())
            self.cumulative.append(covered / total)
            pos += size
        span = (self.end - self.start).days
        self.phase_dates = [
            self.start + timedelta(days=round(span * i / (self.phases - 1)))
            if self.phases > 1
            else self.start
            for i in range(self.phases)
        ]
        return self
