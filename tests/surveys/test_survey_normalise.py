"""Answer normalisation: Likert labels, dates, age bands, postcodes, multi-select cells."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saferstreets.surveys import normalise as norm

SCALE = norm.Scale(("Very unsafe", "Fairly unsafe", "Fairly safe", "Very safe"), ("Don't know",))


def test_likert_ignores_case_spacing_and_curly_quotes() -> None:
    assert SCALE.normalise("  very   UNSAFE ") == "Very unsafe"
    assert SCALE.normalise("Don’t know") is None  # curly apostrophe, a 'missing' answer
    assert SCALE.normalise("") is None and SCALE.normalise(None) is None
    with pytest.raises(norm.AnswerError, match="'Quite safe' is not on the scale"):
        SCALE.normalise("Quite safe")


@given(st.sampled_from(SCALE.labels), st.text(alphabet=" \t", max_size=3), st.booleans())
def test_every_scale_label_survives_noise(label: str, pad: str, upper: bool) -> None:
    text = pad + (label.upper() if upper else label) + pad
    assert SCALE.normalise(text) == label


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("03/09/2021", "dmy", date(2021, 9, 3)),
        ("03/09/2021 21:15", "dmy", date(2021, 9, 3)),
        ("3/9/21", "dmy", date(2021, 9, 3)),
        ("09/03/2021 10:15:22 PM", "mdy", date(2021, 9, 3)),
        ("2021-09-03", "dmy", date(2021, 9, 3)),
        ("2021-09-03T10:15:00Z", "dmy", date(2021, 9, 3)),
        (datetime(2021, 9, 3, 10, 15), "dmy", date(2021, 9, 3)),
    ],
)
def test_dates(text: object, order: str, expected: date) -> None:
    assert norm.parse_date(text, order=order) == expected


def test_month_first_date_read_day_first_says_what_to_set() -> None:
    with pytest.raises(norm.AnswerError, match='set date_order = "mdy"'):
        norm.parse_date("09/23/2021", order="dmy")
    with pytest.raises(norm.AnswerError, match="is not a real date"):
        norm.parse_date("30/02/2021")


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("16-24", "16-24"),
        ("16 to 24", "16-24"),
        ("Aged 25–34", "25-34"),
        ("Under 16", "under16"),
        ("65 and over", "65+"),
        ("75+", "75+"),
        ("Prefer not to say", None),
    ],
)
def test_age_bands(text: str, band: str | None) -> None:
    assert norm.age_band(text) == band


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("al13ab", "AL1 3AB"),
        (" WD17  1AA ", "WD17 1AA"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("AL1", "AL1"),
        # A partial postcode is kept as written: WY5 6 is a sector of WY5, WY56 another district.
        ("WY5 6", "WY5 6"),
        ("wy5  6a", "WY5 6A"),
        ("WY56", "WY56"),
        ("AL13 AB", "AL1 3AB"),
    ],
)
def test_postcodes(text: str, expected: str) -> None:
    assert norm.postcode(text) == expected


def test_not_a_postcode() -> None:
    with pytest.raises(norm.AnswerError, match="'12345' is not a UK postcode"):
        norm.postcode("12345")


def test_multi_select_cells() -> None:
    known = {"poor lighting", "no cctv", "drunk people, drugs"}
    assert norm.split_choices("Poor lighting;No CCTV;", delimiter=None, known=known) == [
        "Poor lighting",
        "No CCTV",
    ]
    # A label with a comma in it is one choice, not two.
    assert norm.split_choices("Drunk people, drugs", delimiter=None, known=known) == [
        "Drunk people, drugs"
    ]
    assert norm.split_choices("Poor lighting,No CCTV", delimiter=None, known=known) == [
        "Poor lighting",
        "No CCTV",
    ]
    assert norm.split_choices("a|b", delimiter="|", known=set()) == ["a", "b"]
    assert [norm.is_selected(v) for v in ("Poor lighting", 1, "0", None, "No", "")] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
