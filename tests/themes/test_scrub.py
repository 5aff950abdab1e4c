"""Quotes lose names, phone numbers, e-mail addresses and number plates, and nothing else."""

from __future__ import annotations

import pytest

from saferstreets.themes.scrub import scrub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A man called Dave keeps hanging about", "A man called [name] keeps hanging about"),
        ("the guy named Kev Brown was there", "the guy named [name] was there"),
        ("Mr Jones at number 4 shouts at girls", "[name] at number 4 shouts at girls"),
        ("I told Sarah and Tom Smith about it", "I told [name] and [name] about it"),
        ("ring me on 07700 900123 please", "ring me on [phone] please"),
        ("call 07700-900-123.", "call [phone]."),
        ("or +44 7700 900 123 or (01632) 960 123", "or [phone] or [phone]"),
        ("landline 020 7946 0000 today", "landline [phone] today"),
        ("write to jane.doe+x@example.co.uk now", "write to [email] now"),
        ("a silver car AB12 CDE slowed down", "a silver car [vehicle] slowed down"),
        ("plate ab12cde again", "plate [vehicle] again"),
        ("old van A123 BCD and a ABC 123D", "old van [vehicle] and a [vehicle]"),
    ],
)
def test_scrubs(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Will someone fix the lights on the M25 slip road?",
        "Lee Street is dark and Victoria Park is empty.",
        "In 2021 about 1000 people walked here at 10 pm.",
        "The number 42 bus stop by the Co-op.",
        "",
    ],
)
def test_leaves_ordinary_text_alone(text: str) -> None:
    assert scrub(text) == text


def test_quotes_lose_every_contact_detail_the_report_redaction_finds() -> None:
    """One home for contact-detail patterns (``reports.redact``): a quote is scrubbed of the
    spelt-out addresses and international numbers the report pages redact, not only of the
    plain ones its own older patterns knew."""
    from saferstreets.reports.redact import find_contact_details

    text = (
        "he said write to jo dot b at example dot com or ring +33 6 12 34 56 78, "
        "or jo.b@example.co.uk, or 07700 900123."
    )
    scrubbed = scrub(text)
    assert find_contact_details(scrubbed) == []
    assert scrubbed.count("[email]") == 2 and scrubbed.count("[phone]") == 2
    assert scrub("on 12/03/2024 at 9pm") == "on 12/03/2024 at 9pm"  # a date is not a number
