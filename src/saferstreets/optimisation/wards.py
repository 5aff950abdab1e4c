"""Ward officers: share extra officers across wards by need, with a minimum per ward, explained."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from saferstreets.errors import PlanningError
from saferstreets.optimisation.apportion import Apportionment, Method

COMPONENT_LABELS = {
    "reports": "reports from women and girls",
    "survey": "survey concerns",
    "crime": "harm-weighted recorded crime",
}


@dataclass
class WardApportionment:
    """Allocate ``total`` officers to wards: ``minimum`` each, the rest in proportion to need.

    Need of a ward is ``sum_k weight_k * share_k`` where ``share_k`` is the ward's share of the
    county's component ``k`` (reports women raised, survey concerns, harm-weighted recorded crime).
    Components are put on the same footing as shares so that a weight of 1 for each means equal
    say, whatever the raw scale (harm in days of imprisonment dwarfs counts of reports).

    Parameters
    ----------
    wards : ward codes
    names : ward names (for the reasons)
    components : mapping component -> array of raw amounts per ward
    weights : mapping component -> weight (missing means 1; 0 leaves it out)
    total : officers to allocate
    minimum : officers every ward keeps
    method : apportionment method for the officers above the minimum

    Attributes (after :meth:`solve`)
    ----------
    officers : numpy.ndarray of int (sums to ``total``)
    need : numpy.ndarray, each ward's share of county need (sums to 1)
    reasons : list of str, one plain sentence per ward naming the need and the method
    """

    wards: Sequence[str]
    names: Sequence[str]
    components: Mapping[str, np.ndarray]
    weights: Mapping[str, float]
    total: int
    minimum: int = 0
    method: Method = "webster"
    officers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    need: np.ndarray = field(default_factory=lambda: np.zeros(0))
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def from_arrays(
        cls,
        wards: Sequence[str],
        names: Sequence[str],
        components: Mapping[str, np.ndarray],
        weights: Mapping[str, float],
        *,
        total: int,
        minimum: int = 0,
        method: Method = "webster",
    ) -> WardApportionment:
        """Check the settings and build."""
        k = len(wards)
        if k == 0:
            raise PlanningError(
                "There are no wards to allocate officers to",
                hint="import ward boundaries first",
            )
        if total < 0:
            raise PlanningError(
                f"The number of ward officers cannot be negative (it is {total})",
                field_errors={"ward_officers": "0 or more"},
            )
        if minimum < 0:
            raise PlanningError(
                "The minimum officers per ward cannot be negative",
                field_errors={"ward_min": "0 or more"},
            )
        if minimum * k > total:
            raise PlanningError(
                f"A minimum of {minimum} officer(s) in each of {k} wards needs {minimum * k}, "
                f"more than the {total} ward officers",
                field_errors={"ward_min": f"at most {total // k}"},
                hint=f"lower the minimum per ward to {total // k}, or allocate more officers",
            )
        comps = {key: np.asarray(v, dtype=float) for key, v in components.items()}
        for key, v in comps.items():
            if len(v) != k:
                raise PlanningError(f"Need component {key!r} has {len(v)} values for {k} wards")
        return cls(list(wards), list(names), comps, dict(weights), int(total), int(minimum), method)

    def solve(self) -> WardApportionment:
        """Allocate and explain; returns ``self``."""
        k = len(self.wards)
        shares: dict[str, np.ndarray] = {}
        need = np.zeros(k)
        for key, raw in self.components.items():
            wt = float(self.weights.get(key, 1.0))
            tot = float(raw.sum())
            if wt <= 0 or tot <= 0:
                continue
            shares[key] = raw / tot
            need += wt * shares[key]
        if need.sum() > 0:
            need = need / need.sum()
        extra_total = self.total - self.minimum * k
        app = Apportionment.from_arrays(
            need,
            extra_total,
            lower=0,
            upper=None,
            method=self.method,
            what="ward officers",
            unit="ward",
        ).solve()
        self.officers = app.seats + self.minimum
        self.need = need
        # rank 1 = the most need; one specific sentence per ward (the method is told once, by
        # whoever shows the table)
        rank = np.empty(k, dtype=int)
        rank[np.argsort(-need, kind="stable")] = np.arange(1, k + 1)
        self.reasons = [
            f"{self.names[i]} gets {int(self.officers[i])}"
            + (f" ({self.minimum} minimum + {int(app.seats[i])} by need)" if self.minimum else "")
            + f": {100 * need[i]:.1f}% of the county's need, {ordinal(int(rank[i]))} of {k} wards."
            for i in range(k)
        ]
        return self


def ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
