"""Filters at import (previews, tests, unfinished) and a wave as a unit: list, show, delete,
re-import refused unless asked, dates outside the wave's period flagged."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from tests.surveys.survey_files import (
    PEOPLE,
    QUALTRICS_META,
    SCALE,
    msforms_pii_grid,
    qualtrics_numeric_grid,
    surveymonkey_grid,
    surveymonkey_pii_grid,
    tool_mapping,
    write_csv,
    write_mapping,
    write_messy_csv,
    write_xlsx,
)
from typer.testing import CliRunner

from saferstreets.cli import app
from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.ingest.models import ImportRun, QuarantinedRow
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.surveys.service import import_survey, suggest_mapping
from saferstreets.surveys.waves import delete_wave, list_waves
from saferstreets.themes.models import ThemeAssignment, ThemeScored

STATUS = [m[0] for m in QUALTRICS_META].index("Status")
PROGRESS = [m[0] for m in QUALTRICS_META].index("Progress")
CHANNEL = [m[0] for m in QUALTRICS_META].index("DistributionChannel")


def _qualtrics_with_previews(tmp_path: Path) -> Path:
    """40 numeric responses: rows 0-1 previews (status 1; channel preview), row 2 a test
    (status 2), rows 3-6 unfinished at 40% progress, row 7 at 90%."""
    grid = qualtrics_numeric_grid()
    data = grid[3:]
    data[0][STATUS] = "1"
    data[1][CHANNEL] = "preview"
    data[2][STATUS] = "2"
    for row in data[3:7]:
        row[PROGRESS] = "40"
    data[7][PROGRESS] = "90"
    return write_messy_csv(tmp_path / "q.csv", grid, bom=True)


def _mapping(path: Path, tmp_path: Path, name: str = "qualtrics numeric") -> Path:
    text = suggest_mapping(path)
    for code, band in (("1", "16-24"), ("2", "25-34"), ("3", "35-44")):
        text = text.replace(f'"{code}" = "?"', f'"{code}" = "{band}"')
    text = text.replace('name = "q"', f'name = "{name}"')
    return write_mapping(tmp_path, text, name=f"{name}.toml")


def test_previews_tests_and_unfinished_responses_are_skipped_and_counted(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = _qualtrics_with_previews(tmp_path)
    summary = import_survey(
        engine=engine, path=path, mapping=_mapping(path, tmp_path), min_progress=80
    )
    assert summary.rows_stored == 40 - 2 - 1 - 4
    assert (
        "skipped, not stored: 2 previews, 1 test responses, 4 unfinished (progress below 80%)"
        in (summary.message or "")
    )
    with session_scope(engine) as s:
        refs = set(s.scalars(sa.select(SurveyResponse.respondent_ref)))
        assert s.scalar(sa.select(sa.func.count(QuarantinedRow.id))) == 0
    assert not {f"R_{i:04d}" for i in range(7)} & refs and "R_0007" in refs


def test_without_min_progress_unfinished_responses_are_kept(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = _qualtrics_with_previews(tmp_path)
    summary = import_survey(engine=engine, path=path, mapping=_mapping(path, tmp_path))
    assert summary.rows_stored == 37
    assert "skipped, not stored: 2 previews, 1 test responses" in (summary.message or "")


def test_the_same_file_is_not_imported_twice_unless_asked(
    engine: sa.Engine, tmp_path: Path
) -> None:
    path = write_messy_csv(tmp_path / "q.csv", qualtrics_numeric_grid(), bom=True)
    first = import_survey(engine=engine, path=path, mapping=_mapping(path, tmp_path, "Autumn"))
    assert first.rows_stored == 40
    again = import_survey(engine=engine, path=path, mapping=_mapping(path, tmp_path, "Spring"))
    assert again.status == "skipped" and again.rows_stored == 0
    assert "already imported into wave 'Autumn'" in (again.message or "")
    assert "use --again" in (again.message or "")
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 40
        assert s.scalars(sa.select(SurveyWave.name)).all() == ["Autumn"]
    asked = import_survey(
        engine=engine, path=path, mapping=_mapping(path, tmp_path, "Spring"), again=True
    )
    assert asked.rows_stored == 40


def test_dates_outside_the_wave_period_are_flagged(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [
        ("1", "03/01/2021 10:00", "16-24", "", "", SCALE[0], SCALE[1], [], ""),
        ("2", "04/09/2021 10:00", "16-24", "", "", SCALE[0], SCALE[1], [], ""),
        ("3", "30/11/2021 10:00", "16-24", "", "", SCALE[0], SCALE[1], [], ""),
    ]
    path = write_messy_csv(tmp_path / "m.csv", surveymonkey_grid(rows))
    text = suggest_mapping(path).replace('name = "m"', 'name = "Autumn 2021"')
    text = text.replace(
        "[wave]\n", '[wave]\nperiod_start = "2021-09-01"\nperiod_end = "2021-10-31"\n'
    )
    summary = import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, text))
    assert summary.rows_stored == 3
    assert (
        "2 of 3 answers are dated outside the wave's period (2021-09-01 to 2021-10-31): "
        "2021-01-03 to 2021-11-30; check the mapping's date_order and the period"
    ) in (summary.message or "")


def test_surveys_list_show_and_delete(app_env: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    path = _qualtrics_with_previews(tmp_path)
    mapping = _mapping(path, tmp_path, "Autumn 2021")
    result = runner.invoke(app, ["import", "survey", str(path), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    listed = json.loads(runner.invoke(app, ["surveys", "list", "--json"]).output)
    assert [(w["name"], w["responses"]) for w in listed] == [("Autumn 2021", 37)]
    shown = runner.invoke(app, ["surveys", "show", "Autumn 2021"])
    assert "Autumn 2021: 37 responses" in shown.output
    assert "answered: 2021-09-01 to 2021-09-28" in shown.output
    missing = runner.invoke(app, ["surveys", "show", "Spring"])
    assert missing.exit_code != 0 and "No survey wave 'Spring'" in missing.output
    assert "Traceback" not in missing.output
    refused = runner.invoke(app, ["surveys", "delete", "Autumn 2021"], input="n\n")
    assert refused.exit_code == 1
    deleted = runner.invoke(app, ["surveys", "delete", "Autumn 2021", "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert "Deleted wave 'Autumn 2021' and its 37 responses." in deleted.output
    assert json.loads(runner.invoke(app, ["surveys", "list", "--json"]).output) == []
    # the file can be imported again once its wave is gone
    result = runner.invoke(app, ["import", "survey", str(path), "--mapping", str(mapping)])
    assert result.exit_code == 0 and "already imported" not in result.output, result.output


def _themed(engine: sa.Engine, wave: str) -> list[int]:
    """Give each response of ``wave`` a model theme and an analyst's; their ids."""
    with session_scope(engine) as s:
        ids = list(
            s.scalars(sa.select(SurveyResponse.id).join(SurveyWave).where(SurveyWave.name == wave))
        )
        for i in ids:
            for source in ("model", "analyst"):
                s.add(
                    ThemeAssignment(
                        owner_kind="survey_response", owner_id=i, theme="lighting", source=source
                    )
                )
            s.add(
                ThemeScored(
                    owner_kind="survey_response", owner_id=i, model_version="m", text_sha="0"
                )
            )
    return ids


def test_deleting_a_wave_takes_its_responses_quarantine_and_themes_and_nothing_else(
    engine: sa.Engine, tmp_path: Path
) -> None:
    monkey = write_messy_csv(tmp_path / "monkey.csv", surveymonkey_pii_grid())
    forms = write_xlsx(tmp_path / "forms.xlsx", {"Form1": msforms_pii_grid()})
    text = tool_mapping(respondent="Respondent ID", date="End Date", name="Autumn")
    text = text.replace("[wave]\n", '[wave]\nperiod_start = "2021-09-05"\n')
    import_survey(engine=engine, path=monkey, mapping=write_mapping(tmp_path, text, "a.toml"))
    text = tool_mapping(respondent="ID", date="Completion time", name="Spring")
    import_survey(engine=engine, path=forms, mapping=write_mapping(tmp_path, text, "b.toml"))
    autumn, spring = _themed(engine, "Autumn"), _themed(engine, "Spring")
    with session_scope(engine) as s:
        listed = {w.name: w for w in list_waves(session=s)}
        quarantined = dict(
            s.execute(
                sa.select(QuarantinedRow.source, sa.func.count()).group_by(QuarantinedRow.source)
            ).all()
        )
    # answered before 5 September, counted by hand from the rows written
    before = sum(1 for p in PEOPLE if int(p[1][:2]) < 5 and p[1][3:5] == "09")
    assert listed["Autumn"].outside_period == before == 2
    assert listed["Spring"].outside_period == 0  # no period: nothing is outside it
    # Autumn: the row cut short and the bad age; Spring: the bad age
    assert quarantined == {str(monkey): 2, str(forms): 1}

    with session_scope(engine) as s:
        assert delete_wave(session=s, wave="Autumn").responses == 3
    with session_scope(engine) as s:
        assert s.scalars(sa.select(SurveyWave.name)).all() == ["Spring"]
        left = set(s.scalars(sa.select(SurveyResponse.id)))
        assert left == set(spring) and not left & set(autumn)
        assert s.scalars(sa.select(QuarantinedRow.source)).all() == [str(forms)]
        for model in (ThemeAssignment, ThemeScored):
            owners = set(s.scalars(sa.select(model.owner_id)))
            assert owners == set(spring), model.__name__
        runs = {
            r.source: (r.details or {}).get("wave_deleted") for r in s.scalars(sa.select(ImportRun))
        }
        assert runs == {str(monkey): True, str(forms): None}


def test_the_same_respondents_in_another_file_are_named_when_imported_again(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """A re-saved export (other bytes, same respondents) under another wave's name is stored, as
    asked, with a warning; another survey whose IDs repeat (1, 2, 3 ...) on other dates is not."""
    grid = qualtrics_numeric_grid()
    first = write_messy_csv(tmp_path / "q.csv", grid, bom=True)
    import_survey(engine=engine, path=first, mapping=_mapping(first, tmp_path, "Autumn"))
    resaved = write_csv(tmp_path / "q-resaved.csv", grid)  # no BOM, no blank line
    again = import_survey(engine=engine, path=resaved, mapping=_mapping(first, tmp_path, "Spring"))
    assert again.rows_stored == 40
    n = len({row[[m[0] for m in QUALTRICS_META].index("ResponseId")] for row in grid[3:]})
    assert (
        f"{n} of these {n} respondents (the same ID and date) are already in wave 'Autumn': the "
        "same survey imported again? If so, delete this wave"
    ) in (again.message or "")
    other = [list(row) for row in grid]
    for row in other[3:]:
        row[[m[0] for m in QUALTRICS_META].index("EndDate")] = "2022-03-01 10:00:00"
    path = write_csv(tmp_path / "next-year.csv", other)
    later = import_survey(engine=engine, path=path, mapping=_mapping(first, tmp_path, "2022"))
    assert later.rows_stored == 40 and "already in wave" not in (later.message or "")
