"""Apportionment, rollout, ward allocation and patrol plans: invariants checked independently."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from saferstreets.errors import PlanningError
from saferstreets.optimisation.apportion import Apportionment, apportion
from saferstreets.optimisation.patrols import PatrolPlan, hour_of_week_profile, shift_of
from saferstreets.optimisation.rollout import Rollout
from saferstreets.optimisation.wards import WardApportionment, ordinal

weights_st = st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=25)


@settings(max_examples=200, deadline=None)
@given(
    weights_st,
    st.integers(0, 600),
    st.integers(0, 10),
    st.integers(0, 80),
    st.sampled_from(["webster", "hamilton"]),
)
def test_sum_and_bounds_hold_or_the_error_names_the_setting(w, total, lo, span, method) -> None:
    hi = lo + span
    k = len(w)
    if lo * k > total or hi * k < total:
        with pytest.raises(PlanningError) as err:
            apportion(w, total, lower=lo, upper=hi, method=method)
        assert set(err.value.field_errors) & {"min", "max"}
        return
    seats = apportion(w, total, lower=lo, upper=hi, method=method)
    assert seats.sum() == total
    assert (seats >= lo).all() and (seats <= hi).all()


@settings(max_examples=200, deadline=None)
@given(weights_st, st.integers(1, 600), st.integers(0, 5), st.integers(5, 80))
def test_webster_is_a_bounded_divisor_method(w, total, lo, hi) -> None:
    """Independent check of the definition: a divisor d gives clip(round(w/d), lo, hi) = seats."""
    w = np.asarray(w)
    k = len(w)
    if lo * k > total or hi * k < total or w.sum() <= 0:
        return
    a = Apportionment.from_arrays(w, total, lower=lo, upper=hi).solve()
    s = a.seats
    # feasible divisors: w_i/(s_i+1/2) <= d for shares below their max, d <= w_i/(s_i-1/2) above min
    up = s < hi
    down = s > lo
    d_min = max([wi / (si + 0.5) for wi, si in zip(w[up], s[up])] + [0.0])
    d_max = min([wi / (si - 0.5) for wi, si in zip(w[down], s[down])] + [np.inf])
    assert d_min <= d_max * (1 + 1e-9)


def test_hamilton_stays_within_quota_when_bounds_do_not_bind() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        w = rng.gamma(1.0, 1.0, size=rng.integers(2, 20))
        total = int(rng.integers(10, 500))
        a = Apportionment.from_arrays(w, total, method="hamilton").solve()
        q = total * w / w.sum()
        assert (a.seats >= np.floor(q)).all() and (a.seats <= np.ceil(q)).all()
        assert a.seats.sum() == total


def test_webster_matches_a_published_example() -> None:
    # Sainte-Laguë on the 1990s-style textbook example: votes 53k, 24k, 23k for 7 seats -> 3, 2, 2
    assert apportion([53_000, 24_000, 23_000], 7).tolist() == [3, 2, 2]
    # Hamilton on the same votes gives 4, 2, 1 (quotas 3.71, 1.68, 1.61)
    assert apportion([53_000, 24_000, 23_000], 7, method="hamilton").tolist() == [4, 2, 1]


def test_team_bounds_error_messages() -> None:
    with pytest.raises(PlanningError, match="19 teams needs 570, more than the 500 officers"):
        apportion(np.ones(19), 500, lower=30, upper=60)
    with pytest.raises(PlanningError, match="places only 380 of the 500"):
        apportion(np.ones(19), 500, lower=0, upper=20)


def test_rollout_order_is_greedy_and_cumulative_coverage_grows() -> None:
    rng = np.random.default_rng(4)
    a = sp.csr_matrix(rng.random((200, 7)) < 0.2)
    w = rng.random(200)
    r = Rollout.from_arrays(a, w, phases=3, start=date(2021, 11, 1), end=date(2022, 4, 1)).solve()
    dense = a.toarray()
    covered = np.zeros(200, dtype=bool)
    for j, gain in zip(r.order, r.marginal):
        best = max(
            float(w[dense[:, k] & ~covered].sum())
            for k in range(7)
            if k not in r.order[: list(r.order).index(j)]
        )
        assert gain == pytest.approx(best)
        covered |= dense[:, j]
    assert r.phase_sizes == [3, 2, 2]
    assert r.phase_dates[0] == date(2021, 11, 1) and r.phase_dates[-1] == date(2022, 4, 1)
    assert r.cumulative == sorted(r.cumulative)
    assert r.cumulative[-1] == pytest.approx(w[dense.any(axis=1)].sum() / w.sum())


def test_ward_allocation_keeps_minimum_and_explains() -> None:
    comps = {
        "reports": np.array([10, 0, 5, 1.0]),
        "survey": np.array([0, 4, 4, 0.0]),
        "crime": np.array([600, 60, 0, 0.0]),
    }
    alloc = WardApportionment.from_arrays(
        ["A", "B", "C", "D"],
        ["Alpha", "Beta", "Gamma", "Delta"],
        comps,
        {"reports": 1, "survey": 1, "crime": 1},
        total=20,
        minimum=2,
    ).solve()
    assert alloc.officers.sum() == 20 and (alloc.officers >= 2).all()
    # need = mean of shares, computed independently
    need = comps["reports"] / 16 + comps["survey"] / 8 + comps["crime"] / 660
    np.testing.assert_allclose(alloc.need, need / need.sum())
    assert alloc.reasons[0].startswith("Alpha gets")
    assert "2 minimum +" in alloc.reasons[0]
    # one specific sentence: its share of need and its rank among the wards
    rank = 1 + int((alloc.need > alloc.need[0]).sum())
    assert f"{100 * alloc.need[0]:.1f}% of the county's need" in alloc.reasons[0]
    assert alloc.reasons[0].endswith(f"{ordinal(rank)} of 4 wards.")
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 112)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "112th",
    ]
    with pytest.raises(PlanningError, match="needs 12, more than the 10 ward officers"):
        WardApportionment.from_arrays(
            ["A", "B", "C", "D"], list("abcd"), comps, {}, total=10, minimum=3
        )


def test_patrol_plan_respects_dwell_hours_capacity_and_seed() -> None:
    rng = np.random.default_rng(2)
    when = np.zeros((5, 7, 24))
    when[:, 4:6, 20:24] = 1.0  # only Friday and Saturday evenings matter
    plan = PatrolPlan.from_arrays(rng.random(5), when, officers=24, seed=7).solve()
    again = PatrolPlan.from_arrays(plan.weights, when, officers=24, seed=7).solve()
    other = PatrolPlan.from_arrays(plan.weights, when, officers=24, seed=8).solve()
    assert plan.visits == again.visits and plan.visits != other.visits
    assert all(10 <= v.minutes <= 15 for v in plan.visits)
    assert all(v.weekday in (4, 5) and 20 * 60 <= v.start_minute < 24 * 60 for v in plan.visits)
    load: dict = {}
    for v in plan.visits:
        key = shift_of(v.weekday, v.start_minute // 60)
        load[key] = load.get(key, 0) + 1
    per_shift = (round(24 * 0.25) // 2) * 3
    assert max(load.values()) <= per_shift
    _apart(plan)


def _apart(plan: PatrolPlan) -> None:
    """At most ``visits_per_hour`` visits to one hot spot in one hour, and no two overlap."""
    by_hour = Counter((v.hotspot, v.weekday, v.start_minute // 60) for v in plan.visits)
    assert max(by_hour.values(), default=0) <= plan.visits_per_hour
    spans = sorted((v.hotspot, 1440 * v.weekday + v.start_minute, v.minutes) for v in plan.visits)
    for (a, start, minutes), (b, nxt, _) in itertools.pairwise(spans):
        assert a != b or start + minutes <= nxt, (a, start, minutes, nxt)


def test_hour_of_week_profile_weights_nte_and_drops_quiet_hours() -> None:
    prof = hour_of_week_profile([4, 4, 1], [22, 22, 10], nte_hours=(22,), nte_weight=2.0)
    assert prof.sum() == pytest.approx(1.0)
    assert prof[4, 22] > prof[1, 10] > 0
    assert prof[0, 3] == 0.0


@pytest.mark.parametrize("combo", list(itertools.product([0, 5], [1, 3])))
def test_patrol_plan_small_team_and_bad_dwell(combo) -> None:
    h, officers = combo
    plan = PatrolPlan.from_arrays(np.ones(h), np.ones((h, 7, 24)), officers=officers).solve()
    assert len(plan.visits) <= plan.capacity
    with pytest.raises(PlanningError, match="Visit length"):
        PatrolPlan.from_arrays(np.ones(2), np.ones((2, 7, 24)), officers=4, dwell=(20, 10))


def test_patrol_dose_follows_demand_within_capacity() -> None:
    # Every hour matters, so only the team's capacity limits the visits: each hot spot's visits
    # are Webster's apportionment of what was booked, computed independently.
    from saferstreets.optimisation.apportion import apportion

    demand = np.array([9.0, 2.9, 1.0, 6.0, 0.5, 2.2])  # no ties in Webster's rounding
    when = np.ones((6, 7, 24))
    plan = PatrolPlan.from_arrays(demand, when, officers=16, seed=3).solve()
    booked = len(plan.visits)
    assert booked == plan.capacity  # nothing held back while hours are free
    expected = apportion(demand, booked, lower=0, upper=None, what="visits", unit="hot spot")
    np.testing.assert_array_equal(plan.visits_per_hotspot, expected)
    # the busiest gets more than one with a third of its demand
    assert plan.visits_per_hotspot[0] > plan.visits_per_hotspot[1]


def test_a_bigger_team_makes_more_visits_and_busier_spots_never_get_fewer() -> None:
    rng = np.random.default_rng(11)
    demand = rng.gamma(1.0, 1.0, size=8)
    when = np.zeros((8, 7, 24))
    when[:, 4:6, 19:24] = 1.0  # Friday and Saturday evenings only: 10 hours a week
    when[0, :, 12:24] = 1.0  # the first hot spot matters every afternoon and evening
    small = PatrolPlan.from_arrays(demand, when, officers=12, seed=1).solve()
    big = PatrolPlan.from_arrays(demand, when, officers=48, seed=1).solve()
    assert len(big.visits) > len(small.visits)
    for plan in (small, big):
        order = np.argsort(-demand, kind="stable")
        visits = plan.visits_per_hotspot[order]
        assert list(visits) == sorted(visits, reverse=True), visits
        _apart(plan)


def test_patrol_cap_is_a_setting() -> None:
    when = np.ones((3, 7, 24))
    capped = PatrolPlan.from_arrays(
        [5.0, 1.0, 1.0], when, officers=40, max_visits_per_hotspot=20, seed=2
    ).solve()
    assert capped.visits_per_hotspot.max() == 20
    free = PatrolPlan.from_arrays([5.0, 1.0, 1.0], when, officers=40, seed=2).solve()
    assert free.visits_per_hotspot[0] > 20


def test_a_busy_hot_spot_short_of_hours_takes_a_second_visit_in_an_hour() -> None:
    # the busiest hot spot matters in 10 hours a week only, the others in 40; the team could
    # make far more visits than 10
    demand = np.array([9.0, 3.0, 1.0])
    when = np.zeros((3, 7, 24))
    when[0, 4:6, 19:24] = 1.0  # Friday and Saturday 19:00 to midnight: 10 hours
    when[1:, :, 16:22] = 1.0  # every evening: 42 hours
    one = PatrolPlan.from_arrays(demand, when, officers=48, visits_per_hour=1, seed=4).solve()
    two = PatrolPlan.from_arrays(demand, when, officers=48, visits_per_hour=2, seed=4).solve()
    assert one.visits_per_hotspot[0] == 10  # one in each hour that matters, then it stops
    assert two.visits_per_hotspot[0] == 20  # then a second in each, in the other half hour
    for plan in (one, two):
        _apart(plan)
        assert list(plan.visits_per_hotspot) == sorted(plan.visits_per_hotspot, reverse=True)
    # every hour that matters has its first visit before any has a second
    hours = Counter((v.weekday, v.start_minute // 60) for v in two.visits if v.hotspot == 0)
    assert len(hours) == 10 and set(hours.values()) == {2}
    with pytest.raises(PlanningError, match="without overlapping"):
        PatrolPlan.from_arrays(demand, when, officers=8, visits_per_hour=5)
