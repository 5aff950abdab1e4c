"""Importing boundary files: formats, CRS, fields, repair, quarantine, parents, idempotence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from tests.areas.areas_testfiles import (
    DISTRICT,
    EAST,
    OTHER_DISTRICT,
    WEST,
    geojson_text,
    lonlat,
    write,
)
from typer.testing import CliRunner

from saferstreets.areas.geometry import from_geojson_dicts
from saferstreets.areas.models import Area
from saferstreets.areas.service import import_boundaries
from saferstreets.db import session_scope
from saferstreets.errors import InputFileError
from saferstreets.ingest.models import ImportRun, QuarantinedRow


def areas(engine: sa.Engine, kind: str) -> dict[str, Area]:
    with sa.orm.Session(engine) as session:
        return {a.code: a for a in session.scalars(sa.select(Area).where(Area.kind == kind))}


def runs(engine: sa.Engine) -> list[ImportRun]:
    with sa.orm.Session(engine) as session:
        return list(session.scalars(sa.select(ImportRun).order_by(ImportRun.id)))


def districts_27700(tmp_path: Path) -> Path:
    return write(
        tmp_path / "districts.geojson",
        [
            {"LAD21CD": "E07000243", "LAD21NM": "Stevenage"},
            {"LAD21CD": "E07000099", "LAD21NM": "North Hertfordshire"},
        ],
        [DISTRICT, OTHER_DISTRICT],
        crs="EPSG:27700",
    )


def test_geojson_in_british_national_grid_is_reprojected_and_measured(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "wards.geojson",
        [{"WD21CD": "E05000001", "WD21NM": "West"}, {"WD21CD": "E05000002", "WD21NM": "East"}],
        [WEST, EAST],
        crs="EPSG:27700",
    )
    summary = import_boundaries(engine=engine, path=path, level="ward")
    assert (summary.status, summary.rows_read, summary.rows_stored) == ("ok", 2, 2)
    got = areas(engine, "ward")
    west = got["E05000001"]
    assert west.name == "West"
    geom = from_geojson_dicts([west.geometry])[0]
    expected = lonlat(WEST)
    # Same shape in lon/lat: the reprojected square matches pyproj's own transform of it.
    assert shapely.equals_exact(
        shapely.normalize(geom), shapely.normalize(expected), tolerance=1e-9
    )
    assert west.area_km2 == pytest.approx(1.0, rel=1e-6)  # measured back on the grid
    c = lonlat(WEST.centroid)
    assert (west.centroid_lon, west.centroid_lat) == pytest.approx((c.x, c.y), abs=1e-6)
    assert (west.min_lon, west.min_lat, west.max_lon, west.max_lat) == pytest.approx(
        expected.bounds
    )
    assert -0.3 < west.centroid_lon < -0.1 and 51.8 < west.centroid_lat < 52.0  # near Stevenage
    assert west.display_geometry["type"] == "Polygon"
    [run] = runs(engine)
    assert (run.kind, run.status, run.rows_stored) == ("boundaries_ward", "ok", 2)
    assert run.details["files"][0]["crs"] == "EPSG:27700"


def test_geopackage_with_parent_codes_in_the_file(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "wards.gpkg",
        [
            {"WD21CD": "E05000001", "WD21NM": "West", "LAD21CD": "E07000243"},
            {"WD21CD": "E05000002", "WD21NM": "East", "LAD21CD": "E07000243"},
        ],
        [WEST, EAST],
        crs="EPSG:27700",
        layer="wards",
    )
    summary = import_boundaries(engine=engine, path=path, level="ward")
    assert summary.rows_stored == 2
    assert "parents from the file for 2" in (summary.message or "")
    got = areas(engine, "ward")
    assert {a.parent_code for a in got.values()} == {"E07000243"}
    assert {a.parent_source for a in got.values()} == {"file"}
    assert got["E05000002"].area_km2 == pytest.approx(1.0, rel=1e-6)


def test_shapefile_with_prj(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "lsoa.shp",
        [{"LSOA21CD": "E01000001", "LSOA21NM": "Stevenage 001A"}],
        [WEST],
        crs="EPSG:27700",
    )
    assert import_boundaries(engine=engine, path=path, level="lsoa").rows_stored == 1
    assert areas(engine, "lsoa")["E01000001"].name == "Stevenage 001A"


def test_parents_by_largest_overlap_and_rederived_when_districts_come_later(
    engine: sa.Engine, tmp_path: Path
) -> None:
    # A ward straddling two districts, mostly (75%) in the second.
    straddle = shapely.box(526_250, 224_000, 527_250, 225_000)
    wards = write(
        tmp_path / "wards.geojson",
        [{"WD21CD": "E05000001", "WD21NM": "West"}, {"WD21CD": "E05000009", "WD21NM": "Straddle"}],
        [WEST, straddle],
        crs="EPSG:27700",
    )
    first = import_boundaries(engine=engine, path=wards, level="ward")
    assert "no district areas in the store yet" in (first.message or "")
    assert {a.parent_code for a in areas(engine, "ward").values()} == {None}

    second = import_boundaries(engine=engine, path=districts_27700(tmp_path), level="district")
    assert "parents of 2 ward areas re-derived" in (second.message or "")
    got = areas(engine, "ward")
    assert got["E05000001"].parent_code == "E07000243"
    assert got["E05000009"].parent_code == "E07000099"  # the larger share
    assert got["E05000009"].parent_source == "overlay"

    third = import_boundaries(engine=engine, path=wards, level="ward")
    assert "parents by overlay for 2 of 2" in (third.message or "")


def test_bow_tie_polygon_is_repaired(engine: sa.Engine, tmp_path: Path) -> None:
    bow_tie = shapely.Polygon([(0, 0), (0.01, 0.01), (0.01, 0), (0, 0.01), (0, 0)])
    bow_tie = shapely.affinity.translate(bow_tie, -0.2, 51.9)
    assert not bow_tie.is_valid
    path = geojson_text(tmp_path / "tc.geojson", [({"code": "TC1", "name": "Bow"}, bow_tie)], None)
    summary = import_boundaries(engine=engine, path=path, level="town_centre")
    assert summary.rows_stored == 1
    assert "1 invalid geometries repaired" in (summary.message or "")
    geom = from_geojson_dicts([areas(engine, "town_centre")["TC1"].geometry])[0]
    assert geom.is_valid and geom.geom_type == "MultiPolygon"
    assert geom.area == pytest.approx(0.01 * 0.01 / 2)  # both triangles kept


def test_null_geometry_is_quarantined_and_the_rest_kept(engine: sa.Engine, tmp_path: Path) -> None:
    path = geojson_text(
        tmp_path / "wards.geojson",
        [
            ({"WD13CD": "E05000001", "WD13NM": "Kept"}, lonlat(WEST)),
            ({"WD13CD": "E05000002", "WD13NM": "No shape"}, None),
            ({"WD13CD": "", "WD13NM": "No code"}, lonlat(EAST)),
        ],
        "urn:ogc:def:crs:OGC:1.3:CRS84",
    )
    summary = import_boundaries(engine=engine, path=path, level="ward")
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (3, 1, 2)
    assert [str(p) for p in summary.problems] == [
        f"{path}, row 2, field 'geometry': E05000002 has no geometry",
        f"{path}, row 3, field 'WD13CD': has no area code",
    ]
    assert set(areas(engine, "ward")) == {"E05000001"}
    with sa.orm.Session(engine) as session:
        rows = session.scalars(sa.select(QuarantinedRow).order_by(QuarantinedRow.id)).all()
    assert [(r.kind, r.source, r.row_number, r.field) for r in rows] == [
        ("boundaries_ward", str(path), 2, "geometry"),
        ("boundaries_ward", str(path), 3, "WD13CD"),
    ]
    assert rows[0].raw == {"WD13CD": "E05000002", "WD13NM": "No shape"}


def test_eastings_without_a_crs_are_read_as_british_national_grid(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = geojson_text(
        tmp_path / "wards.geojson", [({"WD21CD": "E05000001", "WD21NM": "West"}, WEST)], None
    )
    summary = import_boundaries(engine=engine, path=path, level="ward")
    assert "declares no coordinate system but its coordinates are eastings/northings" in (
        summary.message or ""
    )
    assert areas(engine, "ward")["E05000001"].area_km2 == pytest.approx(1.0, rel=1e-6)


def test_declared_crs_that_contradicts_the_coordinates_is_refused(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = geojson_text(
        tmp_path / "wards.geojson",
        [({"WD21CD": "E05000001", "WD21NM": "West"}, WEST)],
        "urn:ogc:def:crs:OGC:1.3:CRS84",
    )
    with pytest.raises(InputFileError, match=r"but its coordinates .* are not degrees") as err:
        import_boundaries(engine=engine, path=path, level="ward")
    assert str(path) in err.value.message
    assert areas(engine, "ward") == {}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("notes.txt", "hello", "is not a boundary file (.txt)"),
        ("crimes.csv", "Crime ID,Month\n1,2021-01\n", "is not a boundary file (.csv)"),
        ("broken.geojson", "{not json", "cannot be read as GeoJSON"),
    ],
)
def test_wrong_file_is_one_clear_error_naming_the_file(
    engine: sa.Engine, tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputFileError) as err:
        import_boundaries(engine=engine, path=path, level="ward")
    assert err.value.message.startswith(f"{path}: {expected}")
    assert areas(engine, "ward") == {}
    [run] = runs(engine)
    assert (run.kind, run.status, run.source) == ("boundaries_ward", "failed", str(path))


def test_missing_code_field_lists_the_fields_found(engine: sa.Engine, tmp_path: Path) -> None:
    path = geojson_text(
        tmp_path / "wards.geojson",
        [({"ID": "1", "LABEL": "West", "AREA_HA": 100}, lonlat(WEST))],
        None,
    )
    with pytest.raises(InputFileError) as err:
        import_boundaries(engine=engine, path=path, level="ward")
    assert (
        "has no code field for level 'ward' (fields found: ID, LABEL, AREA_HA)" in err.value.message
    )
    assert err.value.hint == "name it with --code-field FIELD"
    # Naming the fields makes it importable.
    summary = import_boundaries(
        engine=engine, path=path, level="ward", code_field="id", name_field="label"
    )
    assert areas(engine, "ward")["1"].name == "West" and summary.rows_stored == 1


def test_ambiguous_code_fields_are_refused(engine: sa.Engine, tmp_path: Path) -> None:
    path = geojson_text(
        tmp_path / "wards.geojson",
        [
            (
                {"WD13CD": "E05000001", "WD13NM": "Old", "WD21CD": "E05010001", "WD21NM": "New"},
                lonlat(WEST),
            )
        ],
        None,
    )
    with pytest.raises(
        InputFileError, match="several code fields that could be the ward code: WD13CD, WD21CD"
    ):
        import_boundaries(engine=engine, path=path, level="ward")
    import_boundaries(engine=engine, path=path, level="ward", code_field="WD21CD")
    assert areas(engine, "ward")["E05010001"].name == "New"  # the name twin of the chosen code


def test_a_ward_file_given_as_districts_says_what_it_looks_like(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = geojson_text(
        tmp_path / "wards.geojson", [({"WD21CD": "E05000001", "WD21NM": "W"}, lonlat(WEST))], None
    )
    with pytest.raises(InputFileError, match="looks like a ward file"):
        import_boundaries(engine=engine, path=path, level="district")


def test_reimport_is_idempotent_and_replace_removes_stale_areas(
    engine: sa.Engine, tmp_path: Path
) -> None:
    both = write(
        tmp_path / "both.geojson",
        [{"WD21CD": "E05000001", "WD21NM": "West"}, {"WD21CD": "E05000002", "WD21NM": "East"}],
        [WEST, EAST],
        crs="EPSG:27700",
    )
    import_boundaries(engine=engine, path=both, level="ward")
    before = {c: (a.id, a.geometry) for c, a in areas(engine, "ward").items()}
    again = import_boundaries(engine=engine, path=both, level="ward")
    assert again.message.startswith("0 new, 2 updated")
    assert {c: (a.id, a.geometry) for c, a in areas(engine, "ward").items()} == before

    renamed = write(
        tmp_path / "west.geojson",
        [{"WD21CD": "E05000001", "WD21NM": "West Renamed"}],
        [WEST],
        crs="EPSG:27700",
    )
    import_boundaries(engine=engine, path=renamed, level="ward")
    assert {c: a.name for c, a in areas(engine, "ward").items()} == {
        "E05000001": "West Renamed",
        "E05000002": "East",
    }
    summary = import_boundaries(engine=engine, path=renamed, level="ward", replace=True)
    assert "1 removed" in (summary.message or "")
    assert set(areas(engine, "ward")) == {"E05000001"}


def test_a_folder_imports_every_boundary_file_in_it(engine: sa.Engine, tmp_path: Path) -> None:
    folder = tmp_path / "by_lad"
    folder.mkdir()
    write(
        folder / "a.geojson", [{"WD21CD": "E05000001", "WD21NM": "West"}], [WEST], crs="EPSG:27700"
    )
    write(
        folder / "b.geojson", [{"WD21CD": "E05000002", "WD21NM": "East"}], [EAST], crs="EPSG:27700"
    )
    (folder / "README.txt").write_text("not a boundary file, ignored in a folder")
    summary = import_boundaries(engine=engine, path=folder, level="ward")
    assert summary.rows_stored == 2 and summary.source == str(folder)


def test_cli_imports_and_reports_bad_files_in_one_line(app_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.cli import app

    runner = CliRunner()
    good = write(
        tmp_path / "wards.geojson",
        [{"WD21CD": "E05000001", "WD21NM": "West"}],
        [WEST],
        crs="EPSG:27700",
    )
    result = runner.invoke(app, ["import", "boundaries", str(good), "--level", "ward"])
    assert result.exit_code == 0, result.output
    assert "1 read, 1 stored (1 new, 0 updated" in result.output
    bad = tmp_path / "wards.csv"
    bad.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["import", "boundaries", str(bad), "--level", "ward"])
    assert result.exit_code == 1
    assert f"Error: {bad}: is not a boundary file (.csv)" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["import", "boundaries", str(good), "--level", "county"])
    assert result.exit_code == 1 and "Unknown level 'county'" in result.output
    result = runner.invoke(app, ["areas", "find", "wes"])
    assert result.exit_code == 0 and "E05000001" in result.output
    # Several files of one level at once (ONS-derived sets often come one file per district).
    other = write(
        tmp_path / "more-wards.geojson",
        [{"WD21CD": "E05000002", "WD21NM": "East"}],
        [EAST],
        crs="EPSG:27700",
    )
    result = runner.invoke(app, ["import", "boundaries", str(good), str(other), "--level", "ward"])
    assert result.exit_code == 0, result.output
    assert "2 files in" in result.output and "2 read, 2 stored (1 new, 1 updated" in result.output


def test_repaired_geometry_measures_are_finite(engine: sa.Engine, tmp_path: Path) -> None:
    ring = shapely.Polygon(
        [(0, 0), (2, 0), (2, 2), (0, 2), (0, 0)], [[(1, 1), (3, 1), (3, 3), (1, 3), (1, 1)]]
    )
    ring = shapely.affinity.scale(
        shapely.affinity.translate(ring, -0.3, 51.8), 0.01, 0.01, origin=(-0.3, 51.8)
    )
    assert not ring.is_valid  # hole outside the shell
    path = geojson_text(tmp_path / "tc.geojson", [({"code": "TC9", "name": "Odd"}, ring)], None)
    import_boundaries(engine=engine, path=path, level="town_centre")
    area = areas(engine, "town_centre")["TC9"]
    assert np.isfinite([area.area_km2, area.centroid_lat, area.centroid_lon]).all()
    assert from_geojson_dicts([area.geometry])[0].is_valid


def test_areas_are_written_in_short_transactions_after_they_are_computed(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of boundaries take seconds to measure and convert: that is done before the
    store is written, and the areas are then written a batch at a time, so another writer (a
    woman's report) gets in before every batch on SQLite's one write lock."""
    import sqlite3

    from tests.reports.county import write_tiny_county

    from saferstreets import db
    from saferstreets.areas import service

    monkeypatch.setattr(service, "AREA_BATCH", 1)
    monkeypatch.setitem(db.WRITE_HOLD_S, engine.dialect.name, 0.0)  # commit after every batch
    got_in: list[str] = []
    real_execute = sa.orm.Session.execute

    def another_writer_first(self, statement, *args, **kw):  # type: ignore[no-untyped-def]
        writes_areas = isinstance(statement, (sa.Insert, sa.Update)) and (
            getattr(statement.table, "name", None) == "area"
        )
        if writes_areas and engine.dialect.name == "sqlite":
            other = sqlite3.connect(engine.url.database, timeout=0)  # locked is locked
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                got_in.append(type(statement).__name__)
            finally:
                other.close()
        return real_execute(self, statement, *args, **kw)

    monkeypatch.setattr(sa.orm.Session, "execute", another_writer_first)
    files = write_tiny_county(tmp_path / "county")
    summaries = [
        service.import_boundaries(engine=engine, path=path, level=level, assign=False)
        for level, path in files.items()
    ]
    monkeypatch.undo()
    assert [s.status for s in summaries] == ["ok"] * len(files)
    with session_scope(engine) as session:
        held = session.execute(sa.select(Area.kind, sa.func.count()).group_by(Area.kind)).all()
        orphans = session.scalar(
            sa.select(sa.func.count())
            .select_from(Area)
            .where(Area.kind == "ward", Area.parent_code.is_(None))
        )
    assert sum(n for _, n in held) == sum(s.rows_stored for s in summaries)
    assert orphans == 0  # wards found their districts, by the file or by overlay
    if engine.dialect.name == "sqlite":
        assert len(got_in) >= sum(s.rows_stored for s in summaries)  # before every area's batch
