"""Vector tiles into and out of a PMTiles archive: the projection, the round trip, the header."""

from __future__ import annotations

import gzip
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pytest
from numpy.testing import assert_allclose
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon

from saferstreets.basemap.tiles import (
    BasemapError,
    Feature,
    archive_info,
    lonlat_to_mercator,
    mercator_to_lonlat,
    read_features,
    tile_bounds,
    tiles_covering,
    write_archive,
)

BBOX = (-1.30, 52.08, -1.20, 52.14)


def test_mercator_matches_pyproj() -> None:
    lon = np.array([-1.22, 0.0, 12.5, -179.0])
    lat = np.array([52.13, 0.0, -33.9, 70.0])
    x, y = lonlat_to_mercator(lon, lat)
    ex, ey = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    assert_allclose(x, ex, atol=1e-6)
    assert_allclose(y, ey, atol=1e-6)
    back = mercator_to_lonlat(x, y)
    assert_allclose(back[0], lon, atol=1e-9)
    assert_allclose(back[1], lat, atol=1e-9)


def test_tiles_covering_matches_the_slippy_map_formula() -> None:
    """The OpenStreetMap wiki's tile numbering: x = floor((lon+180)/360 * 2^z),
    y = floor((1 - asinh(tan(lat))/pi) / 2 * 2^z)."""
    z = 14
    n = 2**z

    def tile(lon: float, lat: float) -> tuple[int, int]:
        rad = np.radians(lat)
        return int((lon + 180) / 360 * n), int((1 - np.arcsinh(np.tan(rad)) / np.pi) / 2 * n)

    (x0, y1), (x1, y0) = tile(BBOX[0], BBOX[1]), tile(BBOX[2], BBOX[3])
    got = {(x, y) for _, x, y in tiles_covering(BBOX, z)}
    assert got == {(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}
    minx, miny, maxx, maxy = tile_bounds(z, x0, y0)
    lon, lat = mercator_to_lonlat([minx, maxx], [maxy, miny])
    assert lon[0] <= BBOX[0] + 360 / n and lat[0] >= BBOX[3] - 0.02


def _layers() -> dict[str, list[Feature]]:
    street = LineString([(-1.29, 52.10), (-1.25, 52.11), (-1.21, 52.10)])
    park = Polygon([(-1.26, 52.12), (-1.24, 52.12), (-1.24, 52.13), (-1.26, 52.13)])
    return {
        "roads": [
            Feature(street, {"kind": "minor_road", "name": "Mill Lane"}, 12),
            Feature(LineString([(-1.28, 52.09), (-1.22, 52.13)]), {"kind": "major_road"}, 6),
        ],
        "landuse": [Feature(park, {"kind": "park", "name": "Town Park"}, 10)],
        "pois": [Feature(Point(-1.25, 52.105), {"kind": "station", "name": "Ashby station"}, 12)],
    }


def test_round_trip_keeps_geometry_names_and_min_zoom(tmp_path: Path) -> None:
    path = tmp_path / "t.pmtiles"
    written = write_archive(
        path, _layers(), bbox=BBOX, min_zoom=8, max_zoom=14, attribution="test", name="t"
    )
    assert written > 0
    info = archive_info(path)
    assert (info.min_zoom, info.max_zoom, info.attribution) == (8, 14, "test")
    assert_allclose(info.bounds, BBOX, atol=1e-7)

    found = read_features(path, BBOX, 14)
    streets = [g for g, p in found["roads"] if p.get("name") == "Mill Lane"]
    assert streets, "the named street came back"
    # Within a quantum of the tile grid (2.4 km / 4096 = 0.6 m at zoom 14): 1e-5 degrees.
    original = _layers()["roads"][0].geometry
    for piece in streets:
        assert max(original.distance(Point(c)) for c in piece.coords) < 1e-5
    assert sum(g.length for g in streets) == pytest.approx(original.length, rel=1e-3)
    (station,) = [g for g, p in found["pois"] if p["kind"] == "station"]
    assert station.distance(Point(-1.25, 52.105)) < 1e-5
    park = [g for g, p in found["landuse"] if p["name"] == "Town Park"]
    assert sum(g.area for g in park) == pytest.approx(
        _layers()["landuse"][0].geometry.area, rel=1e-2
    )
    # Below its min zoom a feature is left out of the tiles; the major road shows from 6.
    low = read_features(path, BBOX, 10)
    assert not [p for _, p in low["roads"] if p.get("name") == "Mill Lane"]
    assert [p for _, p in low["roads"] if p["kind"] == "major_road"]


def test_archive_is_standard_pmtiles_of_gzipped_mvt(tmp_path: Path) -> None:
    path = tmp_path / "t.pmtiles"
    write_archive(path, _layers(), bbox=BBOX, min_zoom=8, max_zoom=12, attribution="a", name="n")
    with path.open("rb") as f:
        reader = Reader(MmapSource(f))
        header = reader.header()
        assert header["tile_type"] == TileType.MVT
        assert header["tile_compression"] == Compression.GZIP
        layers = {v["id"] for v in reader.metadata()["vector_layers"]}
        _, x, y = next(iter(tiles_covering((-1.25, 52.105, -1.25, 52.105), 12)))
        tile = mapbox_vector_tile.decode(gzip.decompress(reader.get(12, x, y)))
    assert layers == {"roads", "landuse", "pois"}
    assert {"roads", "pois"} <= set(tile)


def test_a_file_that_is_not_an_archive_says_so(tmp_path: Path) -> None:
    bad = tmp_path / "basemap.pmtiles"
    bad.write_bytes(b"not a pmtiles archive at all" * 10)
    with pytest.raises(BasemapError, match=r"basemap\.pmtiles"):
        archive_info(bad)
