"""Pursuing offenders: what happened to recorded crimes, by area, with intervals.

police.uk publishes outcome events per ``Crime ID`` (``*-outcomes.csv``; an outcome can arrive
months after the crime) and the latest outcome on each street row (``Last outcome category``). The
latest outcome of a crime is the outcome event with the latest month (ties: the last one read);
where a crime has no outcome event yet, the street file's last outcome stands, and where that is
empty too the crime counts as "no outcome yet".

Outcome texts are grouped by ``crime.offences.OUTCOME_GROUPS``: e.g. ``charged`` (charged or
summonsed, including court results), ``no_suspect`` (investigation complete, no suspect
identified), ``unable_to_prosecute`` (police.uk's "Unable to prosecute suspect", which is how it
publishes Home Office outcomes 14-16: evidential difficulties, including where the victim does not
support or withdraws support for action; police.uk does not separate them). Shares are of all
crimes of the types chosen, with Wilson intervals.

References
----------
Home Office (2021). Crime outcomes in England and Wales, year ending March 2021 (outcome types).
Wilson, E. B. (1927), see :mod:`saferstreets.analysis.proportions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from saferstreets.analysis.proportions import proportion, suppress

NO_OUTCOME = "no_outcome_yet"


def latest_outcomes(events: Iterable[tuple[str, date, str]]) -> dict[str, str]:
    """``{crime_id: outcome}``: per crime, the event with the latest month (last on ties)."""
    best: dict[str, tuple[date, str]] = {}
    for crime_id, month, outcome in events:
        held = best.get(crime_id)
        if held is None or month >= held[0]:
            best[crime_id] = (month, outcome)
    return {k: v[1] for k, v in best.items()}


def group_table(groups: Mapping[str, Sequence[str]]) -> Callable[[str | None], str]:
    """A function giving the group of an outcome text from ``{group: outcome texts}``
    (case-insensitive; ``"other"`` for text not listed, :data:`NO_OUTCOME` for none)."""
    lookup = {o.strip().lower(): g for g, outs in groups.items() for o in outs}

    def group_of(outcome: str | None) -> str:
        if not outcome:
            return NO_OUTCOME
        return lookup.get(outcome.strip().lower(), "other")

    return group_of


@dataclass(frozen=True)
class OutcomeShares:
    """Shares of crimes in each outcome group, overall and by area."""

    overall: dict[str, Any]
    by_area: tuple[dict[str, Any], ...]
    outcomes: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {"overall": self.overall, "by_area": list(self.by_area), "outcomes": self.outcomes}


def outcome_shares(
    crimes: Iterable[tuple[str | None, str | None, str | None]],
    latest: Mapping[str, str],
    *,
    groups: Mapping[str, Sequence[str]],
    min_count: int,
    confidence: float = 0.95,
) -> OutcomeShares:
    """Outcome-group shares per area.

    Parameters
    ----------
    crimes : iterable of (crime_id, area_code, last_outcome)
        One per crime of the types chosen (the street file's last outcome as fallback).
    latest : mapping
        From :func:`latest_outcomes`.
    groups : mapping of str to sequence of str
        Outcome texts in each group (``crime.offences.OUTCOME_GROUPS``); texts in no group count
        as ``other``, crimes with no outcome at all as ``no_outcome_yet``.
    min_count : int
        Areas with fewer crimes are marked ``suppressed`` (figures blanked).
    """
    names = (*groups, "other", NO_OUTCOME)
    group_of = group_table(groups)
    per_area: dict[str, dict[str, int]] = {}
    texts: dict[str, int] = {}
    for crime_id, area, last in crimes:
        outcome = latest.get(crime_id) if crime_id else None
        outcome = outcome or last or None
        texts[outcome or "(none yet)"] = texts.get(outcome or "(none yet)", 0) + 1
        group = group_of(outcome)
        for key in (area or "unknown", "__all__"):
            per_area.setdefault(key, dict.fromkeys(names, 0))[group] += 1

    def block(code: str, counts: dict[str, int]) -> dict[str, Any]:
        n = sum(counts.values())
        hidden = suppress(None, n, min_count)
        out: dict[str, Any] = {"code": code, "n": n, "suppressed": hidden}
        for g in names:
            prop = proportion(counts[g], n, confidence).as_dict()
            if hidden:
                prop.update(count=None, share=None, lower=None, upper=None)
            out[g] = prop
        return out

    overall = block("all", per_area.pop("__all__", dict.fromkeys(names, 0)))
    areas = tuple(block(code, counts) for code, counts in sorted(per_area.items()))
    return OutcomeShares(overall, areas, dict(sorted(texts.items(), key=lambda kv: -kv[1])))
