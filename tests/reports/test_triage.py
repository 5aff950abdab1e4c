"""Triage rules: which reports go to the safeguarding queue, and the reason staff see."""

from __future__ import annotations

import pytest

from saferstreets.reports.triage import triage


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("He is outside my house right now", "danger now"),
        ("a man is still following me as I type this", "danger now"),
        ("please help, I'm scared for my life", "asks for help"),
        ("He said he would kill me", "threat to life"),
        ("a group with a knife by the underpass", "weapon"),
        ("I was raped near the canal", "sexual assault"),
        ("I think about ending my life, suicide", "risk to herself"),
        ("someone tried to pull her into a van, abducted", "abduction"),
        ("his name is Dave Smith and he waits by the shop", "names a person"),
        ("a man called Gary shouts at girls", "names a person"),
        ("Mr Jones at the corner shop stares", "names a person"),
        ("my ex keeps turning up at the bus stop", "identifies someone she knows"),
        ("silver car reg AB12 CDE followed me", "gives a number plate"),
    ],
)
def test_flags_with_reason(text: str, reason: str) -> None:
    result = triage(free_text=text)
    assert result.urgent
    assert reason in (result.reason or "")


@pytest.mark.parametrize(
    "text",
    [
        "The street lights on the path are out and it is very dark",
        "Overgrown bushes by the stable block",
        "Groups drinking outside the pub, killer heels and no taxis",
        "Catcalling from vans on the high street most evenings",
        None,
    ],
)
def test_ordinary_reports_are_not_flagged(text: str | None) -> None:
    result = triage(
        free_text=text, reasons=["poor_lighting", "verbal_harassment"], age_band="25-34"
    )
    assert not result.urgent and result.reason is None


def test_a_child_describing_sexual_behaviour_is_flagged() -> None:
    assert triage(free_text=None, reasons=["touching"], age_band="under16").urgent
    assert not triage(free_text=None, reasons=["touching"], age_band="18-24").urgent
    assert not triage(free_text=None, reasons=["poor_lighting"], age_band="under16").urgent


def test_other_reason_text_is_read_too() -> None:
    assert triage(free_text=None, other_reason="he has a gun").urgent


@pytest.mark.parametrize(
    ("text", "reasons", "age_band", "urgency"),
    [
        ("he is outside my house right now", [], None, 1),
        ("a man called Gary Stone has a knife", [], None, 1),  # a weapon outranks a name
        ("I was sexually assaulted by the canal", [], None, 2),
        (None, ["touching"], "under16", 2),
        ("my ex keeps turning up at my work", [], None, 3),
        ("a car with reg AB12 CDE parks there", [], None, 3),
        ("dark underpass", [], None, None),
    ],
)
def test_urgency_ranks_danger_now_then_a_child_or_sexual_violence_then_a_named_person(
    text: str | None, reasons: list[str], age_band: str | None, urgency: int | None
) -> None:
    assert triage(free_text=text, reasons=reasons, age_band=age_band).urgency == urgency
