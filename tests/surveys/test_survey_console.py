"""What the console prints keeps its square brackets: `[age_bands]`, `[recode]`, a wave or a file
named with brackets. Rich would read them as markup and drop them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.surveys.survey_files import (
    PEOPLE,
    Q_AGE,
    Q_DARK,
    SCALE,
    qualtrics_pii_grid,
    surveymonkey_pii_grid,
    write_mapping,
    write_messy_csv,
)
from typer.testing import CliRunner

from saferstreets.cli import app
from saferstreets.config import Settings
from saferstreets.surveys.service import suggest_mapping

# A numeric export mapped without a [recode]: its codes are stored, and named as not understood.
CODES_MAPPING = f'''
[wave]
name = "Autumn [pilot]"

[columns]
respondent = "Response ID"
date = "End Date"
age_band = "{Q_AGE}"

[age_bands]
"2" = "16-24"
"3" = "25-34"

[[likert]]
key = "after_dark.quiet_street"
column = "{Q_DARK}"
scale = {json.dumps(["1", "2", "3", "4", "5"])}
'''


def _said(output: str) -> str:
    return " ".join(output.split())


def test_square_brackets_reach_the_console(app_env: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    monkey = write_messy_csv(tmp_path / "monkey.csv", surveymonkey_pii_grid())
    refused = runner.invoke(
        app,
        [
            "import",
            "survey",
            str(monkey),
            "--mapping",
            str(write_mapping(tmp_path, suggest_mapping(monkey))),
        ],
    )
    assert refused.exit_code == 1
    assert "[age_bands] 'not an age': '?' is a placeholder" in _said(refused.output)

    path = write_messy_csv(tmp_path / "q [final].csv", qualtrics_pii_grid(numeric=True))
    mapping = write_mapping(tmp_path, CODES_MAPPING, "codes.toml")
    result = runner.invoke(app, ["import", "survey", str(path), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    codes = sorted({str(SCALE.index(p[3]) + 1) for p in PEOPLE})  # by hand: 1, 4, 5
    sentence = (
        f"Wave Autumn [pilot]: {len(PEOPLE)} feel-safe answers not understood, "
        f"codes {', '.join(codes)}; map them"
    )
    said = _said(result.output)
    assert f"{sentence} (a [recode] table in the mapping)" in said
    assert "'9' is not in the mapping's [age_bands]" in said  # 'not an age', coded 9

    listed = _said(runner.invoke(app, ["quarantine", "list"], env={"COLUMNS": "400"}).output)
    assert "q [final].csv" in listed and "[age_bands]" in listed
    shown = _said(runner.invoke(app, ["quarantine", "show", "1"]).output)
    assert "reason: '9' is not in the mapping's [age_bands]" in shown
    assert "q [final].csv" in _said(runner.invoke(app, ["status"], env={"COLUMNS": "400"}).output)
    assessed = runner.invoke(app, ["assess", "--no-themes"])
    assert assessed.exit_code == 0, assessed.output
    assert f"feel_safe: {sentence}." in _said(assessed.output)
