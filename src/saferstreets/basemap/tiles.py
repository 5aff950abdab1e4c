"""Vector tiles in and out of a PMTiles archive: write one from features, read features back.

Features are shapely geometries in longitude/latitude with flat properties, grouped by layer
name (the Protomaps basemap schema: ``earth``, ``landuse``, ``water``, ``roads``, ``places``,
``pois``). Tiles are Mapbox Vector Tiles (MVT 2.1) in Web Mercator (EPSG:3857), 4096 units a
side, gzip-compressed, in an archive of the PMTiles v3 layout, so a browser reads them with
range requests and any PMTiles tool can inspect them.

References
----------
PMTiles v3 specification, https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md.
Mapbox Vector Tile specification 2.1, https://github.com/mapbox/vector-tile-spec.
Protomaps basemap layers, https://docs.protomaps.com/basemaps/layers.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, MagicNumberNotFound, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from saferstreets.errors import AppError

EARTH_RADIUS = 6378137.0
ORIGIN = math.pi * EARTH_RADIUS  # half the width of the Web Mercator square, in metres
EXTENT = 4096  # MVT units a tile side
BUFFER = 64  # MVT units kept around each tile, so lines and labels join across tiles
MAX_LAT = 85.05112878


class BasemapError(AppError):
    """The basemap archive cannot be read (missing, not PMTiles, not vector tiles)."""

    status = 500
    title = "The basemap cannot be read"


@dataclass
class Feature:
    """One feature to tile: a geometry in lon/lat, its properties, the first zoom it shows at."""

    geometry: BaseGeometry
    properties: dict[str, str | int | float | bool] = field(default_factory=dict)
    min_zoom: int = 0


def lonlat_to_mercator(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude in degrees to Web Mercator metres."""
    lon = np.asarray(lon, dtype=float)
    lat = np.clip(np.asarray(lat, dtype=float), -MAX_LAT, MAX_LAT)
    x = EARTH_RADIUS * np.radians(lon)
    y = EARTH_RADIUS * np.log(np.tan(math.pi / 4 + np.radians(lat) / 2))
    return x, y


def mercator_to_lonlat(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator metres to longitude/latitude in degrees."""
    lon = np.degrees(np.asarray(x, dtype=float) / EARTH_RADIUS)
    lat = np.degrees(2 * np.arctan(np.exp(np.asarray(y, dtype=float) / EARTH_RADIUS)) - math.pi / 2)
    return lon, lat


def _to_mercator(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(
        geom, lambda xy: np.column_stack(lonlat_to_mercator(xy[:, 0], xy[:, 1]))
    )


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's (minx, miny, maxx, maxy) in Web Mercator metres (y of tiles counts down)."""
    size = 2 * ORIGIN / (1 << z)
    return -ORIGIN + x * size, ORIGIN - (y + 1) * size, -ORIGIN + (x + 1) * size, ORIGIN - y * size


def tiles_covering(
    bbox: tuple[float, float, float, float], z: int
) -> Iterator[tuple[int, int, int]]:
    """The (z, x, y) of every tile at zoom ``z`` that a lon/lat ``bbox`` touches."""
    (x0, x1), (y0, y1) = lonlat_to_mercator([bbox[0], bbox[2]], [bbox[1], bbox[3]])
    size = 2 * ORIGIN / (1 << z)
    last = (1 << z) - 1
    tx0, tx1 = (min(last, max(0, int((v + ORIGIN) // size))) for v in (x0, x1))
    ty0, ty1 = (min(last, max(0, int((ORIGIN - v) // size))) for v in (y1, y0))
    for tx in range(tx0, tx1 + 1):
        for ty in range(ty0, ty1 + 1):
            yield z, tx, ty


@dataclass
class _Layer:
    name: str
    geoms: list[BaseGeometry]
    props: list[dict[str, Any]]
    min_zoom: np.ndarray
    tree: shapely.STRtree


def _prepare(layers: Mapping[str, Iterable[Feature]]) -> list[_Layer]:
    prepared = []
    for name, features in layers.items():
        feats = [f for f in features if not f.geometry.is_empty]
        geoms = [_to_mercator(f.geometry) for f in feats]
        prepared.append(
            _Layer(
                name,
                geoms,
                [dict(f.properties) for f in feats],
                np.array([f.min_zoom for f in feats], dtype=int),
                shapely.STRtree(geoms),
            )
        )
    return prepared


def encode_tile(layers: list[_Layer], z: int, x: int, y: int) -> bytes | None:
    """One tile's MVT bytes (uncompressed), or None when nothing in any layer falls in it."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = (maxx - minx) * BUFFER / EXTENT
    clip = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    tolerance = (maxx - minx) / EXTENT / 2
    out = []
    for layer in layers:
        hits = [int(i) for i in layer.tree.query(box(*clip)) if layer.min_zoom[i] <= z]
        features = []
        for i in sorted(hits):
            geom = layer.geoms[i]
            if geom.geom_type != "Point":
                geom = shapely.clip_by_rect(geom.simplify(tolerance), *clip)
            if geom.is_empty:
                continue
            features.append({"geometry": geom, "properties": layer.props[i]})
        if features:
            out.append({"name": layer.name, "features": features})
    if not out:
        return None
    data: bytes = mapbox_vector_tile.encode(
        out,
        default_options={"quantize_bounds": (minx, miny, maxx, maxy), "extents": EXTENT},
    )
    return data


def write_archive(
    path: Path,
    layers: Mapping[str, Iterable[Feature]],
    *,
    bbox: tuple[float, float, float, float],
    min_zoom: int,
    max_zoom: int,
    attribution: str,
    name: str,
) -> int:
    """Tile ``layers`` over the lon/lat ``bbox`` at zooms ``min_zoom``..``max_zoom`` into a
    PMTiles archive at ``path``; return the number of tiles written (empty ones are left out)."""
    prepared = _prepare(layers)
    ids = sorted(
        (zxy_to_tileid(z, tx, ty), z, tx, ty)
        for z in range(min_zoom, max_zoom + 1)
        for _, tx, ty in tiles_covering(bbox, z)
    )
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        writer = Writer(f)
        for tile_id, z, tx, ty in ids:
            data = encode_tile(prepared, z, tx, ty)
            if data is not None:
                writer.write_tile(tile_id, gzip.compress(data, compresslevel=6, mtime=0))
                written += 1
        centre = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
        header = {
            "tile_type": TileType.MVT,
            "tile_compression": Compression.GZIP,
            "min_zoom": min_zoom,
            "max_zoom": max_zoom,
            "min_lon_e7": int(bbox[0] * 1e7),
            "min_lat_e7": int(bbox[1] * 1e7),
            "max_lon_e7": int(bbox[2] * 1e7),
            "max_lat_e7": int(bbox[3] * 1e7),
            "center_zoom": min(max_zoom, max(min_zoom, 11)),
            "center_lon_e7": int(centre[0] * 1e7),
            "center_lat_e7": int(centre[1] * 1e7),
        }
        metadata = {
            "name": name,
            "attribution": attribution,
            "type": "baselayer",
            "vector_layers": [
                {"id": layer.name, "fields": {}, "minzoom": min_zoom, "maxzoom": max_zoom}
                for layer in prepared
            ],
        }
        writer.finalize(header, metadata)
    return written


@dataclass(frozen=True)
class ArchiveInfo:
    """What a page needs to know of an archive: its zoom range and bounds."""

    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]
    attribution: str


def archive_info(path: Path) -> ArchiveInfo:
    """Read an archive's header and metadata; a clear error when it is not a vector PMTiles."""
    try:
        with path.open("rb") as f:
            reader = Reader(MmapSource(f))
            header = reader.header()
            metadata = reader.metadata()
    except (OSError, ValueError, KeyError, MagicNumberNotFound) as exc:
        raise BasemapError(f"{path}: not a readable PMTiles archive ({exc})") from exc
    if header.get("tile_type") != TileType.MVT:
        raise BasemapError(f"{path}: holds {header.get('tile_type')} tiles, not vector tiles")
    return ArchiveInfo(
        int(header["min_zoom"]),
        int(header["max_zoom"]),
        (
            header["min_lon_e7"] / 1e7,
            header["min_lat_e7"] / 1e7,
            header["max_lon_e7"] / 1e7,
            header["max_lat_e7"] / 1e7,
        ),
        str(metadata.get("attribution", "")) if isinstance(metadata, dict) else "",
    )


def _decode_geometry(geometry: dict[str, Any], z: int, x: int, y: int) -> BaseGeometry:
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    geom = shape(geometry)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return shapely.transform(
        geom,
        lambda xy: np.column_stack(
            mercator_to_lonlat(
                minx + xy[:, 0] / EXTENT * (maxx - minx), miny + xy[:, 1] / EXTENT * (maxy - miny)
            )
        ),
    )


def read_features(
    path: Path, bbox: tuple[float, float, float, float], zoom: int
) -> dict[str, list[tuple[BaseGeometry, dict[str, Any]]]]:
    """Every feature of the archive's tiles covering a lon/lat ``bbox`` at ``zoom`` (capped at
    the archive's max zoom), as lon/lat geometries clipped to the bbox, by layer name."""
    info = archive_info(path)
    z = max(info.min_zoom, min(zoom, info.max_zoom))
    window = box(*bbox)
    found: dict[str, list[tuple[BaseGeometry, dict[str, Any]]]] = {}
    with path.open("rb") as f:
        reader = Reader(MmapSource(f))
        compression = reader.header()["tile_compression"]
        for _, tx, ty in tiles_covering(bbox, z):
            data = reader.get(z, tx, ty)
            if not data:
                continue
            if compression == Compression.GZIP:
                data = gzip.decompress(data)
            # Each tile's own square only (tiles overlap by their buffer), within the bbox.
            (w, e), (s, n) = mercator_to_lonlat(*np.reshape(tile_bounds(z, tx, ty), (2, 2)).T)
            clip = window.intersection(box(w, s, e, n))
            for name, layer in mapbox_vector_tile.decode(data).items():
                for feat in layer["features"]:
                    geom = _decode_geometry(feat["geometry"], z, tx, ty)
                    if geom.geom_type != "Point":
                        geom = geom.intersection(clip)
                    elif not clip.covers(geom):
                        continue
                    if not geom.is_empty:
                        found.setdefault(name, []).append((geom, feat["properties"]))
    return found
