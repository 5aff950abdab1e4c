"""Local issues worked through SARA: scanning, analysis, response, assessment.

A ward officer's queue holds the local problems women raised in their wards. Each issue moves
through SARA stages with the allowed transitions below; moving on asks for what the stage
produced (the analysis before a response, an assessment before closing). Actions, referrals to
partners and public updates ("you said, we did") hang off the issue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import AuditEvent, User
from saferstreets.accounts.service import audit
from saferstreets.actions.models import (
    SARA_STAGES,
    Action,
    IssueReport,
    LocalIssue,
    PublicUpdate,
    Referral,
    StageNote,
)
from saferstreets.actions.partners import BY_CODE as PARTNERS
from saferstreets.actions.priority import Priority, prioritise
from saferstreets.areas.models import Area
from saferstreets.crime.offences import HARM_WEIGHTS
from saferstreets.errors import NotFound, PermissionDenied, ValidationFailed
from saferstreets.models_common import utcnow
from saferstreets.reports.models import Report
from saferstreets.themes.taxonomy import BY_CODE as THEMES

# From each stage, where an issue may go next. Assessment can send it back to response when
# the response did not work, which is the point of assessing.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "scanning": ("analysis", "closed"),
    "analysis": ("response", "scanning", "closed"),
    "response": ("assessment", "analysis"),
    "assessment": ("closed", "response"),
    "closed": ("scanning",),
}
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
    if issue.latitude is None:
        located = [r for r in found if r.latitude is not None and r.longitude is not None]
        if located:
            issue.latitude = sum(r.latitude for r in located) / len(located)  # type: ignore[misc]
            issue.longitude = sum(r.longitude for r in located) / len(located)  # type: ignore[misc]
    session.flush()
    return added


# Why an issue is closed. Only the first two may close an issue before its response was assessed
# (an issue that is a duplicate, or not for police or partners, has no response to assess).
CLOSE_REASONS: dict[str, str] = {
    "duplicate": "A duplicate of another issue",
    "not_ours": "Not a matter for police or partners",
    "worked": "The response worked",
    "partly_worked": "The response partly worked; what is left is watched",
    "did_not_work": "The response did not work and nothing more can be done here",
}
EARLY_CLOSE_REASONS = ("duplicate", "not_ours")
REOPEN_ROLES = ("supervisor", "admin")
# What the note on each move has to say.
NOTE_ASKED: dict[tuple[str, str], str] = {
    ("scanning", "analysis"): "Say what the problem is and why these reports are one problem.",
    ("analysis", "response"): (
        "Write down the analysis (what, where, when, who, why) before choosing a response."
    ),
    ("response", "assessment"): "Say what the response was and when it started.",
    ("assessment", "closed"): "Say whether the response worked before closing the issue.",
    ("closed", "scanning"): "Say why the issue is reopened.",
}


def _note_needed(from_stage: str, to_stage: str) -> str:
    if (from_stage, to_stage) in NOTE_ASKED:
        return NOTE_ASKED[(from_stage, to_stage)]
    if to_stage == "closed":
        return "Say why the issue is closed before its response was assessed."
    return f"Say why the issue goes back to {to_stage}."


def _check_move(issue: LocalIssue, to_stage: str, user: User | None) -> None:
    if to_stage not in SARA_STAGES:
        raise ValidationFailed(
            f"Unknown stage {to_stage!r}.", field_errors={"stage": "is not a SARA stage"}
        )
    allowed = TRANSITIONS[issue.stage]
    if to_stage not in allowed:
        raise ValidationFailed(
            f"An issue in {issue.stage} cannot move to {to_stage}; "
            f"it can move to {', '.join(allowed)}.",
            field_errors={"stage": "not allowed from here"},
        )
    if issue.stage == "closed" and user is not None and user.role not in REOPEN_ROLES:
        raise PermissionDenied("Only a supervisor or an admin can reopen a closed issue.")


def _check_close(issue: LocalIssue, reason: str | None) -> str:
    if not reason or reason not in CLOSE_REASONS:
        raise ValidationFailed(
            "Choose why the issue is closed.",
            field_errors={"close_reason": f"must be one of {', '.join(CLOSE_REASONS)}"},
        )
    if issue.stage != "assessment" and reason not in EARLY_CLOSE_REASONS:
        raise ValidationFailed(
            f"An issue in {issue.stage} can only be closed as a duplicate or as not a matter for "
            "police or partners; otherwise take it through response and assessment.",
            field_errors={"close_reason": "only duplicate or not ours before assessment"},
        )
    return reason


def _count_field(value: int | None, field: str) -> int:
    if value is None or not 0 <= value <= 10_000_000:
        raise ValidationFailed(
            f"{field.replace('_', ' ').capitalize()} must be a number of reports.",
            field_errors={field: "must be a whole number, 0 or more"},
        )
    return value


def move_stage(
    *,
    session: Session,
    issue: LocalIssue,
    to_stage: str,
    user: User | None,
    notes: str | None = None,
    close_reason: str | None = None,
    reports_before: int | None = None,
    reports_after: int | None = None,
    at: datetime | None = None,
) -> LocalIssue:
    """Move an issue to another SARA stage, if that transition is allowed, keeping the note.

    Every move needs its note (the analysis before a response, the assessment before closing,
    why it goes back); the note is kept in the issue's history (``StageNote``). Closing needs a
    reason and, after assessment, the reports before and after the response (computed by
    :func:`before_after` when not given). Only a supervisor or admin reopens a closed issue.
    """
    _check_move(issue, to_stage, user)
    text = (notes or "").strip()
    if not text:
        raise ValidationFailed(
            _note_needed(issue.stage, to_stage), field_errors={"notes": "a note is needed"}
        )
    if len(text) > 4000:
        raise ValidationFailed(
            "The note is too long.", field_errors={"notes": "must be at most 4000 characters"}
        )
    detail: dict[str, Any] = {"stage": [issue.stage, to_stage]}
    if to_stage == "closed":
        issue.close_reason = _check_close(issue, close_reason)
        if issue.stage == "assessment":
            counted = before_after(session=session, issue=issue, today=(at or utcnow()).date())
            before = counted["before"] if reports_before is None else reports_before
            after = counted["after"] if reports_after is None else reports_after
            issue.reports_before = _count_field(before, "reports_before")
            issue.reports_after = _count_field(after, "reports_after")
            detail.update(before=issue.reports_before, after=issue.reports_after)
        detail["reason"] = issue.close_reason
        issue.assessment_notes = text
    elif issue.stage == "closed":
        issue.close_reason = issue.reports_before = issue.reports_after = None
    if to_stage == "response":
        issue.analysis_notes = text
    session.add(
        StageNote(
            issue_id=issue.id,
            from_stage=issue.stage,
            to_stage=to_stage,
            note=text,
            user_id=user.id if user else None,
            created_at=at or utcnow(),
        )
    )
    issue.stage = to_stage
    session.flush()
    audit(
        session=session,
        user=user,
        action="reopen" if detail["stage"][0] == "closed" else "update",
        object_kind="local_issue",
        object_id=issue.id,
        detail=detail,
    )
    return issue


def stage_history(*, session: Session, issue: LocalIssue) -> list[dict[str, Any]]:
    """The issue's moves between stages, oldest first, with each note and who wrote it."""
    rows = session.execute(
        sa.select(StageNote, sa.func.coalesce(sa.func.nullif(User.display_name, ""), User.username))
        .outerjoin(User, User.id == StageNote.user_id)
        .where(StageNote.issue_id == issue.id)
        .order_by(StageNote.created_at, StageNote.id)
    ).all()
    return [
        {
            "from_stage": n.from_stage,
            "to_stage": n.to_stage,
            "note": n.note,
            "by": name,
            "at": n.created_at,
        }
        for n, name in rows
    ]


def response_started(*, session: Session, issue: LocalIssue) -> date:
    """When the response started: the latest move to response, else when the issue was opened."""
    at = session.scalar(
        sa.select(sa.func.max(StageNote.created_at)).where(
            StageNote.issue_id == issue.id, StageNote.to_stage == "response"
        )
    )
    return (at or issue.created_at).date()


def before_after(*, session: Session, issue: LocalIssue, today: date) -> dict[str, Any]:
    """Reports received in the issue's ward about its themes (any reason if it has none) in the
    days since the response started, and in as many days before it."""
    start = response_started(session=session, issue=issue)
    days = max((today - start).days, 1)
    first = datetime.combine(start - timedelta(days=days), datetime.min.time())
    split = datetime.combine(start, datetime.min.time())
    last = split + timedelta(days=days)
    rows = session.execute(
        sa.select(Report.received_hour, Report.reasons).where(
            Report.ward_code == issue.ward_code,
            Report.received_hour >= first,
            Report.received_hour < last,
        )
    ).all()
    themes = set(issue.themes or [])
    counted = [at for at, reasons in rows if not themes or themes & set(reasons or [])]
    return {
        "start": start,
        "days": days,
        "before": sum(1 for at in counted if at < split),
        "after": sum(1 for at in counted if at >= split),
    }


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


def referral_cells(*, session: Session, referral: Referral) -> list[tuple[str, int]]:
    """Where the issue's reports were made, as H3 cells with how many reports each: the place a
    partner has to go, without any report's words or exact point."""
    count = sa.func.count()
    rows = session.execute(
        sa.select(Report.h3_cell, count)
        .join(IssueReport, IssueReport.report_id == Report.id)
        .join(LocalIssue, LocalIssue.id == IssueReport.issue_id)
        .where(
            IssueReport.issue_id == referral.issue_id,
            Report.ward_code == LocalIssue.ward_code,
            Report.h3_cell.is_not(None),
        )
        .group_by(Report.h3_cell)
        .order_by(count.desc(), Report.h3_cell)
    ).all()
    return [(str(cell), int(n)) for cell, n in rows]


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
        "priority": priorities(session=session, issues=[issue], today=date.today())[issue.id],
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
