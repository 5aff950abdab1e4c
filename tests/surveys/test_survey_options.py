"""One multi-select from a column per option: SmartSurvey's `Question:Option` and the like."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.surveys.survey_files import (
    OPTIONS,
    PEOPLE,
    Q_AGE,
    Q_CONCERNS,
    Q_DARK,
    SCALE,
    write_mapping,
    write_messy_csv,
)

from saferstreets.assessment import service as analysis
from saferstreets.db import session_scope
from saferstreets.surveys.models import SurveyResponse
from saferstreets.surveys.service import import_survey, suggest_mapping


def smartsurvey_options_grid(sep: str) -> list[list[Any]]:
    """SmartSurvey's CSV: one header row, `Question:Option` per option, the option's text when
    ticked. Respondent i ticks option k when (i + k) % 3 == 0, and always 'Poor street lighting'."""
    own = ["UserID", "UserNo", "Name", "Email", "IP Address", "Unique ID", "Started", "Ended"]
    head = [*own, Q_AGE, Q_DARK, *[f"{Q_CONCERNS}{sep}{o}" for o in OPTIONS]]
    grid: list[list[Any]] = [head]
    for i in range(12):
        end = PEOPLE[i % 3][1]
        ticks = [o if k == 0 or (i + k) % 3 == 0 else "" for k, o in enumerate(OPTIONS)]
        row = [f"7{i}", str(100 + i), "", "", "192.0.2.1", f"u-{i}", end, end]
        grid.append([*row, "16-24", SCALE[i % 5], *ticks])
    return grid


@pytest.mark.parametrize("sep", [":", " - "])
def test_question_option_columns_are_one_multi_select(
    engine: sa.Engine, settings: Any, tmp_path: Path, sep: str
) -> None:
    path = write_messy_csv(tmp_path / "smart.csv", smartsurvey_options_grid(sep))
    text = suggest_mapping(path)
    data = tomllib.loads(text)
    assert data["wave"]["source"] == "SmartSurvey"
    assert len(data["multi_select"]) == 1
    multi = data["multi_select"][0]
    assert (multi["key"], multi["question"]) == ("concerns", Q_CONCERNS)
    assert list(multi["options"]) == OPTIONS
    summary = import_survey(engine=engine, path=path, mapping=write_mapping(tmp_path, text))
    assert (summary.rows_stored, summary.fields_quarantined) == (12, 0), summary.problems
    with session_scope(engine) as s:
        rows = list(s.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.id)))
        data_ = analysis.load(session=s)
    codes = [multi["options"][o] for o in OPTIONS]
    for i, r in enumerate(rows):
        assert r.concerns == [c for k, c in enumerate(codes) if k == 0 or (i + k) % 3 == 0]
    finding = analysis.assess_concerns(data_, settings)
    ranked = {r["code"]: r["count"] for r in finding.result["ranked"]}
    assert ranked["poor_lighting"] == 12
    assert ranked[codes[2]] == sum(1 for i in range(12) if (i + 2) % 3 == 0) == 4
