"""Boundaries as GeoJSON for maps, area lists, and the place search (all public data)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from saferstreets.areas import service
from saferstreets.web.deps import SessionDep, SettingsDep, error_responses
from saferstreets.web.security import rate_limit

router = APIRouter()

CACHE = "public, max-age=300"


def _not_modified(request: Request, etag: str) -> Response | None:
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE})
    return None


@router.get(
    "/api/areas/search.json",
    responses=error_responses(**{"429": "Too many look-ups from here; try again shortly"}),
    response_model=None,
)
def search_areas(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=2, max_length=100, description="Part of an area's name.")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Areas whose name contains ``q`` (no street gazetteer: areas only)."""
    rate_limit(request, "lookup", settings.lookup_rate_limit, session=session)
    matches = service.find_areas_by_name(session=session, text=q, limit=limit)
    return {"query": q, "areas": [m.to_dict() for m in matches]}


@router.get(
    "/api/areas/{kind}.geojson",
    responses=error_responses(**{"404": "There is no such kind of area"}),
)
def boundaries_geojson(
    request: Request,
    session: SessionDep,
    kind: str,
    parent: Annotated[
        str | None, Query(max_length=32, description="Only areas within this parent.")
    ] = None,
) -> Response:
    """One kind's boundaries as a FeatureCollection (simplified for display)."""
    areas = service.list_areas(session=session, kind=kind, parent=parent, display=True)
    etag = '"' + service.boundaries_version(session=session, kind=kind, parent=parent) + '"'
    if (cached := _not_modified(request, etag)) is not None:
        return cached
    features = [
        {
            "type": "Feature",
            "id": a.code,
            "properties": {
                "code": a.code,
                "name": a.name,
                "kind": a.kind,
                "parent_code": a.parent_code,
            },
            "geometry": a.display_geometry or a.geometry,
        }
        for a in areas
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    return Response(
        body, media_type="application/geo+json", headers={"ETag": etag, "Cache-Control": CACHE}
    )


@router.get(
    "/api/areas.json",
    responses=error_responses(**{"404": "There is no such kind of area"}),
    response_model=None,
)
def areas_json(
    session: SessionDep,
    kind: Annotated[str, Query(max_length=16)] = "ward",
    parent: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """One kind's areas (no geometry): code, name, parent, centroid, bbox, area."""
    areas = service.list_areas(session=session, kind=kind, parent=parent)
    return {
        "kind": kind,
        "areas": [
            {
                "code": a.code,
                "name": a.name,
                "parent_code": a.parent_code,
                "latitude": a.centroid_lat,
                "longitude": a.centroid_lon,
                "bbox": [a.min_lon, a.min_lat, a.max_lon, a.max_lat],
                "area_km2": a.area_km2,
                "population": a.population,
            }
            for a in areas
        ],
    }
