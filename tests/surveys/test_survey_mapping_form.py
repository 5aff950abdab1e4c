"""The mapping form's pure parts: the suggestion's `# check` reasons found by field, and the
mapping the form builds written as TOML that reads back the same."""

from __future__ import annotations

import tomllib

from saferstreets.surveys.mapping import mapping_from_dict
from saferstreets.surveys.mapping_form import checks_in, to_toml

SUGGESTION = """# Suggested mapping: check every line marked '# check',

[wave]
name = "autumn # 2021"  # check: the wave's name

[columns]
area = "Area # where"  # matched by code or name; check: the heading only mentions an area

[age_bands]  # check: the answers are codes
"1" = "?"  # check: the age band of code 1
"2" = "25-34"

[[likert]]
key = "after_dark.home_area"  # check: time and setting guessed
column = "Q \\"local\\" # area"

[[multi_select]]
key = "concerns"
question = "Q"
[multi_select.options]
"Lights" = "poor_lighting"
"Men # groups" = "groups_of_men"  # check: also reads as verbal_harassment

[recode."Q \\"local\\" # area"]  # check: codes, not labels
"1" = "Very unsafe"
"6" = ""  # check: assumed "prefer not to say"

[drop]  # personal data
columns = [
  "IP Address",  # check: not a field of the form
]
"""


def test_check_reasons_are_found_by_field_and_hashes_in_quotes_are_not_comments() -> None:
    assert checks_in(SUGGESTION) == {
        "wave_name": "the wave's name",
        "col_area": "the heading only mentions an area",
        "age_bands": "the answers are codes",
        "age_0_band": "the age band of code 1",
        "likert_0_key": "time and setting guessed",
        "multi_0_opt_1_code": "also reads as verbal_harassment",
        "recode_0_header": "codes, not labels",
        "recode_0_1_label": 'assumed "prefer not to say"',
    }


def test_the_built_mapping_reads_back_the_same_through_toml() -> None:
    data = {
        "wave": {"name": 'Autumn "21" \\ # not a comment', "source": "Qualtrics ✓"},
        "file": {"header_rows": 3, "date_order": "mdy"},
        "columns": {"area": "Which area?\tTab", "free_text": ["Why?", "Anything else?"]},
        "age_bands": {"1": "16-24"},
        "likert": [
            {
                "key": "day.park",
                "column": "Park",
                "scale": ["Very unsafe", "Very safe"],
                "missing": [],
            }
        ],
        "multi_select": [
            {"key": "concerns", "question": "Q", "delimiter": ";", "options": {"A\x7f": "other"}}
        ],
        "recode": {"Park": {"1": "Very unsafe", "2": "Very safe", "9": ""}},
        "drop": {"columns": ["Email"]},
    }
    assert tomllib.loads(to_toml(data)) == data
    assert mapping_from_dict(tomllib.loads(to_toml(data))) == mapping_from_dict(data)
