"""``import places``: each published layout, areas assigned, idempotent, bad rows quarantined."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
import sqlalchemy as sa
from tests.areas.areas_testfiles import E0, N0, lonlat
from tests.places import placefiles as pf
from typer.testing import CliRunner

from saferstreets.ingest.models import QuarantinedRow
from saferstreets.places.models import Place
from saferstreets.places.service import import_places

RES = 9


def _point(x: float, y: float) -> tuple[float, float]:
    p = lonlat(shapely.Point(x, y))
    return p.y, p.x


WEST_LAT, WEST_LON = _point(E0 + 300, N0 + 300)
EAST_LAT, EAST_LON = _point(E0 + 1600, N0 + 600)


def _places(engine: sa.Engine) -> dict[str, Place]:
    with sa.orm.Session(engine) as s:
        return {f"{p.source}:{p.source_id}": p for p in s.scalars(sa.select(Place))}


def _quarantined(engine: sa.Engine) -> list[tuple[int | None, str | None, str]]:
    with sa.orm.Session(engine) as s:
        rows = s.scalars(sa.select(QuarantinedRow).order_by(QuarantinedRow.row_number))
        return [(r.row_number, r.field, r.reason) for r in rows]


def test_os_open_names_without_header_in_bng_assigned_and_idempotent(
    engine: sa.Engine, tmp_path: Path
) -> None:
    pf.setup_areas(engine, tmp_path)
    path = pf.os_open_names(tmp_path / "TL22.csv")
    [summary] = import_places(engine=engine, paths=[path], h3_resolution=RES)
    assert (summary.status, summary.details["layout"]) == ("ok", "os_open_names")
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (7, 4, 3)
    places = _places(engine)
    lane = places["os_open_names:osgb4000000074567890"]
    assert (lane.name, lane.kind, lane.search_key) == ("Mill Lane", "street", "mill lane")
    assert (lane.ward_code, lane.district_code) == (pf.WEST_CODE, pf.DISTRICT_CODE)
    assert lane.latitude == pytest.approx(_point(E0 + 500, N0 + 500)[0], abs=1e-6)
    assert lane.h3_cell and lane.locality == "Stevenage"
    station = places["os_open_names:osgb4000000074500001"]
    assert (station.kind, station.search_key, station.ward_code) == (
        "station", "stanwell station", pf.EAST_CODE,
    )  # fmt: skip
    postcode = places["os_open_names:SG11AA"]
    assert (postcode.kind, postcode.postcode_key) == ("postcode", "SG11AA")
    assert _quarantined(engine) == [
        (5, "NAME1", "is empty: a place needs a name"),
        (6, "GEOMETRY_X", "is not a number"),
        (7, None, "has 33 columns, not 34"),
    ]
    [again] = import_places(engine=engine, paths=[path], h3_resolution=RES)
    assert (again.rows_stored, again.rows_duplicate, again.rows_quarantined) == (0, 4, 0)
    assert len(_places(engine)) == 4
    assert len(_quarantined(engine)) == 3


def test_onspd_keeps_live_postcodes_and_leaves_out_terminated(
    engine: sa.Engine, tmp_path: Path
) -> None:
    pf.setup_areas(engine, tmp_path)
    path = pf.onspd(tmp_path / "ONSPD_NOV_2026_UK.csv",
                    {"SG1 1AB": (WEST_LAT, WEST_LON), "SG1 2CD": (EAST_LAT, EAST_LON)})  # fmt: skip
    [summary] = import_places(engine=engine, paths=[path], h3_resolution=RES)
    assert summary.details["layout"] == "onspd"
    assert (summary.rows_stored, summary.rows_quarantined) == (2, 2)
    assert (summary.details["terminated"], summary.details["no_grid_reference"]) == (1, 1)
    places = _places(engine)
    assert set(places) == {"onspd:SG1 1AB", "onspd:SG1 2CD"}
    assert places["onspd:SG1 2CD"].ward_code == pf.EAST_CODE
    assert _quarantined(engine) == [
        (6, "pcds", "'NOT A CODE' is not a postcode"),
        (7, "lat", "is not a number"),
    ]


def test_naptan_stops_and_stations(engine: sa.Engine, tmp_path: Path) -> None:
    pf.setup_areas(engine, tmp_path)
    path = pf.naptan(tmp_path / "Stops.csv", WEST_LAT, WEST_LON)
    [summary] = import_places(engine=engine, paths=[path], h3_resolution=RES)
    assert summary.details == {"layout": "naptan", "inactive": 1}
    places = _places(engine)
    stop = places["naptan:1000DSGH0001"]
    assert (stop.name, stop.kind, stop.ward_code) == ("Mill Lane (Stop A)", "stop", pf.WEST_CODE)
    station = places["naptan:9100STEVNGE"]  # given by easting and northing only
    assert (station.kind, station.ward_code) == ("station", pf.EAST_CODE)
    assert _quarantined(engine) == [(5, "Latitude", "12.0 is not a latitude in the UK")]


def test_landmarks_csv_and_geojson(engine: sa.Engine, tmp_path: Path) -> None:
    pf.setup_areas(engine, tmp_path)
    paths = [pf.landmarks_csv(tmp_path / "landmarks.csv", WEST_LAT, WEST_LON),
             pf.landmarks_geojson(tmp_path / "landmarks.geojson", EAST_LAT, EAST_LON)]  # fmt: skip
    summaries = import_places(engine=engine, paths=paths, h3_resolution=RES)
    assert [s.rows_stored for s in summaries] == [2, 1]
    places = {p.name: p for p in _places(engine).values()}
    assert (places["Station car park"].kind, places["Station car park"].properties) == (
        "landmark", {"type": "car park"},
    )  # fmt: skip
    assert places["King George's Park"].kind == "park"
    assert places["The Underpass"].ward_code == pf.EAST_CODE
    assert _quarantined(engine) == [
        (2, "geometry", "is not a Point"),
        (4, "lat", "is not a number"),
        (5, "name", "is empty: a landmark needs a name"),
    ]


def test_a_file_in_no_known_layout_fails_with_a_reason(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "mystery.csv"
    path.write_text("a,b,c\n1,2,3\n")
    [summary] = import_places(engine=engine, paths=[path], h3_resolution=RES)
    assert summary.status == "failed"
    assert "is not in a layout the gazetteer knows" in summary.message
    assert _places(engine) == {}


def test_cli_import_shows_progress_summary_and_quarantine_reasons(
    app_env: object, tmp_path: Path
) -> None:
    from saferstreets.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    path = pf.os_open_names(tmp_path / "TL22.csv")
    result = runner.invoke(app, ["import", "places", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Places import" in result.output
    assert "TL22.csv, row 6, field 'GEOMETRY_X': is not a number" in result.output
    mystery = tmp_path / "mystery.csv"
    mystery.write_text("a,b\n")
    result = runner.invoke(app, ["import", "places", str(mystery)], terminal_width=200)
    assert result.exit_code == 1
    assert "is not in a layout the gazetteer knows" in result.output
    assert "Traceback" not in result.output


def test_real_railway_stations_hertfordshire(engine: sa.Engine, shared_data: Path) -> None:
    """2,606 real GB stations (davwheat/uk-railway-stations, ODbL): all kept, found by name."""
    from saferstreets.places.search import search_places

    path = shared_data / "uk-railway-stations-davwheat" / "stations.csv"
    [summary] = import_places(engine=engine, paths=[path], h3_resolution=RES)
    assert summary.details["layout"] == "rail_stations"
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (2606, 2606, 0)
    with sa.orm.Session(engine) as session:
        [first, *_] = search_places(session=session, text="Welwyn Garden City station")
        assert (first.name, first.kind) == ("Welwyn Garden City", "station")
        assert first.latitude == pytest.approx(51.80, abs=0.01)
        typo = search_places(session=session, text="Stevenidge")
        assert typo and typo[0].name == "Stevenage"
        near_tring = search_places(session=session, text="hert", near=(51.79, -0.08))
        assert near_tring[0].name == "Hertford East"


def test_a_long_file_leaves_the_write_lock_free_between_batches(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the embedded store another writer (a woman's report) gets in after every batch: a
    national gazetteer file must not hold SQLite's one write lock for the whole import."""
    import sqlite3

    from saferstreets.places import service

    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock: PostgreSQL locks rows")
    pf.setup_areas(engine, tmp_path)
    path = pf.os_open_names(tmp_path / "TL22.csv")
    monkeypatch.setattr(service, "BATCH", 2)
    store = engine.url.database
    got_in: list[int] = []

    def another_writer(what: str, done: int | None = None, total: int | None = None) -> None:
        if what.startswith("rows"):
            other = sqlite3.connect(store, timeout=0)  # no waiting: locked is locked
            try:
                other.execute("BEGIN IMMEDIATE")  # takes the write lock, or fails at once
                other.execute("ROLLBACK")
                got_in.append(done or 0)
            finally:
                other.close()

    [summary] = import_places(
        engine=engine, paths=[path], h3_resolution=RES, progress=another_writer
    )
    assert summary.status == "ok" and summary.rows_stored == 4
    assert got_in == [2, 4, 6, 7]  # after each batch of 2 rows read (7 in the file)
