"""Public "you said, we did" pages, their JSON and CSV twins, Atom feeds and the open-data CSV."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from saferstreets.publishing import service
from saferstreets.publishing.feeds import area_feed
from saferstreets.web.deps import SessionDep, SettingsDep, error_responses, templates
from saferstreets.web.downloads import csv_response
from saferstreets.web.security import rate_limit

router = APIRouter()


def _page_json(page: service.AreaPage) -> dict[str, Any]:
    def count(c: service.Count) -> dict[str, Any]:
        return {"value": c.value, "suppressed": c.suppressed}

    return {
        "area": {"code": page.area.code, "name": page.area.name, "level": page.area.kind},
        "suppression_threshold": page.k,
        "published_at": page.published_at.isoformat() if page.published_at else None,
        "reports": count(page.reports),
        "themes": [
            {"code": code, "label": lab, "reports": count(c)} for code, lab, c in page.themes
        ],
        "wards": [{"code": a.code, "name": a.name, "reports": count(c)} for a, c in page.children],
        "updates": [
            {
                "title": u.title,
                "body": u.body,
                "published_on": u.published_on.isoformat() if u.published_on else None,
                "updated_on": u.corrected_on.isoformat() if u.corrected_on else None,
                "themes": u.themes,
            }
            for u in page.updates
        ],
    }


@router.get("/areas", include_in_schema=False)
def areas_index(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
) -> Response:
    """The public areas, found by name, postcode or street (``q``) or by a point tapped on the
    map (``lat``, ``lon``: straight to the ward's page; the point is not kept)."""
    tapped = lat is not None and lon is not None
    if tapped:
        from saferstreets.places.search import public_area_at

        rate_limit(request, "lookup", settings.lookup_rate_limit, session=session)
        code = public_area_at(session=session, lat=lat, lon=lon)  # type: ignore[arg-type]
        if code is not None:
            return RedirectResponse(f"/areas/{quote(code, safe='')}", status_code=303)
    districts = service.public_areas(session=session, k=settings.public_min_count)
    found = None
    if q and len(q.strip()) >= 2:
        from saferstreets.places.search import find_public_areas

        rate_limit(request, "lookup", settings.lookup_rate_limit, session=session)
        found = find_public_areas(session=session, text=q.strip())
    return templates.TemplateResponse(
        request,
        "public/areas.html",
        {
            "districts": districts,
            "k": settings.public_min_count,
            "q": q or "",
            "found": found,
            "tapped_outside": tapped,
        },
    )


@router.get(
    "/areas/{code}.json",
    responses=error_responses(**{"404": "No district or ward has this code"}),
    response_model=None,
)
def area_json(code: str, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """What people raised in a district or ward and what was done (small counts suppressed)."""
    return _page_json(service.area_page(session=session, code=code, k=settings.public_min_count))


@router.get("/areas/{code}.csv", include_in_schema=False)
def area_csv(code: str, session: SessionDep, settings: SettingsDep) -> Response:
    page = service.area_page(session=session, code=code, k=settings.public_min_count)
    rows = [
        [
            page.area.code,
            page.area.name,
            "all",
            "All reports",
            page.reports.value,
            "yes" if page.reports.suppressed else "no",
        ]
    ]
    rows += [
        [page.area.code, page.area.name, c, lab, n.value, "yes" if n.suppressed else "no"]
        for c, lab, n in page.themes
    ]
    return csv_response(
        f"you-said-we-did-{page.area.code}.csv",
        ["area_code", "area_name", "theme_code", "theme", "reports", "suppressed_below_threshold"],
        rows,
    )


@router.get("/areas/{code}/feed.atom", include_in_schema=False)
def area_atom(code: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    page = service.area_page(session=session, code=code, k=settings.public_min_count)
    base = str(request.base_url).rstrip("/")
    body = area_feed(
        area=page.area, updates=page.updates, base_url=base, force_name=settings.force_name
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/api/public/areas/{code}/cells.geojson", include_in_schema=False)
def area_cells(code: str, session: SessionDep, settings: SettingsDep) -> Response:
    page = service.area_page(session=session, code=code, k=settings.public_min_count)
    return JSONResponse(service.cells_geojson(page.cells), media_type="application/geo+json")


@router.get("/areas/{code}", include_in_schema=False)
def area_html(code: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    page = service.area_page(session=session, code=code, k=settings.public_min_count)
    return templates.TemplateResponse(
        request, "public/area.html", {"page": page, "k": settings.public_min_count}
    )


@router.get("/open-data/you-said-we-did.csv", include_in_schema=False)
def open_data(session: SessionDep, settings: SettingsDep) -> Response:
    rows = service.open_data_rows(session=session, k=settings.public_min_count)
    return csv_response("you-said-we-did.csv", service.OPEN_DATA_HEADER, rows)
