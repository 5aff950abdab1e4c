"""Staff pages for local issues (the ward officer's queue, SARA), referrals and public updates."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from saferstreets.accounts.service import audit
from saferstreets.actions import place, service, stages, updates, workload
from saferstreets.actions.models import SARA_STAGES, LocalIssue
from saferstreets.actions.partners import PARTNERS, THEME_PARTNER
from saferstreets.areas.models import Area
from saferstreets.errors import ValidationFailed
from saferstreets.reports.schemas import TIME_BANDS
from saferstreets.themes.taxonomy import THEMES
from saferstreets.web.deps import CurrentUser, SessionDep, templates
from saferstreets.web.security import check_csrf, csrf_token

router = APIRouter(prefix="/staff")
# An issue page lists its latest reports open, folds the next ones away, and leaves the
# oldest to the JSON (a phone has to reach the forms below them).
REPORTS_SHOWN = 5
REPORTS_LISTED = 200
CsrfField = Annotated[str, Form(alias="csrf_token")]


def _issue_json(issue: Any) -> dict[str, Any]:
    return {
        "id": issue.id,
        "ward_code": issue.ward_code,
        "title": issue.title,
        "stage": issue.stage,
        "priority": issue.priority,
        "themes": issue.themes,
        "due_on": issue.due_on,
        "description": issue.description,
        "analysis_notes": issue.analysis_notes,
        "assessment_notes": issue.assessment_notes,
        "close_reason": issue.close_reason,
        "reports_before": issue.reports_before,
        "reports_after": issue.reports_after,
    }


@router.get("/issues", include_in_schema=False)
def issue_queue(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    ward: str | None = None,
    closed: bool = False,
) -> Response:
    today = date.today()
    ranked = workload.queue(
        session=session, user=user, ward_code=ward, include_closed=closed, today=today
    )
    glance = workload.at_a_glance(
        session=session, user=user, issues=[i for i, _ in ranked], today=today
    )
    overdue = workload.overdue_referrals(session=session, user=user, today=today)
    ward_names = {
        code: name
        for code, name in session.execute(
            sa.select(Area.code, Area.name).where(Area.kind == "ward")
        )
    }
    suggestions = (
        service.suggest_issues(session=session)
        if user.role in service.STAFF_ROLES_ALL_WARDS
        else []
    )
    return templates.TemplateResponse(
        request,
        "staff/issues.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            "ranked": ranked,
            "glance": glance,
            "overdue_referrals": overdue,
            "today": today,
            "partners": {p.code: p.name for p in PARTNERS},
            "suggestions": suggestions[:12],
            "awaiting": updates.awaiting_approval(session=session, user=user),
            "ward": ward,
            "closed": closed,
            "stages": SARA_STAGES,
            "themes": {t.code: t.label for t in THEMES},
            "ward_names": ward_names,
        },
    )


@router.get("/issues.json", response_model=None)
def issue_queue_json(
    session: SessionDep, user: CurrentUser, ward: str | None = None, closed: bool = False
) -> list[dict[str, Any]]:
    """The signed-in user's queue of local issues."""
    return [
        {**_issue_json(i), "priority_why": p.why}
        for i, p in workload.queue(
            session=session, user=user, ward_code=ward, include_closed=closed
        )
    ]


@router.post("/issues", include_in_schema=False)
def create_issue(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    csrf: CsrfField,
    ward_code: Annotated[str, Form(max_length=32)],
    title: Annotated[str, Form(max_length=200)],
    description: Annotated[str, Form(max_length=4000)] = "",
    themes: Annotated[list[str] | None, Form()] = None,
    report_ids: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    check_csrf(request, csrf)
    tokens = [x.strip() for x in report_ids.split(",") if x.strip()]
    if not all(x.isascii() and x.isdigit() for x in tokens):
        bad = ", ".join(x[:20] for x in tokens if not (x.isascii() and x.isdigit()))[:200]
        raise ValidationFailed(
            f"Report numbers must be whole numbers separated by commas; not: {bad}. "
            "Nothing was created.",
            field_errors={"report_ids": "whole numbers separated by commas"},
        )
    ids = [int(x) for x in tokens]
    issue = service.create_issue(
        session=session,
        user=user,
        ward_code=ward_code,
        title=title,
        description=description,
        themes=themes or [],
        report_ids=ids,
    )
    return RedirectResponse(f"/staff/issues/{issue.id}", status_code=303)


def _detail_page(
    request: Request,
    session: Any,
    user: Any,
    issue: Any,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    from saferstreets.reports.redact import redact_contact_details

    detail = service.issue_detail(session=session, issue=issue)
    detail["priority"] = workload.priorities(session=session, issues=[issue], today=date.today())[
        issue.id
    ]
    audit(
        session=session,
        user=user,
        action="view",
        object_kind="local_issue",
        object_id=issue.id,
        detail={"reports": [r.id for r in detail["reports"][:REPORTS_LISTED]]},
    )
    suggested = [THEME_PARTNER[t] for t in issue.themes if t in THEME_PARTNER]
    return templates.TemplateResponse(
        request,
        "staff/issue.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            **detail,
            "errors": errors or {},
            "message": message,
            "partners": PARTNERS,
            "suggested_partners": suggested,
            "action_kinds": service.ACTION_KINDS,
            "themes": {t.code: t.label for t in THEMES},
            "redact": redact_contact_details,
            "today": date.today(),
            "time_bands": dict(TIME_BANDS),
            "reports_shown": REPORTS_SHOWN,
            "reports_listed": REPORTS_LISTED,
            "may_approve": user.role in updates.APPROVER_ROLES,
            "place_sources": place.PLACE_SOURCES,
            "min_reports": place.MIN_REPORTS,
            "values": values or {},
        },
        status_code=status,
    )


@router.get("/issues/{issue_id:int}", include_in_schema=False)
def issue_page(request: Request, issue_id: int, session: SessionDep, user: CurrentUser) -> Response:
    issue = service.get_issue(session=session, issue_id=issue_id, user=user)
    return _detail_page(request, session, user, issue)  # audits the view, with the reports shown


@router.get("/issues/{issue_id:int}.json", response_model=None)
def issue_json(issue_id: int, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """One local issue with its actions and referrals."""
    issue = service.get_issue(session=session, issue_id=issue_id, user=user)
    detail = service.issue_detail(session=session, issue=issue)
    audit(
        session=session,
        user=user,
        action="view",
        object_kind="local_issue",
        object_id=issue.id,
        detail={"reports": [r.id for r in detail["reports"]]},
    )
    return {
        **_issue_json(issue),
        "report_ids": [r.id for r in detail["reports"]],
        "actions": [
            {"kind": a.kind, "description": a.description, "taken_on": a.taken_on}
            for a in detail["actions"]
        ],
        "referrals": [
            {"partner": r.partner, "status": r.status, "request": r.request, "response": r.response}
            for r in detail["referrals"]
        ],
    }


def _post_on_issue(
    request: Request,
    session: Any,
    user: Any,
    issue_id: int,
    csrf: str,
    fn: Any,
    done: str,
    values: dict[str, str] | None = None,
) -> Response:
    check_csrf(request, csrf)
    issue = service.get_issue(session=session, issue_id=issue_id, user=user)
    try:
        fn(issue)
    except ValidationFailed as exc:
        session.rollback()
        issue = service.get_issue(session=session, issue_id=issue_id, user=user)
        return _detail_page(
            request,
            session,
            user,
            issue,
            errors=exc.field_errors or {"form": exc.message},
            message=exc.message,
            status=422,
            values=values,
        )
    return RedirectResponse(f"/staff/issues/{issue_id}?done={done}", status_code=303)


@router.post("/issues/{issue_id:int}/stage", include_in_schema=False)
def issue_stage(
    request: Request,
    issue_id: int,
    session: SessionDep,
    user: CurrentUser,
    csrf: CsrfField,
    stage: Annotated[str, Form(max_length=16)],
    notes: Annotated[str, Form(max_length=4000)] = "",
    close_reason: Annotated[str, Form(max_length=32)] = "",
    reports_before: Annotated[int | None, Form(ge=0, le=10_000_000)] = None,
    reports_after: Annotated[int | None, Form(ge=0, le=10_000_000)] = None,
) -> Response:
    """Move the issue on (or back, or reopen it), with the stage's note; closing with a reason
    and the reports before and after."""
    return _post_on_issue(
        request,
        session,
        user,
        issue_id,
        csrf,
        lambda issue: stages.move_stage(
            session=session,
            issue=issue,
            to_stage=stage,
            user=user,
            notes=notes,
            close_reason=close_reason or None,
            reports_before=reports_before,
            reports_after=reports_after,
        ),
        "stage",
        values={
            "stage": stage,
            "notes": notes,
            "close_reason": close_reason,
            "reports_before": "" if reports_before is None else str(reports_before),
            "reports_after": "" if reports_after is None else str(reports_after),
        },
    )


@router.post("/issues/{issue_id:int}/actions", include_in_schema=False)
def issue_action(
    request: Request,
    issue_id: int,
    session: SessionDep,
    user: CurrentUser,
    csrf: CsrfField,
    description: Annotated[str, Form(max_length=2000)] = "",
    kind: Annotated[str, Form(max_length=32)] = "patrol",
    taken_on: Annotated[date | None, Form()] = None,
) -> Response:
    return _post_on_issue(
        request,
        session,
        user,
        issue_id,
        csrf,
        lambda issue: service.add_action(
            session=session,
            issue=issue,
            user=user,
            description=description,
            kind=kind,
            taken_on=taken_on,
        ),
        "action",
    )


@router.post("/issues/{issue_id:int}/referrals", include_in_schema=False)
def issue_referral(
    request: Request,
    issue_id: int,
    session: SessionDep,
    user: CurrentUser,
    csrf: CsrfField,
    partner: Annotated[str, Form(max_length=64)],
    request_text: Annotated[str, Form(alias="request", max_length=2000)] = "",
) -> Response:
    return _post_on_issue(
        request,
        session,
        user,
        issue_id,
        csrf,
        lambda issue: service.refer(
            session=session, issue=issue, user=user, partner=partner, request=request_text
        ),
        "referral",
    )


@router.get("/issues/{issue_id:int}/place.geojson", include_in_schema=False)
def issue_place_geojson(issue_id: int, session: SessionDep, user: CurrentUser) -> Response:
    """The issue's place: its outline only, never a report's point."""
    issue = service.get_issue(session=session, issue_id=issue_id, user=user)
    return JSONResponse(place.place_geojson(issue), media_type="application/geo+json")


@router.post("/issues/{issue_id:int}/place", include_in_schema=False)
def issue_place(
    request: Request,
    issue_id: int,
    session: SessionDep,
    user: CurrentUser,
    csrf: CsrfField,
    polygon: Annotated[str, Form(max_length=20000)] = "",
    names: Annotated[str, Form(max_length=2000)] = "",
    source: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Set the issue's place: drawn on the map, streets named, or again from its reports."""
    return _post_on_issue(
        request,
        session,
        user,
        issue_id,
        csrf,
        lambda issue: place.set_place(
            session=session,
            issue=issue,
            user=user,
            polygon=polygon,
            names=names,
            from_reports=source == "reports",
        ),
        "place",
        values={"names": names},
    )


@router.post("/issues/{issue_id:int}/updates", include_in_schema=False)
def issue_update(
    request: Request,
    issue_id: int,
    session: SessionDep,
    user: CurrentUser,
    csrf: CsrfField,
    title: Annotated[str, Form(max_length=200)] = "",
    body: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Save a draft public update; it goes out once another supervisor or admin approves it."""
    return _post_on_issue(
        request,
        session,
        user,
        issue_id,
        csrf,
        lambda issue: updates.draft_update(
            session=session,
            user=user,
            area_code=issue.ward_code,
            title=title,
            body=body,
            themes=issue.themes,
            issue_id=issue.id,
        ),
        "update",
        values={"update_title": title, "update_body": body},
    )


def _on_update(
    request: Request, session: Any, user: Any, update_id: int, csrf: str, fn: Any, done: str
) -> Response:
    """Approve, correct or withdraw an update; back to its issue's page, errors shown there."""
    check_csrf(request, csrf)
    update = updates.get_update(session=session, update_id=update_id, user=user)
    issue_id = update.issue_id
    if issue_id is None:
        fn(update)
        return RedirectResponse(f"/staff/issues?done={done}", status_code=303)
    return _post_on_issue(request, session, user, issue_id, csrf, lambda _issue: fn(update), done)


@router.post("/updates/{update_id:int}/approve", include_in_schema=False)
def approve_update(
    request: Request, update_id: int, session: SessionDep, user: CurrentUser, csrf: CsrfField
) -> Response:
    updates.require_approver(user, "approve")
    return _on_update(
        request,
        session,
        user,
        update_id,
        csrf,
        lambda update: updates.approve_update(session=session, update=update, user=user),
        "approved",
    )


@router.post("/updates/{update_id:int}/correct", include_in_schema=False)
def correct_update(
    request: Request,
    update_id: int,
    session: SessionDep,
    user: CurrentUser,
    csrf: CsrfField,
    title: Annotated[str, Form(max_length=200)] = "",
    body: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    updates.require_approver(user, "correct")
    return _on_update(
        request,
        session,
        user,
        update_id,
        csrf,
        lambda update: updates.correct_update(
            session=session, update=update, user=user, title=title, body=body
        ),
        "corrected",
    )


@router.post("/updates/{update_id:int}/withdraw", include_in_schema=False)
def withdraw_update(
    request: Request,
    update_id: int,
    session: SessionDep,
    user: CurrentUser,
    csrf: CsrfField,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _on_update(
        request,
        session,
        user,
        update_id,
        csrf,
        lambda update: updates.withdraw_update(
            session=session, update=update, user=user, reason=reason
        ),
        "withdrawn",
    )


@router.get("/referrals", include_in_schema=False)
def referrals_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    referrals = service.partner_referrals(session=session, user=user)
    return templates.TemplateResponse(
        request,
        "staff/referrals.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            "referrals": referrals,
            "context": service.referral_context(session=session, referrals=referrals),
            "places": _referral_places(session, referrals),
            "partners": {p.code: p.name for p in PARTNERS},
        },
    )


def _referral_places(session: Any, referrals: Any) -> dict[int, dict[str, Any]]:
    """Per referral, its issue's place: the name, and the streets and landmarks in it by name."""
    from saferstreets.places.naming import places_in_outline, spoken

    issues = {
        i.id: i
        for i in session.scalars(
            sa.select(LocalIssue).where(LocalIssue.id.in_({r.issue_id for r in referrals}))
        )
    }
    out = {}
    for r in referrals:
        issue = issues[r.issue_id]
        inside = (
            places_in_outline(session=session, geometry=issue.place_geometry, limit=8)
            if issue.place_geometry
            else []
        )
        out[r.id] = {
            "name": issue.place_name,
            "streets": [p.name for p in inside if p.kind == "street"],
            "landmarks": [spoken(p) for p in inside if p.kind != "street"],
        }
    return out


@router.get("/referrals/{referral_id:int}/place.geojson", include_in_schema=False)
def referral_place(referral_id: int, session: SessionDep, user: CurrentUser) -> Response:
    """The referral's issue's place, as an outline (for the map on its card): never a report's
    point or words."""
    referral = service.get_referral(session=session, referral_id=referral_id, user=user)
    issue = service.get_referral_issue(session=session, referral=referral)
    return JSONResponse(place.place_geojson(issue), media_type="application/geo+json")


@router.post("/referrals/{referral_id:int}", include_in_schema=False)
def answer_referral(
    request: Request,
    referral_id: int,
    session: SessionDep,
    user: CurrentUser,
    csrf: CsrfField,
    status: Annotated[str, Form(max_length=16)],
    response: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    check_csrf(request, csrf)
    service.answer_referral(
        session=session, referral_id=referral_id, user=user, status=status, response=response
    )
    return RedirectResponse("/staff/referrals?done=answer", status_code=303)
