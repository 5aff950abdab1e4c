"""The staff safeguarding queue: the reports waiting for a review, and recording reviews.

Thin, as the public report routes beside it (``reports/routes.py``): each route checks the role
and CSRF, and calls ``reports.safeguarding``; every page of the queue is audited with the reports
it shows.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from saferstreets.errors import ValidationFailed
from saferstreets.reports import safeguarding, service
from saferstreets.reports.models import REVIEW_OUTCOMES, URGENCY_LABELS
from saferstreets.reports.safeguarding import MAX_REVIEWED_AT_ONCE, QueueFilters
from saferstreets.reports.schemas import AGE_BANDS, TIME_BANDS
from saferstreets.themes.taxonomy import label
from saferstreets.web.deps import SessionDep, require_role, templates
from saferstreets.web.security import check_csrf, csrf_token

router = APIRouter()
SafeguardingRole = Annotated[Any, Depends(require_role("supervisor", "analyst"))]  # admin passes
LANDING_PLANS = 3  # plans listed on a supervisor's landing
ReviewerRole = Annotated[Any, Depends(require_role(*safeguarding.REVIEWER_ROLES))]


def _queue_filters(
    received_from: str, received_to: str, area: str, show: str
) -> tuple[QueueFilters, dict[str, str]]:
    """The queue's filters from the query string (bad dates are named, not a 500)."""
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name, text in (("received_from", received_from), ("received_to", received_to)):
        days[name] = None
        if text.strip():
            try:
                days[name] = date.fromisoformat(text.strip()[:10])
            except ValueError:
                errors[name] = "is not a date such as 2026-11-25"
    return (
        QueueFilters(
            received_from=days["received_from"],
            received_to=days["received_to"],
            area_code=area.strip()[:32] or None,
            include_reviewed=show == "all",
        ),
        errors,
    )


def _queue_query(filters: QueueFilters, page: int | None = None) -> str:
    """The query string that shows the queue with these filters (and page)."""
    params = {
        "received_from": filters.received_from.isoformat() if filters.received_from else "",
        "received_to": filters.received_to.isoformat() if filters.received_to else "",
        "area": filters.area_code or "",
        "show": "all" if filters.include_reviewed else "",
        "page": str(page) if page and page > 1 else "",
    }
    return urlencode({k: v for k, v in params.items() if v})


@router.get("/staff/safeguarding", include_in_schema=False)
def safeguarding_page(
    request: Request,
    session: SessionDep,
    user: SafeguardingRole,
    show: Annotated[str, Query(max_length=8)] = "waiting",
    received_from: Annotated[str, Query(max_length=10)] = "",
    received_to: Annotated[str, Query(max_length=10)] = "",
    area: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    report: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    """The queue; ``?report=<public id>`` (an alert's link) opens the page that shows it."""
    filters, errors = _queue_filters(received_from, received_to, area, show)
    return _queue_response(request, session, user, filters, page, errors, focus=report or None)


def _supervisors_plans(session: Any, user: Any) -> list[Any] | None:
    """The newest deployment plans, for a supervisor (her landing is this queue and her plans)."""
    if user.role != "supervisor":
        return None
    from saferstreets.planning.service import list_plans

    return list_plans(session=session)[:LANDING_PLANS]  # a force keeps tens of plans


def _queue_response(
    request: Request,
    session: Any,
    user: Any,
    filters: QueueFilters,
    page: int,
    errors: dict[str, str],
    message: str | None = None,
    status_code: int = 200,
    focus: str | None = None,
) -> Response:
    """The queue page (audited with every report it shows), with an error message if any."""
    from saferstreets.accounts.service import audit
    from saferstreets.alerts.service import alert_trouble

    shown = safeguarding.queue_page(session=session, filters=filters, page=page, focus=focus)
    reports = [r for g in shown.groups for r in g.reports]
    detail = {"reports": [r.public_id for r in reports], "show": "all" if filters.include_reviewed
              else "waiting", "page": shown.page, "filters": _queue_query(filters)}  # fmt: skip
    audit(
        session=session, user=user, action="view", object_kind="safeguarding_queue", detail=detail
    )
    return templates.TemplateResponse(
        request,
        "staff/safeguarding.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            "queue": shown,
            "filters": filters,
            "errors": errors,
            "message": message,
            "query": _queue_query(filters),
            "page_query": lambda n: _queue_query(filters, n),
            "include_reviewed": filters.include_reviewed,
            "can_review": user.role in safeguarding.REVIEWER_ROLES,
            "outcomes": REVIEW_OUTCOMES,
            "urgency_labels": URGENCY_LABELS,
            "waiting": safeguarding.count_safeguarding(session=session),
            "reviewers": safeguarding.reviewer_names(session=session, page=shown),
            "areas": safeguarding.queue_areas(session=session),
            "alerts": alert_trouble(session=session),  # failed alerts: staff/_alert_banner.html
            "plans": _supervisors_plans(session, user),
            "time_bands": dict(TIME_BANDS),
            "age_bands": dict(AGE_BANDS),
            "label": label,
            "area_names": service.area_names(
                session=session,
                codes={c for r in reports for c in (r.ward_code, r.district_code) if c},
            ),
        },
        status_code=status_code,
    )


async def posted_review_form(request: Request) -> FormData:
    return await request.form(max_files=0, max_fields=MAX_REVIEWED_AT_ONCE + 20)


@router.post("/staff/safeguarding/review", include_in_schema=False)
def safeguarding_review(
    request: Request,
    session: SessionDep,
    user: ReviewerRole,
    form: Annotated[FormData, Depends(posted_review_form)],
) -> Response:
    """Record a review (outcome and note) of the reports ticked, then show the same queue page;
    a review the service refuses shows the queue again with the reason at the top."""
    check_csrf(request, str(form.get("csrf_token") or ""))

    def field(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    filters, _ = _queue_filters(
        field("received_from")[:10], field("received_to")[:10], field("area")[:32], field("show")
    )
    raw_page = field("page")
    page = int(raw_page) if raw_page.isascii() and raw_page.isdigit() and len(raw_page) < 7 else 1
    try:
        safeguarding.record_review(
            session=session,
            public_ids=[p for p in form.getlist("report") if isinstance(p, str)],
            outcome=field("outcome"),
            note=field("note")[: safeguarding.MAX_NOTE + 1],
            user=user,
        )
    except ValidationFailed as exc:  # refused before anything was written
        return _queue_response(request, session, user, filters, page, {}, exc.message, exc.status)
    query = _queue_query(filters, page)
    return RedirectResponse("/staff/safeguarding" + (f"?{query}" if query else ""), status_code=303)
