"""Small made-up boundary files for the areas tests (written with pyogrio, as a user's would be)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from shapely.geometry import box

# Two 1 km squares side by side on British National Grid near Stevenage, and a district round both.
E0, N0 = 524_000.0, 224_000.0
WEST = box(E0, N0, E0 + 1000, N0 + 1000)
EAST = box(E0 + 1000, N0, E0 + 2000, N0 + 1000)
DISTRICT = box(E0 - 500, N0 - 500, E0 + 2500, N0 + 1500)
OTHER_DISTRICT = box(E0 + 2500, N0 - 500, E0 + 5000, N0 + 1500)


def write(
    path: Path, rows: list[dict[str, Any]], geoms: list[Any], crs: str, **kwargs: Any
) -> Path:
    """Write features with pyogrio (driver from the suffix)."""
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=crs)
    pyogrio.write_dataframe(frame, path, **kwargs)
    return path


def geojson_text(
    path: Path, features: list[tuple[dict[str, Any], Any]], crs_name: str | None
) -> Path:
    """Write a GeoJSON by hand (to control the crs member exactly)."""
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    if crs_name:
        doc["crs"] = {"type": "name", "properties": {"name": crs_name}}
    for props, geom in features:
        doc["features"].append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": None if geom is None else json.loads(shapely.to_geojson(geom)),
            }
        )
    path.write_text(json.dumps(doc))
    return path


def lonlat(geom: Any) -> Any:
    """A BNG geometry in EPSG:4326."""
    from pyproj import Transformer

    tr = Transformer.from_crs(27700, 4326, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
