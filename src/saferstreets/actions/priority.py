"""How urgent a local issue is: harm-weighted demand, urgency, age and waiting, in one line.

Pure: it takes counts and days and returns a priority (1 high .. 3 low) with the sentence that
explains it, so the queue's order can be read and argued with.

A report weighs by the worst harm among its reasons. Reasons are mapped to the police.uk crime
type they would be recorded as (``crime.offences.HARM_WEIGHTS``, CCHI-style days): touching,
exposure, being followed or a named person are violence and sexual offences; harassment and
comments public order; the rest (the place itself, staring, groups) nuisance. Harm in days spans
1 to 60 here, so a report weighs ``1 + log2(harm days)`` points (1 for nuisance, 2 for
harassment, about 6.9 for a sexual offence): a serious report counts more, but many reports
about one place still count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from saferstreets.crime.offences import HARM_WEIGHTS

REASON_CRIME_TYPE: dict[str, str] = {
    "touching": "Violence and sexual offences",
    "indecent_exposure": "Violence and sexual offences",
    "being_followed": "Violence and sexual offences",
    "specific_individual": "Violence and sexual offences",
    "verbal_harassment": "Public order",
    "sexual_comments": "Public order",
    "taking_pictures": "Public order",
    "drink_drugs": "Public order",
    "groups_of_men": "Anti-social behaviour",
    "staring": "Anti-social behaviour",
}
URGENT_POINTS = 10.0  # an urgent report (danger now, a child, a named person) adds this much
WAITING_POINTS_PER_WEEK = 1.0  # each week without a move adds this much ...
WAITING_POINTS_MAX = 12.0  # ... up to this
AGE_POINTS_PER_MONTH = 1.0  # each month since the issue was opened, up to the same cap
# Scores at or above: priority 1 (about 35 reports of sexual offences, following or a named
# person; or 240 about the place) ...
PRIORITY_1_FROM = 240.0
PRIORITY_2_FROM = 120.0  # ... at or above: priority 2; below: 3


@dataclass(frozen=True)
class Priority:
    level: int  # 1 high .. 3 low
    score: float
    reports: int
    urgent: int
    waiting_days: int
    why: str  # "Priority 1: 32 reports (harm-weighted 58), 3 urgent, waiting 41 days"


def report_weight(
    reasons: Iterable[str], harm_weights: Mapping[str, float] = HARM_WEIGHTS
) -> float:
    """Points for one report: 1 + log2 of the worst harm (in days) among its reasons."""
    harm = max((harm_weights.get(REASON_CRIME_TYPE.get(r, ""), 1.0) for r in reasons), default=1.0)
    return 1.0 + math.log2(max(harm, 1.0))


def prioritise(
    *,
    report_reasons: Sequence[Iterable[str]],
    urgent: int,
    age_days: int,
    waiting_days: int,
    harm_weights: Mapping[str, float] = HARM_WEIGHTS,
) -> Priority:
    """The priority of an issue from its linked reports' reasons, how many are urgent, how old it
    is and how long since it last moved."""
    demand = sum(report_weight(r, harm_weights) for r in report_reasons)
    score = (
        demand
        + URGENT_POINTS * urgent
        + min(WAITING_POINTS_MAX, WAITING_POINTS_PER_WEEK * max(waiting_days, 0) / 7)
        + min(WAITING_POINTS_MAX, AGE_POINTS_PER_MONTH * max(age_days, 0) / 30)
    )
    level = 1 if score >= PRIORITY_1_FROM else 2 if score >= PRIORITY_2_FROM else 3
    n = len(report_reasons)
    parts = [f"{n} report{'s' if n != 1 else ''} (harm-weighted {demand:.0f})"]
    if urgent:
        parts.append(f"{urgent} urgent")
    parts.append(f"waiting {waiting_days} day{'s' if waiting_days != 1 else ''}")
    return Priority(
        level=level,
        score=round(score, 1),
        reports=n,
        urgent=urgent,
        waiting_days=waiting_days,
        why=f"Priority {level}: " + ", ".join(parts),
    )
