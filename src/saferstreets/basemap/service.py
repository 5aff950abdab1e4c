"""Which basemap the pages draw: the installed PMTiles archive, an external tile URL, or none."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from markupsafe import Markup

from saferstreets.basemap.tiles import ArchiveInfo, archive_info
from saferstreets.config import Settings

ARCHIVE_NAME = "basemap.pmtiles"
TILES_URL = "/tiles/basemap.pmtiles"


@dataclass(frozen=True)
class BasemapSource:
    """What the map script is told: ``kind`` pmtiles (our origin), raster (an external tile
    URL) or none (boundaries only); the URL; the attribution; the archive's highest zoom."""

    kind: Literal["pmtiles", "raster", "none"]
    url: str = ""
    attribution: str = ""
    max_zoom: int = 0


def archive_path(*, settings: Settings) -> Path | None:
    """The PMTiles archive to serve: ``basemap_path``, else ``data_dir/basemap.pmtiles``;
    None when that file does not exist."""
    path = settings.basemap_path or settings.data_dir / ARCHIVE_NAME
    return path if path.is_file() else None


def _text(html: str) -> str:
    """Plain text of an attribution that may be HTML (the page escapes it again)."""
    return Markup(html).striptags()  # noqa: S704 - parsed to strip the tags, never rendered


@lru_cache(maxsize=8)
def _info(path: Path, mtime_ns: int, size: int) -> ArchiveInfo:
    return archive_info(path)


def basemap_source(*, settings: Settings) -> BasemapSource:
    """The basemap every map draws. An external ``tile_url`` wins (a force's choice, with its
    privacy cost); else the archive, versioned by its modification time so a new archive is
    fetched at once while the old one stays cached."""
    if settings.tile_url:
        attribution = _text(settings.tile_attribution)
        return BasemapSource("raster", settings.tile_url, attribution, 19)
    path = archive_path(settings=settings)
    if path is None:
        return BasemapSource("none")
    stat = path.stat()
    info = _info(path, stat.st_mtime_ns, stat.st_size)
    # An archive's attribution may be HTML (Protomaps builds link to OpenStreetMap): plain text.
    attribution = _text(settings.tile_attribution or info.attribution)
    version = f"{stat.st_mtime_ns:x}{stat.st_size:x}"
    return BasemapSource("pmtiles", f"{TILES_URL}?v={version}", attribution, info.max_zoom)
