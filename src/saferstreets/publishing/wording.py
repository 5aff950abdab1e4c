"""How a finding is worded in the report: the rules, as code every finding goes through.

1. Each finding states its size, its interval and its test (:class:`Finding` needs all three;
   a count with no sampling error says so rather than leaving the interval out).
2. Nothing is called significant that is not: the word comes only from :meth:`Test.verdict`,
   which says "significant" only when p is below the stated level.
3. Headlines are chosen by significance, then size, in both directions
   (:func:`headline_changes`): a significant rise is never left out for an improvement.
4. A category ("feared") is used only where the data meet its definition, and the definition
   is printed with it (:class:`Category`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from saferstreets.publishing.formatting import pct, points

ALPHA = 0.05  # the stated level below which a result is called significant


@dataclass(frozen=True)
class Test:
    """A named test and its p-value (``None``: the test could not be made)."""

    name: str
    p: float | None
    alpha: float = ALPHA

    @property
    def significant(self) -> bool:
        return self.p is not None and not math.isnan(self.p) and self.p < self.alpha

    def p_text(self) -> str:
        if self.p is None or math.isnan(self.p):
            return "no p-value"
        return "p < 0.001" if self.p < 0.001 else f"p = {self.p:.2g}"

    def verdict(self) -> str:
        """ "chi-square test, p < 0.001: significant at the 5% level" (or "not significant")."""
        level = f"{100 * self.alpha:g}%"
        word = "significant" if self.significant else "not significant"
        return f"{self.name}, {self.p_text()}: {word} at the {level} level"


NO_TEST = "no test: a description, not a comparison"


@dataclass(frozen=True)
class Finding:
    """One finding as the report states it: the sentence and its three parts."""

    text: str
    size: str
    interval: str
    test: str
    significant: bool | None = None  # None: no test applies

    def __post_init__(self) -> None:
        for part in ("size", "interval", "test"):
            if not getattr(self, part):
                raise ValueError(f"a finding must state its {part}: {self.text!r}")
        says_significant = "significant" in self.text.lower().replace("not significant", "")
        if says_significant and self.significant is not True:
            raise ValueError(f"called significant without a significant test: {self.text!r}")


def interval_of(est: Mapping[str, Any]) -> str:
    """ "95% interval 46% to 50%" for a share with Wilson bounds."""
    return f"95% interval {pct(est.get('lower'))} to {pct(est.get('upper'))}"


def share_of(est: Mapping[str, Any]) -> str:
    """ "48% (95% interval 46% to 50%)"."""
    return f"{pct(est.get('share'))} ({interval_of(est)})"


def share_finding(
    est: Mapping[str, Any], sentence: str, *, test: Test | None = None, test_note: str = ""
) -> Finding:
    """A share as a finding; ``sentence`` holds ``{share}`` (the share with its interval) and
    ``{test}`` (the test's verdict, or the reason there is none)."""
    verdict = test.verdict() if test else (test_note or NO_TEST)
    text = sentence.format(share=share_of(est), test=verdict)
    return Finding(
        text, pct(est.get("share")), interval_of(est), verdict, test.significant if test else None
    )


def count_finding(text: str, size: str, why_no_interval: str, test: str = NO_TEST) -> Finding:
    """A count (every record, not a sample): the interval says why there is none."""
    return Finding(text, size, why_no_interval, test)


# --------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class Change:
    """A share measured twice: ``before`` and ``after`` with the difference's interval."""

    what: str  # "unsafe in parks by day"
    before: float
    after: float
    difference: float
    lower: float
    upper: float
    test: Test
    place: str = ""  # "parks and open spaces" (empty for a concern)
    time: str = ""  # "by day", "after dark"

    @property
    def rise(self) -> bool:
        return self.difference > 0

    def sentence(self) -> str:
        """ "Feeling unsafe in parks by day rose from 8% to 12% (+4 points, 95% interval +2 to
        +6; two-proportion z-test, p < 0.001: significant at the 5% level)"."""
        if round(100 * self.difference) == 0:
            verb = "was unchanged at"
            moved = f"{pct(self.after)}"
        else:
            verb = "rose" if self.rise else "fell"
            moved = f"from {pct(self.before)} to {pct(self.after)}"
        return (
            f"{self.what[:1].upper()}{self.what[1:]} {verb} {moved} "
            f"({points(self.difference)} points, 95% interval {points(self.lower)} to "
            f"{points(self.upper)}; {self.test.verdict()})"
        )

    def finding(self) -> Finding:
        return Finding(
            self.sentence(),
            f"{points(self.difference)} points",
            f"95% interval {points(self.lower)} to {points(self.upper)}",
            self.test.verdict(),
            self.test.significant,
        )


def headline_changes(changes: Sequence[Change], *, most: int = 3) -> list[Change]:
    """The changes to lead with: significant ones first, larger first, rises and falls alike,
    so a significant rise is never dropped for an improvement; every significant rise is kept
    even beyond ``most``. With no significant change, the largest one (said to be within
    chance)."""
    significant = sorted(
        (c for c in changes if c.test.significant), key=lambda c: -abs(c.difference)
    )
    chosen = significant[:most]
    chosen += [c for c in significant[most:] if c.rise]
    if not chosen and changes:
        chosen = [max(changes, key=lambda c: abs(c.difference))]
    return chosen


# --------------------------------------------------------------------------- categories


@dataclass(frozen=True)
class Category:
    """A label the report may give a place only where the data meet its definition."""

    name: str
    definition: str
    meets: Callable[[Mapping[str, Any]], bool]

    def members(self, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The rows that meet the definition; a ward too thin to place (no z) meets none."""
        placed = [r for r in rows if None not in (r.get("concern_z"), r.get("crime_z"))]
        return [r for r in placed if self.meets(r)]

    def stated(self) -> str:
        """The name with its definition, as printed beside any use of it."""
        return f"“{self.name}” means {self.definition}."


FEARED_Z = 1.0  # concern one standard deviation above the average ward, or more
FEARED_LITTLE_CRIME = Category(
    "feared, little recorded crime",
    "concern (reports and unsafe survey answers per km²) at least one standard deviation above "
    "the average ward (z ≥ 1) while recorded women's-safety crime per km² is below the average "
    "ward (z < 0)",
    lambda w: w["concern_z"] >= FEARED_Z and w["crime_z"] < 0,
)
FEARED_HIGH_CRIME = Category(
    "feared and high crime",
    "concern and recorded women's-safety crime per km² both at least one standard deviation "
    "above the average ward (z ≥ 1)",
    lambda w: w["concern_z"] >= FEARED_Z and w["crime_z"] >= FEARED_Z,
)


def listing(items: Sequence[str], most: int = 4) -> str:
    """ "A, B and C"; beyond ``most``, "A, B, C, D and 3 more"."""
    items = [i for i in items if i]
    if not items:
        return ""
    if len(items) > most:
        return ", ".join(items[:most]) + f" and {len(items) - most} more"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
