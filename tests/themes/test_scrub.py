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
