"""The analyses of what people told us: concerns, feeling safe, who, survey waves, themes.

Pure: rows of :class:`~saferstreets.analysis.inputs.StoreData` in, findings out.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from saferstreets.analysis import waves as waves_mod
from saferstreets.analysis.groups import ALPHA, compare_groups, differed, fmt_p
from saferstreets.analysis.inputs import AssessSettings, Finding, StoreData
from saferstreets.analysis.likert import UNSAFE, key_in_words, level, summarise_feel_safe
from saferstreets.analysis.proportions import difference, proportion, suppress
from saferstreets.themes.taxonomy import label


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def interval(d: dict[str, Any]) -> str:
    """``48% (46 to 50%)`` from a Proportion dict."""
    if d.get("share") is None:
        return "n/a"
    return f"{pct(d['share'])} ({100 * d['lower']:.0f} to {100 * d['upper']:.0f}%)"


def age_range(age_band: str | None) -> tuple[int, int] | None:
    """The youngest and oldest age in a band (``16-17``, ``16 to 17``, ``under16``, ``65+``,
    ``65 or over``), or None if the label is not a band of ages."""
    if not age_band:
        return None
    text = age_band.strip().lower().replace(" ", "").replace("to", "-")
    try:
        if text.startswith("under"):
            return 0, int(text[5:]) - 1
        for suffix in ("+", "orover", "andover"):
            if text.endswith(suffix):
                return int(text.removesuffix(suffix)), 150
        lo, hi = (int(v) for v in text.split("-", 1))
    except ValueError:
        return None
    return lo, hi


def age_order(age_band: str) -> tuple[int, int, str]:
    """Sort key putting age bands youngest first, and labels that are not bands after them."""
    ages = age_range(age_band)
    return (0, ages[0], age_band) if ages else (1, 0, age_band)


def life_stage(age_band: str | None) -> str | None:
    """``girls`` (band wholly under 18), ``women`` (wholly 18 or over), ``mixed`` or None."""
    ages = age_range(age_band)
    if ages is None:
        return None
    lo, hi = ages
    if hi < 18:
        return "girls"
    return "women" if lo >= 18 else "mixed"


@functools.lru_cache(maxsize=4096)
def _level_of(value: Any) -> str | None:
    return level(value)


def level_of(value: Any) -> str | None:
    """``likert.level`` remembered per answer text (a survey has a handful of labels)."""
    try:
        return _level_of(value)
    except TypeError:  # an unhashable answer
        return level(value)


def effective_themes(rows: Iterable[Any]) -> dict[tuple[str, int], set[str]]:
    """Themes per (owner_kind, owner_id): the model's, overridden by an analyst's yes or no."""
    model: dict[tuple[str, int], set[str]] = defaultdict(set)
    analyst: dict[tuple[str, int], dict[str, bool]] = defaultdict(dict)
    for owner_kind, owner_id, theme, source, present in rows:
        key = (owner_kind, owner_id)
        if source == "analyst":
            analyst[key][theme] = bool(present)
        elif present:
            model[key].add(theme)
    out: dict[tuple[str, int], set[str]] = {}
    for key in set(model) | set(analyst):
        themes = set(model.get(key, set()))
        for theme, yes in analyst.get(key, {}).items():
            (themes.add if yes else themes.discard)(theme)
        out[key] = themes
    return out


def _ranked(lists: Sequence[Sequence[str]], n: int) -> list[dict[str, Any]]:
    return _ranked_counts(Counter(code for codes in lists for code in set(codes)), n)


def _ranked_groups(groups: Sequence[tuple[Sequence[str], int]], n: int) -> list[dict[str, Any]]:
    """As :func:`_ranked` for distinct lists given with how many people named each."""
    counts: Counter[str] = Counter()
    for codes, count in groups:
        for code in set(codes):
            counts[code] += count
    return _ranked_counts(counts, n)


def _ranked_counts(counts: Counter[str], n: int) -> list[dict[str, Any]]:
    rows = [
        {"code": code, "label": label(code), **proportion(count, n).as_dict()}
        for code, count in counts.items()
    ]
    rows.sort(key=lambda r: (-r["count"], r["code"]))
    return rows


def _by_group(
    items: Sequence[tuple[Iterable[str], str | None]],
    codes: Sequence[str],
    *,
    k: int,
    overlapping: bool = False,
    order: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Per code: share by group with a test; ``items`` are (codes named, group) per person.

    Groups are in ``order`` (a sort key), else alphabetical."""
    totals: Counter[str] = Counter(g for _, g in items if g)
    groups = sorted(totals, key=order)
    wanted = set(codes)
    named_by: dict[str, Counter[str]] = defaultdict(Counter)  # one pass, not one per code
    for named, g in items:
        if g:
            for code in wanted.intersection(named):
                named_by[code][g] += 1
    out = {}
    for code in codes:
        counts = named_by[code]
        cmp = compare_groups(
            groups, [counts[g] for g in groups], [totals[g] for g in groups], min_count=k
        ).as_dict()
        if overlapping:
            cmp["test"] = {
                "test": "none",
                "statistic": None,
                "dof": None,
                "p_value": None,
                "min_expected": None,
                "share_expected_below_5": None,
                "note": "groups overlap (one person can name several), so no test of "
                "independence applies",
            }
        out[code] = cmp
    return out


# ---------------------------------------------------------------------------------------------
# the analyses (each returns Findings; none raises on empty input)


def assess_concerns(data: StoreData, settings: AssessSettings) -> Finding:
    """Concerns ranked with Wilson intervals, by age band, district, ward and setting."""
    k = settings.public_min_count
    answered = [r for r in data.responses if r.concerns]
    n_reports = sum(count for _, count in data.reports.reasons)
    result: dict[str, Any] = {"n_respondents": len(data.responses), "n_answered": len(answered)}
    result["reports"] = {
        "n": n_reports,
        "ranked": _ranked_groups(data.reports.reasons, n_reports),
    }
    if not answered:
        result["ranked"] = []
        result["by"] = {}
        summary = "No survey responses with concerns yet."
        if n_reports:
            top = result["reports"]["ranked"][0]
            summary += (
                f" Among {n_reports:,} public reports, {top['label'].lower()} was the most "
                f"common reason: {interval(top)}."
            )
        return Finding("concerns", {}, result, summary)
    ranked = _ranked([r.concerns for r in answered], len(answered))
    result["ranked"] = ranked
    codes = [r["code"] for r in ranked]
    by: dict[str, Any] = {}
    for dim in ("age_band", "district_code", "ward_code"):
        items = [(r.concerns, getattr(r, dim)) for r in answered]
        order = age_order if dim == "age_band" else None
        by[dim.removesuffix("_code")] = _by_group(items, codes, k=k, order=order)
    setting_items = [(r.concerns, s) for r in answered for s in (r.settings or [])]
    by["setting"] = _by_group(setting_items, codes, k=k, overlapping=True)
    result["by"] = by
    top = ranked[0]
    summary = (
        f"{top['label']} was the most common concern: {interval(top)} of the "
        f"{len(answered):,} respondents who answered."
    )
    age = by["age_band"].get(top["code"], {}).get("test", {})
    summary += differed(age, "age band")
    return Finding("concerns", {"min_count": k, "alpha": ALPHA}, result, summary)


def assess_feel_safe(data: StoreData, settings: AssessSettings) -> Finding:
    """Share feeling very or fairly unsafe per question, and day vs after dark."""
    answers = [r.feel_safe for r in data.responses if r.feel_safe]
    unread = _not_understood(data)
    if not answers:
        return Finding(
            "feel_safe",
            {},
            {"questions": [], "day_vs_dark": []},
            "No survey responses with feel-safe answers yet.",
        )
    res = summarise_feel_safe(answers).as_dict()
    dark = [q for q in res["questions"] if q["when"] == "after_dark" and q["n"]]
    if dark:
        worst = max(dark, key=lambda q: q["unsafe"]["share"] or 0)
        summary = (
            f"After dark, {interval(worst['unsafe'])} of {worst['n']:,} felt very or fairly unsafe "
            f"in {label(worst['setting']).lower()}, the highest of any setting."
        )
        pair = next((p for p in res["day_vs_dark"] if p["setting"] == worst["setting"]), None)
        if pair:
            summary += f" By day it was {interval(pair['day_unsafe'])} ({fmt_p(pair['p_value'])})."
    else:
        q = max(res["questions"], key=lambda q: q["unsafe"]["share"] or 0)
        summary = f"{interval(q['unsafe'])} felt very or fairly unsafe {key_in_words(q['key'])}."
    res["not_understood"] = [u.as_dict() for u in unread]
    summary = "".join(f"{u.sentence()}. " for u in unread) + summary
    return Finding(
        "feel_safe", {"scale": "very or fairly unsafe among answers on the scale"}, res, summary
    )


def _not_understood(data: StoreData, wave_ids: Iterable[int] | None = None) -> list[Any]:
    """Feel-safe answers per wave that are on no scale the assessment reads (see analysis.waves)."""
    wanted = [w for w in data.waves if wave_ids is None or w.id in set(wave_ids)]
    return waves_mod.feel_safe_not_understood(
        (w.name, (r.feel_safe for r in data.responses if r.wave_id == w.id)) for w in wanted
    )


def assess_who(data: StoreData, settings: AssessSettings) -> Finding:
    """Girls vs women and by gender: feeling unsafe after dark and the main concerns."""
    k = settings.public_min_count
    if not data.responses:
        return Finding(
            "who", {}, {"by_life_stage": {}, "by_gender": {}}, "No survey responses yet."
        )
    keys = sorted({key for r in data.responses for key in (r.feel_safe or {})})
    result: dict[str, Any] = {}
    for dim, getter in (
        ("life_stage", lambda r: life_stage(r.age_band)),
        ("gender", lambda r: r.gender),
    ):
        items = []
        for r in data.responses:
            g = getter(r)
            if not g:
                continue
            unsafe = {key for key, v in (r.feel_safe or {}).items() if level_of(v) == UNSAFE}
            answered = {key for key, v in (r.feel_safe or {}).items() if level_of(v) is not None}
            items.append((g, unsafe, answered, r.concerns or []))
        feel = {}
        for key in keys:
            sub = [(u, g) for g, u, a, _ in items if key in a]
            feel[key] = _by_group([(u, g) for u, g in sub], [key], k=k)[key]
        concern_items = [(c, g) for g, _, _, c in items if c]
        top = [
            r["code"]
            for r in _ranked([c for c, _ in concern_items], max(len(concern_items), 1))[:5]
        ]
        result[f"by_{dim}"] = {
            "feel_unsafe": feel,
            "concerns": _by_group(concern_items, top, k=k),
            "groups": dict(Counter(g for g, *_ in items)),
        }
    summary = "Who: "
    stage = result["by_life_stage"]["feel_unsafe"]
    dark = [key for key in stage if key.startswith("after_dark")]
    parts = []
    preferred = [key for key in dark if key == "after_dark.quiet_street"] or dark
    for key in preferred[:1]:
        groups = {g["group"]: g for g in stage[key]["groups"]}
        for name in ("girls", "women"):
            if name in groups and groups[name]["share"] is not None:
                parts.append(f"{interval(groups[name])} of {name} felt unsafe {key_in_words(key)}")
        test = stage[key]["test"]
        if parts and test.get("p_value") is not None:
            parts.append(f"{test['test']}, {fmt_p(test['p_value'])}")
    summary += "; ".join(parts) if parts else "age bands do not separate girls from women here."
    return Finding("who", {"min_count": k, "girls": "age band wholly under 18"}, result, summary)


def _answered_keys(response: Any) -> set[str]:
    """The feel-safe questions a response answered on the scale."""
    return {k for k, v in (response.feel_safe or {}).items() if level_of(v) is not None}


def assess_waves(data: StoreData, settings: AssessSettings) -> Finding:
    """Latest survey wave against the one before: concerns and feeling unsafe, with intervals."""
    if len(data.waves) < 2:
        return Finding(
            "waves",
            {},
            {"comparisons": []},
            "Only one survey wave so far: no change to measure yet."
            if data.waves
            else "No survey waves yet.",
        )
    ordered = sorted(data.waves, key=lambda w: (w.period_start or date.min, w.id))
    prev, last = ordered[-2], ordered[-1]
    a = [r for r in data.responses if r.wave_id == last.id]
    b = [r for r in data.responses if r.wave_id == prev.id]
    rows = []
    # Feeling safe: only the questions both waves' mappings asked (else those both answered).
    asked = waves_mod.shared_options(
        (last.name, waves_mod.asked(last.mapping), (_answered_keys(r) for r in a)),
        (prev.name, waves_mod.asked(prev.mapping), (_answered_keys(r) for r in b)),
    )
    for key in asked.compared:

        def tally(rs: list[Any], key: str = key) -> tuple[int, int]:
            levels = [level_of((r.feel_safe or {}).get(key)) for r in rs]
            levels = [v for v in levels if v is not None]
            return sum(v == UNSAFE for v in levels), len(levels)

        x1, n1 = tally(a)
        x2, n2 = tally(b)
        if n1 and n2:
            rows.append(
                {"measure": "feel_unsafe", "key": key, **difference(x1, n1, x2, n2).as_dict()}
            )
    a_ans = [r for r in a if r.concerns]
    b_ans = [r for r in b if r.concerns]
    shared = waves_mod.shared_options(
        (last.name, waves_mod.offered(last.mapping), (r.concerns for r in a_ans)),
        (prev.name, waves_mod.offered(prev.mapping), (r.concerns for r in b_ans)),
    )
    if a_ans and b_ans:
        for code in shared.compared:
            x1 = sum(code in r.concerns for r in a_ans)
            x2 = sum(code in r.concerns for r in b_ans)
            rows.append(
                {
                    "measure": "concern",
                    "key": code,
                    **difference(x1, len(a_ans), x2, len(b_ans)).as_dict(),
                }
            )
    res = {
        "latest": {"id": last.id, "name": last.name, "n": len(a)},
        "previous": {"id": prev.id, "name": prev.name, "n": len(b)},
        "comparisons": rows,
        "concerns_left_out": shared.as_dict()["left_out"],
        "feel_safe_left_out": asked.as_dict()["left_out"],
        "not_understood": [u.as_dict() for u in _not_understood(data, (last.id, prev.id))],
        "method": "difference latest - previous; Newcombe hybrid score interval (method 10); "
        "pooled two-proportion z test; concerns only among options both waves offered, "
        "feeling safe only for questions both waves asked",
    }
    dark = [r for r in rows if r["measure"] == "feel_unsafe" and r["key"].startswith("after_dark")]
    if dark:
        # the ONS headline question
        headline = [r for r in dark if r["key"] == "after_dark.quiet_street"]
        d = headline[0] if headline else max(dark, key=lambda r: r["n1"])
        direction = "fewer" if d["difference"] < 0 else "more"
        signif = "a real change" if d["lower"] > 0 or d["upper"] < 0 else "within chance"
        summary = (
            f"{last.name} vs {prev.name}: {pct(d['p1'])} felt unsafe {key_in_words(d['key'])} "
            f"against {pct(d['p2'])}: {abs(100 * d['difference']):.0f} points {direction} "
            f"({100 * d['lower']:.0f} to {100 * d['upper']:.0f}), {signif} ({fmt_p(d['p_value'])})."
        )
    else:
        summary = f"{last.name} vs {prev.name}: {len(rows)} measures compared."
    summary += waves_mod.left_out_sentence(shared)
    summary += waves_mod.left_out_sentence(
        asked, label=lambda key: f"feeling unsafe {key_in_words(key)}", what="one wave asked it"
    )
    summary += "".join(f" {u['message']}." for u in res["not_understood"])
    return Finding("waves", {}, res, summary)


def assess_themes(data: StoreData, settings: AssessSettings) -> Finding:
    """Themes in free text (model, overridden by analysts), with intervals, reports and surveys."""
    eff = effective_themes(data.themes)
    res: dict[str, Any] = {}
    parts = []
    for owner_kind in ("report", "survey_response"):
        owners = data.texts.get(owner_kind, set())
        n = len(owners)
        # walk the classified texts (not a list per text): each text counts a theme once
        counts: Counter[str] = Counter()
        classified = 0
        for (kind, owner_id), themes in eff.items():
            if kind == owner_kind and owner_id in owners:
                classified += 1
                counts.update(themes)
        ranked = _ranked_counts(counts, n) if n else []
        k = settings.public_min_count
        for row in ranked:
            row["suppressed"] = suppress(row["count"], n, k)
        res[owner_kind] = {
            "n_texts": n,
            "n_classified": classified,
            "ranked": ranked,
        }
        if ranked:
            parts.append(
                f"in {n:,} {owner_kind.replace('_', ' ')} texts the most common theme was "
                f"{ranked[0]['label'].lower()} ({interval(ranked[0])})"
            )
    summary = ("Free text: " + "; ".join(parts) + ".") if parts else "No classified free text yet."
    return Finding("themes", {"analyst_overrides_model": True}, res, summary)
