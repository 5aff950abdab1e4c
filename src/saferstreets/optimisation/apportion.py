"""Apportionment: share a whole number of officers in proportion to need, within bounds.

No officer is lost to rounding: the shares always sum to the total, and each lies within its
lower and upper bound. Bounds that cannot hold together raise :class:`PlanningError` naming the
setting and the arithmetic.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from saferstreets.errors import PlanningError

Method = Literal["webster", "hamilton"]

METHOD_NAMES = {
    "webster": "Webster/Sainte-Laguë divisor method with bounds",
    "hamilton": "Hamilton (largest remainder) method with bounds",
}


@dataclass
class Apportionment:
    """Integer shares of ``total`` in proportion to ``weights``, each in ``[lower, upper]``.

    Parameters
    ----------
    weights : array of non-negative need (for example covered demand per team)
    total : the number of officers to share out
    lower, upper : scalars or arrays of per-share bounds
    method : ``webster`` (default) or ``hamilton``

    Attributes (after :meth:`solve`)
    ----------
    seats : numpy.ndarray of int
        The shares; ``seats.sum() == total`` and ``lower <= seats <= upper``.
    quota : numpy.ndarray
        The exact proportional shares ``total * w / sum(w)`` before bounds and rounding.
    divisor : float or None
        For Webster, a divisor ``d`` with ``seats == clip(round(w / d), lower, upper)``.

    Notes
    -----
    Webster/Sainte-Laguë gives seats one at a time, starting from the lower bounds, to the share
    with the largest ``w / (s + 1/2)`` among those below their upper bound; this is the divisor
    method ``s_i = clip(round(w_i / d), l_i, u_i)`` for some divisor ``d`` (Balinski & Young 2001,
    ch. 5 and appendix A). It is house-monotone and unbiased between large and small shares.
    Hamilton scales the quotas so that, clipped to the bounds, they sum to the total
    (``q_i = clip(t w_i, l_i, u_i)``), then gives each share its floor and the remaining seats to
    the largest remainders; it stays within (bounded) quota but can show the Alabama paradox.

    References
    ----------
    Balinski, M. L. and Young, H. P. (2001) *Fair Representation: Meeting the Ideal of One Man,
    One Vote*, 2nd ed. Brookings Institution Press.
    """

    weights: np.ndarray
    total: int
    lower: np.ndarray
    upper: np.ndarray
    method: Method = "webster"

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=float).ravel()
        k = len(self.weights)
        self.lower = np.broadcast_to(np.asarray(self.lower, dtype=int), (k,)).copy()
        self.upper = np.broadcast_to(np.asarray(self.upper, dtype=int), (k,)).copy()
        self.total = int(self.total)
        self.seats = np.zeros(k, dtype=int)
        self.quota = np.zeros(k)
        self.divisor: float | None = None

    @classmethod
    def from_arrays(
        cls,
        weights: ArrayLike,
        total: int,
        *,
        lower: ArrayLike | int = 0,
        upper: ArrayLike | int | None = None,
        method: Method = "webster",
        what: str = "officers",
        unit: str = "team",
    ) -> Apportionment:
        """Check the inputs and build; ``what``/``unit`` name things in error messages."""
        w = np.asarray(weights, dtype=float).ravel()
        k = len(w)
        if method not in METHOD_NAMES:
            raise PlanningError(
                f"Unknown apportionment method {method!r}", hint="use webster or hamilton"
            )
        if k == 0:
            raise PlanningError(f"There is no {unit} to share {what} between")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise PlanningError(f"The need of every {unit} must be a finite, non-negative number")
        if total < 0:
            raise PlanningError(f"The number of {what} cannot be negative (it is {total})")
        up = np.full(k, total) if upper is None else np.broadcast_to(np.asarray(upper), (k,))
        lo = np.broadcast_to(np.asarray(lower), (k,))
        if np.any(lo < 0):
            raise PlanningError(f"The minimum {what} per {unit} cannot be negative")
        if np.any(up < lo):
            raise PlanningError(
                f"The maximum {what} per {unit} ({int(np.min(up))}) is below the minimum "
                f"({int(np.max(lo))})",
                field_errors={"max": "must be at least the minimum"},
            )
        if int(lo.sum()) > total:
            raise PlanningError(
                f"A minimum of {int(lo.max())} {what} per {unit} for {k} {unit}s needs "
                f"{int(lo.sum())}, more than the {total} {what} there are",
                field_errors={"min": f"at most {total // k}"},
                hint=f"lower the minimum to {total // k} or fewer, or add {what}",
            )
        if int(up.sum()) < total:
            raise PlanningError(
                f"A maximum of {int(up.max())} {what} per {unit} for {k} {unit}s places only "
                f"{int(up.sum())} of the {total} {what}",
                field_errors={"max": f"at least {-(-total // k)}"},
                hint=f"raise the maximum to {-(-total // k)} or more, or use more {unit}s",
            )
        return cls(w, total, lo, up, method)

    def solve(self) -> Apportionment:
        """Share out the total; returns ``self``."""
        w, n, lo, up = self.weights, self.total, self.lower, self.upper
        wsum = float(w.sum())
        self.quota = n * w / wsum if wsum > 0 else np.full(len(w), n / len(w))
        if wsum <= 0:
            w = np.ones_like(w)  # no need anywhere: share evenly
        if self.method == "webster":
            self.seats = _webster(w, n, lo, up)
            self.divisor = _webster_divisor(w, self.seats, lo, up)
        else:
            self.seats = _hamilton(w, n, lo, up)
        return self

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]


def _webster(w: np.ndarray, n: int, lo: np.ndarray, up: np.ndarray) -> np.ndarray:
    seats = lo.astype(int).copy()
    heap = [(-(w[i] / (seats[i] + 0.5)), i) for i in range(len(w)) if seats[i] < up[i]]
    heapq.heapify(heap)
    left = n - int(seats.sum())
    while left > 0:
        _, i = heapq.heappop(heap)  # ties: lowest index first (stable, reproducible)
        seats[i] += 1
        left -= 1
        if seats[i] < up[i]:
            heapq.heappush(heap, (-(w[i] / (seats[i] + 0.5)), i))
    return seats


def _webster_divisor(
    w: np.ndarray, seats: np.ndarray, lo: np.ndarray, up: np.ndarray
) -> float | None:
    """A divisor d with clip(round(w/d)) == seats (midpoint of the feasible interval)."""
    free_up = seats > lo  # got seats beyond the minimum: w/(s - 1/2) >= d
    free_down = seats < up  # could take more: w/(s + 1/2) <= d
    hi = np.min(w[free_up] / (seats[free_up] - 0.5)) if free_up.any() else np.inf
    low = np.max(w[free_down] / (seats[free_down] + 0.5)) if free_down.any() else 0.0
    if not np.isfinite(hi):
        return float(low) if low > 0 else None
    return float((low + hi) / 2)


def _hamilton(w: np.ndarray, n: int, lo: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Bounded quotas q_i = clip(t * w_i, lo_i, up_i) with sum n (t by bisection), then each
    share gets floor(q_i) and the seats left go to the largest remainders."""
    top = float(w.max())
    w = w / top if top > 0 else np.ones(len(w))  # scaled to 1: t stays finite for tiny needs
    w = np.maximum(w, 1e-12)  # zero (or negligible) need only takes leftovers
    lo_f, up_f = lo.astype(float), up.astype(float)

    def filled(t: float) -> np.ndarray:
        return np.clip(t * w, lo_f, up_f)

    a, b = 0.0, 1.0
    while filled(b).sum() < n and b < 1e300:
        b *= 2.0
    for _ in range(200):
        mid = (a + b) / 2
        if filled(mid).sum() < n:
            a = mid
        else:
            b = mid
    q = filled(b)
    seats = np.minimum(np.floor(q + 1e-9).astype(int), up)
    left = n - int(seats.sum())
    rema = q - seats
    order = np.lexsort((np.arange(len(w)), -rema))
    for i in order:
        if left <= 0:
            break
        if seats[i] < up[i]:
            seats[i] += 1
            left -= 1
    return seats


def apportion(
    weights: ArrayLike,
    total: int,
    *,
    lower: ArrayLike | int = 0,
    upper: ArrayLike | int | None = None,
    method: Method = "webster",
    what: str = "officers",
    unit: str = "team",
) -> np.ndarray:
    """Shortcut: the integer shares (see :class:`Apportionment`)."""
    return (
        Apportionment.from_arrays(
            weights, total, lower=lower, upper=upper, method=method, what=what, unit=unit
        )
        .solve()
        .seats
    )
