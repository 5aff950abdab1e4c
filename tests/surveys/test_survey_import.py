"""Importing survey exports: each tool's layout, and each kind of bad input (message and store)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.surveys.survey_files import (
    Q_AREA,
    Q_CONCERNS,
    Q_DARK,
    ROWS,
    mapping_toml,
    msforms_grid,
    qualtrics_grid,
    surveymonkey_grid,
    write_csv,
    write_mapping,
    write_xlsx,
)

from saferstreets.areas.models import Area
from saferstreets.errors import InputFileError
from saferstreets.ingest.models import ImportRun, QuarantinedRow
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.surveys.service import import_survey


def responses(engine: sa.Engine) -> dict[str, SurveyResponse]:
    with sa.orm.Session(engine) as session:
        return {r.respondent_ref: r for r in session.scalars(sa.select(SurveyResponse))}


def quarantined(engine: sa.Engine) -> list[QuarantinedRow]:
    with sa.orm.Session(engine) as session:
        return list(session.scalars(sa.select(QuarantinedRow).order_by(QuarantinedRow.id)))


def count(engine: sa.Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def runs(engine: sa.Engine) -> list[ImportRun]:
    with sa.orm.Session(engine) as session:
        return list(session.scalars(sa.select(ImportRun).order_by(ImportRun.id)))


def test_surveymonkey_xlsx_two_row_headers(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "monkey.xlsx", {"Responses": surveymonkey_grid()})
    summary = import_survey(
        engine=engine, path=path, mapping=write_mapping(tmp_path, mapping_toml())
    )
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (3, 3, 0)
    assert summary.status == "ok"
    got = responses(engine)
    first, second, third = got["1001"], got["1002"], got["1003"]
    assert first.feel_safe == {
        "after_dark.quiet_street": "Very unsafe",
        "day.busy_place": "Fairly safe",
    }
    # Case and spacing do not matter; the stored value is the scale's own label.
    assert second.feel_safe["after_dark.quiet_street"] == "Very unsafe"
    # "Don't know" is listed as missing: not stored, not quarantined.
    assert "after_dark.quiet_street" not in third.feel_safe
    assert first.concerns == ["poor_lighting", "verbal_harassment"]
    assert third.concerns == ["other"]  # typed 'other' text in the option's column counts
    assert str(first.answered_on) == "2021-09-03" and str(third.answered_on) == "2021-09-15"
    assert (first.age_band, third.age_band) == ("16-24", "65+")
    assert (first.postcode, second.postcode) == ("WD17 1AA", "AL1 3AB")
    assert first.free_text == "Better lighting on the path by the station"
    assert second.free_text is None
    assert first.raw[f"{Q_CONCERNS} / No CCTV"] is None
    assert first.raw[f"{Q_CONCERNS} / Poor street lighting"] == "Poor street lighting"
    assert first.raw[Q_DARK] == "Very unsafe"
    with sa.orm.Session(engine) as session:
        wave = session.scalar(sa.select(SurveyWave))
    assert wave is not None and wave.name == "Autumn 2021"
    assert str(wave.period_start) == "2021-09-01" and wave.source == "test export"
    assert wave.mapping["likert"][0]["key"] == "after_dark.quiet_street"
    assert runs(engine)[-1].status == "ok" and runs(engine)[-1].rows_stored == 3


def test_microsoft_forms_csv_with_bom_and_semicolon_cells(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "forms.csv", msforms_grid(), bom=True)
    mapping = write_mapping(tmp_path, mapping_toml(respondent="ID", date="Completion time"))
    summary = import_survey(engine=engine, path=path, mapping=mapping)
    assert summary.rows_stored == 3, summary.problems
    got = responses(engine)
    assert set(got) == {"1001", "1002", "1003"}  # the BOM did not hide the first header
    assert got["1001"].concerns == ["poor_lighting", "verbal_harassment"]
    assert got["1002"].concerns == ["no_cctv"]


def test_qualtrics_three_header_rows(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "qualtrics.csv", qualtrics_grid())
    mapping = write_mapping(tmp_path, mapping_toml(respondent="Response ID"))
    summary = import_survey(engine=engine, path=path, mapping=mapping)
    assert summary.rows_stored == 3, summary.problems
    got = responses(engine)
    assert got["R_1001"].concerns == ["poor_lighting", "verbal_harassment"]
    assert str(got["R_1003"].answered_on) == "2021-09-15"
    assert got["R_1001"].feel_safe["after_dark.quiet_street"] == "Very unsafe"


def test_one_row_csv_in_mixed_encodings(engine: sa.Engine, tmp_path: Path) -> None:
    grid = msforms_grid()
    grid[1][11] = "Less drinking outside the café"
    grid[2][11] = "The “quiet” path – it is dark"
    text_lines = []
    import csv
    import io

    for row in grid:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(["" if v is None else v for v in row])
        text_lines.append(buffer.getvalue())
    # Line 2 saved by an old tool in Windows-1252; the rest UTF-8.
    data = b"".join(
        line.encode("cp1252" if i == 1 else "utf-8") for i, line in enumerate(text_lines)
    )
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    mapping = write_mapping(tmp_path, mapping_toml(respondent="ID", date="Completion time"))
    summary = import_survey(engine=engine, path=path, mapping=mapping)
    assert summary.rows_stored == 3
    assert "read as Windows-1252 (lines 2)" in (summary.message or "")
    got = responses(engine)
    assert got["1001"].free_text == "Less drinking outside the café"
    assert got["1002"].free_text == "The “quiet” path – it is dark"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("export.pdf", b"%PDF-1.4 ...", "is a .pdf file, not a survey export"),
        ("export.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel (.xls)"),
        ("export.csv", b"\x00\x01\x02binary", "is not a text file"),
        ("export.csv", b"", "is empty"),
    ],
)
def test_wrong_file_type_is_refused_and_nothing_stored(
    engine: sa.Engine, tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError) as info:
        import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, mapping_toml()))
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert count(engine, SurveyWave) == 0 and count(engine, SurveyResponse) == 0
    assert [r.status for r in runs(engine)] == ["failed"]


def test_missing_or_renamed_column_names_each_and_stores_nothing(
    engine: sa.Engine, tmp_path: Path
) -> None:
    grid = surveymonkey_grid()
    grid[0][5] = "Which area do you live in"  # renamed: question mark dropped
    grid[0][7] = "How safe do you feel at night?"  # reworded
    path = write_xlsx(tmp_path / "renamed.xlsx", {"Sheet1": grid})
    with pytest.raises(InputFileError) as info:
        import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, mapping_toml()))
    err = info.value
    assert "2 columns named in the mapping are not in the file" in err.message
    assert f"no column '{Q_AREA}'" in err.field_errors["[columns] area"]
    assert "did you mean 'Which area do you live in'" in err.field_errors["[columns] area"]
    assert Q_DARK in err.field_errors["[[likert]] after_dark.quiet_street"]
    assert count(engine, SurveyWave) == 0 and count(engine, SurveyResponse) == 0


def test_bad_answers_are_quarantined_and_the_rest_of_the_row_kept(
    engine: sa.Engine, tmp_path: Path
) -> None:
    rows = list(ROWS)
    rows[0] = (
        "1001",
        "31/02/2021",
        "16-24",
        "",
        "not a postcode",
        "Quite safe",
        "Very safe",
        ["Poor street lighting"],
        "",
    )
    rows[1] = ("1002", "yesterday", "under 12", "", "", "Very safe", "Very safe", ["No CCTV"], "")
    path = write_xlsx(tmp_path / "bad.xlsx", {"Responses": surveymonkey_grid(rows)})
    summary = import_survey(
        engine=engine, path=path, mapping=write_mapping(tmp_path, mapping_toml())
    )
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (3, 3, 0)
    assert summary.fields_quarantined == 5
    assert "5 answers in 2 stored rows quarantined" in (summary.message or "")
    shown = [str(p) for p in summary.problems]
    assert f"{path}, row 3, field 'End Date': '31/02/2021' is not a real date" in shown
    assert f"{path}, row 4, field 'End Date': 'yesterday' is not a date" in shown[3]
    assert any(
        "row 3, field 'What is your postcode?': 'not a postcode' is not a UK postcode" in s
        for s in shown
    )
    assert any(f"row 3, field '{Q_DARK}': 'Quite safe' is not on the scale" in s for s in shown)
    assert any(
        "row 4, field 'What is your age?': 'under 12' is not in the mapping's [age_bands]" in s
        for s in shown
    )
    got = responses(engine)
    assert got["1001"].answered_on is None and got["1001"].postcode is None
    assert got["1001"].feel_safe == {"day.busy_place": "Very safe"}  # the good answer kept
    assert got["1001"].concerns == ["poor_lighting"]
    held = quarantined(engine)
    assert len(held) == 5 and {q.kind for q in held} == {"survey"}
    assert {(q.row_number, q.field) for q in held} >= {(3, "End Date"), (4, "What is your age?")}
    assert held[0].raw["Respondent ID"] == "1001"
    assert runs(engine)[-1].details["fields_quarantined"] == 5


def test_unknown_multi_select_option(engine: sa.Engine, tmp_path: Path) -> None:
    grid = msforms_grid()
    grid[1][10] = "Poor street lighting;Dogs off leads;"
    path = write_csv(tmp_path / "forms.csv", grid)
    mapping = write_mapping(tmp_path, mapping_toml(respondent="ID", date="Completion time"))
    summary = import_survey(engine=engine, path=path, mapping=mapping)
    assert summary.rows_stored == 3
    assert str(summary.problems[0]) == (
        f"{path}, row 2, field '{Q_CONCERNS}': option 'Dogs off leads' is not in the mapping's "
        f"options for '{Q_CONCERNS}'; add it (to a code, or to \"other\")"
    )
    assert responses(engine)["1001"].concerns == ["poor_lighting"]
    # With unknown = "other" in the mapping the same answer counts as other, nothing held.
    mapping2 = write_mapping(
        tmp_path,
        mapping_toml(name="Other wave", respondent="ID", date="Completion time", unknown="other"),
        "m2.toml",
    )
    # the same file into a second wave: refused unless asked (test_survey_waves.py)
    summary2 = import_survey(engine=engine, path=path, mapping=mapping2, again=True)
    assert summary2.problems == []
    with sa.orm.Session(engine) as session:
        row = session.scalar(
            sa.select(SurveyResponse)
            .join(SurveyWave)
            .where(SurveyWave.name == "Other wave", SurveyResponse.respondent_ref == "1001")
        )
    assert row is not None and row.concerns == ["poor_lighting", "other"]


def test_xlsx_with_extra_sheets_picks_the_one_that_fits(engine: sa.Engine, tmp_path: Path) -> None:
    summary_sheet = [["Survey summary"], ["Responses", 3], ["Closed", "31/10/2021"]]
    path = write_xlsx(
        tmp_path / "book.xlsx",
        {
            "Summary": summary_sheet,
            "Responses": surveymonkey_grid(),
            "Notes": [["Exported by the comms team"]],
        },
    )
    summary = import_survey(
        engine=engine, path=path, mapping=write_mapping(tmp_path, mapping_toml())
    )
    assert summary.rows_stored == 3
    assert "read sheet 'Responses' (Summary, Notes ignored)" in (summary.message or "")
    with pytest.raises(InputFileError) as info:
        import_survey(
            engine=engine,
            path=path,
            mapping=write_mapping(tmp_path, mapping_toml()),
            sheet="Answers",
            wave_name="Another",
        )
    assert "has no sheet named 'Answers'" in str(info.value)
    assert "Summary, Responses, Notes" in str(info.value)
    with pytest.raises(InputFileError) as info:
        import_survey(
            engine=engine,
            path=path,
            mapping=write_mapping(tmp_path, mapping_toml()),
            sheet="Notes",
            wave_name="Another",
        )
    assert "none of the mapping's columns are in sheet 'Notes'" in str(info.value)
    assert count(engine, SurveyResponse) == 3


def test_truncated_csv_keeps_the_rows_before_the_cut(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "forms.csv", msforms_grid())
    data = path.read_bytes()
    cut = data.rindex(b"Men hanging") + 5  # inside the last row's quoted free text? make it so
    text = data[:cut].decode().replace("Men h", '"Men h')
    path.write_bytes(text.encode())
    mapping = write_mapping(tmp_path, mapping_toml(respondent="ID", date="Completion time"))
    summary = import_survey(engine=engine, path=path, mapping=mapping)
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (3, 2, 1)
    assert str(summary.problems[0]) == (
        f"{path}, row 4: the file ends inside a quoted cell: it looks truncated; this row and "
        "anything after it were not read"
    )
    assert set(responses(engine)) == {"1001", "1002"}


def test_csv_cut_between_cells_quarantines_the_short_row(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "forms.csv", msforms_grid())
    data = path.read_bytes().rstrip(b"\r\n")
    path.write_bytes(data[: data.rindex(b",Fairly unsafe")])  # last row stops mid-way
    mapping = write_mapping(tmp_path, mapping_toml(respondent="ID", date="Completion time"))
    summary = import_survey(engine=engine, path=path, mapping=mapping)
    assert (summary.rows_stored, summary.rows_quarantined) == (2, 1)
    assert "row 4: has 9 of the header's 12 columns (the file may be truncated)" in str(
        summary.problems[0]
    )
    assert quarantined(engine)[0].raw["ID"] == "1003"


def test_truncated_xlsx_is_refused_whole(engine: sa.Engine, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "cut.xlsx", {"Responses": surveymonkey_grid()})
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(InputFileError, match="may be truncated"):
        import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, mapping_toml()))
    assert count(engine, SurveyResponse) == 0


def test_duplicates_and_reimport_are_idempotent(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [*ROWS, ROWS[0]]  # respondent 1001 twice
    path = write_xlsx(tmp_path / "dupes.xlsx", {"Responses": surveymonkey_grid(rows)})
    mapping = write_mapping(tmp_path, mapping_toml())
    summary = import_survey(engine=engine, path=path, mapping=mapping)
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (4, 3, 1)
    assert str(summary.problems[0]) == (
        f"{path}, row 6, field 'Respondent ID': respondent '1001' appears again (first at row 3); "
        "this row was not stored"
    )
    again = import_survey(engine=engine, path=path, mapping=mapping)
    assert again.status == "skipped"
    assert "already imported into wave 'Autumn 2021'" in (again.message or "")
    assert count(engine, SurveyResponse) == 3 and len(quarantined(engine)) == 1
    # A later export of the same survey: only the new respondent is stored.
    later = [*ROWS, ("1004", "20/10/2021", "25-34", "", "", "Fairly safe", "Very safe", [], "")]
    path2 = write_xlsx(tmp_path / "later.xlsx", {"Responses": surveymonkey_grid(later)})
    third = import_survey(engine=engine, path=path2, mapping=mapping)
    assert (third.rows_stored, third.rows_duplicate) == (1, 3)
    assert "3 respondents were already in this wave" in (third.message or "")
    assert count(engine, SurveyResponse) == 4 and count(engine, SurveyWave) == 1


def test_a_failure_half_way_leaves_the_store_as_it_was(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import saferstreets.surveys.service as service

    def broken(**kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "quarantine", broken)
    path = write_xlsx(tmp_path / "monkey.xlsx", {"Responses": surveymonkey_grid()})
    with pytest.raises(RuntimeError):
        import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, mapping_toml()))
    assert count(engine, SurveyWave) == 0 and count(engine, SurveyResponse) == 0
    assert [(r.status, r.message) for r in runs(engine)] == [("failed", "RuntimeError: disk full")]


def test_area_answers_match_imported_areas(engine: sa.Engine, tmp_path: Path) -> None:
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    common = dict(
        geometry=square,
        min_lon=0,
        min_lat=0,
        max_lon=1,
        max_lat=1,
        centroid_lon=0.5,
        centroid_lat=0.5,
    )
    with sa.orm.Session(engine) as session:
        session.add_all(
            [
                Area(code="E07000103", name="Watford", kind="district", **common),
                Area(
                    code="E05000001",
                    name="St Albans Central",
                    kind="ward",
                    parent_code="E07000240",
                    **common,
                ),
                Area(code="E07000240", name="St Albans", kind="district", **common),
            ]
        )
        session.commit()
    rows = list(ROWS)
    rows[1] = (*ROWS[1][:3], "st  albans central", *ROWS[1][4:])
    rows[2] = (*ROWS[2][:3], "Atlantis", *ROWS[2][4:])
    rows.append(
        ("1004", "20/10/2021", "25-34", "St Albens", "", "Fairly safe", "Very safe", [], "")
    )
    path = write_xlsx(tmp_path / "areas.xlsx", {"Responses": surveymonkey_grid(rows)})
    summary = import_survey(
        engine=engine, path=path, mapping=write_mapping(tmp_path, mapping_toml())
    )
    got = responses(engine)
    assert (got["1001"].district_code, got["1001"].ward_code) == ("E07000103", None)
    assert (got["1002"].district_code, got["1002"].ward_code) == ("E07000240", "E05000001")
    assert got["1003"].district_code is None
    assert got["1004"].district_code == "E07000240"  # one area's name is that close: accepted
    assert str(summary.problems[0]).endswith(
        f"field '{Q_AREA}': 'Atlantis' is not the code or name of an imported area, nor a town, "
        "village or postcode in the gazetteer"
    )


def test_points_are_assigned_to_areas_after_import(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import saferstreets.areas.service as areas_service

    calls: list[dict] = []
    monkeypatch.setattr(areas_service, "assign_points", lambda **kw: calls.append(kw) or {})
    grid = msforms_grid()
    grid[0] += ["Latitude", "Longitude"]
    grid[1] += ["51.75", "-0.34"]
    grid[2] += ["", ""]
    grid[3] += ["95", "0"]
    with sa.orm.Session(engine) as session:
        session.add(
            Area(
                code="E07000240",
                name="St Albans",
                kind="district",
                geometry={"type": "Point", "coordinates": [0, 0]},
                min_lon=0,
                min_lat=0,
                max_lon=0,
                max_lat=0,
                centroid_lon=0,
                centroid_lat=0,
            )
        )
        session.commit()
    path = write_csv(tmp_path / "points.csv", grid)
    mapping = write_mapping(
        tmp_path,
        mapping_toml(
            respondent="ID",
            date="Completion time",
            extra_columns='latitude = "Latitude"\nlongitude = "Longitude"',
        ),
    )
    summary = import_survey(engine=engine, path=path, mapping=mapping)
    got = responses(engine)
    assert (got["1001"].latitude, got["1001"].longitude) == (51.75, -0.34)
    assert got["1003"].latitude is None
    assert any(
        "'95' is not a latitude" in str(p) or "95.0 is not a latitude" in str(p)
        for p in summary.problems
    )
    assert calls == [{"engine": engine, "tables": ["survey_response"], "only_missing": True}]
