"""Imports from the browser: upload police.uk files, boundaries or a survey export; a survey's
suggested mapping is shown to edit first. Each import runs as a background job (closing the page
does not stop it): its page shows progress, then the summary with the quarantined rows."""

from __future__ import annotations

import tomllib
from typing import Annotated, Any, TypeAlias

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from saferstreets.errors import NotFound, ValidationFailed
from saferstreets.ingest import uploads
from saferstreets.jobs.models import Job
from saferstreets.jobs.service import enqueue
from saferstreets.models_common import AREA_LEVELS
from saferstreets.web.deps import SessionDep, SettingsDep, require_role, templates
from saferstreets.web.security import check_csrf, csrf_token

router = APIRouter(prefix="/staff")
Importer: TypeAlias = Annotated[Any, Depends(require_role("analyst", "supervisor"))]
Csrf = Annotated[str, Form(alias="csrf_token")]
TITLES = {"crime": "police.uk files", "boundaries": "boundaries", "survey": "a survey export"}


def _page(request: Request, user: Any, name: str, status: int = 200, **extra: Any) -> Response:
    context = {
        "user": user,
        "csrf": csrf_token(request),
        "levels": AREA_LEVELS,
        "limit_mb": uploads.MAX_UPLOAD_BYTES // (1024 * 1024),
        **extra,
    }
    return templates.TemplateResponse(request, name, context, status_code=status)


@router.get("/imports", include_in_schema=False)
def imports_page(request: Request, user: Importer) -> Response:
    return _page(request, user, "staff/imports.html", errors={})


@router.post("/imports", include_in_schema=False)
def start_import(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Importer,
    csrf: Csrf,
    kind: Annotated[str, Form(max_length=16)],
    files: Annotated[list[UploadFile], File()],
    level: Annotated[str, Form(max_length=16)] = "ward",
    replace: Annotated[bool, Form()] = False,
) -> Response:
    check_csrf(request, csrf)
    if kind == "boundaries" and level not in AREA_LEVELS:
        raise ValidationFailed("Choose a level of area", field_errors={"level": "unknown level"})
    try:
        upload = uploads.save_upload(
            settings=settings, kind=kind, files=[(f.filename or "", f.file) for f in files]
        )
    except uploads.UploadRefused as exc:
        errors = {**exc.field_errors, "files": exc.message}
        return _page(request, user, "staff/imports.html", status=exc.status, errors=errors)
    if kind == "survey":
        return RedirectResponse(f"/staff/imports/survey/{upload.token}/mapping", status_code=303)
    params: dict[str, Any] = {"upload": upload.token}
    if kind == "boundaries":
        params.update(level=level, replace=replace)
    job = enqueue(
        session=session,
        kind=f"import.{kind}",
        params=params,
        user=user,
        settings=settings,
        title=f"Importing {TITLES[kind]}",
    )
    return RedirectResponse(f"/staff/jobs/{job.id}", status_code=303)


@router.get("/imports/survey/{token}/mapping", include_in_schema=False)
def survey_mapping(token: str, request: Request, settings: SettingsDep, user: Importer) -> Response:
    from saferstreets.surveys.service import suggest_mapping

    upload = uploads.find_upload(settings=settings, token=token, kind="survey")
    if not upload.files:
        raise NotFound("There is no such upload")
    text = suggest_mapping(upload.files[0])
    return _page(
        request,
        user,
        "staff/imports_mapping.html",
        upload=upload,
        mapping=text,
        checks=text.count("# check"),
        errors={},
        wave="",
    )


@router.post("/imports/survey/{token}/mapping", include_in_schema=False)
def survey_import(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Importer,
    csrf: Csrf,
    mapping: Annotated[str, Form(max_length=200_000)],
    wave: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    from saferstreets.surveys.mapping import mapping_from_dict

    check_csrf(request, csrf)
    upload = uploads.find_upload(settings=settings, token=token, kind="survey")
    if not upload.files:
        raise NotFound("There is no such upload")
    try:
        mapping_from_dict(tomllib.loads(mapping), source="the mapping")
    except (tomllib.TOMLDecodeError, ValidationFailed) as exc:
        message = getattr(exc, "message", None) or f"The mapping is not valid TOML: {exc}"
        fields = getattr(exc, "field_errors", {}) or {}
        return _page(
            request,
            user,
            "staff/imports_mapping.html",
            status=422,
            upload=upload,
            mapping=mapping,
            checks=mapping.count("# check"),
            wave=wave,
            errors={"mapping": message, **fields},
        )
    (upload.folder / "_mapping.toml").write_text(mapping, encoding="utf-8")
    job = enqueue(
        session=session,
        kind="import.survey",
        params={"upload": token, "wave": wave},
        user=user,
        settings=settings,
        title="Importing a survey export",
    )
    return RedirectResponse(f"/staff/jobs/{job.id}", status_code=303)


@router.get("/imports/{kind}/{token}", include_in_schema=False)
def import_summary(
    kind: str, token: str, request: Request, session: SessionDep, user: Importer
) -> Response:
    """The summary of a finished import: each file's counts and its first quarantined rows."""
    import sqlalchemy as sa

    jobs = session.scalars(
        sa.select(Job).where(Job.kind == f"import.{kind}").order_by(Job.id.desc()).limit(500)
    )
    job = next((j for j in jobs if (j.params or {}).get("upload") == token), None)
    if job is None or job.result is None:
        raise NotFound("There is no finished import here")
    return _page(
        request,
        user,
        "staff/imports_summary.html",
        job=job,
        result=job.result,
        title=TITLES.get(kind, kind),
    )
