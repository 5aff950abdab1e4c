"""Patrol plans: a week of short hotspot visits at unpredictable times within the hours that matter.

Each visit lasts 10 to 15 minutes (Koper 1995: the deterrent effect of police presence at a hot
spot grows up to about 10-15 minutes and then falls off); visits go to the hotspots in proportion
to their harm-weighted demand, as far as the team's capacity and each hotspot's hours allow, and
fall at hours drawn at random from each hotspot's own hour-of-week profile, so that they are not
predictable (Sherman & Weisburd 1995), within what the team can do per shift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from saferstreets.errors import PlanningError

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
    weights : harm-weighted demand of each hotspot (visits follow it: Webster's divisor rule)
    when : (hotspots x 7 x 24) non-negative weights of each hour of the week at each hotspot
    officers : officers in the team
    duty_share : share of the team on duty in any one shift
    visits_per_pair_shift : hotspot visits a pair of officers makes in one shift
    max_visits_per_hotspot : most visits to one hotspot in a week (0: no cap but the hours)
    visits_per_hour : most visits to one hotspot in one hour of the week; the hour is split into
        that many equal parts and each visit keeps to its own part, so two never overlap
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
    max_visits_per_hotspot: int = 0
    visits_per_hour: int = 2
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
        per_hour = int(kw.get("visits_per_hour", 2))  # type: ignore[call-overload]
        if not 1 <= per_hour <= 60 // dwell[1]:
            raise PlanningError(
                f"{per_hour} visits an hour to one hot spot cannot fit visits of up to "
                f"{dwell[1]} minutes without overlapping",
                field_errors={"visits_per_hour": f"1 to {60 // dwell[1]}"},
            )
        return cls(w, wh, int(officers), **kw)  # type: ignore[arg-type]

    def solve(self) -> PatrolPlan:
        """Book the week's visits, one at a time, to the hot spot whose dose is furthest behind its
        share of demand (Webster's divisor rule: next visit to the largest ``weight / (visits +
        0.5)``), each at a free hour drawn from that hot spot's profile, until the team's capacity
        is used or no hot spot has a free hour that matters left; returns ``self``.

        A hot spot gets at most ``visits_per_hour`` visits in any hour of the week, a second in
        an hour only once each of its hours that matter has one (and so on), and at most
        ``max_visits_per_hotspot`` a week (0: no cap). A busier hot spot never gets fewer visits
        than a quieter one: when a hot spot runs out of free hours, quieter ones stop there too.
        """
        rng = np.random.default_rng(self.seed)
        h = len(self.weights)
        on_duty = max(2, round(self.officers * self.duty_share))
        per_shift = max(1, on_duty // 2) * self.visits_per_pair_shift
        self.capacity = per_shift * 21
        counts = np.zeros(h, dtype=int)
        visits: list[Visit] = []
        if h:
            visits = self._book(rng, per_shift, counts)
        visits.sort(key=lambda v: (v.weekday, v.start_minute, v.hotspot))
        self.visits = visits
        self.visits_per_hotspot = counts
        return self

    def _book(self, rng: np.random.Generator, per_shift: int, counts: np.ndarray) -> list[Visit]:
        h = len(self.weights)
        w = self.weights.astype(float)
        cap = np.full(h, self.max_visits_per_hotspot or 7 * 24, dtype=int)
        profiles = self.when.reshape(h, 7 * 24).astype(float)
        profiles[profiles.sum(axis=1) <= 0] = 1.0
        matters = profiles > 0  # the hours that matter, per hot spot
        parts = np.zeros((h, 7 * 24, self.visits_per_hour), dtype=bool)  # parts of hours taken
        shift_slot = np.array([_SHIFT_INDEX[s] for s in range(7 * 24)])
        load = np.zeros(21, dtype=int)
        active = np.ones(h, dtype=bool)
        visits: list[Visit] = []
        while len(visits) < self.capacity:
            active &= counts < cap
            if not active.any():
                break
            priority = np.where(active, (w + 1e-12) / (counts + 0.5), -np.inf)
            i = int(np.argmax(priority))  # ties: the earlier hot spot
            slot = self._hour(rng, profiles[i], matters[i], parts[i], load[shift_slot] < per_shift)
            if slot is None:  # no free hour left that matters here: stop, and so do quieter ones
                active[i] = False
                cap[w < w[i]] = np.minimum(cap[w < w[i]], counts[i])
                continue
            visits.append(self._visit(rng, i, slot, parts[i, slot]))
            load[shift_slot[slot]] += 1
            counts[i] += 1
        return visits

    @staticmethod
    def _hour(
        rng: np.random.Generator,
        profile: np.ndarray,
        matters: np.ndarray,
        parts: np.ndarray,
        shift_open: np.ndarray,
    ) -> int | None:
        """An hour of the week for a hot spot's next visit, drawn from its profile among the
        hours that matter with a part free and a shift not yet full, fewest visits first."""
        booked = parts.sum(axis=1)
        ok = matters & (booked < parts.shape[1]) & shift_open
        if not ok.any():
            return None
        ok &= booked == booked[ok].min()
        p = np.where(ok, profile, 0.0)
        return int(rng.choice(len(p), p=p / p.sum()))

    def _visit(self, rng: np.random.Generator, i: int, slot: int, parts: np.ndarray) -> Visit:
        """A visit to hot spot ``i`` in hour ``slot``, in a free part of the hour (marked)."""
        d, hr = divmod(slot, 24)
        free = np.flatnonzero(~parts)
        part = int(free[rng.integers(len(free))]) if len(free) > 1 else int(free[0])
        parts[part] = True
        length = 60 // len(parts)
        minutes = int(rng.integers(self.dwell[0], self.dwell[1] + 1))
        start = hr * 60 + part * length + int(rng.integers(0, length - min(minutes, 59) + 1))
        return Visit(i, d, start, minutes)


def _shift_number(slot: int) -> int:
    day, shift = shift_of(*divmod(slot, 24))
    return 3 * day + shift


_SHIFT_INDEX = [_shift_number(s) for s in range(7 * 24)]


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
