"""Every file reader and validator, attacked with hypothesis, and the bombs by hand.

The property each time: a clear ``AppError`` (the one error class the CLI and the web show
without a traceback) or a result; never another exception. Where a store is written: good rows
kept, bad rows quarantined (stored + quarantined = read), and a refused file writes nothing.
Every test bounds its examples (``max_examples``) and each example is small, so the suite stays
fast; the figures are in bench/results/hostile.md.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.crime.policeuk_files import FORCE, crime_id, street_row, write_street
from tests.hostile.files import sheet_xml, xlsx, zeros_member
from tests.surveys.survey_files import mapping_toml, surveymonkey_grid, write_csv, write_mapping

from saferstreets.crime.policeuk import STREET_COLUMNS, read_file
from saferstreets.errors import AppError, InputFileError
from saferstreets.surveys.mapping import load_mapping, mapping_from_dict
from saferstreets.surveys.reader import read_grids

SMALL = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STORE = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Cells as hostile exports hold them: formula triggers, quotes and separators, control
# characters, astral characters, numbers out of range, and the plausible values.
CELL = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["=cmd|' /C calc'!A0", '"', '""', ",", "\r\n", "\x00", "\ufeff", "NaN", "1e400", "-91",
         "181", "2021-13", "0000-00", "😀", "-0.339", "51.75", "2021-01"]
    ),
)  # fmt: skip


def _table_count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)


# --- police.uk CSV ----------------------------------------------------------------------------


@SMALL
@given(st.binary(max_size=4000))
def test_policeuk_reader_any_bytes(data: bytes) -> None:
    with contextlib.suppress(AppError):
        read_file(data, "any.csv")


@SMALL
@given(
    rows=st.lists(st.lists(CELL, min_size=0, max_size=14), max_size=12),
    header_cut=st.integers(min_value=0, max_value=len(STREET_COLUMNS)),
)
def test_policeuk_reader_hostile_rows(rows: list[list[str]], header_cut: int) -> None:
    header = (
        STREET_COLUMNS[: len(STREET_COLUMNS) - header_cut] if header_cut < 3 else STREET_COLUMNS
    )
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    try:
        parsed = read_file(buffer.getvalue().encode("utf-8", "surrogatepass"), "x-street.csv")
    except (AppError, UnicodeEncodeError):
        return
    kept = parsed.frame.height
    lost = {p.row_number for p in parsed.problems}
    assert kept + len(lost) + parsed.details.get("duplicates_in_file", 0) <= parsed.rows_read + 1


@STORE
@given(bad=st.lists(st.lists(CELL, min_size=12, max_size=12), min_size=1, max_size=6))
def test_crime_import_keeps_good_rows_and_quarantines_bad(
    engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory, bad: list[list[str]]
) -> None:
    from saferstreets.crime.service import import_crime

    folder = tmp_path_factory.mktemp("crime")
    good = [street_row(n) for n in range(3)]
    path = write_street(folder / "2021-01-hertfordshire-street.csv", good + bad)
    before = _table_count(engine, "crime")
    summaries = import_crime(engine=engine, paths=[path], assign_areas=False)
    (summary,) = [s for s in summaries if s.status != "ignored"]
    stored = _table_count(engine, "crime") - before
    if summary.status in ("failed", "skipped"):  # skipped: hypothesis sent the same file again
        assert stored == 0 and summary.message
        return
    assert stored == summary.rows_stored
    assert summary.rows_stored + summary.rows_quarantined + summary.rows_duplicate == (
        summary.rows_read
    )


# --- zips: bombs and path traversal -----------------------------------------------------------


@STORE
@given(
    names=st.lists(
        st.one_of(
            st.sampled_from(
                ["../evil-street.csv", "../../etc/2021-01-x-street.csv", "/abs/2021-01-street.csv",
                 "C:/win/2021-01-street.csv", "a/../../2021-01-street.csv", "ok/2021-01-street.csv",
                 "..\\..\\2021-01-street.csv"]
            ),
            st.text(min_size=1, max_size=30).map(lambda t: t + "-street.csv"),
        ),
        min_size=1,
        max_size=4,
        unique=True,
    )
)  # fmt: skip
def test_zip_member_names_never_lead_outside(
    engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory, names: list[str]
) -> None:
    from saferstreets.crime.service import import_crime
    from saferstreets.ingest.archives import unsafe_name

    folder = tmp_path_factory.mktemp("zips")
    inner = folder / "inner"
    archive = inner / "download.zip"
    inner.mkdir()
    header = ",".join(STREET_COLUMNS) + "\n"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, name in enumerate(names):
            row = ",".join(street_row(1000 + i))
            try:
                zf.writestr(name, header + row + "\n")
            except (ValueError, UnicodeEncodeError, IndexError):
                continue  # zipfile itself cannot write it (IndexError: a name cut to '' at NUL)
    listed = zipfile.ZipFile(archive).namelist()
    before = sorted(p.name for p in folder.parent.iterdir())
    summaries = import_crime(engine=engine, paths=[archive], assign_areas=False)
    for name in listed:
        source = f"{archive}!{name}"
        mine = [s for s in summaries if s.source == source]
        if unsafe_name(name):
            assert mine and mine[0].status == "ignored", name
            assert "leads outside the archive" in (mine[0].message or "")
    assert sorted(p.name for p in folder.parent.iterdir()) == before  # nothing written outside
    assert sorted(p.name for p in inner.iterdir()) == ["download.zip"]


def test_a_zip_bomb_is_refused_and_stores_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    from saferstreets.crime.service import import_crime

    bomb = tmp_path / "bomb.zip"
    header = (",".join(STREET_COLUMNS) + "\n").encode()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("2021-01-x-street.csv", header + (",".join(street_row(1)) + "\n").encode())
        zeros_member(zf, "2021-02-x-street.csv", header, 64 << 20)
    packed = zipfile.ZipFile(bomb).getinfo("2021-02-x-street.csv")
    assert packed.file_size > 500 * packed.compress_size  # it is a bomb
    summaries = import_crime(engine=engine, paths=[bomb], assign_areas=False)
    by_name = {s.source.rsplit("!", 1)[-1]: s for s in summaries}
    assert by_name["2021-02-x-street.csv"].status == "failed"
    assert "as a zip bomb does" in (by_name["2021-02-x-street.csv"].message or "")
    assert by_name["2021-01-x-street.csv"].rows_stored == 1  # the good file is kept
    assert _table_count(engine, "crime") == 1


# --- XLSX -------------------------------------------------------------------------------------


@SMALL
@given(
    grid=st.lists(st.lists(st.text(max_size=30), min_size=1, max_size=6), min_size=1, max_size=6)
)
def test_xlsx_cells_are_read_or_refused(
    tmp_path_factory: pytest.TempPathFactory, grid: Any
) -> None:
    path = tmp_path_factory.mktemp("x") / "export.xlsx"
    path.write_bytes(xlsx(sheet_xml(grid)))
    try:
        grids, _, _ = read_grids(path, sheet=None)
    except InputFileError:
        return  # e.g. control characters, which XML cannot hold
    assert list(grids) == ["Responses"]


@SMALL
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8)
)
def test_damaged_xlsx_is_refused_clearly(
    tmp_path_factory: pytest.TempPathFactory, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(xlsx(sheet_xml([["Respondent ID", "Q1"], ["1", "Very safe"]])))
    for where, value in flips:
        data[where % len(data)] = value
    path = tmp_path_factory.mktemp("x") / "damaged.xlsx"
    path.write_bytes(bytes(data))
    with contextlib.suppress(InputFileError):
        read_grids(path, sheet=None)


def test_xlsx_bombs_are_refused(tmp_path: Path) -> None:
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    cases = {
        "far cell": xlsx(sheet_xml([["a", "b"]], extra=far)),
        "dimension": xlsx(sheet_xml([["a", "b"]], dimension="A1:XFD1048576")),
    }
    shared = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(cases["far cell"])) as src,
        zipfile.ZipFile(shared, "w", zipfile.ZIP_DEFLATED) as zf,
    ):
        for info in src.infolist():
            if info.filename != "xl/sharedStrings.xml":
                zf.writestr(info.filename, src.read(info.filename).replace(far.encode(), b""))
        zeros_member(zf, "xl/sharedStrings.xml", b"<sst>", 600 << 20)
    cases["shared strings"] = shared.getvalue()
    messages = {
        "far cell": "17,179,869,184 cells",
        "dimension": "spanning 1,048,576 rows by 16,384 columns",
        "shared strings": "as a zip bomb does",
    }
    for label, data in cases.items():
        path = tmp_path / f"{label}.xlsx"
        path.write_bytes(data)
        with pytest.raises(InputFileError, match=messages[label]):
            read_grids(path, sheet=None)


# --- GeoJSON and Shapefile (areas import) -----------------------------------------------------

COORD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([-0.3, 51.75, 1e300, -1e300, 0.0]),
)
RING = st.lists(st.tuples(COORD, COORD), min_size=0, max_size=6).map(lambda r: [list(p) for p in r])
GEOMETRY = st.one_of(
    st.none(),
    st.builds(lambda rings: {"type": "Polygon", "coordinates": rings}, st.lists(RING, max_size=2)),
    st.builds(lambda p: {"type": "Point", "coordinates": list(p)}, st.tuples(COORD, COORD)),
    st.builds(lambda t: {"type": t, "coordinates": "x"}, st.text(max_size=12)),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)  # fmt: skip
FEATURE = st.builds(
    lambda code, name, geometry: {
        "type": "Feature",
        "properties": {"WD21CD": code, "WD21NM": name},
        "geometry": geometry,
    },
    st.one_of(st.sampled_from(["E05000001", "E05000002"]), st.text(max_size=12), st.none()),
    st.one_of(st.text(max_size=20), st.integers(), st.none()),
    GEOMETRY,
)
DOC = st.one_of(
    st.builds(
        lambda fs: {"type": "FeatureCollection", "features": fs}, st.lists(FEATURE, max_size=4)
    ),
    JSON,
)  # fmt: skip


@STORE
@given(doc=DOC)
def test_geojson_boundaries_import_or_refuse_whole(
    engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory, doc: Any
) -> None:
    from saferstreets.areas.service import import_boundaries

    path = tmp_path_factory.mktemp("g") / "wards.geojson"
    path.write_text(json.dumps(doc))
    before = _table_count(engine, "area")
    try:
        summary = import_boundaries(engine=engine, path=path, level="ward", assign=False)
    except AppError:
        assert _table_count(engine, "area") == before  # refused whole: nothing written
        return
    assert _table_count(engine, "area") - before <= summary.rows_stored


@pytest.fixture(scope="module")
def shapefile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    from tests.areas.areas_testfiles import EAST, WEST, write

    folder = tmp_path_factory.mktemp("shp")
    write(
        folder / "wards.shp",
        [{"WD21CD": "E05000001", "WD21NM": "West"}, {"WD21CD": "E05000002", "WD21NM": "East"}],
        [WEST, EAST],
        "EPSG:27700",
    )
    return {p.suffix: p.read_bytes() for p in folder.iterdir()}


@STORE
@given(
    part=st.sampled_from([".shp", ".shx", ".dbf", ".prj"]),
    flips=st.lists(st.tuples(st.integers(0, 10**5), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 400)),
)
def test_damaged_shapefiles_import_or_refuse_whole(
    engine: sa.Engine,
    tmp_path_factory: pytest.TempPathFactory,
    shapefile: dict[str, bytes],
    part: str,
    flips: list[tuple[int, int]],
    cut: int | None,
) -> None:
    from saferstreets.areas.service import import_boundaries

    folder = tmp_path_factory.mktemp("s")
    for suffix, data in shapefile.items():
        body = bytearray(data)
        if suffix == part:
            for where, value in flips:
                body[where % len(body)] = value
            if cut is not None:
                body = body[:cut]
        (folder / f"wards{suffix}").write_bytes(bytes(body))
    before = _table_count(engine, "area")
    try:
        import_boundaries(engine=engine, path=folder / "wards.shp", level="ward", assign=False)
    except AppError:
        assert _table_count(engine, "area") == before


# --- survey mappings and survey files ---------------------------------------------------------


SECTIONS = ["wave", "file", "columns", "age_bands", "likert", "multi_select", "x"]


@SMALL
@given(data=st.dictionaries(st.sampled_from(SECTIONS), JSON, max_size=6))
def test_survey_mapping_dicts_are_checked(data: dict[str, Any]) -> None:
    try:
        mapping_from_dict(data)
    except AppError as exc:
        assert exc.message


@SMALL
@given(text=st.text(max_size=400), cut=st.integers(0, 3000))
def test_survey_mapping_files_are_checked(
    tmp_path_factory: pytest.TempPathFactory, text: str, cut: int
) -> None:
    folder = tmp_path_factory.mktemp("m")
    for body in (text, mapping_toml()[:cut] + text):
        path = write_mapping(folder, body)
        try:
            load_mapping(path)
        except AppError as exc:
            assert exc.message


@STORE
@given(cells=st.lists(st.tuples(CELL, CELL, CELL, CELL), min_size=1, max_size=5))
def test_survey_import_keeps_good_rows_and_quarantines_bad(
    engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory, cells: list[tuple[str, ...]]
) -> None:
    from saferstreets.surveys.service import import_survey

    folder = tmp_path_factory.mktemp("survey")
    grid = surveymonkey_grid()
    for i, (age, postcode, dark, text) in enumerate(cells):
        row = list(grid[2])
        row[0] = f"9{i}{len(str(cells))}"
        row[2], row[4], row[5], row[-1] = age, postcode, dark, text
        grid.append(row)
    path = write_csv(folder / "export.csv", grid)
    mapping = write_mapping(folder, mapping_toml(name=f"Wave {len(str(cells))} {id(cells)}"))
    before = _table_count(engine, "survey_response")
    try:
        summary = import_survey(engine=engine, path=path, mapping=mapping)
    except AppError:
        assert _table_count(engine, "survey_response") == before
        return
    stored = _table_count(engine, "survey_response") - before
    assert stored == summary.rows_stored
    assert summary.rows_stored + summary.rows_quarantined <= summary.rows_read


def test_force_name_in_rows_is_plain_text() -> None:
    """The CSV helper's FORCE is what the good rows carry (a guard on the fixtures above)."""
    assert street_row(1)[2] == FORCE and street_row(1)[0] == crime_id(1)
