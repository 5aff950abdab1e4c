"""Patrol plans: a week of short hotspot visits at unpredictable times within the hours that matter.

Each visit lasts 10 to 15 minutes (Koper 1995: the deterrent effect of police presence at a hot
spot grows up to about 10-15 minutes and then falls off); visits go to the hotspots in proportion
to demand and fall at hours drawn at random from each hotspot's own hour-of-week profile, so that
they are not predictable (Sherman & Weisburd 1995), within what the team can do per shift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from saferstreets.errors import PlanningError
from saferstreets.optimisation.apportion import apportion

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# three shifts a day: early 07-15, late 15-23, night 23-07 (a night shift belongs to its start day)
SHIFT_STARTS = (7, 15, 23)


def shift_of(weekday: int, hour: int) -> tuple[int, int]:
    """(day the shift started, shift index 0..2) for a clock hour on a weekday."""
    if 7 <= hour < 15:
        return weekday, 0
    if 15 <= hour < 23:
        return weekday, 1
    return (weekday if hour >= 23 else (weekday - 1) % 7), 2


@dataclass
class Visit:
    hotspot: int
    weekday: int
    start_minute: int
    minutes: int


@dataclass
class PatrolPlan:
    """One team's week of hotspot visits.

    Parameters
    ----------
    weights : demand of each hotspot (visits are shared in proportion, Webster, at least one each)
    when : (hotspots x 7 x 24) non-negative weights of each hour of the week at each hotspot
    officers : officers in the team
    duty_share : share of the team on duty in any one shift
    visits_per_pair_shift : hotspot visits a pair of officers makes in one shift
    max_visits_per_hotspot : most visits to one hotspot in a week
    dwell : (shortest, longest) minutes of a visit; Koper's 10 to 15 by default
    seed : the same seed gives the same plan

    Attributes (after :meth:`solve`)
    ----------
    visits : list of Visit, sorted by weekday and time
    capacity : visits the team can make in a week (sum over 21 shifts)
    visits_per_hotspot : numpy.ndarray of planned weekly visits per hotspot

    References
    ----------
    Koper, C. S. (1995) Just enough police presence: reducing crime and disorderly behavior by
    optimizing patrol time in crime hot spots. *Justice Quarterly* 12(4), 649-672.
    Sherman, L. W. and Weisburd, D. (1995) General deterrent effects of police patrol in crime
    "hot spots": a randomized, controlled trial. *Justice Quarterly* 12(4), 625-648.
    """

    weights: np.ndarray
    when: np.ndarray
    officers: int
    duty_share: float = 0.25
    visits_per_pair_shift: int = 3
    max_visits_per_hotspot: int = 14
    dwell: tuple[int, int] = (10, 15)
    seed: int = 0
    visits: list[Visit] = field(default_factory=list)
    capacity: int = 0
    visits_per_hotspot: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @classmethod
    def from_arrays(
        cls, weights: ArrayLike, when: ArrayLike, *, officers: int, **kw: object
    ) -> PatrolPlan:
        """Check the inputs and build."""
        w = np.asarray(weights, dtype=float).ravel()
        wh = np.asarray(when, dtype=float)
        if wh.shape != (len(w), 7, 24):
            raise PlanningError(f"Hour-of-week weights must be {len(w)} x 7 x 24, not {wh.shape}")
        if np.any(wh < 0) or np.any(w < 0):
            raise PlanningError("Hotspot weights and hour-of-week weights cannot be negative")
        dwell: tuple[int, ...] = tuple(kw.get("dwell", (10, 15)))  # type: ignore[arg-type]
        if not (1 <= dwell[0] <= dwell[1] <= 60):
            raise PlanningError(
                f"Visit length {dwell} must be between 1 and 60 minutes, shortest first",
                field_errors={"dwell": "for example 10 to 15"},
            )
        return cls(w, wh, int(officers), **kw)  # type: ignore[arg-type]

    def solve(self) -> PatrolPlan:
        """Draw the week's visits; returns ``self``."""
        rng = np.random.default_rng(self.seed)
        h = len(self.weights)
        on_duty = max(2, round(self.officers * self.duty_share))
        pairs = max(1, on_duty // 2)
        per_shift = pairs * self.visits_per_pair_shift
        self.capacity = per_shift * 21
        if h == 0:
            self.visits, self.visits_per_hotspot = [], np.zeros(0, dtype=int)
            return self
        wanted = min(self.capacity, h * self.max_visits_per_hotspot)
        lower = 1 if wanted >= h else 0
        counts = apportion(
            self.weights + 1e-12,
            wanted,
            lower=lower,
            upper=self.max_visits_per_hotspot,
            what="visits",
            unit="hotspot",
        )
        load = np.zeros((7, 3), dtype=int)  # visits booked per shift
        used = set()
        visits: list[Visit] = []
        # the busiest hotspots choose first, so that they get their hours
        for i in np.argsort(-self.weights, kind="stable"):
            prof = self.when[i].ravel().copy()
            if prof.sum() <= 0:
                prof[:] = 1.0
            for _ in range(int(counts[i])):
                p = prof.copy()
                for slot in range(7 * 24):
                    d, hr = divmod(slot, 24)
                    sd, s = shift_of(d, hr)
                    if (i, d, hr) in used or load[sd, s] >= per_shift:
                        p[slot] = 0.0
                if p.sum() <= 0:
                    break  # no free hour left that matters for this hotspot
                slot = int(rng.choice(7 * 24, p=p / p.sum()))
                d, hr = divmod(slot, 24)
                minutes = int(rng.integers(self.dwell[0], self.dwell[1] + 1))
                start = hr * 60 + int(rng.integers(0, 60 - min(minutes, 59) + 1))
                sd, s = shift_of(d, hr)
                load[sd, s] += 1
                used.add((i, d, hr))
                visits.append(Visit(int(i), d, start, minutes))
        visits.sort(key=lambda v: (v.weekday, v.start_minute, v.hotspot))
        self.visits = visits
        self.visits_per_hotspot = np.bincount([v.hotspot for v in visits], minlength=h)
        return self


def hour_of_week_profile(
    weekdays: ArrayLike,
    hours: ArrayLike,
    *,
    prior: np.ndarray | None = None,
    prior_strength: float = 5.0,
    nte_hours: tuple[int, ...] = (),
    nte_days: tuple[int, ...] = (4, 5),
    nte_weight: float = 1.0,
    threshold: float = 0.5,
) -> np.ndarray:
    """A 7 x 24 weight table from events' weekdays (0 = Monday; -1 unknown) and hours (0-23).

    Events with an unknown weekday are spread over the week. ``prior`` (a 7 x 24 table, for example
    the county's) is mixed in with the weight of ``prior_strength`` events, so that a hotspot with
    few reports still gets sensible hours. Night-time-economy hours on ``nte_days`` are multiplied
    by ``nte_weight``. Hours below ``threshold`` times the mean are set to zero: the hours that
    matter are the ones with more than a trickle.
    """
    wd = np.asarray(weekdays, dtype=int).ravel()
    hr = np.asarray(hours, dtype=int).ravel()
    table = np.zeros((7, 24))
    ok = (hr >= 0) & (hr < 24)
    known = ok & (wd >= 0) & (wd < 7)
    np.add.at(table, (wd[known], hr[known]), 1.0)
    unknown = ok & ~known
    if unknown.any():
        table += np.bincount(hr[unknown], minlength=24)[None, :] / 7.0
    if prior is not None and prior.sum() > 0:
        table = table + prior_strength * prior / prior.sum()
    if table.sum() <= 0:
        table[:] = 1.0
    if nte_weight != 1.0 and nte_hours:
        for d in nte_days:
            for h in nte_hours:
                # a night-time hour after midnight belongs to the next calendar day
                day = (d + 1) % 7 if h < 12 else d
                table[day, h] *= nte_weight
    table[table < threshold * table.mean()] = 0.0
    return table / table.sum()
