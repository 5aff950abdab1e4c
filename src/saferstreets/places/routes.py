"""Place search and reverse lookup as JSON (the gazetteer is public data; look-ups are limited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from saferstreets.places import naming, search
from saferstreets.web.deps import SessionDep, SettingsDep, error_responses
from saferstreets.web.security import rate_limit

router = APIRouter()

Lat = Annotated[float | None, Query(ge=-90, le=90, description="Latitude of the pin or view.")]
Lon = Annotated[float | None, Query(ge=-180, le=180, description="Longitude of the pin or view.")]


@router.get(
    "/api/places/search.json",
    responses=error_responses(**{"429": "Too many look-ups from here; try again shortly"}),
    response_model=None,
)
def search_places(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=2, max_length=100, description="A name or postcode.")],
    lat: Lat = None,
    lon: Lon = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Places (streets, postcodes, stations, stops, parks, landmarks) matching ``q``, nearest
    to (``lat``, ``lon``) first among equally good matches."""
    rate_limit(request, "lookup", settings.lookup_rate_limit, session=session)
    near = (lat, lon) if lat is not None and lon is not None else None
    found = search.search_places(session=session, text=q, near=near, limit=limit)
    return {"query": q, "places": [m.to_dict() for m in found]}


@router.get(
    "/api/places/describe.json",
    responses=error_responses(**{"429": "Too many look-ups from here; try again shortly"}),
    response_model=None,
)
def describe_point(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> dict[str, Any]:
    """A short name for a point from the nearest places and its ward."""
    rate_limit(request, "lookup", settings.lookup_rate_limit, session=session)
    return {"name": naming.describe_point(session=session, lat=lat, lon=lon)}
