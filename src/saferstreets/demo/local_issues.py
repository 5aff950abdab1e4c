"""Demo local issues: the clusters of reports a ward officer would pick up, worked through SARA.

The demo county's reports are turned into issues through the same service staff use
(``actions.service``): the biggest clusters become issues, and so does the biggest cluster of each
reason a partner answers (lighting, CCTV, licensing...) so that every partner has work; some are
referred to partners, and the ones further along have actions and a public update, so every page
has something real to show.

Urgent reports are reviewed first, as a duty supervisor would (``review_urgent_reports``): all but
those of the last few days, which still wait in the safeguarding queue. An urgent report waiting
for review is never linked to an issue (the service refuses it, and suggestions leave it out).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.actions import service, stages, updates
from saferstreets.actions.partners import BY_CODE as PARTNERS
from saferstreets.actions.partners import THEME_PARTNER
from saferstreets.reports.models import Report
from saferstreets.reports.safeguarding import awaiting_review, record_review
from saferstreets.themes.taxonomy import BY_CODE as THEMES

WAITING_DAYS = 3  # urgent reports sent in the demo's last three days still wait for review
# What a duty supervisor decides, by urgency (1 danger now, 2 a child or sexual violence, 3 it
# names someone): outcome, note, and how likely that choice is.
REVIEWS = {
    1: [
        ("control_room", "Passed to the control room; an officer called the area in.", 0.8),
        ("no_further_action", "No further action: an old incident, no one at risk now.", 0.2),
    ],
    2: [
        ("safeguarding_partner", "Referred to the multi-agency safeguarding hub (MASH).", 0.7),
        ("control_room", "Passed to the control room for the child protection team.", 0.3),
    ],
    3: [
        ("safeguarding_partner", "Shared with the domestic abuse partnership (MARAC).", 0.5),
        (
            "no_further_action",
            "No further action: names a place's staff, no risk; ward aware.",
            0.5,
        ),
    ],
}

RESPONSES = {
    "poor_lighting": (
        "Six street lights repaired and two new columns added along the path.",
        "Street lighting repaired and improved",
    ),
    "no_cctv": (
        "A redeployable CCTV camera now covers the entrance, monitored Friday and Saturday nights.",
        "CCTV camera installed",
    ),
    "overgrown": (
        "Hedges and trees cut back along both sides of the path to open up sightlines.",
        "Vegetation cut back to open up the path",
    ),
    "blind_spots": (
        "Mirrors fitted at the blind corner and the underpass walls painted white.",
        "Blind corner made safer",
    ),
    "rundown": (
        "The empty building has been secured and the graffiti removed.",
        "Derelict site secured",
    ),
    "drink_drugs": (
        "Licensing visits to late venues; door staff trained in Ask for Angela.",
        "Licensed venues visited and staff trained",
    ),
    "transport": (
        "Officers patrol the station at closing time on Friday and Saturday nights.",
        "Patrols at the station at closing time",
    ),
}
PATROL = (
    "High-visibility patrols on Friday and Saturday nights between 21:00 and 02:00.",
    "Regular evening patrols",
)


def review_urgent_reports(*, session: Session, seed: int) -> int:
    """Review the urgent reports as a duty supervisor would, within a day of each, except those of
    the last ``WAITING_DAYS`` days, which wait in the queue; return how many were reviewed."""
    rng = random.Random(seed)
    waiting = session.scalars(
        sa.select(Report).where(awaiting_review()).order_by(Report.received_hour, Report.id)
    ).all()
    if not waiting:
        return 0
    cutoff = waiting[-1].received_hour - timedelta(days=WAITING_DAYS)
    reviewed = 0
    for report in waiting:
        if report.received_hour >= cutoff:
            break
        choices = REVIEWS.get(report.urgency or 3, REVIEWS[3])
        outcome, note, _ = rng.choices(choices, weights=[c[2] for c in choices])[0]
        record_review(
            session=session,
            public_ids=[report.public_id],
            outcome=outcome,
            note=note,
            user=None,
            at=report.received_hour
            + timedelta(hours=rng.randint(1, 20), minutes=rng.randint(0, 59)),
        )
        reviewed += 1
    return reviewed


# The note the demo's officer writes on each move (SARA keeps them as the issue's history).
STAGE_NOTES = {
    "analysis": "The reports name the same stretch and the same reason: one problem.",
    "response": "Most reports are on Friday and Saturday evenings after dark; the same stretch is "
    "named again and again.",
    "assessment": "{done} Now to see whether reports fall.",
    "closed": "Reports about this place fell after the work; keep watching for a season.",
}


def _move(session: Session, issue: Any, to_stage: str, at: datetime, done: str = "") -> None:
    stages.move_stage(
        session=session,
        issue=issue,
        to_stage=to_stage,
        user=None,
        notes=STAGE_NOTES[to_stage].format(done=done),
        close_reason="worked" if to_stage == "closed" else None,
        at=at,
    )


def seed_local_issues(*, session: Session, seed: int, today: date, limit: int = 18) -> int:
    """Review urgent reports, then create issues from the largest clusters of reports and move
    them along; return how many issues."""
    review_urgent_reports(session=session, seed=seed)
    rng = random.Random(seed)
    every = service.suggest_issues(session=session, min_reports=4, limit=100_000)
    clusters = every[:limit]
    for theme in THEME_PARTNER:  # each partner's biggest problem too, if not among those
        if all(c["theme"] != theme for c in clusters):
            clusters += [c for c in every if c["theme"] == theme][:1]
    created = 0
    referred: set[str] = set()
    for cluster in clusters:
        theme = cluster["theme"]
        label = THEMES[theme].label if theme in THEMES else theme
        issue = service.create_issue(
            session=session,
            user=None,
            ward_code=cluster["ward_code"],
            title=f"{label}: {cluster['count']} reports",
            description=(
                f"{cluster['count']} people reported feeling unsafe here because of: "
                f"{label.lower()}."
            ),
            themes=[theme],
            report_ids=cluster["report_ids"],
            due_on=today + timedelta(days=rng.randint(7, 42)),
        )
        opened = datetime.combine(today - timedelta(days=rng.randint(50, 120)), time(9))
        issue.created_at = opened
        created += 1
        depth = rng.choice(["scanning", "analysis", "response", "assessment", "closed", "closed"])
        partner = THEME_PARTNER.get(theme)
        if partner and partner not in referred:
            # Each partner's first issue waits on its answer, so its account has one to give.
            depth = "response"
        if depth == "scanning":
            continue
        _move(session, issue, "analysis", opened + timedelta(days=rng.randint(1, 10)))
        if depth == "analysis":
            continue
        _move(session, issue, "response", opened + timedelta(days=rng.randint(12, 20)))
        if partner:
            referred.add(partner)
            referral = service.refer(
                session=session,
                issue=issue,
                user=None,
                partner=partner,
                request=PARTNERS[partner].typical_request,
                sent_on=today - timedelta(days=rng.randint(20, 60)),
            )
            if depth in ("assessment", "closed"):
                referral.status = "done"
                referral.response = RESPONSES.get(theme, PATROL)[0]
                referral.closed_on = today - timedelta(days=rng.randint(3, 19))
        body, headline = RESPONSES.get(theme, PATROL)
        service.add_action(
            session=session,
            issue=issue,
            user=None,
            description=body,
            kind="design" if partner else "patrol",
            taken_on=today - timedelta(days=rng.randint(5, 30)),
        )
        if depth == "response":
            continue
        _move(session, issue, "assessment", opened + timedelta(days=rng.randint(30, 45)), body)
        if depth == "closed":
            closed_at = datetime.combine(today - timedelta(days=rng.randint(1, 5)), time(10))
            _move(session, issue, "closed", closed_at)
            updates.publish_update(
                session=session,
                user=None,
                area_code=issue.ward_code,
                title=headline,
                body=f"You told us: {label.lower()}. We did: {body}",
                themes=[theme],
                issue_id=issue.id,
                published_on=today - timedelta(days=rng.randint(1, 20)),
            )
    return created
