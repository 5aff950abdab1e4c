"""Staff pages for background jobs: my jobs (all jobs for an admin), one job's progress, retry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from saferstreets.accounts.service import audit
from saferstreets.jobs import service
from saferstreets.web.deps import CurrentUser, SessionDep, SettingsDep, templates
from saferstreets.web.security import check_csrf, csrf_token

router = APIRouter(prefix="/staff/jobs")
CsrfField = Annotated[str, Form(alias="csrf_token")]


def _ctx(request: Request, user: Any, **extra: Any) -> dict[str, Any]:
    return {"user": user, "csrf": csrf_token(request), **extra}


def _one(session: Any, job_id: int, user: Any) -> dict[str, Any]:
    job = service.get_job(session=session, job_id=job_id, user=user)
    return service.describe_all(session=session, jobs=[job])[0]


@router.get("", include_in_schema=False)
def jobs_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    service.load_kinds()
    jobs = service.describe_all(session=session, jobs=service.list_jobs(session=session, user=user))
    return templates.TemplateResponse(request, "staff/jobs.html", _ctx(request, user, jobs=jobs))


@router.get(".json", response_model=None)
def jobs_json(session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """The jobs you may see (yours; every job for an admin), newest first."""
    service.load_kinds()
    return service.describe_all(session=session, jobs=service.list_jobs(session=session, user=user))


@router.get("/{job_id:int}", include_in_schema=False)
def job_page(request: Request, job_id: int, session: SessionDep, user: CurrentUser) -> Response:
    service.load_kinds()
    job = _one(session, job_id, user)
    return templates.TemplateResponse(
        request,
        "staff/job.html",
        _ctx(request, user, job=job, follow=job["status"] in ("queued", "running")),
    )


@router.get("/{job_id:int}/status", include_in_schema=False)
def job_status(
    request: Request, job_id: int, session: SessionDep, user: CurrentUser, follow: bool = False
) -> Response:
    """The job's progress panel (htmx polls it); once done, a followed job opens its result."""
    service.load_kinds()
    job = _one(session, job_id, user)
    response = templates.TemplateResponse(
        request, "staff/_job_status.html", _ctx(request, user, job=job, follow=follow)
    )
    if follow and job["status"] == "done" and job["result_url"]:
        response.headers["HX-Redirect"] = job["result_url"]
    return response


@router.get("/{job_id:int}.json", response_model=None)
def job_json(job_id: int, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """One job: status, progress, result, error, attempts."""
    service.load_kinds()
    return _one(session, job_id, user)


@router.get("/{job_id:int}/download", include_in_schema=False)
def download(job_id: int, session: SessionDep, user: CurrentUser) -> Response:
    """The file a finished job made (a PDF), recorded in the audit trail as an export."""
    found = service.get_file(session=session, job_id=job_id, user=user)
    detail = dict(found.detail)
    audit(
        session=session,
        user=user,
        action="export",
        object_kind=str(detail.pop("object_kind", "job")),
        object_id=detail.pop("object_id", job_id),
        detail=detail | {"job": job_id},
    )
    return Response(
        found.content,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


@router.post("/{job_id:int}/retry", include_in_schema=False)
def retry_job(
    request: Request,
    job_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    csrf: CsrfField,
) -> Response:
    check_csrf(request, csrf)
    service.retry(session=session, job_id=job_id, user=user, settings=settings)
    return RedirectResponse(f"/staff/jobs/{job_id}", status_code=303)
