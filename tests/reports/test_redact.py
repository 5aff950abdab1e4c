"""Contact details typed into free text are redacted wherever the text is shown beyond triage."""

from __future__ import annotations

import pytest

from saferstreets.reports.redact import (
    EMAIL_MARK,
    PHONE_MARK,
    has_contact_details,
    redact_contact_details,
)


@pytest.mark.parametrize(
    "text",
    [
        "email me at jane.doe+x@example.co.uk please",
        "jane (at) example (dot) com",
        "jane at example dot com",
        "JANE@EXAMPLE.ORG",
    ],
)
def test_emails_are_redacted(text: str) -> None:
    out = redact_contact_details(text)
    assert EMAIL_MARK in out
    assert "example" not in out.lower()


@pytest.mark.parametrize(
    "number",
    [
        "07700 900123",
        "07700900123",
        "+44 (0)20 7946 0000",
        "0044 1632 960000",
        "01632-960-000",
        "+1 415 555 2671",
        "(01632) 960 000",
    ],
)
def test_phone_numbers_are_redacted(number: str) -> None:
    out = redact_contact_details(f"call me on {number}, any time")
    assert out == f"call me on {PHONE_MARK}, any time"


@pytest.mark.parametrize(
    "text",
    [
        "It happened on 12/03/2024 at 10.30pm near bus stop 42",
        "I was at home.The street lights on Church Road are out",
        "the 2021-03-15 incident, postcode AL1 3AB, about 3 times a week",
        "number 12345678 bus",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_contact_details(text) == text
    assert not has_contact_details(text)
