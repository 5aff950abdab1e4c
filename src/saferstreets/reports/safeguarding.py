"""The safeguarding queue: urgent reports wait here until a person records a review.

An urgent report (danger now, a child, a named individual; see ``triage``) stays in the queue
until a supervisor records what was done: passed to the control room, referred to a
safeguarding partner, or no further action, with the reason. Nothing else takes it out: not
linking it to a local issue, not any other change of its status. Until it is reviewed it cannot
be linked to an issue either (``actions.service.link_reports`` asks ``awaiting_review``).

The queue cannot be buried: it is ordered by urgency, then by age (the oldest waiting first);
near-identical texts are grouped (``grouping``), so a flood of copies shows once with its count;
it pages through every group with the totals shown, and filters by the day received and by area.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.errors import NotFound, PermissionDenied, ValidationFailed
from saferstreets.models_common import utcnow
from saferstreets.reports.grouping import near_duplicate_groups
from saferstreets.reports.models import REVIEW_OUTCOMES, Report, SafeguardingReview
from saferstreets.reports.triage import LEAST_URGENT

# Who may record a review: a safeguarding decision is a supervisor's (admins pass every check).
# Analysts may read the queue (patterns, floods) but not decide on a report.
REVIEWER_ROLES = ("admin", "supervisor")
GROUPS_PER_PAGE = 25
MAX_NOTE = 2000
MAX_REVIEWED_AT_ONCE = 1000


def awaiting_review() -> sa.ColumnElement[bool]:
    """SQL condition: the report is urgent and nobody has reviewed it yet."""
    reviewed = sa.exists().where(SafeguardingReview.report_id == Report.id)
    return sa.and_(Report.urgent.is_(True), ~reviewed)


def count_safeguarding(*, session: Session) -> int:
    """How many urgent reports wait for review."""
    return int(session.scalar(sa.select(sa.func.count(Report.id)).where(awaiting_review())) or 0)


@dataclass(frozen=True)
class QueueFilters:
    """What the reviewer narrowed the queue to: days received (inclusive) and an area code."""

    received_from: date | None = None
    received_to: date | None = None
    area_code: str | None = None  # a district or a ward
    include_reviewed: bool = False


@dataclass
class QueueGroup:
    """Reports with near-identical words, most urgent and oldest first (the first leads)."""

    reports: list[Report]
    reviews: dict[int, SafeguardingReview] = field(default_factory=dict)

    @property
    def lead(self) -> Report:
        return self.reports[0]

    @property
    def count(self) -> int:
        return len(self.reports)

    @property
    def waiting(self) -> list[Report]:
        return [r for r in self.reports if r.id not in self.reviews]


@dataclass
class QueuePage:
    """One page of the queue, and how much there is in all."""

    groups: list[QueueGroup]
    total_reports: int
    total_groups: int
    page: int
    pages: int
    first_group: int  # the 1-based number of the page's first group (0 when there are none)


def _filtered(filters: QueueFilters) -> Any:
    query = sa.select(
        Report.id, Report.free_text, Report.other_reason, Report.urgency, Report.received_hour
    ).where(Report.urgent.is_(True) if filters.include_reviewed else awaiting_review())
    if filters.received_from is not None:
        query = query.where(Report.received_hour >= datetime.combine(filters.received_from, time()))
    if filters.received_to is not None:
        end = datetime.combine(filters.received_to + timedelta(days=1), time())
        query = query.where(Report.received_hour < end)
    if filters.area_code:
        code = filters.area_code
        query = query.where(sa.or_(Report.ward_code == code, Report.district_code == code))
    urgency = sa.func.coalesce(Report.urgency, LEAST_URGENT)
    return query.order_by(urgency, Report.received_hour, Report.id)


def _group_ids(rows: Sequence[Any]) -> list[list[int]]:
    """Report ids grouped by near-identical words, groups in the order of their first member."""
    texts = [" ".join(t for t in (row.free_text, row.other_reason) if t) for row in rows]
    labels = near_duplicate_groups(texts)
    groups: dict[int, list[int]] = {}
    for row, label in zip(rows, labels, strict=True):
        groups.setdefault(label, []).append(row.id)
    return list(groups.values())


def queue_page(
    *,
    session: Session,
    filters: QueueFilters | None = None,
    page: int = 1,
    per_page: int = GROUPS_PER_PAGE,
    focus: str | None = None,
) -> QueuePage:
    """One page of the safeguarding queue: groups of near-identical reports, most urgent first,
    then the oldest; every group is reachable by paging, and the totals count them all.

    ``focus`` (a report's public id, as an alert's link gives it) picks the page that shows it.
    """
    rows = session.execute(_filtered(filters or QueueFilters())).all()
    grouped = _group_ids(rows)
    pages = max(1, -(-len(grouped) // per_page))
    if focus:
        wanted_id = session.scalar(sa.select(Report.id).where(Report.public_id == focus[:36]))
        at = next((n for n, ids in enumerate(grouped) if wanted_id in ids), None)
        page = page if at is None else at // per_page + 1
    page = min(max(1, page), pages)
    shown = grouped[(page - 1) * per_page : page * per_page]
    wanted = [i for ids in shown for i in ids]
    reports = {r.id: r for r in session.scalars(sa.select(Report).where(Report.id.in_(wanted)))}
    reviews = latest_reviews(session=session, report_ids=wanted)
    groups = [
        QueueGroup(
            reports=[reports[i] for i in ids if i in reports],
            reviews={i: reviews[i] for i in ids if i in reviews},
        )
        for ids in shown
    ]
    return QueuePage(
        groups=[g for g in groups if g.reports],
        total_reports=len(rows),
        total_groups=len(grouped),
        page=page,
        pages=pages,
        first_group=(page - 1) * per_page + 1 if shown else 0,
    )


def queue_areas(*, session: Session) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Districts and their wards for the area filter: (code, name, [(ward code, name)])."""
    from saferstreets.areas.models import Area

    rows = session.execute(
        sa.select(Area.code, Area.name, Area.kind, Area.parent_code)
        .where(Area.kind.in_(("district", "ward")))
        .order_by(Area.name)
    ).all()
    wards: dict[str | None, list[tuple[str, str]]] = {}
    for code, name, kind, parent in rows:
        if kind == "ward":
            wards.setdefault(parent, []).append((code, name))
    return [(c, n, wards.get(c, [])) for c, n, kind, _ in rows if kind == "district"]


def reviewer_names(*, session: Session, page: QueuePage) -> dict[int, str]:
    """The display names of the people whose reviews this page shows."""
    from saferstreets.accounts.models import User

    ids = {v.reviewer_id for g in page.groups for v in g.reviews.values() if v.reviewer_id}
    if not ids:
        return {}
    rows = session.execute(sa.select(User.id, User.display_name).where(User.id.in_(sorted(ids))))
    return {user_id: name for user_id, name in rows}


def latest_reviews(*, session: Session, report_ids: Sequence[int]) -> dict[int, SafeguardingReview]:
    """The latest review of each of these reports that has one."""
    if not report_ids:
        return {}
    found: dict[int, SafeguardingReview] = {}
    for review in session.scalars(
        sa.select(SafeguardingReview)
        .where(SafeguardingReview.report_id.in_(list(report_ids)))
        .order_by(SafeguardingReview.reviewed_at, SafeguardingReview.id)
    ):
        found[review.report_id] = review
    return found


def _check_review(outcome: str, note: str | None, count: int) -> str | None:
    if outcome not in REVIEW_OUTCOMES:
        raise ValidationFailed(
            "Choose what was done: passed to the control room, referred to a safeguarding "
            "partner, or no further action.",
            field_errors={"outcome": "choose what was done"},
        )
    text = (note or "").strip() or None
    if outcome == "no_further_action" and not text:
        raise ValidationFailed(
            "Say why no further action is needed: the reason is kept with the review.",
            field_errors={"note": "the reason for no further action is needed"},
        )
    if text and len(text) > MAX_NOTE:
        raise ValidationFailed(
            f"The note is too long (at most {MAX_NOTE:,} characters).",
            field_errors={"note": f"must be at most {MAX_NOTE:,} characters"},
        )
    if not 1 <= count <= MAX_REVIEWED_AT_ONCE:
        raise ValidationFailed(
            "Choose the reports this review is for.",
            field_errors={"reports": f"choose between 1 and {MAX_REVIEWED_AT_ONCE:,} reports"},
        )
    return text


def record_review(
    *,
    session: Session,
    public_ids: Sequence[str],
    outcome: str,
    note: str | None,
    user: Any,
    at: datetime | None = None,
) -> list[Report]:
    """Record one person's review (outcome and note) of each of these urgent reports, audited.

    All or nothing: an unknown or non-urgent report refuses the whole review. ``user`` None is
    the demo or a script; a signed-in user must have a reviewer role.
    """
    from saferstreets.accounts.service import audit

    if user is not None and user.role not in REVIEWER_ROLES:
        raise PermissionDenied("Only a supervisor can record a safeguarding review.")
    wanted = list(dict.fromkeys(p.strip()[:36] for p in public_ids if p and p.strip()))
    text = _check_review(outcome, note, len(wanted))
    reports = session.scalars(sa.select(Report).where(Report.public_id.in_(wanted))).all()
    by_id = {r.public_id: r for r in reports if r.urgent}
    missing = [p for p in wanted if p not in by_id]
    if missing:
        raise NotFound(
            f"{len(missing)} of the reports chosen are not in the safeguarding queue (a reporter "
            "may have deleted hers); nothing was recorded. Reload the queue and review again.",
            field_errors={"reports": "not in the queue: " + ", ".join(missing[:5])},
        )
    when = at or utcnow()
    for public_id in wanted:
        report = by_id[public_id]
        session.add(
            SafeguardingReview(
                report_id=report.id,
                reviewer_id=user.id if user is not None else None,
                reviewed_at=when,
                outcome=outcome,
                note=text,
            )
        )
        if report.status == "new":
            report.status = "triaged"
        audit(
            session=session,
            user=user,
            action="update",
            object_kind="report",
            object_id=report.public_id,
            detail={
                "safeguarding": "reviewed",
                "outcome": outcome,
                "reports_reviewed": len(wanted),
            },
        )
    session.flush()
    return [by_id[p] for p in wanted]


def waiting_among(*, session: Session, report_ids: Sequence[int]) -> list[int]:
    """Which of these reports are urgent and still wait for a safeguarding review."""
    if not report_ids:
        return []
    return sorted(
        session.scalars(
            sa.select(Report.id).where(Report.id.in_(list(report_ids)), awaiting_review())
        )
    )
