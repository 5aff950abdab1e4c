"""The demo county's street map: the gazetteer's streets, stations, stops and parks are drawn
where the gazetteer puts them, in the Protomaps schema, and come back out of the archive."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from shapely.geometry import Point, shape

from saferstreets.basemap.tiles import archive_info, read_features
from saferstreets.config import Settings
from saferstreets.demo.gazetteer import gazetteer_rows, write_gazetteer_rows
from saferstreets.demo.generator import write_boundaries
from saferstreets.demo.geography import build_county
from saferstreets.demo.pipeline import demo_settings
from saferstreets.demo.streets import write_basemap

SEED = 20211
NEAR = 2e-5  # degrees: about 1.5 m, the zoom-14 tile grid (0.6 m) plus rounding


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The county's boundaries, gazetteer and street map, from the generator's own streams
    (the police.uk files, surveys and reports are not needed here)."""
    out = tmp_path_factory.mktemp("streets")
    geo_rng, gazetteer_rng, streets_rng = (np.random.default_rng([SEED, k]) for k in (0, 4, 5))
    geography = build_county(geo_rng)
    files: dict[str, Any] = dict(write_boundaries(geography, out))
    rows = gazetteer_rows(geography, gazetteer_rng)
    write_gazetteer_rows(rows, out)
    files["basemap"] = write_basemap(geography, rows, streets_rng, out)
    with (out / "gazetteer.csv").open(encoding="utf-8") as f:
        files["gazetteer"] = list(csv.DictReader(f))
    return files


def _around(lon: float, lat: float, pad: float = 0.004) -> tuple[float, float, float, float]:
    return (lon - pad, lat - pad, lon + pad, lat + pad)


def test_every_gazetteer_street_is_drawn_through_its_point(county: dict[str, Any]) -> None:
    archive = Path(county["basemap"])
    rows = [r for r in county["gazetteer"] if r["kind"] == "street"]
    assert len(rows) > 500
    high_streets = [r for r in rows if r["name"] == "High Street"]
    centres = json.loads(Path(county["town_centres"]).read_text())["features"]
    assert len(high_streets) == len(centres), "a High Street in every town centre"
    sample = high_streets + rows[:: max(1, len(rows) // 60)]
    for row in sample:
        lon, lat = float(row["lon"]), float(row["lat"])
        roads = read_features(archive, _around(lon, lat), 14)["roads"]
        named = [g for g, p in roads if p.get("name") == row["name"]]
        assert named, f"{row['name']} ({row['locality']}) is drawn"
        gap = min(g.distance(Point(lon, lat)) for g in named)
        assert gap < NEAR, f"{row['name']} ({row['locality']}) passes {gap:.6f} degrees away"


def test_stations_stops_and_parks_are_where_the_gazetteer_says(county: dict[str, Any]) -> None:
    archive = Path(county["basemap"])
    places = json.loads(Path(county["places"]).read_text())["features"]
    stations = [f for f in places if f["properties"]["kind"] == "rail_station"]
    parks = [f for f in places if f["properties"]["kind"] == "park"]
    stops = [r for r in county["gazetteer"] if r["kind"] == "stop"]
    assert stations and parks and stops
    for feature in stations[:5] + parks[:5]:
        point = shape(feature["geometry"])
        found = read_features(archive, _around(point.x, point.y), 14)
        kind = "station" if feature["properties"]["kind"] == "rail_station" else "park"
        pois = [
            g
            for g, p in found["pois"]
            if p["kind"] == kind and p["name"] == feature["properties"]["name"]
        ]
        assert pois and min(g.distance(point) for g in pois) < NEAR
        if kind == "park":
            areas = [g for g, p in found["landuse"] if p["name"] == feature["properties"]["name"]]
            assert any(g.buffer(NEAR).covers(point) for g in areas), (
                "the park's area holds its point"
            )
    for row in stops[:10]:
        point = Point(float(row["lon"]), float(row["lat"]))
        found = read_features(archive, _around(point.x, point.y), 14)["pois"]
        assert any(p["kind"] == "bus_stop" and g.distance(point) < NEAR for g, p in found)


def test_towns_wards_and_roads_between_towns(county: dict[str, Any]) -> None:
    archive = Path(county["basemap"])
    info = archive_info(archive)
    assert (info.min_zoom, info.max_zoom) == (6, 14)
    whole = read_features(archive, info.bounds, 8)
    names = {p["name"] for _, p in whole["places"] if p["kind"] == "locality"}
    wards = json.loads(Path(county["wards"]).read_text())["features"]
    centres = json.loads(Path(county["town_centres"]).read_text())["features"]
    towns = {f["properties"]["name"].removesuffix(" town centre") for f in centres}
    assert towns <= names
    a_roads = {p["name"] for _, p in whole["roads"] if p.get("kind_detail") == "primary"}
    assert len(a_roads) == len(towns) - 1, "a spanning tree joins every town"
    ward_labels = {
        p["name"]
        for _, p in read_features(archive, info.bounds, 12)["places"]
        if p["kind"] == "neighbourhood"
    }
    assert ward_labels == {f["properties"]["WD21NM"] for f in wards}


def test_the_demo_serves_its_own_street_map(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path)
    assert (
        demo_settings(settings, tmp_path / "demo").basemap_path
        == (tmp_path / "demo" / "basemap.pmtiles").resolve()
    )
    mine = settings.model_copy(update={"basemap_path": tmp_path / "force.pmtiles"})
    assert demo_settings(mine, tmp_path / "demo").basemap_path == tmp_path / "force.pmtiles"
