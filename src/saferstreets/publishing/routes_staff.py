"""The assessment's results as JSON, and the chief officer's report (HTML and PDF); the page
itself is the workspace (``routes_workspace``)."""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from saferstreets.accounts.service import audit
from saferstreets.assessment.service import latest_results
from saferstreets.publishing.report import report_css, report_html, report_pdf
from saferstreets.web.deps import SessionDep, SettingsDep, require_role
from saferstreets.web.security import content_security_policy

router = APIRouter(prefix="/staff")
Reader: TypeAlias = Annotated[Any, Depends(require_role("analyst", "supervisor"))]


@router.get("/assessment.json")
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


@router.get("/report.pdf", include_in_schema=False)
def report_download(session: SessionDep, settings: SettingsDep, user: Reader) -> Response:
    quoted: list[dict[str, Any]] = []
    pdf = report_pdf(session=session, settings=settings, quoted=quoted)
    audit(
        session=session,
        user=user,
        action="export",
        object_kind="report",
        detail={"format": "pdf", "quoted": quoted},
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="saferstreets-assessment.pdf"'},
    )
