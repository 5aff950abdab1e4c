"""SARA stages: where an issue may move, the note each move needs (kept as its history), and
closing with a reason and the reports before and after the response; reopening by a supervisor.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import User
from saferstreets.accounts.service import audit
from saferstreets.actions.models import SARA_STAGES, LocalIssue, StageNote
from saferstreets.errors import PermissionDenied, ValidationFailed
from saferstreets.models_common import utcnow
from saferstreets.reports.models import Report

# From each stage, where an issue may go next. Assessment can send it back to response when
# the response did not work, which is the point of assessing.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "scanning": ("analysis", "closed"),
    "analysis": ("response", "scanning", "closed"),
    "response": ("assessment", "analysis"),
    "assessment": ("closed", "response"),
    "closed": ("scanning",),
}

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
