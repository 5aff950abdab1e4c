"""A partial final month (an incomplete import) is left out of emerging hot spots, and said so."""

from __future__ import annotations

import numpy as np

from saferstreets.analysis.place import drop_partial_months


def test_trailing_partial_months_are_dropped() -> None:
    rng = np.random.default_rng(3)
    series = rng.poisson(5, size=(40, 8)).astype(float)
    series[:, -1] = 0
    series[0, -1] = 3  # a few days of the last month
    months = tuple(f"2021-{m:02d}" for m in range(1, 9))
    kept, periods, dropped = drop_partial_months(series, months)
    assert dropped == ("2021-08",)
    assert kept.shape == (40, 7)
    assert periods[-1] == "2021-07"


def test_whole_months_are_kept() -> None:
    series = np.ones((10, 6))
    series[:, -1] = 0.6  # 60% of a normal month is still a month
    kept, _, dropped = drop_partial_months(series, tuple(str(i) for i in range(6)))
    assert dropped == () and kept.shape == (10, 6)
