"""Suggested mappings: read from headers and answers, and they load back and import."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.surveys.survey_files import (
    Q_CONCERNS,
    Q_DARK,
    Q_TEXT,
    ROWS,
    msforms_grid,
    qualtrics_grid,
    surveymonkey_grid,
    write_csv,
    write_mapping,
    write_xlsx,
)
from typer.testing import CliRunner

from saferstreets.cli import app
from saferstreets.config import Settings
from saferstreets.errors import InputFileError
from saferstreets.surveys.mapping import load_mapping
from saferstreets.surveys.models import SurveyResponse
from saferstreets.surveys.service import import_survey, suggest_mapping

MATRIX_Q = "How safe do you feel in each of these places after dark?"


def monkey_with_matrix_and_settings() -> list[list[object]]:
    """A SurveyMonkey-style export with a matrix question and a 'where' multi-select."""
    grid = surveymonkey_grid()
    grid[0] += [MATRIX_Q, None, "Where have you felt unsafe? (Tick all that apply)", None, None]
    grid[1] += ["In parks", "On buses and trains", "Parks", "Pubs and clubs", "Bus stations"]
    answers = [
        ["Very unsafe", "Fairly safe", "Parks", None, "Bus stations"],
        ["Fairly unsafe", "Very safe", None, "Pubs and clubs", None],
        ["Neither safe nor unsafe", "Fairly unsafe", "Parks", "Pubs and clubs", None],
    ]
    for row, extra in zip(grid[2:], answers, strict=True):
        row += extra
    return grid


def test_suggestion_for_a_surveymonkey_workbook_round_trips(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "Autumn_2021.xlsx", {"Responses": monkey_with_matrix_and_settings()}
    )
    text = suggest_mapping(path)
    data = tomllib.loads(text)  # valid TOML
    assert data["file"] == {"header_rows": 2, "sheet": "Responses", "date_order": "dmy"}
    assert data["wave"]["source"] == "SurveyMonkey"
    assert data["columns"]["respondent"] == "Respondent ID"
    assert data["columns"]["date"] == "End Date"
    assert data["columns"]["free_text"] == Q_TEXT
    assert data["columns"]["age_band"] == "What is your age?"
    assert data["columns"]["postcode"] == "What is your postcode?"
    likert = {item["key"]: item for item in data["likert"]}
    assert likert["after_dark.quiet_street"]["column"] == Q_DARK
    assert likert["day.busy_place"]["scale"][0] == "Very unsafe"
    assert likert["after_dark.park"]["column"] == f"{MATRIX_Q} / In parks"
    assert likert["after_dark.public_transport"]["column"] == f"{MATRIX_Q} / On buses and trains"
    multi = {item["key"]: item for item in data["multi_select"]}
    assert multi["concerns"]["question"] == Q_CONCERNS
    assert multi["concerns"]["options"] == {
        "Poor street lighting": "poor_lighting",
        "Groups of men shouting": "groups_of_men",
        "No CCTV": "no_cctv",
        "Other (please specify)": "other",
    }
    line = '"Groups of men shouting" = "groups_of_men"  # check: also reads as verbal_harassment'
    assert line in text
    assert multi["settings"]["options"] == {
        "Parks": "park",
        "Pubs and clubs": "night_time_economy",
        "Bus stations": "public_transport",
    }
    assert "Collector ID (survey tool's own column)" in text

    mapping_path = tmp_path / "Autumn_2021.xlsx.mapping.toml"
    mapping_path.write_text(text, encoding="utf-8")
    mapping = load_mapping(mapping_path)
    summary = import_survey(engine=engine, path=path, mapping=mapping)
    assert (summary.rows_stored, summary.rows_quarantined, summary.problems) == (3, 0, [])
    with sa.orm.Session(engine) as session:
        got = {r.respondent_ref: r for r in session.scalars(sa.select(SurveyResponse))}
    assert got["1001"].feel_safe["after_dark.park"] == "Very unsafe"
    assert got["1001"].settings == ["park", "public_transport"]
    assert got["1002"].concerns == ["no_cctv"]


def test_suggestion_for_forms_and_qualtrics(tmp_path: Path) -> None:
    forms = tomllib.loads(suggest_mapping(write_csv(tmp_path / "forms.csv", msforms_grid())))
    assert forms["wave"]["source"] == "Microsoft Forms"
    assert forms["file"]["header_rows"] == 1
    assert forms["multi_select"][0]["delimiter"] == ";"
    assert forms["multi_select"][0]["options"]["No CCTV"] == "no_cctv"
    assert forms["columns"]["respondent"] == "ID"
    assert forms["columns"]["date"] == "Completion time"
    qualtrics = tomllib.loads(suggest_mapping(write_csv(tmp_path / "q.csv", qualtrics_grid())))
    assert qualtrics["file"]["header_rows"] == 3
    assert qualtrics["columns"]["respondent"] == "Response ID"
    assert qualtrics["multi_select"][0]["question"] == Q_CONCERNS
    assert set(qualtrics["multi_select"][0]["options"].values()) == {
        "poor_lighting",
        "groups_of_men",  # "Groups of men shouting", marked: also reads as verbal_harassment
        "no_cctv",
        "other",
    }


def test_month_first_dates_are_noticed(tmp_path: Path) -> None:
    grid = msforms_grid()
    grid[1][2] = "9/23/2021 10:15:22"
    grid[2][2] = "10/2/2021 11:00:00"
    grid[3][2] = "10/14/2021 08:00:00"
    text = suggest_mapping(write_csv(tmp_path / "us.csv", grid))
    assert tomllib.loads(text)["file"]["date_order"] == "mdy"


def test_cli_suggests_then_imports(app_env: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    path = write_xlsx(tmp_path / "monkey.xlsx", {"Responses": surveymonkey_grid()})
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["import", "survey", str(path), "--suggest-mapping"])
    assert result.exit_code == 0, result.output
    mapping = tmp_path / "monkey.xlsx.mapping.toml"
    assert f"Wrote a suggested mapping to {mapping}" in result.output
    result = runner.invoke(app, ["import", "survey", str(path), "--suggest-mapping"])
    assert result.exit_code == 1 and "already exists" in result.output
    result = runner.invoke(
        app, ["import", "survey", str(path), "--mapping", str(mapping), "--wave", "Autumn 2021"]
    )
    assert result.exit_code == 0, result.output
    assert "3 read, 3 stored (wave 'Autumn 2021'" in result.output
    result = runner.invoke(
        app, ["import", "survey", str(path), "--mapping", str(mapping), "--wave", "Autumn 2021"]
    )
    assert "already imported into wave 'Autumn 2021'" in result.output
    result = runner.invoke(
        app, ["import", "survey", str(tmp_path / "nope.csv"), "--mapping", str(mapping)]
    )
    assert result.exit_code == 1
    assert "nope.csv: file not found" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["import", "survey", str(path)])
    assert result.exit_code == 1 and "--suggest-mapping" in result.output


def test_an_answer_that_is_not_an_age_is_marked_not_passed_through(
    engine: sa.Engine, tmp_path: Path
) -> None:
    rows = [
        (*ROWS[0][:2], "Adult", *ROWS[0][3:]),
        ROWS[1],
        (*ROWS[2][:2], "65 and over", *ROWS[2][3:]),
    ]
    path = write_csv(tmp_path / "ages.csv", surveymonkey_grid(rows))
    text = suggest_mapping(path)
    assert tomllib.loads(text)["age_bands"] == {
        "25-34": "25-34",
        "65 and over": "65+",
        "Adult": "?",
    }
    lines = {line.split(" = ")[0]: line for line in text.splitlines() if " = " in line}
    assert lines['"Adult"'].endswith(
        "# check: not read as an age: write its band, or delete the line to quarantine the answer"
    )
    assert "#" not in lines['"65 and over"'] and "#" not in lines['"25-34"']
    with pytest.raises(InputFileError) as caught:  # refused until the analyst says
        import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, text))
    assert "placeholder" in caught.value.field_errors["[age_bands] 'Adult'"]
    text = text.replace('"Adult" = "?"', '"Adult" = "18+"')
    import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, text))
    with sa.orm.Session(engine) as session:
        bands = session.scalars(sa.select(SurveyResponse.age_band).order_by(SurveyResponse.id))
        assert list(bands) == ["18+", "25-34", "65+"]
