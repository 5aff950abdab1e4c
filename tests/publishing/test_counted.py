"""Counts read as English: one small area is a hot spot, two are."""

from __future__ import annotations

from saferstreets.publishing.formatting import counted
from saferstreets.publishing.sentences import hotspots


def test_counted_agrees_with_its_number() -> None:
    assert counted(1, "small area") == "1 small area"
    assert counted(0, "small area") == "0 small areas"
    assert counted(1_200, "wolf", "wolves") == "1,200 wolves"


def _sentence(hot: int) -> str:
    res = {"classes": {"3": hot, "0": 40}, "cells": 40 + hot, "top": []}
    finding = hotspots(res, "public reports", lambda cells: {}, 9)
    assert finding is not None
    return finding.text


def test_the_hot_spot_sentence_agrees_with_its_count() -> None:
    assert "1 small area (hexagons of about" in _sentence(1)
    assert ") is a hot spot of public reports" in _sentence(1)
    assert "2 small areas (hexagons of about" in _sentence(2)
    assert ") are hot spots of public reports" in _sentence(2)
