"""The mapping file: the documented format loads; every mistake in it is named at once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tests.surveys.survey_files import mapping_toml, write_mapping

from saferstreets.errors import InputFileError
from saferstreets.surveys.mapping import load_mapping

DOCUMENTED = """
[wave]
name = "Demo County women's safety survey 2021"
period_start = "2021-09-01"
period_end = "2021-10-31"
source = "SmartSurvey"

[file]
header_rows = 2
sheet = "Responses"

[columns]
respondent = "Respondent ID"
date = "End Date"
age_band = "What is your age?"
gender = "Which of these best describes you?"
area = "Which area do you live in?"
postcode = "What is your postcode?"
latitude = "Latitude"
longitude = "Longitude"
free_text = "In your own words, what would make you feel safer?"

[age_bands]
"Under 16" = "under16"
"16-17" = "16-17"

[[likert]]
key = "after_dark.quiet_street"
column = "How safe do you feel walking alone in a quiet street after dark?"
scale = ["Very unsafe", "Fairly unsafe", "Neither safe nor unsafe", "Fairly safe", "Very safe"]
missing = ["Don't know", "Prefer not to say"]

[[multi_select]]
key = "concerns"
question = "What makes you feel unsafe? (Select all that apply)"
delimiter = ";"
[multi_select.options]
"Poor street lighting" = "poor_lighting"
"Other (please specify)" = "other"
"""


def test_the_documented_format_loads(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path, DOCUMENTED))
    assert mapping.wave.name == "Demo County women's safety survey 2021"
    assert mapping.wave.period_start == date(2021, 9, 1)
    assert (mapping.file.header_rows, mapping.file.sheet, mapping.file.date_order) == (
        2,
        "Responses",
        "dmy",
    )
    assert mapping.columns["gender"] == ("Which of these best describes you?",)
    assert mapping.age_bands == {"under 16": "under16", "16-17": "16-17"}
    assert mapping.likert[0].key == "after_dark.quiet_street"
    assert mapping.likert[0].scale[0] == "Very unsafe"
    assert mapping.likert[0].missing == ("Don't know", "Prefer not to say")
    assert mapping.multi_select[0].delimiter == ";"
    assert mapping.multi_select[0].options["Poor street lighting"] == "poor_lighting"
    assert mapping.to_dict()["wave"]["period_start"] == "2021-09-01"


def test_every_mistake_is_named_at_once(tmp_path: Path) -> None:
    text = (
        mapping_toml()
        .replace('key = "day.busy_place"', 'key = "night.busy_place"')
        .replace('"No CCTV" = "no_cctv"', '"No CCTV" = "cameras"')
        .replace("[columns]", '[columns]\nwards = "Ward"')
        .replace('period_end = "2021-10-31"', 'period_end = "2021-08-31"')
    )
    path = write_mapping(tmp_path, text)
    with pytest.raises(InputFileError) as info:
        load_mapping(path)
    err = info.value
    assert err.message == f"{path}: the mapping has 4 problems"
    assert err.field_errors["[wave] period_end"] == "is before period_start"
    assert "'night.busy_place' must be <time>.<setting>" in err.field_errors["[[likert]] #2 key"]
    assert (
        "'cameras' is not a concern code"
        in err.field_errors["[[multi_select]] #1 options 'No CCTV'"]
    )
    assert err.field_errors["[columns] wards"].startswith("unknown key; use age_band, area")


def test_unknown_setting_duplicate_key_and_bad_scale(tmp_path: Path) -> None:
    text = mapping_toml().replace('key = "day.busy_place"', 'key = "after_dark.quiet_street"')
    text = text.replace('key = "after_dark.quiet_street"', 'key = "after_dark.beach"', 1)
    text = text.replace('missing = ["Don\'t know", "Prefer not to say"]', 'missing = ["Very safe"]')
    with pytest.raises(InputFileError) as info:
        load_mapping(write_mapping(tmp_path, text))
    errors = info.value.field_errors
    assert "setting 'beach' is not one of park, quiet_street" in errors["[[likert]] #1 key"]
    assert errors["[[likert]] #1 missing"] == "repeats a label that is on the scale"


def test_unreadable_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="mapping file not found"):
        load_mapping(tmp_path / "absent.toml")
    bad = write_mapping(tmp_path, '[wave]\nname = "unterminated\n')
    with pytest.raises(InputFileError, match=r"is not valid TOML: .*line 2"):
        load_mapping(bad)
    empty = write_mapping(tmp_path, '[wave]\nname = "x"\n', "empty.toml")
    with pytest.raises(InputFileError) as info:
        load_mapping(empty)
    assert "names no columns" in info.value.field_errors["[columns]"]
