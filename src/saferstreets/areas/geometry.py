"""Reading boundary files: formats, coordinate systems, code and name fields, repair, measures.

Pure functions over files and shapely arrays; nothing here touches the store. ``service.py``
turns a :class:`BoundaryLayer` into ``Area`` rows.

Coordinate systems
------------------
The file's declared CRS is used (GeoJSON ``crs`` member, a Shapefile's ``.prj``, a GeoPackage's
SRS). A GeoJSON without a ``crs`` member is WGS84 by RFC 7946. When the declared or implied CRS
is geographic but the coordinates are plainly British National Grid eastings/northings (the
usual result of exporting OS/ONS data to GeoJSON and losing the ``crs`` member), the layer is
read as EPSG:27700 and a warning says so. A file that *declares* WGS84 but holds metres, or
whose coordinates fit neither, is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError

from saferstreets.errors import InputFileError

WGS84 = CRS.from_epsg(4326)
BNG = CRS.from_epsg(27700)

SUFFIXES = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".topojson": "TopoJSON",
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".zip": "zipped Shapefile or GeoPackage",
}
ACCEPTED = (
    "GeoJSON (.geojson, .json), GeoPackage (.gpkg) or Shapefile (.shp, or a .zip holding one)"
)

# ONS codes are <PREFIX><YY>CD with the name in <PREFIX><YY>NM (e.g. WD21CD/WD21NM, LSOA11CD).
ONS_CODE = re.compile(r"^([A-Za-z]+)(\d{2})CD$", re.IGNORECASE)

# Which ONS prefixes name areas of each level.
LEVEL_PREFIXES: dict[str, tuple[str, ...]] = {
    "force": ("PFA",),
    "district": ("LAD", "LTLA"),
    "ward": ("WD",),
    "lsoa": ("LSOA",),
    "town_centre": ("TC", "TCITY", "BUA", "BUASD"),
}
# The level each level's parent is, by default (LSOAs nest in districts, not in wards).
PARENT_LEVEL: dict[str, str | None] = {
    "force": None,
    "district": "force",
    "ward": "district",
    "lsoa": "district",
    "town_centre": "district",
}

DISPLAY_TOLERANCE_DEG = 0.0002  # about 14 m east-west, 22 m north-south at 51.5 N
DISPLAY_GRID_DEG = 1e-6  # about 0.1 m: coordinates of the display copy are rounded to this

# British National Grid: eastings 0-700 km, northings 0-1300 km.
_BNG_BOUNDS = (-10_000.0, -10_000.0, 800_000.0, 1_300_000.0)


@dataclass
class FieldChoice:
    """Which properties hold the code, the name and (if any) the parent's code."""

    code: str
    name: str
    parent: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class BoundaryLayer:
    """One file's features, read and converted to EPSG:4326.

    ``geometries`` holds shapely geometries (``None`` where the feature has none); ``properties``
    one dict per feature; ``crs`` the CRS the coordinates were read in.
    """

    path: Path
    fields: list[str]
    properties: list[dict[str, Any]]
    geometries: np.ndarray
    crs: str
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.properties)


def boundary_files(path: Path) -> list[Path]:
    """The boundary files at ``path``: the file itself, or every boundary file in a folder."""
    if not path.exists():
        raise InputFileError(path, "does not exist", hint="check the path")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise InputFileError(path, f"is a folder with no boundary files in it; give {ACCEPTED}")
        return files
    if path.suffix.lower() not in SUFFIXES:
        kind = path.suffix.lower() or "no extension"
        raise InputFileError(
            path,
            f"is not a boundary file ({kind}); give {ACCEPTED}",
            hint="ONS boundary downloads come as GeoJSON, GeoPackage or zipped Shapefile",
        )
    return [path]


def _declared_geojson_crs(path: Path) -> str | None:
    """The ``crs`` member's name in a GeoJSON file's first 64 kB, if it declares one."""
    if path.suffix.lower() not in (".json", ".geojson"):
        return None
    with path.open("rb") as fh:
        head = fh.read(65536).decode("utf-8", errors="replace")
    match = re.search(
        r'"crs"\s*:\s*\{[^{}]*"properties"\s*:\s*\{[^{}]*"name"\s*:\s*"([^"]+)"', head
    )
    return match.group(1) if match else None


def _looks_lonlat(bounds: Sequence[float]) -> bool:
    minx, miny, maxx, maxy = bounds
    return -180.0 <= minx <= maxx <= 180.0 and -90.0 <= miny <= maxy <= 90.0


def _looks_bng(bounds: Sequence[float]) -> bool:
    minx, miny, maxx, maxy = bounds
    bx0, by0, bx1, by1 = _BNG_BOUNDS
    # Metres, not degrees: a span of more than a degree's worth of numbers, inside the grid.
    return (
        bx0 <= minx <= maxx <= bx1 and by0 <= miny <= maxy <= by1 and (maxx > 1000 or maxy > 1000)
    )


def resolve_crs(
    path: Path, declared: str | None, bounds: Sequence[float] | None
) -> tuple[CRS, list[str]]:
    """The CRS to read ``path`` in, from what it declares and what its coordinates look like."""
    warnings: list[str] = []
    geojson_member = _declared_geojson_crs(path)
    crs: CRS | None = None
    if declared:
        try:
            crs = CRS.from_user_input(declared)
        except Exception as exc:  # pyproj raises its own CRSError family
            raise InputFileError(
                path, f"declares a coordinate system that is not known: {declared}"
            ) from exc
    if bounds is None or not np.all(np.isfinite(bounds)):
        return crs or WGS84, warnings
    explicitly_declared = crs is not None and (
        path.suffix.lower() not in (".json", ".geojson") or geojson_member is not None
    )
    if crs is None or (crs.is_geographic and not explicitly_declared):
        if _looks_lonlat(bounds):
            if crs is None:
                warnings.append(
                    f"{path.name} declares no coordinate system; its coordinates are "
                    "longitude/latitude, read as EPSG:4326"
                )
            return WGS84 if crs is None else crs, warnings
        if _looks_bng(bounds):
            warnings.append(
                f"{path.name} declares no coordinate system but its coordinates are "
                "eastings/northings; read as British National Grid (EPSG:27700)"
            )
            return BNG, warnings
        raise InputFileError(
            path,
            f"declares no coordinate system and its coordinates (bounds {_fmt_bounds(bounds)}) are "
            "neither longitude/latitude nor British National Grid",
            hint="re-export it with its CRS (e.g. ogr2ogr -t_srs EPSG:4326)",
        )
    if crs.is_geographic and not _looks_lonlat(bounds):
        raise InputFileError(
            path,
            f"declares {crs.to_string()} (longitude/latitude) but its coordinates (bounds "
            f"{_fmt_bounds(bounds)}) are not degrees",
            hint="the crs member is wrong; for eastings/northings declare EPSG:27700",
        )
    return crs, warnings


def _fmt_bounds(bounds: Sequence[float]) -> str:
    return ", ".join(f"{v:.6g}" for v in bounds)


def read_layer(path: Path, *, layer: str | int | None = None) -> BoundaryLayer:
    """Read one boundary file with pyogrio and bring it to EPSG:4326."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    source = str(path)
    if path.suffix.lower() == ".zip":
        source = f"/vsizip/{path}"
    try:
        layers = pyogrio.list_layers(source)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise InputFileError(
            path,
            f"cannot be read as {SUFFIXES.get(path.suffix.lower(), 'a boundary file')}: "
            f"{_first_line(exc)}",
            hint=f"give {ACCEPTED}",
        ) from exc
    if layer is None and len(layers) > 1:
        polygonal = [
            str(n) for n, g in layers if g is None or "Polygon" in str(g) or g == "Unknown"
        ]
        if len(polygonal) != 1:
            names = ", ".join(str(n) for n, _ in layers)
            raise InputFileError(
                path, f"holds several layers ({names})", hint="say which with --layer NAME"
            )
        layer = polygonal[0]
    try:
        meta, _fids, wkb, field_data = pyogrio.raw.read(source, layer=layer, force_2d=True)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise InputFileError(
            path, f"cannot be read: {_first_line(exc)}", hint=f"give {ACCEPTED}"
        ) from exc
    except Exception as exc:  # a damaged .prj or .dbf: pyogrio raises UnboundLocalError and more
        raise InputFileError(
            path, f"is damaged and cannot be read ({type(exc).__name__})", hint=f"give {ACCEPTED}"
        ) from exc
    fields = [str(f) for f in meta["fields"]]
    if wkb is None:
        raise InputFileError(path, "has no geometry column", hint=f"give {ACCEPTED}")
    geoms = np.asarray(shapely.from_wkb(wkb, on_invalid="ignore"), dtype=object)
    n = len(geoms)
    columns = [np.asarray(col, dtype=object) for col in field_data]
    properties = [{name: _plain(columns[j][i]) for j, name in enumerate(fields)} for i in range(n)]
    present = np.array([g is not None and not shapely.is_empty(g) for g in geoms], dtype=bool)
    bounds = shapely.total_bounds(geoms[present]) if present.any() else None
    crs, warnings = resolve_crs(path, meta.get("crs"), bounds)
    if present.any() and not crs.equals(WGS84, ignore_axis_order=True):
        geoms = geoms.copy()
        try:
            geoms[present] = transform(geoms[present], crs, WGS84)
        except ProjError as exc:  # e.g. a damaged .prj naming a CRS with no way to degrees
            raise InputFileError(
                path,
                f"declares a coordinate system ({crs.name}) that cannot be converted to "
                f"longitude/latitude: {_first_line(exc)}",
                hint="re-export it with its CRS (e.g. ogr2ogr -t_srs EPSG:4326)",
            ) from exc
    return BoundaryLayer(
        path=path,
        fields=fields,
        properties=properties,
        geometries=geoms,
        crs=crs.to_string(),
        warnings=warnings,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _plain(value: Any) -> Any:
    """A JSON-storable scalar from what pyogrio returns."""
    if value is None:
        return None
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def transform(geoms: np.ndarray, source: CRS, target: CRS) -> np.ndarray:
    """Reproject an array of geometries (x/y order, whatever the CRS's axis order)."""
    transformer = Transformer.from_crs(source, target, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, project), dtype=object)


# -- fields ------------------------------------------------------------------------------------


def _lookup(fields: Iterable[str], wanted: str) -> str | None:
    lowered = {f.lower(): f for f in fields}
    return lowered.get(wanted.lower())


def _ons_pairs(fields: Sequence[str]) -> list[tuple[str, str, str, str | None]]:
    """(prefix, year, code field, name field or None) for every <PREFIX><YY>CD field."""
    pairs = []
    for f in fields:
        m = ONS_CODE.match(f)
        if m:
            prefix, year = m.group(1).upper(), m.group(2)
            name = _lookup(fields, f"{m.group(1)}{year}NM")
            pairs.append((prefix, year, f, name))
    return pairs


def _level_of_prefix(prefix: str) -> str | None:
    for level, prefixes in LEVEL_PREFIXES.items():
        if prefix in prefixes:
            return level
    return None


def detect_fields(
    fields: Sequence[str],
    *,
    level: str,
    source: Path | str,
    code_field: str | None = None,
    name_field: str | None = None,
    parent_level: str | None = None,
) -> FieldChoice:
    """Find the code, name and parent-code fields for ``level`` among ``fields``.

    Explicit ``code_field``/``name_field`` win (and must exist). Otherwise an ONS pair whose
    prefix belongs to the level (``WD21CD``/``WD21NM`` for wards), else plain ``code``/``name``,
    else the one ONS pair in the file if it belongs to no other level. Anything ambiguous or
    missing is an error that lists the fields found.
    """
    found = ", ".join(fields) if fields else "none"
    pairs = _ons_pairs(fields)
    notes: list[str] = []

    def missing(what: str, flag: str) -> InputFileError:
        return InputFileError(
            source,
            f"has no {what} field for level '{level}' (fields found: {found})",
            hint=f"name it with {flag} FIELD",
        )

    if code_field is not None:
        code = _lookup(fields, code_field)
        if code is None:
            raise InputFileError(
                source,
                f"has no field '{code_field}' (fields found: {found})",
                hint="check --code-field",
            )
    else:
        own = [p for p in pairs if p[0] in LEVEL_PREFIXES[level]]
        if len(own) > 1:
            listed = ", ".join(p[2] for p in own)
            raise InputFileError(
                source,
                f"has several code fields that could be the {level} code: {listed} "
                f"(fields found: {found})",
                hint="choose one with --code-field FIELD",
            )
        if own:
            code = own[0][2]
        elif (plain := _lookup(fields, "code")) is not None:
            code = plain
        else:
            others = [p for p in pairs if _level_of_prefix(p[0]) is None]
            known = [p for p in pairs if _level_of_prefix(p[0]) not in (None, level)]
            if len(others) == 1 and not known:
                code = others[0][2]
                notes.append(f"used {code} as the {level} code")
            elif known and not others and len({_level_of_prefix(p[0]) for p in known}) == 1:
                other_level = _level_of_prefix(known[0][0])
                raise InputFileError(
                    source,
                    f"looks like a {other_level} file ({known[0][2]}), not {level} "
                    f"(fields found: {found})",
                    hint=f"give --level {other_level}, or --code-field FIELD",
                )
            else:
                raise missing("code", "--code-field")

    if name_field is not None:
        name = _lookup(fields, name_field)
        if name is None:
            raise InputFileError(
                source,
                f"has no field '{name_field}' (fields found: {found})",
                hint="check --name-field",
            )
    else:
        m = ONS_CODE.match(code)
        twin = _lookup(fields, f"{m.group(1)}{m.group(2)}NM") if m else None
        name = twin or _lookup(fields, "name")
        if name is None:
            raise missing("name", "--name-field")

    parent = None
    wanted_parent = parent_level or PARENT_LEVEL.get(level)
    if wanted_parent:
        parent_pairs = [p for p in pairs if p[0] in LEVEL_PREFIXES[wanted_parent] and p[2] != code]
        if len(parent_pairs) == 1:
            parent = parent_pairs[0][2]
        elif len(parent_pairs) > 1:
            notes.append(
                "several parent code fields ("
                + ", ".join(p[2] for p in parent_pairs)
                + "); parents derived by overlay instead"
            )
        elif (plain_parent := _lookup(fields, "parent_code")) is not None:
            parent = plain_parent
    return FieldChoice(code=code, name=name, parent=parent, notes=notes)


# -- geometry ----------------------------------------------------------------------------------


def polygonal_part(geom: Any) -> Any:
    """The polygonal part of a geometry (make_valid can yield lines and points beside polygons)."""
    if geom is None:
        return None
    kind = shapely.get_type_id(geom)
    if kind in (3, 6):  # Polygon, MultiPolygon
        return geom
    if kind == 7:  # GeometryCollection
        parts = [polygonal_part(g) for g in shapely.get_parts(geom)]
        parts = [p for p in parts if p is not None and not shapely.is_empty(p)]
        if not parts:
            return None
        return shapely.union_all(parts)
    return None


def repair(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Make polygons valid: (geometries, which were repaired, reason each one was refused or None).

    Vectorised ``is_valid``/``make_valid``; only the few invalid ones are looked at one by one.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    n = len(geoms)
    reasons: list[str | None] = [None] * n
    repaired = np.zeros(n, dtype=bool)
    present = np.array([g is not None for g in geoms], dtype=bool)
    for i in np.flatnonzero(~present):
        reasons[i] = "has no geometry"
    if not present.any():
        return geoms, repaired, reasons
    g = geoms[present]
    idx = np.flatnonzero(present)
    type_ids = shapely.get_type_id(g)
    empty = shapely.is_empty(g)
    for k in np.flatnonzero(empty):
        reasons[idx[k]] = "has an empty geometry"
        geoms[idx[k]] = None
    for k in np.flatnonzero(~empty & ~np.isin(type_ids, (3, 6, 7))):
        reasons[idx[k]] = f"is a {g[k].geom_type}, not a polygon"
        geoms[idx[k]] = None
    ok = ~empty & np.isin(type_ids, (3, 6, 7))
    coords, owner = shapely.get_coordinates(g, return_index=True)
    for k in np.unique(owner[~np.isfinite(coords).all(axis=1)]):  # GEOS cannot repair these
        if ok[k]:
            reasons[idx[k]] = "has coordinates that are not finite numbers"
            geoms[idx[k]] = None
            ok[k] = False
    invalid = ok & ~shapely.is_valid(g)
    if invalid.any():
        reasons_text = shapely.is_valid_reason(g[invalid])
        fixed = shapely.make_valid(g[invalid])
        for k, fixed_geom, why in zip(np.flatnonzero(invalid), fixed, reasons_text, strict=True):
            part = polygonal_part(fixed_geom)
            if part is None or shapely.is_empty(part) or shapely.area(part) == 0:
                reasons[idx[k]] = f"has an invalid geometry that cannot be repaired ({why})"
                geoms[idx[k]] = None
            else:
                geoms[idx[k]] = part
                repaired[idx[k]] = True
    collections = ok & ~invalid & (type_ids == 7)
    for k in np.flatnonzero(collections):
        part = polygonal_part(g[k])
        if part is None:
            reasons[idx[k]] = "has no polygon in its geometry collection"
        geoms[idx[k]] = part
    return geoms, repaired, reasons


@dataclass
class Measures:
    """Per-geometry bounding boxes, centroids (EPSG:4326) and areas in km² (EPSG:27700)."""

    bounds: np.ndarray  # (n, 4): min_lon, min_lat, max_lon, max_lat
    centroids: np.ndarray  # (n, 2): lon, lat
    area_km2: np.ndarray  # (n,)


def measure(geoms: np.ndarray) -> Measures:
    """Bounding boxes, centroids and areas (the areas on British National Grid, in km²)."""
    geoms = np.asarray(geoms, dtype=object)
    bounds = shapely.bounds(geoms)
    cent = shapely.centroid(geoms)
    centroids = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)])
    area = shapely.area(transform(geoms, WGS84, BNG)) / 1e6 if len(geoms) else np.zeros(0)
    return Measures(bounds=bounds, centroids=centroids, area_km2=area)


def display_copy(geoms: np.ndarray, tolerance: float = DISPLAY_TOLERANCE_DEG) -> np.ndarray:
    """A simplified copy for maps: topology kept, coordinates on a 0.1 m grid."""
    simple = shapely.simplify(np.asarray(geoms, dtype=object), tolerance, preserve_topology=True)
    return np.asarray(shapely.set_precision(simple, DISPLAY_GRID_DEG), dtype=object)


def to_geojson_dicts(geoms: np.ndarray) -> list[dict[str, Any] | None]:
    """GeoJSON geometry dicts (vectorised serialisation; one json.loads each)."""
    texts = shapely.to_geojson(np.asarray(geoms, dtype=object))
    return [json.loads(t) if t is not None else None for t in texts]


def from_geojson_dicts(items: Sequence[dict[str, Any] | str]) -> np.ndarray:
    """Shapely geometries from GeoJSON geometry dicts or their JSON text (vectorised parse)."""
    if not items:
        return np.empty(0, dtype=object)
    texts = np.array([json.dumps(g) if not isinstance(g, str) else g for g in items], dtype=object)
    return np.asarray(shapely.from_geojson(texts), dtype=object)


def largest_overlap(children: np.ndarray, parents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each child, the index of the parent it overlaps most (-1 if none) and the share of it.

    One STRtree query over all children, one vectorised intersection over the candidate pairs;
    areas compared in degrees² (ratios within one child are what matter).
    """
    n = len(children)
    best = np.full(n, -1, dtype=np.int64)
    share = np.zeros(n, dtype=float)
    if n == 0 or len(parents) == 0:
        return best, share
    tree = shapely.STRtree(parents)
    child_idx, parent_idx = tree.query(children, predicate="intersects")
    if len(child_idx) == 0:
        return best, share
    overlap = shapely.area(
        shapely.intersection(children[child_idx], parents[parent_idx], grid_size=None)
    )
    # Sort by child, then overlap descending, then parent index (deterministic ties).
    order = np.lexsort((parent_idx, -overlap, child_idx))
    child_sorted = child_idx[order]
    first = np.r_[True, child_sorted[1:] != child_sorted[:-1]]
    winners = order[first]
    own_area = shapely.area(children[child_idx[winners]])
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(own_area > 0, overlap[winners] / own_area, 0.0)
    keep = overlap[winners] > 0
    best[child_idx[winners][keep]] = parent_idx[winners][keep]
    share[child_idx[winners][keep]] = frac[keep]
    return best, share
