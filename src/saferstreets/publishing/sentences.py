"""Each stored finding as one sentence, built by the wording rules (:mod:`.wording`): its size,
its interval and its test, places by name, and "significant" only where a test says so.

Every function takes the stored result (and, where places are named, a naming function) and
returns a :class:`~saferstreets.publishing.wording.Finding`, or ``None`` when the result holds
nothing to say.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from saferstreets.publishing.formatting import counted, pct, points
from saferstreets.publishing.wording import (
    FEARED_LITTLE_CRIME,
    Change,
    Finding,
    Test,
    count_finding,
    headline_changes,
    listing,
    share_finding,
    share_of,
)
from saferstreets.themes.taxonomy import label

Result = Mapping[str, Any]
Names = Callable[[list[str]], dict[str, str]]
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
TEST_NAMES = {
    "chi-square": "chi-square test",
    "fisher": "Fisher's exact test",
    "fisher-exact": "Fisher's exact test",
}


def month_name(month: str) -> str:
    """ "2022-07" -> "July 2022"-style short form "Jul 2022"."""
    try:
        year, mon = month.split("-")[:2]
        return f"{MONTHS[int(mon) - 1]} {year}"
    except (ValueError, IndexError):
        return month


def _place_time(key: str) -> tuple[str, str]:
    when, _, setting = key.partition(".")
    return label(setting).lower(), "after dark" if when == "after_dark" else "by day"


def question(key: str) -> str:
    """ "after_dark.park" -> "in parks and open spaces after dark"."""
    place, time = _place_time(key)
    return f"{place if place.startswith('around') else 'in ' + place} {time}"


def area_km2(resolution: int) -> str:
    """The average H3 hexagon's area at ``resolution``, in words: "0.1 km²" or "5 hectares"."""
    import h3

    km2 = h3.average_hexagon_area(resolution, unit="km^2")
    return f"{km2:.2g} km²" if km2 >= 1 else f"{100 * km2:.2g} hectares"


def group_test(test: Mapping[str, Any] | None) -> Test | None:
    if not test or test.get("test") in (None, "none"):
        return None
    return Test(TEST_NAMES.get(str(test["test"]), str(test["test"])), test.get("p_value"))


def concerns(res: Result) -> Finding | None:
    ranked = res.get("ranked") or []
    if not ranked:
        return None
    top = ranked[0]
    test = group_test(
        ((res.get("by") or {}).get("age_band") or {}).get(top["code"], {}).get("test")
    )
    return share_finding(
        top,
        f"{top['label']} was the most common concern: {{share}} of the "
        f"{res.get('n_answered', top.get('n', 0)):,} respondents who answered. "
        "Between age bands: {test}.",
        test=test,
        test_note="no test between age bands (too few answers)",
    )


def feel_safe(res: Result) -> Finding | None:
    dark = [
        q
        for q in res.get("questions", [])
        if q["when"] == "after_dark" and q.get("unsafe", {}).get("share") is not None
    ]
    if not dark:
        return None
    worst = max(dark, key=lambda q: q["unsafe"]["share"])
    pair = next((d for d in res.get("day_vs_dark", []) if d["setting"] == worst["setting"]), None)
    day = pair["day_unsafe"] if pair else None
    test = (
        Test("McNemar's test (the same people, day against dark)", pair["p_value"])
        if pair
        else None
    )
    by_day = f" By day, {share_of(day)} did." if day else ""
    return share_finding(
        worst["unsafe"],
        f"After dark, {{share}} of {worst['n']:,} felt very or fairly unsafe in "
        f"{label(worst['setting']).lower()}, the highest of the settings asked about.{by_day} "
        "Day against dark: {test}.",
        test=test,
    )


def who(res: Result) -> Finding | None:
    stage = (res.get("by_life_stage") or {}).get("feel_unsafe") or {}
    rows = []
    for key, comp in stage.items():
        groups = {g["group"]: g for g in comp.get("groups", []) if not g.get("suppressed")}
        test = group_test(comp.get("test"))
        if "girls" in groups and "women" in groups and test:
            gap = abs(groups["girls"]["share"] - groups["women"]["share"])
            rows.append((test.significant, gap, key, groups, test))
    if not rows:
        return None
    _sig, _gap, key, groups, test = max(rows, key=lambda r: (r[0], r[1]))
    return share_finding(
        groups["girls"],
        f"Girls and women differed most {question(key)}: {{share}} of girls felt unsafe there "
        f"against {share_of(groups['women'])} of women; {{test}}.",
        test=test,
    )


def themes(res: Result) -> Finding | None:
    rep = res.get("report") or {}
    ranked = [r for r in rep.get("ranked") or [] if not r.get("suppressed")]
    if not ranked:
        return None
    top = ranked[0]
    return share_finding(
        top,
        f"In the words of {rep.get('n_texts', 0):,} public reports, the most common theme was "
        f"{(top.get('label') or label(top['code'])).lower()}: {{share}} of those reports "
        "({test}).",
    )


def when_reports(res: Result) -> Finding | None:
    nte = res.get("nte_window") or {}
    obs = nte.get("observed")
    if not obs:
        return None
    nights = listing([str(n) for n in nte.get("nights", [])])
    return share_finding(
        obs,
        f"{{share}} of the {obs['n']:,} reports with a day and hour fell on {nights} nights "
        f"between {nte['start_hour']:02d}:00 and {nte['end_hour']:02d}:00, hours that hold "
        f"{pct(nte.get('expected_share'))} of the week; against that even spread, {{test}}.",
        test=Test("exact binomial test", nte.get("p_value")),
    )


def when_crime(res: Result) -> Finding | None:
    months, counts = res.get("months") or [], res.get("counts") or []
    if not counts:
        return None
    peak = max(range(len(counts)), key=lambda i: counts[i])
    low = min(range(len(counts)), key=lambda i: counts[i])
    total = sum(counts)
    return count_finding(
        f"{total:,} women's-safety crimes were recorded over {len(months)} months, between "
        f"{counts[low]:,} (in {month_name(months[low])}, the fewest) and {counts[peak]:,} (in "
        f"{month_name(months[peak])}, the most) a month. These are every recorded crime, not a "
        "sample; police.uk "
        "gives the month only, so there is no hour of day for crime.",
        f"{total:,} crimes",
        "none: a count of every recorded crime",
    )


def hotspots(res: Result, what: str, names: Names, resolution: int) -> Finding | None:
    classes = {int(k): v for k, v in (res.get("classes") or {}).items()}
    hot = sum(v for k, v in classes.items() if k > 0)
    if not res.get("cells"):
        return None
    top = [t["cell"] for t in (res.get("top") or [])[:3]]
    named = names(top) if top else {}
    where = listing([named.get(c, "") for c in top], 3)
    text = (
        f"{counted(hot, 'small area')} (hexagons of about {area_km2(resolution)}) "
        f"{'is a hot spot' if hot == 1 else 'are hot spots'} of {what}, "
        "at 90% confidence or "
        f"more ({classes.get(3, 0):,} at 99%), out of {res['cells']:,} in the county"
        + (f"; the strongest are {where}" if where else "")
        + ". Each area was tested against its neighbours (Getis-Ord Gi*) with the false discovery"
        " rate held at 5% or less."
    )
    return Finding(
        text,
        f"{hot:,} hot spots",
        "confidence stated for each hot spot (90%, 95% or 99%)",
        "Getis-Ord Gi* with false-discovery-rate control",
        None,
    )


def emerging(res: Result, what: str) -> Finding | None:
    cats = {k: v for k, v in (res.get("categories") or {}).items() if v}
    if not cats:
        return None
    parts = [
        f"{v:,} {k}s" if v != 1 else f"1 {k}"
        for k, v in sorted(cats.items(), key=lambda kv: -kv[1])
    ]
    return Finding(
        f"Over {len(res.get('periods') or [])} months of {what}: {listing(parts, 8)}. "
        "A hot spot's trend over the months is judged by the Mann-Kendall trend test.",
        f"{sum(cats.values()):,} areas with a pattern",
        "none: each area's category follows from its monthly hot-spot results",
        "Getis-Ord Gi* each month; Mann-Kendall trend test",
    )


def fusion(res: Result) -> Finding | None:
    wards = (res.get("wards") or {}).get("areas") or []
    if not wards:
        return None
    design = FEARED_LITTLE_CRIME.members(wards)
    cells = ((res.get("cells") or {}).get("counts")) or {}
    both = cells.get("patrol_enforcement", 0)
    if design:
        lead = (
            f"{len(design)} ward{'s are' if len(design) != 1 else ' is'} feared with little "
            f"recorded crime: {listing([w['name'] for w in design])}"
        )
    else:
        lead = "No ward is feared with little recorded crime"
    return Finding(
        f"{lead} ({FEARED_LITTLE_CRIME.stated()[:-1]}). "
        f"{counted(both, 'small area is a hot spot', 'small areas are hot spots')} "
        "for both reports and recorded crime.",
        f"{len(design)} wards",
        "none: every ward is measured, a comparison of rates",
        "ward rates as z-scores; hot spots by Getis-Ord Gi*",
    )


def outcomes(res: Result) -> Finding | None:
    overall = res.get("overall") or {}
    charged = overall.get("charged")
    if not charged:
        return None
    return share_finding(
        charged,
        f"Of {overall['n']:,} violence and sexual offences with an outcome, {{share}} led to a "
        "charge or summons ({test}).",
    )


def changes(res: Result) -> list[Change]:
    """Each survey measure's change since the last wave, as :class:`Change`."""
    out = []
    for c in res.get("comparisons", []):
        if c.get("difference") is None:
            continue
        what = (
            f"feeling unsafe {question(c['key'])}"
            if c["measure"] == "feel_unsafe"
            else f"naming {label(c['key']).lower()} as a concern"
        )
        out.append(
            Change(
                what,
                c["p2"],
                c["p1"],
                c["difference"],
                c["lower"],
                c["upper"],
                Test("two-proportion z-test", c.get("p_value")),
                *(_place_time(c["key"]) if c["measure"] == "feel_unsafe" else ("", "")),
            )
        )
    return out


def waves(res: Result) -> Finding | None:
    chosen = headline_changes(changes(res))
    if not chosen:
        return None
    head = chosen[0]
    rest = "; ".join(c.sentence()[:1].lower() + c.sentence()[1:] for c in chosen[1:])
    text = (
        f"{res['latest']['name']} against {res['previous']['name']}: {head.sentence()}"
        + (f"; {rest}" if rest else "")
        + "."
    )
    return Finding(
        text,
        f"{points(head.difference)} points",
        f"95% interval {points(head.lower)} to {points(head.upper)} (Newcombe)",
        "two-proportion z-test",
        any(c.test.significant for c in chosen),
    )


def finding_for(kind: str, res: Result, params: Result, names: Names) -> Finding | None:
    """The sentence for one stored finding, by its kind (``None``: nothing to say)."""
    what = "recorded crime" if kind.endswith("crime") else "public reports"
    if kind.startswith("hotspots_"):
        return hotspots(res, what, names, int(params.get("resolution") or 9))
    if kind.startswith("emerging_"):
        return emerging(res, what)
    simple: dict[str, Callable[[Result], Finding | None]] = {
        "concerns": concerns,
        "feel_safe": feel_safe,
        "who": who,
        "themes": themes,
        "when_reports": when_reports,
        "when_crime": when_crime,
        "fusion": fusion,
        "outcomes": outcomes,
        "waves": waves,
    }
    return simple[kind](res) if kind in simple else None
