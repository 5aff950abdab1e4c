"""Core pages: the public landing page, each role's landing, the staff overview, a health check."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from saferstreets.status import counts_by_district, store_status
from saferstreets.web.deps import CurrentUser, SessionDep, require_role, templates
from saferstreets.web.security import csrf_token

router = APIRouter()


@router.get("/healthz", include_in_schema=False, response_model=None)
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


@router.get("/", include_in_schema=False)
def landing(request: Request) -> Response:
    return templates.TemplateResponse(request, "public/index.html", {})


# Where each role's work is: /staff (and so every sign-in) takes her straight there.
HOME = {
    "admin": "/staff/users",
    "analyst": "/staff/assessment",
    "supervisor": "/staff/safeguarding",
    "ward_officer": "/staff/issues",
    "partner": "/staff/referrals",
}
# The store's figures (counts, import files, the quarantine) are for the force's own staff.
OverviewReader = Annotated[Any, Depends(require_role("analyst", "supervisor", "ward_officer"))]


@router.get("/staff", include_in_schema=False)
def staff_home(user: CurrentUser) -> Response:
    """Each role lands on its own work."""
    return RedirectResponse(HOME.get(user.role, "/staff/overview"), status_code=303)


@router.get("/staff/overview", include_in_schema=False)
def staff_overview(request: Request, session: SessionDep, user: OverviewReader) -> Response:
    info = store_status(session=session)
    return templates.TemplateResponse(
        request,
        "staff/overview.html",
        {
            "user": user,
            "info": info,
            "districts": counts_by_district(session=session),
            "csrf": csrf_token(request),
            "lockouts": _lockouts(request, session, user),
        },
    )


def _lockouts(request: Request, session: SessionDep, user: CurrentUser) -> list[dict]:
    """Sign-in locks of the last day, for an admin's notice (nobody else sees them)."""
    from saferstreets.accounts.throttle import recent_lockouts
    from saferstreets.web.sessions import now

    return recent_lockouts(session=session, now=now(request)) if user.role == "admin" else []


@router.get("/staff/status.json", response_model=None)
def staff_status_json(session: SessionDep, user: OverviewReader) -> dict:
    """The same figures as the overview page, as JSON."""
    return {**store_status(session=session), "by_district": counts_by_district(session=session)}
