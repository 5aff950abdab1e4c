"""What to do: three to five actions generated from the stored findings, each tied to its evidence
(what women said, where by name, when, how sure) and to who acts. The report's first page.

Each rule below reads the findings it rests on and gives an :class:`Action`, or nothing when the
findings do not support it; the evidence lines come from the wording rules, so each states its
size, interval and test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from saferstreets.crime.offences import OUTCOME_GROUP_WORDS
from saferstreets.publishing.formatting import counted, pct
from saferstreets.publishing.sentences import changes, question, share_of
from saferstreets.publishing.wording import FEARED_LITTLE_CRIME, Change, Test, listing
from saferstreets.themes.taxonomy import label

Results = Mapping[str, Any]  # kind -> the stored result
Names = Callable[[list[str]], dict[str, str]]  # H3 cells -> place names (gazetteer, then ward)
AreaName = Callable[[str], str]  # a ward or district code -> its name
DESIGN_CONCERNS = (
    "poor_lighting",
    "isolated",
    "blind_spots",
    "overgrown",
    "no_cctv",
    "rundown",
)
MOST = 5


@dataclass
class Action:
    """One thing to do: what, where, when, who acts, the evidence and how sure."""

    key: str
    what: str
    who: str
    where: str = ""
    when: str = ""
    evidence: list[str] = field(default_factory=list)
    said: str = ""  # what women said, in their own words or the reasons they ticked
    sure: str = ""
    theme: str = ""  # the theme whose quote shows what women said, if any


def actions(
    results: Results,
    names: Names,
    area_name: AreaName,
    quote: Callable[[str], str] | None = None,
) -> list[Action]:
    """Three to five actions the findings support, the most pressing first; every significant
    rise since the last survey is among them (in one action). ``quote`` gives a scrubbed quote for
    a theme (what women said in their own words)."""
    found = [
        a
        for a in (
            _patrol(results, names),
            _design(results),
            _venues(results),
            _offenders(results, area_name),
        )
        if a is not None
    ]
    rises = [c for c in changes(results.get("waves") or {}) if c.rise and c.test.significant]
    chosen = [*found[: MOST - 1], _rises(rises)] if rises else found[:MOST]
    if quote:
        used = set()
        for a in chosen:
            text = short(quote(a.theme)) if a.theme else ""
            if text and text not in used:
                used.add(text)
                a.said = (a.said + " " if a.said else "") + f"In her words: “{text}”"
    return chosen


def _nte(results: Results) -> tuple[str, str]:
    """(the night-time hours in words, the evidence for them) when reports cluster there."""
    nte = (results.get("when_reports") or {}).get("nte_window") or {}
    obs = nte.get("observed")
    if not obs:
        return "", ""
    test = Test("exact binomial test", nte.get("p_value"))
    when = (
        f"{listing([str(n) for n in nte.get('nights', [])])} nights, "
        f"{nte['start_hour']:02d}:00 to {nte['end_hour']:02d}:00"
    )
    evidence = (
        f"{share_of(obs)} of timed reports fell in those hours, which hold "
        f"{pct(nte.get('expected_share'))} of the week ({test.verdict()})"
    )
    return (when, evidence) if test.significant else ("", evidence)


def short(text: str, most: int = 140) -> str:
    """A quote cut at a word before ``most`` characters, with an ellipsis if cut."""
    if len(text) <= most:
        return text
    return text[:most].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def _reasons(results: Results, n: int = 2) -> str:
    """The reasons about people (not the place) that reports gave most."""
    reports = (results.get("concerns") or {}).get("reports") or {}
    ranked = [r for r in reports.get("ranked") or [] if r["code"] not in DESIGN_CONCERNS]
    if not ranked:
        return ""
    parts = [f"{r['label'].lower()} ({pct(r['share'])})" for r in ranked[:n]]
    return f"The {reports.get('n', 0):,} reports most often told of {listing(parts)}."


def _top_reason(results: Results) -> str:
    """The reason reports gave most that is about people rather than the place (its quote shows
    what patrols are for); design reasons have their own action."""
    ranked = ((results.get("concerns") or {}).get("reports") or {}).get("ranked") or []
    people = [r["code"] for r in ranked if r["code"] not in DESIGN_CONCERNS]
    return str(people[0]) if people else ""


def _patrol(results: Results, names: Names) -> Action | None:
    rep = results.get("hotspots_reports") or {}
    fusion_cells = ((results.get("fusion") or {}).get("cells") or {}).get("areas") or []
    both = {c["code"] for c in fusion_cells if c.get("response") == "patrol_enforcement"}
    top = [t["cell"] for t in rep.get("top") or [] if t.get("class", 0) > 0]
    cells = [c for c in top if c in both] or top
    if not cells:
        return None
    named = names(cells[:3])
    when, nte_evidence = _nte(results)
    evidence = [
        f"{counted(len(both), 'small area is a hot spot', 'small areas are hot spots')} of both "
        "public reports and recorded crime (Getis-Ord Gi*, 90% confidence or more, false "
        "discovery rate 5%)."
        if both
        else f"{counted(len(top), 'small area is a hot spot', 'small areas are hot spots')} of "
        "public reports (Getis-Ord Gi*)."
    ]
    if nte_evidence:
        evidence.append(nte_evidence[:1].upper() + nte_evidence[1:] + ".")
    return Action(
        "patrol",
        "Patrol the hot spots where women report feeling unsafe and crime is recorded",
        "Town-centre and neighbourhood patrol teams (the deployment plan sets their visits)",
        where=listing([named.get(c, "") for c in cells[:2]], 2),
        when=when or "at the hours each place's reports show",
        evidence=evidence,
        said=_reasons(results),
        theme=_top_reason(results),
        sure="Strong: the hot spots hold at 90% confidence or more with few false alarms allowed.",
    )


def _design(results: Results) -> Action | None:
    concerns = results.get("concerns") or {}
    ranked = [r for r in concerns.get("ranked") or [] if r["code"] in DESIGN_CONCERNS]
    if not ranked:
        return None
    wards = ((results.get("fusion") or {}).get("wards") or {}).get("areas") or []
    feared = sorted(FEARED_LITTLE_CRIME.members(wards), key=lambda w: -w["concern_z"])
    feel = results.get("feel_safe") or {}
    dark = [q for q in feel.get("questions", []) if q["when"] == "after_dark" and q.get("unsafe")]
    worst = max(dark, key=lambda q: q["unsafe"]["share"]) if dark else None
    evidence = [
        f"{ranked[0]['label']} was named by {share_of(ranked[0])} of "
        f"{concerns.get('n_answered', 0):,} survey respondents"
        + (f", {ranked[1]['label'].lower()} by {share_of(ranked[1])}." if len(ranked) > 1 else ".")
    ]
    if worst:
        evidence.append(
            f"{share_of(worst['unsafe'])} of {worst['n']:,} felt unsafe "
            f"{question(worst['key'])}, the highest of any setting."
        )
    if feared:
        where = listing([w["name"] for w in feared])
    else:
        where = f"{label(worst['setting']).lower()} across the county" if worst else ""
    if wards:  # the category is named below either way, so its definition is printed here
        evidence.append(FEARED_LITTLE_CRIME.stated())
    return Action(
        "design",
        "Fix lighting, sightlines and layout with the council",
        "The council's lighting, highways and parks teams, with neighbourhood officers",
        where=where,
        when="after dark first",
        evidence=evidence,
        theme=ranked[0]["code"],
        sure="Strong for the county (large survey, narrow intervals); "
        + (
            "the wards named meet the definition above."
            if feared
            else "no ward is “feared, little recorded crime” as defined above, so no ward is "
            "singled out."
        ),
    )


def _venues(results: Results) -> Action | None:
    feel = results.get("feel_safe") or {}
    nte_q = next(
        (
            q
            for q in feel.get("questions", [])
            if q["key"] == "after_dark.night_time_economy" and q.get("unsafe")
        ),
        None,
    )
    when, nte_evidence = _nte(results)
    if nte_q is None and not when:
        return None
    evidence = []
    if nte_q:
        evidence.append(
            f"{share_of(nte_q['unsafe'])} of {nte_q['n']:,} felt unsafe in pubs, clubs and bars "
            "after dark."
        )
    drink = next(
        (
            r
            for r in (results.get("concerns") or {}).get("ranked") or []
            if r["code"] == "drink_drugs"
        ),
        None,
    )
    if drink:
        evidence.append(f"Drink and drugs was a concern for {share_of(drink)} of respondents.")
    if nte_evidence and when:
        evidence.append(nte_evidence[:1].upper() + nte_evidence[1:] + ".")
    return Action(
        "venues",
        "Work with pubs, clubs and bars at night",
        "Licensing officers with venue managers and door staff",
        where="the night-time economy's streets and venues",
        when=when or "after dark",
        evidence=evidence,
        theme="drink_drugs",
        sure="Strong for the county as a whole; the survey does not say which venues.",
    )


def _offenders(results: Results, area_name: AreaName) -> Action | None:
    res = results.get("outcomes") or {}
    overall = (res.get("overall") or {}).get("charged")
    if not overall:
        return None
    areas = [
        a
        for a in res.get("by_area", [])
        if not a.get("suppressed") and isinstance(a.get("charged"), dict) and a["code"] != "unknown"
    ]
    # below the county's rate only where the district's interval lies wholly below it
    weak = sorted(
        (a for a in areas if a["charged"]["upper"] < overall["share"]),
        key=lambda a: a["charged"]["share"],
    )
    area_names = {a["code"]: area_name(a["code"]) for a in weak}
    evidence = [
        f"Of {res['overall']['n']:,} violence and sexual offences, {share_of(overall)} led to a "
        "charge or summons."
    ]
    for a in weak[:3]:
        evidence.append(
            f"{area_names.get(a['code'], a['code'])}: {share_of(a['charged'])}, its interval "
            "wholly below the county's rate."
        )
    if not weak:
        evidence.append(
            "No district's rate is below the county's beyond chance (its interval wholly below)."
        )
    if common := _commonest_outcome(res):
        evidence.append(common)
    return Action(
        "offenders",
        "Focus on offenders where outcomes are weakest"
        if weak
        else "Focus on offenders: raise the share of violence and sexual offences charged",
        "Investigations and public protection leads, with the Crown Prosecution Service",
        where=listing([area_names.get(a["code"], a["code"]) for a in weak]) or "the whole force",
        when="ongoing",
        evidence=evidence,
        sure="Moderate: police.uk outcomes lag the crimes by months and some are still open.",
    )


def _commonest_outcome(res: Results) -> str:
    """ "The commonest outcome was unable to prosecute: 55% (95% interval ...)." (not charged)"""
    overall = res.get("overall") or {}
    groups = [
        g
        for g in res.get("groups") or []
        if g != "charged" and isinstance(overall.get(g), dict) and overall[g].get("share")
    ]
    if not groups:
        return ""
    top = max(groups, key=lambda g: overall[g]["share"])
    words = OUTCOME_GROUP_WORDS.get(top, top.replace("_", " ")).lower()
    return f"The commonest outcome: {words}, {share_of(overall[top])}."


def _rises(rises: list[Change]) -> Action:
    """Every significant rise since the last survey, in one action (largest first)."""
    rises = sorted(rises, key=lambda c: -c.difference)
    places = [f"{c.place} {c.time}" for c in rises if c.place]
    return Action(
        "rises",
        f"Find out why {'this' if len(rises) == 1 else 'these'} rose since the last survey, "
        "and act on it",
        "The neighbourhood inspectors with the council and the analyst",
        where=listing(places) or "across the county",
        evidence=[c.sentence() + "." for c in rises],
        sure="Each rise is significant at the 5% level (two-proportion z-test); the intervals "
        "give its likely size.",
    )
