"""Zero-shot themes: measured on a hand-labelled set against trivial baselines; negation."""

from __future__ import annotations

import re

import numpy as np
import pytest
from tests.themes.handlabelled import LABELLED

from saferstreets.themes.classifier import evaluate_predictions
from saferstreets.themes.taxonomy import BY_CODE, THEME_CODES
from saferstreets.themes.zeroshot import ZeroShotThemer, parse_mapping


@pytest.fixture(scope="module")
def themer() -> ZeroShotThemer:
    return ZeroShotThemer()


def _truth() -> np.ndarray:
    return np.array([[c in themes for c in THEME_CODES] for _, themes in LABELLED], dtype=int)


def _label_word_baseline(texts: list[str]) -> np.ndarray:
    """A theme is present when a word of its public label appears in the text."""
    stop = {"or", "and", "a", "by", "of", "the", "poor", "no", "being", "public"}
    words = {
        code: {w for w in re.findall(r"[a-z]+", BY_CODE[code].label.lower()) if w not in stop}
        for code in THEME_CODES
    }
    return np.array(
        [
            [int(bool(words[c] & set(re.findall(r"[a-z]+", t.lower())))) for c in THEME_CODES]
            for t in texts
        ]
    )


def test_the_hand_labelled_set_is_big_and_covers_every_theme() -> None:
    assert len(LABELLED) >= 60
    covered = set().union(*(themes for _, themes in LABELLED))
    assert covered == set(THEME_CODES)
    assert any(not themes for _, themes in LABELLED)  # texts with no theme too


def test_zero_shot_beats_trivial_baselines(themer: ZeroShotThemer) -> None:
    texts = [t for t, _ in LABELLED]
    T = _truth()
    ours = evaluate_predictions(T, themer.predict(texts), labels=THEME_CODES)
    # baseline 1: every text gets the most common theme
    majority = np.zeros_like(T)
    majority[:, T.sum(axis=0).argmax()] = 1
    base_majority = evaluate_predictions(T, majority, labels=THEME_CODES)
    # baseline 2: a theme's label words appear in the text
    base_words = evaluate_predictions(T, _label_word_baseline(texts), labels=THEME_CODES)
    for base in (base_majority, base_words):
        assert ours["micro_f1"] > base["micro_f1"] + 0.2
        assert ours["macro_f1"] > base["macro_f1"] + 0.2
    assert ours["micro_f1"] > 0.7


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        (
            "The lighting is fine but the underpass has hidden corners.",
            "blind_spots",
            "poor_lighting",
        ),
        ("It was not dark at all, I just felt uneasy.", None, "poor_lighting"),
        ("Nobody followed me but a man stared the whole time.", "staring", "being_followed"),
        ("There are no cameras anywhere on this path.", "no_cctv", None),
        ("There's CCTV everywhere and it is well lit.", None, "no_cctv"),
        ("Walking home after dark the street lights were all out.", "poor_lighting", None),
    ],
)
def test_negation_and_reassurance(
    themer: ZeroShotThemer, text: str, present: str | None, absent: str | None
) -> None:
    found = {code for code, _ in themer.themes_of(text)}
    if present:
        assert present in found
    if absent:
        assert absent not in found


def test_scores_are_confidences_and_version_is_stable(themer: ZeroShotThemer) -> None:
    scores = themer.score(["A man exposed himself by the swings.", ""])
    assert scores.shape == (2, len(THEME_CODES))
    assert ((scores >= 0) & (scores < 1)).all()
    assert scores[0, THEME_CODES.index("indecent_exposure")] >= themer.threshold
    assert (scores[1] == 0).all()
    assert ZeroShotThemer().version == themer.version


def test_mapping_is_read_and_bad_mappings_refused() -> None:
    assert parse_mapping("A=staring+touching, B=transport") == {
        "A": ("staring", "touching"),
        "B": ("transport",),
    }
    from saferstreets.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="Cannot read the mapping"):
        parse_mapping("A=not_a_theme")
