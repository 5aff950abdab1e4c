"""The assessment's results as JSON, and the chief officer's report (HTML and PDF); the page
itself is the workspace (``routes_workspace``)."""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from saferstreets.accounts.service import audit
from saferstreets.assessment.service import latest_results
from saferstreets.publishing.report import report_css, report_html
from saferstreets.web.deps import SessionDep, SettingsDep, require_role
from saferstreets.web.security import check_csrf, content_security_policy

router = APIRouter(prefix="/staff")
Reader: TypeAlias = Annotated[Any, Depends(require_role("analyst", "supervisor"))]


@router.post("/assessment/run", include_in_schema=False)
def run_assessment_job(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    csrf: Annotated[str, Form(alias="csrf_token")],
    themes: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Queue a fresh run of the assessment; its page shows the progress, then the findings."""
    from saferstreets.assessment.jobs import RUN
    from saferstreets.jobs.service import enqueue

    check_csrf(request, csrf)
    job = enqueue(session=session, kind=RUN, params={"themes": themes == "yes"}, user=user,
                  settings=settings)  # fmt: skip
    return RedirectResponse(f"/staff/jobs/{job.id}", status_code=303)


@router.get("/assessment.json", response_model=None)
def assessment_json(session: SessionDep, user: Reader) -> dict[str, Any]:
    """The latest result of every assessment kind, with its parameters and sentence."""
    return {
        kind: {
            "id": run.id,
            "created_at": run.created_at.isoformat(),
            "params": run.params,
            "summary": run.summary,
            "result": run.result,
        }
        for kind, run in sorted(latest_results(session=session).items())
    }


@router.get("/report.html", include_in_schema=False)
def report_page(session: SessionDep, settings: SettingsDep, user: Reader) -> Response:
    quoted: list[dict[str, Any]] = []
    html = report_html(session=session, settings=settings, quoted=quoted)
    audit(
        session=session,
        user=user,
        action="export",
        object_kind="report",
        detail={"format": "html", "quoted": quoted},
    )
    # The document carries its styles inline (it stands alone when saved); allow exactly those.
    policy = content_security_policy(settings.tile_url, inline_styles=[report_css()])
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


@router.post("/report.pdf", include_in_schema=False)
def report_download(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    csrf: Annotated[str, Form(alias="csrf_token")],
) -> Response:
    """Queue the report as a PDF; its job's page offers the download (audited) when made."""
    from saferstreets.jobs.service import enqueue
    from saferstreets.publishing.jobs import REPORT_PDF

    check_csrf(request, csrf)
    job = enqueue(session=session, kind=REPORT_PDF, params={}, user=user, settings=settings)
    return RedirectResponse(f"/staff/jobs/{job.id}", status_code=303)
