"""When: hour-of-day by weekday profiles, the night-time-economy window, and monthly crime counts.

Public reports carry a date and an hour (imports, the demo) or a time band (the form); police.uk
crime carries the month only, so recorded crime has a monthly profile and a seasonality index but
no hour-of-day profile (Home Office / police.uk data description).

The night-time-economy (NTE) window is a set of weekday-hours, by default Friday and Saturday from
20:00 to 04:00 the next morning (16 of the week's 168 hours). The share of reports falling in it
is compared with the share expected if report times were spread evenly over the week (16/168 =
9.5%) with a Wilson interval and an exact binomial test.

References
----------
Wilson, E. B. (1927), see :mod:`saferstreets.analysis.proportions`.
Clopper, C. J. and Pearson, E. S. (1934) for the exact binomial test (scipy ``binomtest``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from saferstreets.analysis.proportions import proportion

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def window_mask(nights: Sequence[int], start_hour: int, end_hour: int) -> np.ndarray:
    """A 7 x 24 boolean mask of the weekday-hours in a nightly window.

    Parameters
    ----------
    nights : sequence of int
        Weekdays (Monday = 0) on whose evening the window opens, e.g. ``(4, 5)`` for Friday and
        Saturday nights.
    start_hour, end_hour : int
        The window runs from ``start_hour`` on that evening to ``end_hour`` (exclusive); when
        ``end_hour <= start_hour`` it runs past midnight into the next weekday's morning.
    """
    mask = np.zeros((7, 24), dtype=bool)
    for night in nights:
        if end_hour > start_hour:
            mask[night, start_hour:end_hour] = True
        else:
            mask[night, start_hour:] = True
            mask[(night + 1) % 7, :end_hour] = True
    return mask


@dataclass(frozen=True)
class TimeProfile:
    """Counts of events by weekday (rows, Monday first) and hour (columns), and the NTE window."""

    matrix: np.ndarray  # 7 x 24 counts
    n_timed: int
    n_untimed: int
    window: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        m = self.matrix
        return {
            "weekdays": list(WEEKDAYS),
            "hours": list(range(24)),
            "counts": m.astype(int).tolist(),
            "by_hour": m.sum(axis=0).astype(int).tolist(),
            "by_weekday": m.sum(axis=1).astype(int).tolist(),
            "n_timed": self.n_timed,
            "n_untimed": self.n_untimed,
            "nte_window": self.window,
        }


def time_profile(
    days: Sequence[date | None],
    hours: ArrayLike,
    *,
    nights: Sequence[int] = (4, 5),
    start_hour: int = 20,
    end_hour: int = 4,
    confidence: float = 0.95,
    counts: ArrayLike | None = None,
) -> TimeProfile:
    """Weekday x hour counts, and the share in the NTE window against the uniform expectation.

    Parameters
    ----------
    days : sequence of date or None
        The date each event happened (None when unknown).
    hours : array_like of int or None
        The hour (0-23) each event happened (None/NaN when unknown).
    nights, start_hour, end_hour
        The window (see :func:`window_mask`); defaults are Friday and Saturday, 20:00 to 04:00.
    confidence : float, default 0.95
    counts : array_like of int, optional
        How many events each (day, hour) stands for (default one each), so that a store can
        pass its counts grouped by day and hour instead of one entry per event.

    Returns
    -------
    TimeProfile
        ``window`` holds ``observed`` (a Proportion: events in the window among timed events),
        ``expected_share`` (window hours / 168), ``ratio`` (observed / expected share) and the
        two-sided exact binomial ``p_value`` against the expected share.
    """
    hrs = np.array(
        [np.nan if h is None else h for h in np.asarray(hours, dtype=object)], dtype=float
    )
    weight = (
        np.ones(len(hrs), dtype=np.int64)
        if counts is None
        else np.asarray(counts, dtype=np.int64).reshape(len(hrs))
    )
    matrix = np.zeros((7, 24), dtype=np.int64)
    timed = 0
    for day, hour, w in zip(days, hrs, weight.tolist(), strict=True):
        if day is None or np.isnan(hour):
            continue
        h = int(hour)
        if not 0 <= h <= 23:
            continue
        matrix[day.weekday(), h] += w
        timed += w
    mask = window_mask(nights, start_hour, end_hour)
    expected = float(mask.sum()) / mask.size
    in_window = int(matrix[mask].sum())
    observed = proportion(in_window, timed, confidence)
    p_value = (
        float(stats.binomtest(in_window, timed, expected).pvalue)
        if timed and expected > 0
        else None
    )
    window = {
        "nights": [WEEKDAYS[i] for i in nights],
        "start_hour": start_hour,
        "end_hour": end_hour,
        "hours_in_window": int(mask.sum()),
        "expected_share": expected,
        "observed": observed.as_dict(),
        "ratio": (observed.share / expected) if observed.share is not None and expected else None,
        "ratio_lower": (observed.lower / expected)
        if observed.lower is not None and expected
        else None,
        "ratio_upper": (observed.upper / expected)
        if observed.upper is not None and expected
        else None,
        "test": "exact binomial test against the uniform-time share",
        "p_value": p_value,
    }
    return TimeProfile(matrix, timed, int(weight.sum()) - timed, window)


def monthly_profile(months: Sequence[date], *, confidence: float = 0.95) -> dict[str, Any]:
    """Counts by calendar month, and a seasonality index (count / mean monthly count).

    Each month's share of the period's events carries a Wilson interval; with a single year of
    data the "seasonality" is one year's pattern, not an estimate of a stable seasonal effect.
    """
    if not months:
        return {"months": [], "counts": [], "index": [], "shares": []}
    keys = sorted({date(m.year, m.month, 1) for m in months})
    counts = {k: 0 for k in keys}
    for m in months:
        counts[date(m.year, m.month, 1)] += 1
    total = sum(counts.values())
    mean = total / len(keys)
    return {
        "months": [k.isoformat()[:7] for k in keys],
        "counts": [counts[k] for k in keys],
        "index": [counts[k] / mean for k in keys],
        "shares": [proportion(counts[k], total, confidence).as_dict() for k in keys],
    }
