"""`assess` never says what the data do not support (figures checked against statsmodels/scipy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest
from tests.surveys.survey_files import (
    Q_AGE,
    Q_DARK,
    qualtrics_pii_grid,
    write_mapping,
    write_messy_csv,
)

from saferstreets.analysis.waves import describe_values, shared_options
from saferstreets.assessment import service
from saferstreets.db import session_scope
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.surveys.service import import_survey


def _mapping(options: dict[str, str]) -> dict[str, Any]:
    return {"multi_select": [{"key": "concerns", "question": "Q", "options": options}]}


def _wave(s: Any, name: str, month: int, options: dict[str, str] | None) -> SurveyWave:
    from datetime import date

    wave = SurveyWave(
        name=name,
        period_start=date(2021 + month // 12, 1 + month % 12, 1),
        mapping=_mapping(options) if options is not None else None,
    )
    s.add(wave)
    s.flush()
    return wave


def test_a_wave_comparison_uses_only_options_both_waves_offered(
    engine: sa.Engine, settings: Any
) -> None:
    with session_scope(engine) as s:
        old = _wave(s, "Autumn 2021", 8, {"Poor lighting": "poor_lighting", "No CCTV": "no_cctv"})
        new = _wave(
            s, "Autumn 2022", 20, {"Poor lighting": "poor_lighting", "Men": "verbal_harassment"}
        )
        for i in range(60):  # 30 of 60 named poor lighting; the rest CCTV
            concerns = (["poor_lighting"] if i < 30 else []) + (["no_cctv"] if i % 3 == 0 else [])
            s.add(SurveyResponse(wave_id=old.id, concerns=concerns or ["no_cctv"]))
        for i in range(80):  # 24 of 80 named poor lighting; CCTV was not on this form
            concerns = ["poor_lighting"] if i < 24 else ["verbal_harassment"]
            s.add(SurveyResponse(wave_id=new.id, concerns=concerns))
    with session_scope(engine) as s:
        data = service.load(session=s)
    finding = service.assess_waves(data, settings)
    concerns = [c for c in finding.result["comparisons"] if c["measure"] == "concern"]
    assert [c["key"] for c in concerns] == ["poor_lighting"]
    old_answered = 60  # every respondent of the old wave named something
    _z, p = proportions_ztest([24, 30], [80, old_answered])
    assert concerns[0]["p1"] == pytest.approx(24 / 80)
    assert concerns[0]["p2"] == pytest.approx(30 / old_answered)
    assert concerns[0]["p_value"] == pytest.approx(p, rel=1e-9)
    assert finding.result["concerns_left_out"] == [
        {"code": "no_cctv", "why": "only in Autumn 2021"},
        {"code": "verbal_harassment", "why": "only in Autumn 2022"},
    ]
    assert "Not compared, as only one wave offered them: " in finding.summary
    assert "(only in Autumn 2021)" in finding.summary


def _likert_wave(s: Any, name: str, month: int, keys: list[str]) -> SurveyWave:
    from datetime import date

    likert = [{"key": k, "column": k, "scale": ["Very unsafe", "Very safe"]} for k in keys]
    wave = SurveyWave(
        name=name,
        period_start=date(2021 + month // 12, 1 + month % 12, 1),
        mapping={"likert": likert},
    )
    s.add(wave)
    s.flush()
    return wave


def test_feel_safe_waves_compare_only_the_questions_both_mappings_asked(
    engine: sa.Engine, settings: Any
) -> None:
    """The newer wave's mapping did not ask about parks by day: its answers there (carried in from
    an earlier import, say) are not compared, and the question is named as left out."""
    street, park = "after_dark.quiet_street", "day.park"
    with session_scope(engine) as s:
        old = _likert_wave(s, "Autumn 2021", 8, [street, park])
        new = _likert_wave(s, "Autumn 2022", 20, [street])
        for i in range(50):  # 20 of 50 unsafe in the street; everyone answered parks too
            feel = {street: "Very unsafe" if i < 20 else "Very safe", park: "Very safe"}
            s.add(SurveyResponse(wave_id=old.id, feel_safe=feel))
        for i in range(40):  # 10 of 40 unsafe in the street; a few park answers slipped in
            feel = {street: "Very unsafe" if i < 10 else "Very safe"}
            if i < 5:
                feel[park] = "Very unsafe"
            s.add(SurveyResponse(wave_id=new.id, feel_safe=feel))
    with session_scope(engine) as s:
        data = service.load(session=s)
    finding = service.assess_waves(data, settings)
    feel = [c for c in finding.result["comparisons"] if c["measure"] == "feel_unsafe"]
    assert [c["key"] for c in feel] == [street]
    _z, p = proportions_ztest([10, 20], [40, 50])
    assert feel[0]["p1"] == pytest.approx(10 / 40)
    assert feel[0]["p2"] == pytest.approx(20 / 50)
    assert feel[0]["p_value"] == pytest.approx(p, rel=1e-9)
    assert finding.result["feel_safe_left_out"] == [{"code": park, "why": "only in Autumn 2021"}]
    assert "Not compared, as one wave asked it: feeling unsafe in" in finding.summary
    assert "by day (only in Autumn 2021)" in finding.summary


def test_without_stored_mappings_the_options_named_in_both_are_compared() -> None:
    shared = shared_options(
        ("A", None, [["poor_lighting", "no_cctv"], ["poor_lighting"]]),
        ("B", frozenset({"poor_lighting", "no_cctv", "isolated"}), [["isolated"]]),
    )
    assert shared.compared == ("no_cctv", "poor_lighting")
    assert shared.left_out == (("isolated", "only in B"),)


def _age_store(engine: sa.Engine, young_share: float, old_share: float) -> tuple[int, int]:
    rng = np.random.default_rng(3)
    with session_scope(engine) as s:
        wave = _wave(s, "Autumn 2021", 8, None)
        for band, share in (("16-24", young_share), ("45-54", old_share)):
            for i in range(100):
                named = i < int(100 * share)
                concerns = ["poor_lighting"] if named else ["isolated"]
                if rng.random() < 0.2:
                    concerns.append("no_cctv")
                s.add(SurveyResponse(wave_id=wave.id, age_band=band, concerns=concerns))
    return int(100 * young_share), int(100 * old_share)


@pytest.mark.parametrize(("young", "old", "differs"), [(0.60, 0.56, False), (0.70, 0.56, True)])
def test_differed_only_below_the_stated_threshold(
    engine: sa.Engine, settings: Any, young: float, old: float, differs: bool
) -> None:
    x_young, x_old = _age_store(engine, young, old)
    with session_scope(engine) as s:
        data = service.load(session=s)
    finding = service.assess_concerns(data, settings)
    assert finding.result["ranked"][0]["code"] == "poor_lighting"
    _chi2, p, _, _ = stats.chi2_contingency(
        [[x_young, 100 - x_young], [x_old, 100 - x_old]], correction=False
    )
    test = finding.result["by"]["age_band"]["poor_lighting"]["test"]
    assert test["p_value"] == pytest.approx(p, rel=1e-9)
    assert bool(p < 0.05) is differs
    assert ("It differed by age band" in finding.summary) is differs
    assert ("No difference by age band was shown" in finding.summary) is not differs
    assert f"p = {p:.3f}" in finding.summary
    assert finding.params["alpha"] == 0.05


NUMERIC_MAPPING = f'''
[wave]
name = "Autumn 2021"

[columns]
respondent = "Response ID"
date = "End Date"
age_band = "{Q_AGE}"

[age_bands]
"2" = "16-24"
"3" = "25-34"
"9" = "unknown"

[[likert]]
key = "after_dark.quiet_street"
column = "{Q_DARK}"
scale = {json.dumps(["1", "2", "3", "4", "5"])}
'''


def test_answers_that_cannot_be_understood_are_reported(
    engine: sa.Engine, settings: Any, tmp_path: Path
) -> None:
    """A Qualtrics numeric export mapped without a recode: codes stored, named, never dropped."""
    path = write_messy_csv(tmp_path / "q.csv", qualtrics_pii_grid(numeric=True), bom=True)
    summary = import_survey(
        engine=engine, path=path, mapping=write_mapping(tmp_path, NUMERIC_MAPPING)
    )
    assert summary.rows_stored == 3
    expected = "Wave Autumn 2021: 3 feel-safe answers not understood, codes 1, 4, 5; map them"
    assert expected in (summary.message or "")
    with session_scope(engine) as s:
        data = service.load(session=s)
    finding = service.assess_feel_safe(data, settings)
    assert finding.summary.startswith(expected + ". ")
    assert finding.result["not_understood"][0]["count"] == 3
    assert finding.result["not_understood"][0]["values"] == ["1", "4", "5"]


def test_values_are_described_as_a_run_of_codes_or_quoted() -> None:
    assert describe_values(["3", "1", "2", "5", "4", "1"]) == "codes 1\u20135"
    assert describe_values(["4"]) == "code 4"
    assert describe_values(["Often", "Never"]) == "answers 'Never', 'Often'"
