"""A Qualtrics numeric-values export: suggested honestly, recoded to labels, read by `assess`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.surveys.survey_files import (
    Q_CONCERNS,
    Q_GRID,
    Q_LOCAL,
    SCALE,
    qualtrics_numeric_grid,
    write_mapping,
    write_messy_csv,
)

from saferstreets.assessment import service as analysis
from saferstreets.db import session_scope
from saferstreets.errors import InputFileError
from saferstreets.surveys.mapping import load_mapping
from saferstreets.surveys.models import SurveyResponse
from saferstreets.surveys.service import import_survey, suggest_mapping

PARK = f"{Q_GRID} / In a park"
BUS = f"{Q_GRID} / On a bus or train"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_messy_csv(tmp_path / "qualtrics_numeric.csv", qualtrics_numeric_grid(), bom=True)


def test_the_suggestion_reads_codes_as_codes(export: Path) -> None:
    text = suggest_mapping(export)
    data = tomllib.loads(text)
    assert data["wave"]["source"] == "Qualtrics (numeric values)"
    # the "local area" feel-safe question is a Likert, not the area
    assert "area" not in data["columns"]
    assert [(q["key"], q["column"]) for q in data["likert"]] == [
        ("after_dark.home_area", Q_LOCAL),
        ("day.park", PARK),
        ("day.public_transport", BUS),
    ]
    assert all(q["scale"] == SCALE for q in data["likert"])
    # the matrix is not a multi-select; the real multi-select is
    assert [m["question"] for m in data["multi_select"]] == [Q_CONCERNS]
    assert data["recode"][Q_LOCAL] == {str(n + 1): s for n, s in enumerate(SCALE)} | {"6": ""}
    assert set(data["recode"]) == {Q_LOCAL, PARK, BUS}
    lines = text.splitlines()
    recode_heads = [line for line in lines if line.startswith("[recode.")]
    assert len(recode_heads) == 3 and all("# check: codes, not labels" in h for h in recode_heads)
    assert any(line.startswith('"6" = ""  # check: assumed "prefer not to say"') for line in lines)
    # age codes are not passed through as "1" = "1"
    assert data["age_bands"] == {"1": "?", "2": "?", "3": "?"}
    assert all("# check" in line for line in lines if line.endswith('"?"') or '= "?"' in line)


def test_the_suggestion_as_written_is_refused_until_the_codes_are_named(
    export: Path, tmp_path: Path
) -> None:
    mapping = write_mapping(tmp_path, suggest_mapping(export))
    with pytest.raises(InputFileError) as caught:
        load_mapping(mapping)
    assert "[age_bands] '1'" in caught.value.field_errors
    assert "placeholder" in caught.value.field_errors["[age_bands] '1'"]


def _checked(export: Path, tmp_path: Path) -> Path:
    text = suggest_mapping(export)
    for code, band in (("1", "16-24"), ("2", "25-34"), ("3", "35-44")):
        text = text.replace(f'"{code}" = "?"', f'"{code}" = "{band}"')
    return write_mapping(tmp_path, text)


def test_a_recoded_numeric_wave_is_stored_as_labels_and_assessed(
    engine: sa.Engine, settings: Any, export: Path, tmp_path: Path
) -> None:
    summary = import_survey(engine=engine, path=export, mapping=_checked(export, tmp_path))
    assert (summary.rows_stored, summary.fields_quarantined) == (40, 0), summary.problems
    assert "not understood" not in (summary.message or "")
    with session_scope(engine) as s:
        rows = list(s.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.respondent_ref)))
        data = analysis.load(session=s)
    for i, r in enumerate(rows):
        assert r.age_band == ("16-24", "25-34", "35-44")[i % 3]
        local = r.feel_safe.get("after_dark.home_area")
        assert local == (SCALE[i % 6] if i % 6 < 5 else None)  # code 6: prefer not to say
        assert r.feel_safe["day.park"] == SCALE[i % 5]
        assert r.feel_safe["day.public_transport"] == SCALE[4 - i % 5]
        assert r.concerns == ["poor_lighting"] * (i % 2 == 0) + ["no_cctv"] * (i % 3 == 0)
    finding = analysis.assess_feel_safe(data, settings)
    assert finding.result["not_understood"] == []
    local_q = next(q for q in finding.result["questions"] if q["key"] == "after_dark.home_area")
    n = sum(1 for i in range(40) if i % 6 != 5)
    unsafe = sum(1 for i in range(40) if i % 6 in (0, 1))
    assert (local_q["n"], local_q["unsafe"]["count"]) == (n, unsafe) == (34, 14)


def test_without_the_recode_the_wave_is_named_as_not_understood(
    engine: sa.Engine, settings: Any, export: Path, tmp_path: Path
) -> None:
    text = _checked(export, tmp_path).read_text()
    text = text.split("[recode.", 1)[0] + "[drop]" + text.split("[drop]", 1)[1]
    for label in SCALE:  # the scale as the export writes it
        text = text.replace(f'"{label}"', f'"{SCALE.index(label) + 1}"')
    summary = import_survey(engine=engine, path=export, mapping=write_mapping(tmp_path, text))
    assert summary.fields_quarantined == 6  # code 6 (i = 5, 11, .. 35): not on the scale
    assert "feel-safe answers not understood, codes 1\u20135; map them" in (summary.message or "")
