"""Imports from the browser: upload police.uk files, boundaries or a survey export; a survey's
suggested mapping is shown to edit first. Each import runs as a background job (closing the page
does not stop it): its page shows progress, then the summary with the quarantined rows."""

from __future__ import annotations

import tomllib
from typing import Annotated, Any, TypeAlias

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from saferstreets.errors import InputFileError, NotFound, ValidationFailed
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


def _survey_upload(settings: Any, token: str) -> Any:
    upload = uploads.find_upload(settings=settings, token=token, kind="survey")
    if not upload.files:
        raise NotFound("There is no such upload")
    return upload


def _mapping_page(
    request: Request, user: Any, upload: Any, *, status: int = 200, **extra: Any
) -> Response:
    """The mapping form, built from the suggestion; ``posted`` refills it after a problem."""
    from saferstreets.surveys.mapping import MULTI_KEYS
    from saferstreets.surveys.mapping_form import LIKERT_KEYS, form_from_suggestion
    from saferstreets.surveys.reader import read_table
    from saferstreets.surveys.service import suggest_mapping

    text = suggest_mapping(upload.files[0])
    form = form_from_suggestion(text, read_table(upload.files[0]).columns)
    context: dict[str, Any] = {"errors": {}, "posted": None, "mapping": text, "wave": ""}
    context.update(extra)
    return _page(
        request,
        user,
        "staff/imports_mapping.html",
        status=status,
        upload=upload,
        form=form,
        checks=len(form.checks),
        likert_keys=LIKERT_KEYS,
        multi_codes=MULTI_KEYS,
        **context,
    )


@router.get("/imports/survey/{token}/mapping", include_in_schema=False)
def survey_mapping(token: str, request: Request, settings: SettingsDep, user: Importer) -> Response:
    return _mapping_page(request, user, _survey_upload(settings, token))


async def _posted(request: Request) -> Any:
    return await request.form()


def _same_text(a: str, b: str) -> bool:
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


def _mapping_text(posted: Any, upload: Any) -> str:
    """The TOML to import: the form's, unless the analyst edited the advanced TOML text (or
    sent no form at all), which then takes precedence. Raises FormErrors/ValidationFailed."""
    from saferstreets.surveys import mapping_form as mf
    from saferstreets.surveys.mapping import mapping_from_dict
    from saferstreets.surveys.reader import read_table
    from saferstreets.surveys.service import suggest_mapping

    text = str(posted.get("mapping") or "")
    if posted.get("form") != "1" or not _same_text(text, suggest_mapping(upload.files[0])):
        try:
            mapping_from_dict(tomllib.loads(text), source="the mapping")
        except tomllib.TOMLDecodeError as exc:
            raise mf.FormErrors({"mapping": f"The mapping is not valid TOML: {exc}"}) from None
        except (ValidationFailed, InputFileError) as exc:
            raise mf.FormErrors({"mapping": exc.message, **(exc.field_errors or {})}) from None
        return text
    fields = {k: str(v) for k, v in posted.items()}
    data = mf.mapping_from_form(
        fields,
        free_text=[str(v) for v in posted.getlist("col_free_text")],
        drop=[str(v) for v in posted.getlist("drop")],
        columns=read_table(upload.files[0]).columns,
    )
    return mf.to_toml(data)


def _min_progress(value: str) -> float | None:
    from saferstreets.surveys.mapping_form import FormErrors

    if not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 100:
        raise FormErrors({"min_progress": "must be a number from 0 to 100 (per cent)"})
    return number


@router.post("/imports/survey/{token}/mapping", include_in_schema=False)
def survey_import(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Importer,
    csrf: Csrf,
    posted: Annotated[Any, Depends(_posted)],
) -> Response:
    from saferstreets.surveys.mapping_form import FormErrors

    check_csrf(request, csrf)
    upload = _survey_upload(settings, token)
    wave = str(posted.get("wave") or "")[:200]
    try:
        if len(str(posted.get("mapping") or "")) > 200_000:
            raise FormErrors({"mapping": "The mapping text is too long"})
        min_progress = _min_progress(str(posted.get("min_progress") or ""))
        mapping = _mapping_text(posted, upload)
    except FormErrors as exc:
        return _mapping_page(
            request,
            user,
            upload,
            status=422,
            errors=exc.errors,
            posted=posted,
            mapping=str(posted.get("mapping") or ""),
            wave=wave,
        )
    (upload.folder / "_mapping.toml").write_text(mapping, encoding="utf-8")
    job = enqueue(
        session=session,
        kind="import.survey",
        params={"upload": token, "wave": wave, "min_progress": min_progress},
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
