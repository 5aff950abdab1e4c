"""The analyst's workspace: the assessment page with its filter, and its downloads (every table
as CSV and XLSX, every map layer as GeoJSON, every chart as SVG), all following the filter; and
each table of the stored findings as CSV and XLSX."""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from saferstreets.accounts.service import audit
from saferstreets.assessment.filters import WorkspaceFilter, parse_filter
from saferstreets.assessment.workspace import filter_choices, resolve_filter
from saferstreets.config import Settings
from saferstreets.errors import NotFound, ValidationFailed
from saferstreets.publishing import workspace as views
from saferstreets.publishing.charts import HOTSPOT_LABELS
from saferstreets.publishing.rendering import stored_findings
from saferstreets.reports.schemas import AGE_BANDS
from saferstreets.themes.taxonomy import THEMES
from saferstreets.web.deps import SessionDep, SettingsDep, require_role, templates
from saferstreets.web.downloads import csv_response, geojson_response, xlsx_response
from saferstreets.web.security import csrf_token

router = APIRouter(prefix="/staff")
Reader: TypeAlias = Annotated[Any, Depends(require_role("analyst", "supervisor"))]


def _filter(request: Request, session: Session) -> WorkspaceFilter:
    return resolve_filter(session=session, flt=parse_filter(request.query_params))


def _view(request: Request, session: Session, settings: Settings) -> views.View:
    return views.workspace_view(session=session, flt=_filter(request, session), settings=settings)


@router.get("/assessment", include_in_schema=False)
def assessment_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: Reader
) -> Response:
    errors: dict[str, str] = {}
    try:
        flt = _filter(request, session)
    except ValidationFailed as exc:
        errors, flt = exc.field_errors, WorkspaceFilter()
    view = views.workspace_view(session=session, flt=flt, settings=settings)
    sections, quoted, latest = stored_findings(session=session) if flt.empty else ([], [], None)
    audit(
        session=session,
        user=user,
        action="view",
        object_kind="assessment",
        detail={"quoted": quoted, "filter": flt.params()},
    )
    context = {
        "user": user,
        "csrf": csrf_token(request),
        "sections": sections,
        "latest": latest,
        "flt": flt,
        "raw": dict(request.query_params),
        "errors": errors,
        "choices": filter_choices(session=session),
        "ages": AGE_BANDS,
        "themes": THEMES,
        "ws": view.ws,
        "tables": views.tables(view.ws, view.names),
        "charts": views.chart_alts(view.ws),
        "query": flt.query(),
        "hotspot_labels": HOTSPOT_LABELS,
        "finding_downloads": True,  # report/_sections.html: each stored table's CSV and XLSX
    }
    status = 422 if errors else 200
    return templates.TemplateResponse(request, "staff/assessment.html", context, status_code=status)


def _table(
    request: Request, session: Session, settings: Settings, user: Any, name: str, fmt: str
) -> Response:
    view = _view(request, session, settings)
    table = views.tables(view.ws, view.names).get(name)
    if table is None:
        raise NotFound(f"The workspace has no table {name!r}")
    audit(
        session=session,
        user=user,
        action="export",
        object_kind="assessment",
        detail={"table": name, "format": fmt, "filter": view.ws.flt.params()},
    )
    filename = f"saferstreets-{name}.{fmt}"
    if fmt == "xlsx":
        return xlsx_response(filename, table.header, table.rows, sheet=name)
    return csv_response(filename, table.header, table.rows)


@router.get("/assessment/tables/{name}.csv", include_in_schema=False)
def table_csv(
    name: str, request: Request, session: SessionDep, settings: SettingsDep, user: Reader
) -> Response:
    return _table(request, session, settings, user, name, "csv")


@router.get("/assessment/tables/{name}.xlsx", include_in_schema=False)
def table_xlsx(
    name: str, request: Request, session: SessionDep, settings: SettingsDep, user: Reader
) -> Response:
    return _table(request, session, settings, user, name, "xlsx")


def _plain(value: Any) -> Any:
    """A count the page wrote with thousands separators ("1,234") as the number again."""
    if isinstance(value, str) and value.replace(",", "").isdigit() and "," in value:
        return int(value.replace(",", ""))
    return value


def _finding_table(session: Session, user: Any, key: str, number: int, fmt: str) -> Response:
    """Table ``number`` (from 1) of the stored finding ``key``, as the page shows it."""
    sections, _quoted, _latest = stored_findings(session=session)
    section = next((s for s in sections if s.key == key), None)
    if section is None or not 1 <= number <= len(section.tables):
        raise NotFound(f"The stored findings have no table {number} of {key!r}")
    table = section.tables[number - 1]
    audit(
        session=session,
        user=user,
        action="export",
        object_kind="assessment",
        detail={"finding": key, "table": number, "format": fmt},
    )
    rows = [[_plain(v) for v in row] for row in table.rows]
    filename = f"saferstreets-finding-{key}-{number}.{fmt}"
    if fmt == "xlsx":
        return xlsx_response(filename, table.headers, rows, sheet=key[:31])
    return csv_response(filename, table.headers, rows)


@router.get("/assessment/findings/{key}/{number}.csv", include_in_schema=False)
def finding_csv(key: str, number: int, session: SessionDep, user: Reader) -> Response:
    return _finding_table(session, user, key, number, "csv")


@router.get("/assessment/findings/{key}/{number}.xlsx", include_in_schema=False)
def finding_xlsx(key: str, number: int, session: SessionDep, user: Reader) -> Response:
    return _finding_table(session, user, key, number, "xlsx")


@router.get("/assessment/layers/{name}.geojson", include_in_schema=False)
def layer_geojson(
    name: str, request: Request, session: SessionDep, settings: SettingsDep, user: Reader
) -> Response:
    if name not in views.LAYERS:
        raise NotFound(f"The workspace has no map layer {name!r}")
    view = _view(request, session, settings)
    audit(
        session=session,
        user=user,
        action="export",
        object_kind="assessment",
        detail={"layer": name, "format": "geojson", "filter": view.ws.flt.params()},
    )
    return geojson_response(f"saferstreets-{name}.geojson", views.layer(view.ws, name, view.names))


@router.get("/assessment/charts/{name}.svg", include_in_schema=False)
def chart(
    name: str, request: Request, session: SessionDep, settings: SettingsDep, user: Reader
) -> Response:
    view = _view(request, session, settings)
    svg = views.chart_for(view, name)
    if svg is None:
        raise NotFound(f"The workspace has no chart {name!r} for this filter")
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"}
    )
