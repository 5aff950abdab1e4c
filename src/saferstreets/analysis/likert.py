"""Feeling safe: Likert answers summarised as shares with intervals, never as means of codes.

A five-point safety scale ("very safe" .. "very unsafe") is ordinal: the distance from "fairly" to
"very" is not a unit, so a mean of codes 1 to 5 has no meaning a reader can use. Following the
Office for National Statistics (Crime Survey for England and Wales; Opinions and Lifestyle Survey,
"Perceptions of personal safety"), each question is summarised as the share who felt *very or
fairly unsafe*, with a Wilson interval, among those who gave an answer on the scale ("don't know",
"not applicable" and blanks are left out of the denominator and counted separately).

Day and after-dark answers come from the same people, so the two shares are compared with a paired
test: McNemar's exact test on the discordant pairs (McNemar 1947), not a two-sample test.

References
----------
Office for National Statistics (2022). Perceptions of personal safety and experiences of
    harassment, Great Britain: 16 February to 13 March 2022.
McNemar, Q. (1947). Note on the sampling error of the difference between correlated proportions
    or percentages. Psychometrika 12(2), 153-157.
Wilson, E. B. (1927), see :mod:`saferstreets.analysis.proportions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scipy import stats

from saferstreets.analysis.proportions import proportion

UNSAFE = "unsafe"
SAFE = "safe"
NEUTRAL = "neutral"

_MISSING = {
    "dont know",
    "don't know",
    "do not know",
    "not applicable",
    "n/a",
    "na",
    "prefer not to say",
    "never go there",
    "i never go there",
    "not sure",
}


def _text(label: Any) -> str:
    return re.sub(r"\s+", " ", str(label).replace("\u2019", "'").strip().lower())


def is_missing(label: Any) -> bool:
    """Whether an answer is a stated non-answer ("don't know", "n/a") or blank: not on the scale
    and not a misunderstanding either."""
    return label is None or _text(label) in _MISSING or not _text(label)


def level(label: str | None) -> str | None:
    """The side of the scale an answer is on: ``unsafe``, ``safe``, ``neutral`` or None (missing).

    Any label containing "unsafe" ("very unsafe", "fairly unsafe", "a bit unsafe") is unsafe;
    "neither ..." is neutral; any other label containing "safe" is safe. Missing answers
    ("don't know", "not applicable", blanks) are None and stay out of the denominator.
    """
    if label is None:
        return None
    text = _text(label)
    if not text or text in _MISSING:
        return None
    if text.startswith("neither") or text in {"neutral", "unsure"}:
        return NEUTRAL
    if "unsafe" in text or "not safe" in text or "not at all safe" in text:
        return UNSAFE
    if "safe" in text:
        return SAFE
    return None


def split_key(key: str) -> tuple[str, str]:
    """``after_dark.park`` -> (``after_dark``, ``park``); a bare key -> ('', key)."""
    if "." in key:
        when, where = key.split(".", 1)
        return when, where
    return "", key


@dataclass(frozen=True)
class FeelSafeSummary:
    """Per question key: shares unsafe/safe with intervals, and day vs after-dark comparisons."""

    questions: tuple[dict[str, Any], ...]
    day_vs_dark: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"questions": list(self.questions), "day_vs_dark": list(self.day_vs_dark)}


def key_in_words(key: str, setting_label: Any = None) -> str:
    """A question key in words: ``after_dark.quiet_street`` → "in quiet streets after dark"."""
    when, setting = split_key(key)
    if setting_label is None:
        from saferstreets.themes.taxonomy import label as setting_label
    place = setting_label(setting).lower()
    return f"in {place} {'after dark' if when == 'after_dark' else 'by day'}"


def summarise_feel_safe(
    answers: Iterable[Mapping[str, Any]], *, confidence: float = 0.95
) -> FeelSafeSummary:
    """Share feeling very or fairly unsafe per question, and day vs after dark per setting.

    Parameters
    ----------
    answers : iterable of mappings
        One mapping per respondent, ``{"after_dark.park": "Fairly unsafe", ...}``.
    confidence : float, default 0.95

    Returns
    -------
    FeelSafeSummary
        ``questions``: for each key, ``{key, when, setting, n, missing, unsafe: Proportion,
        safe: Proportion, neutral}``; ``day_vs_dark``: for each setting answered both by day and
        after dark by the same people, the paired shares and McNemar's exact p-value.
    """
    levels: list[dict[str, str | None]] = []
    keys: dict[str, None] = {}
    for row in answers:
        mapped = {k: level(v) for k, v in (row or {}).items()}
        levels.append(mapped)
        keys.update(dict.fromkeys(mapped))
    questions = []
    for key in sorted(keys):
        vals = [m.get(key) for m in levels if key in m]
        answered = [v for v in vals if v is not None]
        n = len(answered)
        when, where = split_key(key)
        questions.append(
            {
                "key": key,
                "when": when,
                "setting": where,
                "n": n,
                "missing": len(vals) - n,
                "unsafe": proportion(answered.count(UNSAFE), n, confidence).as_dict(),
                "safe": proportion(answered.count(SAFE), n, confidence).as_dict(),
                "neutral": answered.count(NEUTRAL),
            }
        )
    pairs = []
    settings = sorted({split_key(k)[1] for k in keys})
    for where in settings:
        day, dark = f"day.{where}", f"after_dark.{where}"
        if day not in keys or dark not in keys:
            continue
        both = [(m.get(day), m.get(dark)) for m in levels]
        both = [(a, b) for a, b in both if a is not None and b is not None]
        n = len(both)
        if n == 0:
            continue
        day_unsafe = sum(a == UNSAFE for a, _ in both)
        dark_unsafe = sum(b == UNSAFE for _, b in both)
        only_dark = sum(a != UNSAFE and b == UNSAFE for a, b in both)
        only_day = sum(a == UNSAFE and b != UNSAFE for a, b in both)
        discordant = only_dark + only_day
        p = float(stats.binomtest(only_dark, discordant).pvalue) if discordant else 1.0
        pairs.append(
            {
                "setting": where,
                "n": n,
                "day_unsafe": proportion(day_unsafe, n, confidence).as_dict(),
                "after_dark_unsafe": proportion(dark_unsafe, n, confidence).as_dict(),
                "unsafe_only_after_dark": only_dark,
                "unsafe_only_by_day": only_day,
                "test": "McNemar exact (binomial on discordant pairs)",
                "p_value": p,
            }
        )
    return FeelSafeSummary(tuple(questions), tuple(pairs))
