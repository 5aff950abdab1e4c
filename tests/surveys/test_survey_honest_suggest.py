"""Suggested mappings are honest: each guess below high confidence says `# check` and why."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from tests.surveys.survey_files import SCALE, write_mapping, write_messy_csv

from saferstreets.assessment import service as analysis
from saferstreets.db import session_scope
from saferstreets.surveys.models import SurveyResponse
from saferstreets.surveys.service import import_survey, suggest_mapping
from saferstreets.themes.taxonomy import SETTING_CODES, THEME_CODES, label

Q_WHERE = "Where do you feel unsafe? (Select all that apply)"
Q_WHY = "What makes you feel unsafe? (Select all that apply)"
Q_QUIET = "How safe do you feel walking alone down a quiet street after dark?"
PLACES = ["Walking alone down a quiet street", "Car parks", "Underpasses", "Taxi ranks"]
WHY = ["Groups of men", "Groups of men shouting", "Poor street lighting", "Lack of kindness"]


def monkey_places_grid(n: int = 30) -> list[list[Any]]:
    """SurveyMonkey's expanded CSV (two header rows), respondent i ticking by a fixed rule."""
    head1: list[Any] = ["Respondent ID", "End Date", Q_QUIET, Q_WHERE, None, None, None, Q_WHY]
    head1 += [None] * (len(WHY) - 1)
    head2: list[Any] = [None, None, "Response", *PLACES, *WHY]
    grid = [head1, head2]
    for i in range(n):
        places = [p if (i + k) % 2 == 0 else "" for k, p in enumerate(PLACES)]
        why = [w if k == 0 or (i + k) % 3 == 0 else "" for k, w in enumerate(WHY)]
        grid.append([str(5000 + i), f"{1 + i % 28:02d}/09/2021 10:00", SCALE[i % 5]])
        grid[-1] += [*places, *why]
    return grid


def _option_lines(text: str, table: str) -> dict[str, str]:
    """Each option line of a [[multi_select]] block: label -> the whole line."""
    block = text.split(f'question = "{table}"', 1)[1].split("\n\n", 1)[0]
    return {
        m.group(1): line for line in block.splitlines() if (m := re.match(r'^"([^"]+)" = ', line))
    }


def test_common_places_and_groups_of_men_have_codes_and_guesses_say_why(tmp_path: Path) -> None:
    path = write_messy_csv(tmp_path / "autumn.csv", monkey_places_grid(), bom=True)
    text = suggest_mapping(path)
    data = tomllib.loads(text)
    assert {"car_park", "underpass", "taxi_rank"} <= set(SETTING_CODES)
    assert "groups_of_men" in THEME_CODES and label("groups_of_men") == "Groups of men or boys"

    multi = {m["key"]: m for m in data["multi_select"]}
    assert multi["settings"]["options"] == {
        "Walking alone down a quiet street": "quiet_street",
        "Car parks": "car_park",
        "Underpasses": "underpass",
        "Taxi ranks": "taxi_rank",
    }
    assert all("#" not in line for line in _option_lines(text, Q_WHERE).values())
    why = _option_lines(text, Q_WHY)
    assert multi["concerns"]["options"]["Groups of men"] == "groups_of_men"
    assert "#" not in why["Groups of men"]
    assert why["Groups of men shouting"].endswith("# check: also reads as verbal_harassment")
    assert why["Lack of kindness"].endswith('"other"  # check: no close match in the taxonomy')
    assert [q["key"] for q in data["likert"]] == ["after_dark.quiet_street"]
    assert "# check" not in text.split('key = "after_dark.quiet_street"')[1].split("\n")[0]
    # every guess marked for checking says why
    checks = [line for line in text.splitlines()[1:] if "# check" in line]
    assert checks and all(re.search(r"# check: \S", line) for line in checks), checks


def test_the_suggested_mapping_imports_and_assess_names_the_new_codes(
    engine: sa.Engine, settings: Any, tmp_path: Path
) -> None:
    path = write_messy_csv(tmp_path / "autumn.csv", monkey_places_grid(), bom=True)
    summary = import_survey(
        engine=engine, path=path, mapping=write_mapping(tmp_path, suggest_mapping(path))
    )
    assert (summary.rows_stored, summary.fields_quarantined) == (30, 0), summary.problems
    with session_scope(engine) as s:
        rows = list(s.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.respondent_ref)))
        data = analysis.load(session=s)
    codes = ["quiet_street", "car_park", "underpass", "taxi_rank"]
    for i, r in enumerate(rows):
        assert r.settings == [c for k, c in enumerate(codes) if (i + k) % 2 == 0]
        assert r.concerns[0] == "groups_of_men"
    finding = analysis.assess_concerns(data, settings)
    top = finding.result["ranked"][0]
    assert (top["code"], top["count"], top["n"]) == ("groups_of_men", 30, 30)
    assert finding.summary.startswith("Groups of men or boys was the most common concern: ")
