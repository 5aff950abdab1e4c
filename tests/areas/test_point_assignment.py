"""Point → area assignment in the store, locate() on arrays, the boundary API, the name search."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import h3
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from tests.areas.areas_testfiles import DISTRICT, EAST, WEST, lonlat, write

from saferstreets.areas import lookup
from saferstreets.areas.service import (
    AreaIndex,
    assign_points,
    find_areas_by_name,
    import_boundaries,
    locate,
    point_columns,
)
from saferstreets.crime.models import Crime
from saferstreets.errors import ValidationFailed
from saferstreets.reports.models import Report


def setup_areas(engine: sa.Engine, tmp_path: Path) -> None:
    write(
        tmp_path / "d.geojson",
        [{"LAD21CD": "E07000243", "LAD21NM": "Stevenage"}],
        [DISTRICT],
        crs="EPSG:27700",
    )
    write(
        tmp_path / "w.geojson",
        [
            {"WD21CD": "E05000002", "WD21NM": "East Ward"},
            {"WD21CD": "E05000001", "WD21NM": "West Ward"},
        ],
        [EAST, WEST],
        crs="EPSG:27700",
    )
    import_boundaries(engine=engine, path=tmp_path / "d.geojson", level="district")
    import_boundaries(engine=engine, path=tmp_path / "w.geojson", level="ward")


def centre(geom) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    p = lonlat(geom.centroid)
    return p.y, p.x


def test_locate_arrays_and_shared_boundary_goes_to_one_area(
    engine: sa.Engine, tmp_path: Path
) -> None:
    setup_areas(engine, tmp_path)
    on_edge = lonlat(shapely.Point(525_000, 224_500))  # on the shared edge of West and East
    lats = [centre(WEST)[0], centre(EAST)[0], on_edge.y, 50.0, float("nan")]
    lons = [centre(WEST)[1], centre(EAST)[1], on_edge.x, -3.0, float("nan")]
    with sa.orm.Session(engine) as session:
        index = AreaIndex.from_session(session)
    result = locate(lats, lons, index=index)
    assert result["ward"] == ["E05000001", "E05000002", "E05000001", None, None]  # lowest code wins
    assert result["district"] == ["E07000243"] * 3 + [None, None]
    # The same whatever order the areas were given in.
    geoms = index._levels["ward"].geoms
    codes = list(index._levels["ward"].codes)
    reversed_index = AreaIndex.from_arrays({"ward": (codes[::-1], list(geoms[::-1]))})
    assert locate(lats, lons, index=reversed_index)["ward"] == result["ward"]


def index_and_random_points(
    engine: sa.Engine, tmp_path: Path, *, seed: int, n: int
) -> tuple[AreaIndex, np.ndarray, np.ndarray]:
    """The test areas' index, and ``n`` random points (lons, lats) over the district's box."""
    setup_areas(engine, tmp_path)
    with sa.orm.Session(engine) as session:
        index = AreaIndex.from_session(session)
    rng = np.random.default_rng(seed)
    box = lonlat(DISTRICT).bounds
    return index, rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)


def test_locate_matches_brute_force_point_in_polygon(engine: sa.Engine, tmp_path: Path) -> None:
    index, lons, lats = index_and_random_points(engine, tmp_path, seed=7, n=5000)
    got = locate(lats, lons, index=index)["ward"]
    west, east = lonlat(WEST), lonlat(EAST)
    expected = [
        "E05000001"
        if west.intersects(shapely.Point(x, y))
        else "E05000002"
        if east.intersects(shapely.Point(x, y))
        else None
        for x, y in zip(lons, lats, strict=True)
    ]
    assert got == expected
    assert 0 < sum(g is not None for g in got) < 5000


def test_a_few_points_get_the_same_areas_as_many(engine: sa.Engine, tmp_path: Path) -> None:
    """A report's one point is looked up in the polygons' tree, a batch in a tree of its points:
    the two ways give the same code for every point, on the shared edge and outside too."""
    index, lons, lats = index_and_random_points(engine, tmp_path, seed=11, n=400)
    on_edge = lonlat(shapely.Point(525_000, 224_500))
    lons, lats = np.append(lons, [on_edge.x, -3.0]), np.append(lats, [on_edge.y, 50.0])
    assert len(lons) > lookup.FEW_POINTS
    batch = index.locate_arrays(lats, lons)
    for i in range(len(lons)):
        one = index.locate_arrays(lats[i : i + 1], lons[i : i + 1])
        expected = {level: codes[i] for level, codes in batch.items()}
        assert {level: codes[0] for level, codes in one.items()} == expected
        assert index.locate_point(float(lats[i]), float(lons[i])) == expected  # the form's way
    assert batch["ward"][-2] == "E05000001"  # the shared edge: the lowest code
    assert set(batch["ward"][:-2]) == {"E05000001", "E05000002", None}
    assert index.locate_point(float("nan"), 0.0) == {"district": None, "ward": None}


def test_point_columns_look_each_distinct_point_up_once_with_the_same_answers(
    engine: sa.Engine, tmp_path: Path
) -> None:
    # 300 distinct points, each repeated (as police.uk's snap points are), and missing ones.
    index, lons, lats = index_and_random_points(engine, tmp_path, seed=11, n=300)
    pick = np.random.default_rng(12).integers(0, 300, 4000)
    lons, lats = lons[pick], lats[pick]
    lons[::97] = np.nan
    lats[::97] = np.nan
    calls: list[int] = []
    real_lookup = index.lookup

    def counting_lookup(level: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        return real_lookup(level, x, y)

    index.lookup = counting_lookup  # type: ignore[method-assign]
    got = point_columns(lats, lons, index=index, resolution=9)
    assert calls and max(calls) <= 300  # the distinct points, not 4,000 rows
    index.lookup = real_lookup  # type: ignore[method-assign]
    direct = locate(lats, lons, index=index)
    assert got["ward_code"].tolist() == direct["ward"]
    assert got["district_code"].tolist() == direct["district"]
    expected_h3 = [
        None if np.isnan(a) else h3.latlng_to_cell(a, b, 9) for a, b in zip(lats, lons, strict=True)
    ]
    assert got["h3_cell"].tolist() == expected_h3
    assert got["h3_cell"][0] is None and got["ward_code"][0] is None  # row 0 has no point


def add_crimes(engine: sa.Engine, points: list[tuple[float | None, float | None]]) -> None:
    with sa.orm.Session(engine) as session:
        session.add_all(
            [
                Crime(
                    row_key=f"k{i}".encode(),
                    month=date(2021, 1, 1),
                    reported_by="Test",
                    falls_within="Test",
                    crime_type="Public order",
                    latitude=lat,
                    longitude=lon,
                )
                for i, (lat, lon) in enumerate(points)
            ]
        )
        session.commit()


def crimes(engine: sa.Engine) -> list[tuple]:
    with sa.orm.Session(engine) as session:
        return [
            tuple(r)
            for r in session.execute(
                sa.select(
                    Crime.row_key,
                    Crime.ward_code,
                    Crime.district_code,
                    Crime.lsoa_code,
                    Crime.h3_cell,
                ).order_by(Crime.id)
            )
        ]


def test_assign_points_fills_codes_and_h3_and_follows_boundary_changes(
    engine: sa.Engine, tmp_path: Path
) -> None:
    setup_areas(engine, tmp_path)
    w, e = centre(WEST), centre(EAST)
    add_crimes(engine, [w, e, (None, None), (50.0, -3.0)])
    counts = assign_points(engine=engine, tables=["crime"], h3_resolution=9)
    assert counts == {"crime": 3}  # the row without coordinates is not touched
    rows = crimes(engine)
    assert rows[0][:4] == (b"k0", "E05000001", "E07000243", None)
    assert rows[0][4] == h3.latlng_to_cell(w[0], w[1], 9)
    assert rows[1][1] == "E05000002"
    assert rows[2] == (b"k2", None, None, None, None)
    assert rows[3][1:4] == (None, None, None) and rows[3][4] == h3.latlng_to_cell(50.0, -3.0, 9)

    # New boundaries: West is redrawn to cover East too; importing re-assigns every point.
    write(
        tmp_path / "w2.geojson",
        [{"WD21CD": "E05000001", "WD21NM": "West Ward"}],
        [WEST.union(EAST)],
        crs="EPSG:27700",
    )
    summary = import_boundaries(
        engine=engine, path=tmp_path / "w2.geojson", level="ward", replace=True
    )
    assert "points re-assigned: crime 3" in (summary.message or "")
    assert [r[1] for r in crimes(engine)] == ["E05000001", "E05000001", None, None]


def test_only_missing_takes_only_unassigned_rows(engine: sa.Engine, tmp_path: Path) -> None:
    setup_areas(engine, tmp_path)
    add_crimes(engine, [centre(WEST)])
    assign_points(engine=engine, tables=["crime"])
    with sa.orm.Session(engine) as session:
        session.execute(sa.update(Crime).values(ward_code="KEEP"))
        session.commit()
    add_crimes_offset = [centre(EAST)]
    with sa.orm.Session(engine) as session:
        session.add(
            Crime(
                row_key=b"new",
                month=date(2021, 1, 1),
                reported_by="T",
                falls_within="T",
                crime_type="Drugs",
                latitude=add_crimes_offset[0][0],
                longitude=add_crimes_offset[0][1],
            )
        )
        session.commit()
    assert assign_points(engine=engine, tables=["crime"], only_missing=True) == {"crime": 1}
    assert [r[1] for r in crimes(engine)] == ["KEEP", "E05000002"]


def test_report_with_an_area_but_no_point_keeps_its_area(engine: sa.Engine, tmp_path: Path) -> None:
    setup_areas(engine, tmp_path)
    columns = {c.name for c in Report.__table__.columns}
    assert {"latitude", "ward_code"} <= columns
    from datetime import datetime

    with sa.orm.Session(engine) as session:
        session.add(Report(received_hour=datetime(2021, 6, 1, 22), ward_code="E05000002"))
        session.commit()
    counts = assign_points(engine=engine)
    assert counts["report"] == 0
    with engine.connect() as conn:
        assert conn.scalar(sa.select(Report.__table__.c.ward_code)) == "E05000002"


def test_unknown_table_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(ValidationFailed, match="Not a table of located points: area"):
        assign_points(engine=engine, tables=["area"])


def test_find_areas_by_name(engine: sa.Engine, tmp_path: Path) -> None:
    setup_areas(engine, tmp_path)
    with sa.orm.Session(engine) as session:
        found = find_areas_by_name(session=session, text="  ward ", limit=10)
        assert [(m.code, m.parent_name) for m in found] == [
            ("E05000002", "Stevenage"),
            ("E05000001", "Stevenage"),
        ]
        assert [m.code for m in find_areas_by_name(session=session, text="WEST")] == ["E05000001"]
        assert [m.kind for m in find_areas_by_name(session=session, text="stev")] == ["district"]
        assert find_areas_by_name(session=session, text="%") == []
        assert find_areas_by_name(session=session, text="_a") == []  # wildcards are literal


def test_boundaries_api(client, engine: sa.Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    setup_areas(engine, tmp_path)
    r = client.get("/api/areas/ward.geojson")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    data = r.json()
    assert data["type"] == "FeatureCollection"
    assert [
        (f["properties"]["code"], f["properties"]["name"], f["properties"]["parent_code"])
        for f in data["features"]
    ] == [("E05000002", "East Ward", "E07000243"), ("E05000001", "West Ward", "E07000243")]
    geom = shapely.from_geojson(json.dumps(data["features"][1]["geometry"]))
    assert shapely.hausdorff_distance(geom, lonlat(WEST)) < 2e-4  # simplified for display
    assert r.headers["cache-control"] == "public, max-age=300"
    again = client.get("/api/areas/ward.geojson", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/api/areas/ward.geojson?parent=E07000099").json()["features"] == []
    missing = client.get("/api/areas/county.geojson")
    assert missing.status_code == 404
    assert "no kind of area called 'county'" in missing.json()["error"]["message"]
    listing = client.get("/api/areas.json?kind=district").json()
    assert [a["code"] for a in listing["areas"]] == ["E07000243"]
    assert listing["areas"][0]["area_km2"] == pytest.approx(3.0 * 2.0, rel=1e-6)
    found = client.get("/api/areas/search.json?q=east").json()
    assert [a["code"] for a in found["areas"]] == ["E05000002"]
    assert client.get("/api/areas/search.json?q=e").status_code == 422


def test_place_search_is_rate_limited(client, settings) -> None:  # type: ignore[no-untyped-def]
    """The public place search shares the look-up limit: over it, a 429 page, not a crash."""
    codes = [
        client.get("/api/areas/search.json?q=east").status_code
        for _ in range(settings.lookup_rate_limit + 1)
    ]
    assert codes[: settings.lookup_rate_limit] == [200] * settings.lookup_rate_limit
    assert codes[-1] == 429
    over = client.get("/api/areas/search.json?q=east")
    assert over.json()["error"]["title"] == "Too many requests"
    assert "Retry-After" in over.headers
