"""The submission model: what the form accepts, with limits on every field."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saferstreets.errors import ValidationFailed
from saferstreets.reports.schemas import (
    FORM_REASONS,
    HOUR_BANDS,
    MAX_FREE_TEXT,
    TIME_BAND_CODES,
    ReportSubmission,
    parse_submission,
)
from saferstreets.themes.taxonomy import THEMES

GOOD = {
    "latitude": 51.8,
    "longitude": -0.4,
    "occurred_on": "2026-11-20",
    "reasons": ["poor_lighting"],
}


def test_a_minimal_report_is_accepted() -> None:
    sub = parse_submission(GOOD)
    assert sub.reasons == ["poor_lighting"]
    assert sub.occurred_on == date(2026, 11, 20)
    assert sub.for_self is None and sub.age_band is None


def test_form_offers_every_environmental_and_behavioural_theme() -> None:
    offered = {code for code, _, _ in FORM_REASONS}
    wanted = {t.code for t in THEMES if t.kind in ("environmental", "behavioural")}
    assert wanted <= offered
    assert set(HOUR_BANDS) == set(range(24)) and set(HOUR_BANDS.values()) == set(TIME_BAND_CODES)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"latitude": None, "longitude": None}, "location"),
        ({"longitude": None}, "location"),
        ({"latitude": 123.0}, "latitude"),
        ({"reasons": []}, "reasons"),
        ({"reasons": ["not_a_theme"]}, "reasons"),
        ({"free_text": "x" * (MAX_FREE_TEXT + 1)}, "free_text"),
        ({"other_reason": "y" * 201}, "other_reason"),
        ({"time_band": "teatime"}, "time_band"),
        ({"age_band": "12"}, "age_band"),
        ({"occurred_on": "yesterday"}, "occurred_on"),
        ({"area_code": "<script>", "latitude": None, "longitude": None}, "area_code"),
        ({"reasons": ["other"]}, "other_reason"),
    ],
)
def test_bad_answers_name_the_field(change: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_submission({**GOOD, **change})
    assert field in info.value.field_errors, info.value.field_errors
    assert "Traceback" not in str(info.value.field_errors)


def test_unknown_fields_are_refused_not_kept() -> None:
    with pytest.raises(ValidationFailed):
        parse_submission({**GOOD, "email": "a@b.com"})


def test_text_is_cleaned_of_control_and_direction_characters() -> None:
    sub = parse_submission(
        {
            **GOOD,
            "free_text": "  dark\u202e path\x00\r\n\r\n\r\n\r\nno lights  ",
            "place_text": "High\nStreet\t ",
        }
    )
    assert sub.free_text == "dark path\n\nno lights"
    assert sub.place_text == "High Street"


def test_other_reason_text_ticks_other() -> None:
    sub = parse_submission({**GOOD, "other_reason": "dogs off leads"})
    assert sub.reasons == ["poor_lighting", "other"]


def test_free_text_alone_is_a_reason() -> None:
    sub = parse_submission({**GOOD, "reasons": [], "free_text": "No one around at night"})
    assert sub.reasons == []


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "latitude",
                "longitude",
                "place_text",
                "area_code",
                "occurred_on",
                "time_band",
                "reasons",
                "other_reason",
                "free_text",
                "age_band",
                "for_self",
                "happens_regularly",
            ]
        ),
        st.one_of(
            st.none(),
            st.text(max_size=300),
            st.floats(allow_nan=True),
            st.integers(),
            st.lists(st.text(max_size=20), max_size=5),
            st.booleans(),
        ),
    )
)
def test_any_input_is_accepted_or_refused_with_field_messages(data: dict) -> None:
    try:
        sub = parse_submission(data)
    except ValidationFailed as exc:
        assert exc.field_errors
        assert all(isinstance(m, str) and m for m in exc.field_errors.values())
        return
    assert isinstance(sub, ReportSubmission)
    assert sub.latitude is not None or sub.area_code
    assert len(sub.free_text or "") <= MAX_FREE_TEXT
