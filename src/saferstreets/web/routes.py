"""Core pages: the public landing page, the staff overview, and a health check."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from saferstreets.status import counts_by_district, store_status
from saferstreets.web.deps import CurrentUser, SessionDep, templates
from saferstreets.web.security import csrf_token

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


@router.get("/", include_in_schema=False)
def landing(request: Request) -> Response:
    return templates.TemplateResponse(request, "public/index.html", {})


@router.get("/staff", include_in_schema=False)
def staff_overview(request: Request, session: SessionDep, user: CurrentUser) -> Response:
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


@router.get("/staff/status.json")
def staff_status_json(session: SessionDep, user: CurrentUser) -> dict:
    """The same figures as the overview page, as JSON."""
    return {**store_status(session=session), "by_district": counts_by_district(session=session)}
