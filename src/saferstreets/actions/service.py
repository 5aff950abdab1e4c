"""Local issues worked through SARA: scanning, analysis, response, assessment.

A ward officer's queue holds the local problems women raised in their wards. Each issue moves
through SARA stages with the allowed transitions below; moving on asks for what the stage
produced (the analysis before a response, an assessment before closing). Actions, referrals to
partners and public updates ("you said, we did") hang off the issue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import User
from saferstreets.accounts.service import audit
from saferstreets.actions.models import (
    Action,
    IssueReport,
    LocalIssue,
    PublicUpdate,
    Referral,
)
from saferstreets.actions.partners import BY_CODE as PARTNERS
from saferstreets.actions.stages import (
    CLOSE_REASONS,
    EARLY_CLOSE_REASONS,
    TRANSITIONS,
    before_after,
    stage_history,
)
from saferstreets.areas.models import Area
from saferstreets.errors import NotFound, PermissionDenied, ValidationFailed
from saferstreets.reports.models import Report
from saferstreets.themes.taxonomy import BY_CODE as THEMES

ACTION_KINDS = ("patrol", "enforcement", "engagement", "design", "partner", "other")
REFERRAL_STATUSES = ("sent", "accepted", "done", "declined")
STAFF_ROLES_ALL_WARDS = ("admin", "analyst", "supervisor")


def _require_text(value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(
            f"{field.replace('_', ' ').capitalize()} is needed.", field_errors={field: "is needed"}
        )
    if len(text) > limit:
        raise ValidationFailed(
            f"{field.replace('_', ' ').capitalize()} is too long.",
            field_errors={field: f"must be at most {limit} characters"},
        )
    return text


def can_see_ward(user: User, ward_code: str) -> bool:
    """Admins, analysts and supervisors see every ward; a ward officer only her wards."""
    if user.role in STAFF_ROLES_ALL_WARDS:
        return True
    return user.role == "ward_officer" and ward_code in (user.wards or [])


def get_issue(*, session: Session, issue_id: int, user: User) -> LocalIssue:
    """The issue, if it exists and this user may see it; an issue she may not see gets the same
    answer as one that does not exist, so that an id tells nobody what is in another ward."""
    issue = session.get(LocalIssue, issue_id)
    if issue is None or not can_see_ward(user, issue.ward_code):
        raise NotFound(f"There is no local issue {issue_id} that you can see.")
    return issue


def create_issue(
    *,
    session: Session,
    user: User | None,
    ward_code: str,
    title: str,
    description: str | None = None,
    themes: Sequence[str] = (),
    report_ids: Sequence[int] = (),
    owner_id: int | None = None,
    due_on: date | None = None,
    priority: int = 2,
) -> LocalIssue:
    """Open a local issue in a ward (stage: scanning), gathering the reports it came from."""
    title = _require_text(title, "title", 200)
    if (
        session.scalar(sa.select(Area.id).where(Area.kind == "ward", Area.code == ward_code))
        is None
    ):
        raise ValidationFailed(
            f"There is no ward {ward_code!r}.", field_errors={"ward_code": "is not a known ward"}
        )
    if user is not None and not can_see_ward(user, ward_code):
        raise PermissionDenied("You can only open issues in your own wards.")
    unknown = [t for t in themes if t not in THEMES]
    if unknown:
        raise ValidationFailed(
            "Unknown theme.", field_errors={"themes": f"unknown: {', '.join(unknown)}"}
        )
    if priority not in (1, 2, 3):
        raise ValidationFailed(
            "Priority must be 1, 2 or 3.", field_errors={"priority": "must be 1, 2 or 3"}
        )
    _reports_to_link(session=session, ward_code=ward_code, report_ids=report_ids, user=user)
    issue = LocalIssue(
        ward_code=ward_code,
        title=title,
        description=(description or "").strip() or None,
        themes=list(themes),
        stage="scanning",
        priority=priority,
        owner_id=owner_id,
        due_on=due_on or date.today() + timedelta(days=28),
    )
    session.add(issue)
    session.flush()
    link_reports(session=session, issue=issue, report_ids=report_ids, user=user)
    audit(
        session=session, user=user, action="create", object_kind="local_issue", object_id=issue.id
    )
    return issue


MAX_REPORT_ID = 2**31 - 1  # larger numbers name no report (and overflow PostgreSQL's integer)


def _name_reports(ids: Sequence[int]) -> tuple[str, str]:
    """("report 5" or "reports 5, 7", "is" or "are") for a message."""
    listed = ", ".join(str(i) for i in ids[:20]) + (" and more" if len(ids) > 20 else "")
    return (f"report {listed}", "is") if len(ids) == 1 else (f"reports {listed}", "are")


def _reports_to_link(
    *, session: Session, ward_code: str, report_ids: Sequence[int], user: User | None
) -> list[Report]:
    """The reports, if every one lies in the ward, the user may see that ward, and none is urgent
    and waiting for a safeguarding review; otherwise refuse them all, naming the ones refused.

    A report that does not exist and one in another ward get the same answer.
    """
    from saferstreets.reports.safeguarding import waiting_among

    ids = sorted(set(report_ids))
    if not ids:
        return []
    if user is not None and not can_see_ward(user, ward_code):
        raise PermissionDenied("You can only link reports in your own wards.")
    known = [i for i in ids if 0 < i <= MAX_REPORT_ID]
    found = {r.id: r for r in session.scalars(sa.select(Report).where(Report.id.in_(known)))}
    outside = [i for i in ids if i not in found or found[i].ward_code != ward_code]
    if outside:
        named, verb = _name_reports(outside)
        raise ValidationFailed(
            f"Nothing was linked: {named} {verb} not in this issue's ward ({ward_code}) or "
            f"{'does' if verb == 'is' else 'do'} not exist. Only reports in the issue's ward can "
            "be linked to it.",
            field_errors={"report_ids": f"not in ward {ward_code}: {named}"},
        )
    waiting = waiting_among(session=session, report_ids=ids)
    if waiting:
        named, verb = _name_reports(waiting)
        raise ValidationFailed(
            f"Nothing was linked: {named} {verb} urgent and {'waits' if verb == 'is' else 'wait'} "
            "for a safeguarding review. A supervisor must review "
            f"{'it' if verb == 'is' else 'them'} in the safeguarding queue before linking.",
            field_errors={"report_ids": f"waiting for a safeguarding review: {named}"},
        )
    return [found[i] for i in ids]


def link_reports(
    *, session: Session, issue: LocalIssue, report_ids: Sequence[int], user: User | None = None
) -> int:
    """Link reports to the issue (marking them 'linked'); returns how many were newly linked.

    All or nothing: every report must lie in the issue's ward, the user must be allowed that
    ward, and no urgent report may wait for a safeguarding review (``_reports_to_link``).
    """
    found = _reports_to_link(
        session=session, ward_code=issue.ward_code, report_ids=report_ids, user=user
    )
    if not found:
        return 0
    existing = set(
        session.scalars(sa.select(IssueReport.report_id).where(IssueReport.issue_id == issue.id))
    )
    added = 0
    for report in found:
        if report.id in existing:
            continue
        session.add(IssueReport(issue_id=issue.id, report_id=report.id))
        report.status = "linked"
        added += 1
    session.flush()
    if added and issue.place_source in (None, "reports"):
        from saferstreets.actions.place import derive_place

        derive_place(session=session, issue=issue, user=user)
    return added


def add_action(
    *,
    session: Session,
    issue: LocalIssue,
    user: User | None,
    description: str,
    kind: str = "patrol",
    taken_on: date | None = None,
) -> Action:
    """Record something done about the issue."""
    description = _require_text(description, "description", 2000)
    if kind not in ACTION_KINDS:
        raise ValidationFailed(
            "Unknown kind of action.",
            field_errors={"kind": f"must be one of {', '.join(ACTION_KINDS)}"},
        )
    action = Action(
        issue_id=issue.id,
        description=description,
        kind=kind,
        taken_on=taken_on or date.today(),
        by_user_id=user.id if user else None,
    )
    session.add(action)
    session.flush()
    audit(
        session=session, user=user, action="create", object_kind="issue_action", object_id=action.id
    )
    return action


def refer(
    *,
    session: Session,
    issue: LocalIssue,
    user: User | None,
    partner: str,
    request: str,
    sent_on: date | None = None,
) -> Referral:
    """Refer the issue to a partner with a request."""
    if partner not in PARTNERS:
        raise ValidationFailed(
            "Unknown partner.", field_errors={"partner": f"must be one of {', '.join(PARTNERS)}"}
        )
    referral = Referral(
        issue_id=issue.id,
        partner=partner,
        request=_require_text(request, "request", 2000),
        status="sent",
        sent_on=sent_on or date.today(),
    )
    session.add(referral)
    session.flush()
    audit(
        session=session, user=user, action="create", object_kind="referral", object_id=referral.id
    )
    return referral


def _visible_referrals(user: User) -> sa.Select[Referral]:
    """The referrals this user may see: a partner its own, a ward officer her wards', staff all."""
    query = sa.select(Referral)
    if user.role == "partner":
        return query.where(Referral.partner == (user.partner or ""))
    if user.role == "ward_officer":
        return query.join(LocalIssue, LocalIssue.id == Referral.issue_id).where(
            LocalIssue.ward_code.in_(list(user.wards or []))
        )
    if user.role not in STAFF_ROLES_ALL_WARDS:
        raise PermissionDenied("Your role cannot see referrals.")
    return query


def partner_referrals(*, session: Session, user: User) -> list[Referral]:
    """The referrals this user may see, unanswered first, then newest first."""
    query = _visible_referrals(user).order_by(Referral.status != "sent", Referral.sent_on.desc())
    return list(session.scalars(query))


def get_referral(*, session: Session, referral_id: int, user: User) -> Referral:
    """One referral, if this user may see it (the same rule as :func:`partner_referrals`); one
    she may not see gets the same answer as one that does not exist."""
    referral = session.scalar(_visible_referrals(user).where(Referral.id == referral_id))
    if referral is None:
        raise NotFound(f"There is no referral {referral_id} that you can see.")
    return referral


def get_referral_issue(*, session: Session, referral: Referral) -> LocalIssue:
    """The issue a referral (already checked visible) is about."""
    issue = session.get(LocalIssue, referral.issue_id)
    if issue is None:  # the issue's row is gone: cascade should have taken the referral too
        raise NotFound(f"There is no referral {referral.id} that you can see.")
    return issue


def referral_context(
    *, session: Session, referrals: Sequence[Referral]
) -> dict[int, dict[str, Any]]:
    """Per referral id: what a partner needs to act on it without seeing any report: the issue's
    title, description and due date, and the ward it is in (with its district, for the map)."""
    issue_ids = {r.issue_id for r in referrals}
    if not issue_ids:
        return {}
    issues = {
        i.id: i for i in session.scalars(sa.select(LocalIssue).where(LocalIssue.id.in_(issue_ids)))
    }
    wards = {
        code: (name, parent)
        for code, name, parent in session.execute(
            sa.select(Area.code, Area.name, Area.parent_code).where(
                Area.kind == "ward", Area.code.in_({i.ward_code for i in issues.values()})
            )
        )
    }
    context = {}
    for r in referrals:
        issue = issues[r.issue_id]
        name, parent = wards.get(issue.ward_code, (issue.ward_code, None))
        context[r.id] = {
            "title": issue.title,
            "description": issue.description,
            "due_on": issue.due_on,
            "ward": name,
            "ward_code": issue.ward_code,
            "district_code": parent,
        }
    return context


def answer_referral(
    *,
    session: Session,
    referral_id: int,
    user: User,
    status: str,
    response: str | None,
    closed_on: date | None = None,
) -> Referral:
    """A partner (or staff) answers a referral: accepted, done or declined, with what was done."""
    if user.role not in (*STAFF_ROLES_ALL_WARDS, "partner"):
        raise PermissionDenied("Only the partner or a supervisor can answer a referral.")
    referral = get_referral(session=session, referral_id=referral_id, user=user)
    if status not in REFERRAL_STATUSES or status == "sent":
        raise ValidationFailed(
            "Choose accepted, done or declined.",
            field_errors={"status": "must be accepted, done or declined"},
        )
    referral.status = status
    referral.response = (response or "").strip() or referral.response
    if status in ("done", "declined"):
        referral.closed_on = closed_on or date.today()
    session.flush()
    audit(
        session=session,
        user=user,
        action="update",
        object_kind="referral",
        object_id=referral.id,
        detail={"status": status},
    )
    return referral


def issue_detail(*, session: Session, issue: LocalIssue) -> dict[str, Any]:
    """Everything on an issue's page: its reports, actions, referrals and public updates.

    Only reports in the issue's ward are shown: linking checks this now, but a store may hold
    links made before it did, and another ward's report must not be read through them.
    """
    reports = session.scalars(
        sa.select(Report)
        .join(IssueReport, IssueReport.report_id == Report.id)
        .where(IssueReport.issue_id == issue.id, Report.ward_code == issue.ward_code)
        .order_by(Report.occurred_on.desc())
    ).all()
    return {
        "issue": issue,
        "reports": reports,
        "actions": session.scalars(
            sa.select(Action).where(Action.issue_id == issue.id).order_by(Action.taken_on)
        ).all(),
        "referrals": session.scalars(
            sa.select(Referral).where(Referral.issue_id == issue.id).order_by(Referral.sent_on)
        ).all(),
        "updates": session.scalars(
            sa.select(PublicUpdate)
            .where(PublicUpdate.issue_id == issue.id)
            .order_by(PublicUpdate.created_at, PublicUpdate.id)
        ).all(),
        "ward": session.scalar(
            sa.select(Area).where(Area.kind == "ward", Area.code == issue.ward_code)
        ),
        "next_stages": TRANSITIONS[issue.stage],
        "history": stage_history(session=session, issue=issue),
        "close_reasons": CLOSE_REASONS,
        "early_close_reasons": EARLY_CLOSE_REASONS,
        "before_after": before_after(session=session, issue=issue, today=date.today())
        if issue.stage == "assessment"
        else None,
    }


def suggest_issues(
    *, session: Session, min_reports: int = 5, limit: int = 50
) -> list[dict[str, Any]]:
    """Clusters of unlinked reports by ward and reason that look like a local problem (scanning).

    Urgent reports still waiting for a safeguarding review are left out: they cannot be linked.
    """
    from saferstreets.reports.safeguarding import awaiting_review

    rows = session.execute(
        sa.select(Report.id, Report.ward_code, Report.reasons).where(
            Report.ward_code.is_not(None),
            Report.status.in_(("new", "triaged")),
            ~awaiting_review(),
        )
    ).all()
    clusters: dict[tuple[str, str], list[int]] = {}
    for report_id, ward, reasons in rows:
        for reason in reasons or []:
            if reason in THEMES:
                clusters.setdefault((ward, reason), []).append(report_id)
    found: list[dict[str, Any]] = [
        {"ward_code": ward, "theme": theme, "report_ids": ids, "count": len(ids)}
        for (ward, theme), ids in clusters.items()
        if len(ids) >= min_reports
    ]
    found.sort(key=lambda c: (-c["count"], c["ward_code"], c["theme"]))
    return found[:limit]
