"""The basemap archive from our own origin: byte ranges, caching, and what pages are told."""

from __future__ import annotations

from pathlib import Path

import pytest
from pmtiles.tile import deserialize_header
from shapely.geometry import LineString

from saferstreets.basemap.service import basemap_source
from saferstreets.basemap.tiles import Feature, write_archive
from saferstreets.config import Settings

BBOX = (-1.30, 52.08, -1.20, 52.14)


def _archive(path: Path, attribution: str = "Test streets") -> Path:
    road = Feature(LineString([(-1.29, 52.10), (-1.21, 52.12)]), {"kind": "major_road"}, 6)
    write_archive(
        path,
        {"roads": [road]},
        bbox=BBOX,
        min_zoom=6,
        max_zoom=13,
        attribution=attribution,
        name="t",
    )
    return path


@pytest.fixture
def archive(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return _archive(settings.data_dir / "basemap.pmtiles")


def test_range_requests_get_just_those_bytes(client, archive: Path) -> None:  # type: ignore[no-untyped-def]
    whole = archive.read_bytes()
    r = client.get("/tiles/basemap.pmtiles", headers={"Range": "bytes=0-126"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 0-126/{len(whole)}"
    assert r.content == whole[:127]
    assert deserialize_header(r.content)["max_zoom"] == 13
    tail = client.get("/tiles/basemap.pmtiles", headers={"Range": f"bytes={len(whole) - 50}-"})
    assert tail.status_code == 206 and tail.content == whole[-50:]
    assert "public" in r.headers["cache-control"] and "no-store" not in r.headers["cache-control"]
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-type"] == "application/vnd.pmtiles"
    assert "set-cookie" not in r.headers
    full = client.get("/tiles/basemap.pmtiles")
    assert full.status_code == 200 and full.content == whole
    beyond = client.get("/tiles/basemap.pmtiles", headers={"Range": f"bytes={len(whole) + 10}-"})
    assert beyond.status_code == 416


def test_no_archive_is_a_clear_404(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/tiles/basemap.pmtiles", headers={"Accept": "application/json"})
    assert r.status_code == 404
    assert "No basemap archive is installed" in r.json()["error"]["message"]


def test_pages_are_told_the_archive_with_its_version(
    client, settings: Settings, archive: Path
) -> None:  # type: ignore[no-untyped-def]
    source = basemap_source(settings=settings)
    assert source.kind == "pmtiles" and source.max_zoom == 13
    assert source.url.startswith("/tiles/basemap.pmtiles?v=")
    page = client.get("/report").text
    assert 'src="/static/js/basemap.js" data-kind="pmtiles"' in page
    assert f'data-url="{source.url}"' in page and 'data-max-zoom="13"' in page
    # A new archive gets a new URL, so browsers do not keep the old one's cached bytes.
    _archive(archive, attribution="Newer streets with a longer attribution")
    assert basemap_source(settings=settings).url != source.url


def test_external_tiles_win_and_html_attribution_becomes_text(
    settings: Settings, tmp_path: Path
) -> None:
    raster = settings.model_copy(
        update={
            "tile_url": "https://tiles.example.org/{z}/{x}/{y}.png",
            "tile_attribution": '<a href="https://x.example">Maps</a> <img src=x onerror=alert(1)>',
        }
    )
    source = basemap_source(settings=raster)
    assert source.kind == "raster" and source.url.startswith("https://tiles.example.org/")
    assert "<" not in source.attribution and "Maps" in source.attribution
    html = settings.model_copy(
        update={
            "basemap_path": _archive(
                tmp_path / "b.pmtiles",
                '<a href="https://protomaps.com">Protomaps</a> © <a href="https://openstreetmap.org">OpenStreetMap</a>',
            )
        }
    )
    assert basemap_source(settings=html).attribution == "Protomaps © OpenStreetMap"
    assert basemap_source(settings=settings).kind == "none"  # nothing installed
