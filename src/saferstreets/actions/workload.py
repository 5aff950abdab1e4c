"""A ward officer's workload: her queue in priority order, what is hers, due or changed since she
last looked, and the referrals overdue that a supervisor chases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import AuditEvent, User
from saferstreets.actions.models import Action, IssueReport, LocalIssue, Referral, StageNote
from saferstreets.actions.priority import Priority, prioritise
from saferstreets.actions.service import STAFF_ROLES_ALL_WARDS
from saferstreets.crime.offences import HARM_WEIGHTS
from saferstreets.errors import PermissionDenied
from saferstreets.reports.models import Report


def priorities(
    *, session: Session, issues: Sequence[LocalIssue], today: date, settings: Any = None
) -> dict[int, Priority]:
    """Each issue's priority from its linked reports (in its ward), how many are urgent, its age
    and how long since it last moved; the stored ``priority`` is brought up to date."""
    ids = [i.id for i in issues]
    if not ids:
        return {}
    reasons: dict[int, list[list[str]]] = {i: [] for i in ids}
    urgent: dict[int, int] = dict.fromkeys(ids, 0)
    for issue_id, rs, is_urgent in session.execute(
        sa.select(IssueReport.issue_id, Report.reasons, Report.urgent)
        .join(Report, Report.id == IssueReport.report_id)
        .join(LocalIssue, LocalIssue.id == IssueReport.issue_id)
        .where(IssueReport.issue_id.in_(ids), Report.ward_code == LocalIssue.ward_code)
    ):
        reasons[issue_id].append(list(rs or []))
        urgent[issue_id] += bool(is_urgent)
    moved = dict(
        session.execute(
            sa.select(StageNote.issue_id, sa.func.max(StageNote.created_at))
            .where(StageNote.issue_id.in_(ids))
            .group_by(StageNote.issue_id)
        ).all()
    )
    harm = getattr(settings, "harm_weights", None) or HARM_WEIGHTS
    found = {}
    for issue in issues:
        found[issue.id] = prioritise(
            report_reasons=reasons[issue.id],
            urgent=urgent[issue.id],
            age_days=(today - issue.created_at.date()).days,
            waiting_days=(today - (moved.get(issue.id) or issue.created_at).date()).days,
            harm_weights=harm,
        )
        if issue.stage != "closed" and issue.priority != found[issue.id].level:
            issue.priority = found[issue.id].level
    session.flush()
    return found


def queue(
    *,
    session: Session,
    user: User,
    ward_code: str | None = None,
    include_closed: bool = False,
    today: date | None = None,
) -> list[tuple[LocalIssue, Priority]]:
    """The issues this user works with their priorities: highest first (by score within a
    priority), then the soonest due."""
    query = sa.select(LocalIssue)
    if not include_closed:
        query = query.where(LocalIssue.stage != "closed")
    if ward_code:
        query = query.where(LocalIssue.ward_code == ward_code)
    if user.role == "ward_officer":
        query = query.where(LocalIssue.ward_code.in_(list(user.wards or [])))
    elif user.role not in STAFF_ROLES_ALL_WARDS:
        raise PermissionDenied("Your role has no issue queue.")
    issues = list(session.scalars(query))
    ranked = priorities(session=session, issues=issues, today=today or date.today())
    issues.sort(
        key=lambda i: (
            i.stage == "closed",
            ranked[i.id].level,
            -ranked[i.id].score,
            i.due_on or date.max,
            i.id,
        )
    )
    return [(i, ranked[i.id]) for i in issues]


DUE_SOON_DAYS = 7  # an issue due within this many days is flagged "due in N days"
REFERRAL_ANSWER_DAYS = 28  # a referral still open this long after it was sent is overdue
CHANGE_KINDS = ("local_issue", "issue_action", "referral")


def _last_views(*, session: Session, user: User, ids: Sequence[int]) -> dict[int, datetime]:
    """When this user last opened each issue's page (from the audit trail)."""
    return {
        int(str(viewed)): at
        for viewed, at in session.execute(
            sa.select(AuditEvent.object_id, sa.func.max(AuditEvent.at))
            .where(
                AuditEvent.user_id == user.id,
                AuditEvent.object_kind == "local_issue",
                AuditEvent.action == "view",
                AuditEvent.object_id.in_([str(i) for i in ids]),
            )
            .group_by(AuditEvent.object_id)
        )
    }


def _last_changes(*, session: Session, user: User, ids: Sequence[int]) -> dict[int, datetime]:
    """When someone else last changed each issue: moved it, recorded an action, answered or
    sent a referral (from the audit trail)."""
    owner: dict[tuple[str, str], int] = {("local_issue", str(i)): i for i in ids}
    for kind, model in (("issue_action", Action), ("referral", Referral)):
        for row_id, of_issue in session.execute(
            sa.select(model.id, model.issue_id).where(model.issue_id.in_(ids))
        ):
            owner[(kind, str(row_id))] = of_issue
    found: dict[int, datetime] = {}
    for kind, changed_id, at in session.execute(
        sa.select(AuditEvent.object_kind, AuditEvent.object_id, sa.func.max(AuditEvent.at))
        .where(
            AuditEvent.object_kind.in_(CHANGE_KINDS),
            AuditEvent.object_id.in_(sorted({object_id for _, object_id in owner})),
            AuditEvent.action != "view",
            sa.or_(AuditEvent.user_id.is_(None), AuditEvent.user_id != user.id),
        )
        .group_by(AuditEvent.object_kind, AuditEvent.object_id)
    ):
        changed = owner.get((kind, str(changed_id)))
        if changed is not None and at > found.get(changed, datetime.min):
            found[changed] = at
    return found


def at_a_glance(
    *, session: Session, user: User, issues: Sequence[LocalIssue], today: date
) -> dict[int, dict[str, Any]]:
    """Per issue, for the queue's cards: is it hers, is it due, and what changed since she last
    opened it ("new" if she never has)."""
    ids = [i.id for i in issues]
    if not ids:
        return {}
    views = _last_views(session=session, user=user, ids=ids)
    changes = _last_changes(session=session, user=user, ids=ids)
    glance = {}
    for issue in issues:
        days = (issue.due_on - today).days if issue.due_on else None
        due = None
        if days is not None and issue.stage != "closed":
            if days < 0:
                due = f"overdue by {-days} day{'s' if days != -1 else ''}"
            elif days <= DUE_SOON_DAYS:
                due = "due today" if days == 0 else f"due in {days} day{'s' if days != 1 else ''}"
        seen, changed = views.get(issue.id), changes.get(issue.id)
        glance[issue.id] = {
            "mine": issue.owner_id == user.id,
            "due": due,
            "overdue": days is not None and days < 0 and issue.stage != "closed",
            "news": "new to you"
            if seen is None
            else "changed since you last looked"
            if changed is not None and changed > seen
            else None,
        }
    return glance


def overdue_referrals(
    *, session: Session, user: User, today: date, days: int = REFERRAL_ANSWER_DAYS
) -> list[tuple[Referral, LocalIssue]]:
    """Referrals still open (sent or accepted) more than ``days`` after they were sent, oldest
    first: what a supervisor chases. Only supervisors and admins are shown them."""
    if user.role not in ("supervisor", "admin"):
        return []
    rows = session.execute(
        sa.select(Referral, LocalIssue)
        .join(LocalIssue, LocalIssue.id == Referral.issue_id)
        .where(
            Referral.status.in_(("sent", "accepted")),
            Referral.sent_on < today - timedelta(days=days),
            LocalIssue.stage != "closed",
        )
        .order_by(Referral.sent_on, Referral.id)
    ).all()
    return [(r, i) for r, i in rows]
