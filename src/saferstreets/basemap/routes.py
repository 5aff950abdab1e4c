"""The street map's tiles, from our own origin: one PMTiles archive read with range requests."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from saferstreets.basemap.service import archive_path
from saferstreets.errors import NotFound
from saferstreets.web.deps import SettingsDep, error_responses

router = APIRouter()

#: Tiles are public and change only when the archive does (the URL carries its version).
CACHE = "public, max-age=86400"


@router.api_route(
    "/tiles/basemap.pmtiles",
    methods=["GET", "HEAD"],
    include_in_schema=False,  # a file for the map library, not an API operation
    responses=error_responses(**{"404": "No basemap archive is installed"}),
    response_class=FileResponse,
)
def basemap_archive(settings: SettingsDep) -> FileResponse:
    """The basemap archive; the browser asks for byte ranges (``Range: bytes=...``), answered
    206 with just those bytes, so a map reads a few kilobytes per view, never the whole file."""
    path = archive_path(settings=settings)
    if path is None:
        raise NotFound("No basemap archive is installed; see docs/operating.md, 'Basemap'")
    return FileResponse(
        path,
        media_type="application/vnd.pmtiles",
        headers={"Cache-Control": CACHE},
        content_disposition_type="inline",
        filename=None,
    )
