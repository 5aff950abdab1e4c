"""The report's wording rules, as code: size, interval and test; "significant" only when it is;
headlines in both directions; a category only where its definition is met."""

from __future__ import annotations

import pytest

from saferstreets.publishing.wording import (
    FEARED_HIGH_CRIME,
    FEARED_LITTLE_CRIME,
    Change,
    Finding,
    headline_changes,
    share_finding,
)
from saferstreets.publishing.wording import (
    Test as StatTest,  # not named Test here: pytest would try to collect it
)


def test_a_finding_states_size_interval_and_test() -> None:
    with pytest.raises(ValueError, match="must state its interval"):
        Finding("54% named poor lighting", "54%", "", "no test")
    est = {"share": 0.536, "lower": 0.526, "upper": 0.546, "count": 5016, "n": 9355}
    f = share_finding(
        est, "Poor lighting: {share}; {test}.", test=StatTest("chi-square test", 2e-18)
    )
    assert f.text == (
        "Poor lighting: 54% (95% interval 53% to 55%); "
        "chi-square test, p < 0.001: significant at the 5% level."
    )
    assert (f.size, f.interval, f.significant) == ("54%", "95% interval 53% to 55%", True)


def test_nothing_is_called_significant_that_is_not() -> None:
    assert StatTest("chi-square test", 0.108).verdict() == (
        "chi-square test, p = 0.11: not significant at the 5% level"
    )
    assert not StatTest("chi-square test", None).significant
    assert not StatTest("z-test", float("nan")).significant
    assert StatTest("z-test", 0.0499).significant and not StatTest("z-test", 0.05).significant
    # a sentence that says "significant" without a significant test is refused
    with pytest.raises(ValueError, match="called significant"):
        Finding("A significant rise", "+1 point", "95% interval -1 to +3", "z-test, p = 0.3", False)
    Finding("Not significant: +1 point", "+1 point", "95% interval -1 to +3", "z-test", False)


def _change(what: str, before: float, after: float, p: float) -> Change:
    d = after - before
    return Change(what, before, after, d, d - 0.02, d + 0.02, StatTest("two-proportion z-test", p))


def test_headlines_lead_with_significance_and_size_in_both_directions() -> None:
    # The case: an improvement in quiet streets after dark, and the one significant
    # rise, unsafe in parks by day from 8% to 12% (p < 0.001), with noise around them.
    quiet = _change("feeling unsafe in quiet streets after dark", 0.48, 0.45, 0.005)
    parks = _change("feeling unsafe in parks and open spaces by day", 0.08, 0.12, 1e-10)
    home = _change("feeling unsafe around home after dark", 0.39, 0.36, 0.01)
    noise = _change("feeling unsafe in busy places after dark", 0.47, 0.49, 0.4)
    chosen = headline_changes([quiet, home, noise, parks])
    assert chosen[0] is parks  # the largest significant change leads, a rise here
    assert noise not in chosen
    assert parks.sentence() == (
        "Feeling unsafe in parks and open spaces by day rose from 8% to 12% (+4 points, "
        "95% interval +2 to +6; two-proportion z-test, p < 0.001: significant at the 5% level)"
    )
    # Even when improvements are larger and fill the headline, a significant rise is kept.
    big_falls = [_change(f"fall {i}", 0.6, 0.5, 1e-6) for i in range(3)]
    small_rise = _change("a small rise", 0.10, 0.12, 0.03)
    kept = headline_changes([*big_falls, small_rise], most=3)
    assert small_rise in kept and len(kept) == 4
    # No significant change: the largest is shown, and it is said to be within chance.
    (only,) = headline_changes([noise])
    assert "not significant" in only.sentence()


def test_feared_is_used_only_where_its_definition_is_met() -> None:
    wards = [
        {"name": "Low", "concern_z": 0.4, "crime_z": -0.5},  # above average: not feared
        {"name": "Zero", "concern_z": 0.0, "crime_z": -1.0},
        {"name": "Feared", "concern_z": 1.3, "crime_z": -0.2},
        {"name": "Both", "concern_z": 2.0, "crime_z": 2.2},
    ]
    assert [w["name"] for w in FEARED_LITTLE_CRIME.members(wards)] == ["Feared"]
    assert [w["name"] for w in FEARED_HIGH_CRIME.members(wards)] == ["Both"]
    stated = FEARED_LITTLE_CRIME.stated()
    assert stated.startswith("“feared, little recorded crime” means concern")
    assert "z ≥ 1" in stated and "z < 0" in stated
