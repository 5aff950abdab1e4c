"""What a survey wave can support: the options it offered, and the answers nobody could read.

Two rules keep the assessment from saying what the data do not support:

* A wave comparison uses only the options **both** waves offered. An option a wave never offered
  is not "chosen by 0%" there: nobody could choose it. The options a wave offered are those its
  stored mapping lists (``[[multi_select]] options`` and ``unknown``; for feeling safe, the
  ``[[likert]]`` question keys it asked); a wave stored without a mapping offered, as far as can
  be known, only what someone in it answered. Every option left out is named, with the wave that
  offered it.
* Answers that could not be understood are reported, never silently dropped. A feel-safe answer is
  understood when it is on the safe/unsafe scale or a stated non-answer ("don't know"); anything
  else (numeric codes 1 to 5 from a Qualtrics numeric export, say) is counted per wave and named.

Pure functions over plain data: no store, web or CLI here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from saferstreets.analysis.likert import is_missing, level

MAX_VALUES_NAMED = 6


def offered(mapping: Mapping[str, Any] | None, key: str = "concerns") -> frozenset[str] | None:
    """The codes a wave's stored mapping offered for a multi-select (``concerns``/``settings``).

    None when the mapping is not known or has no such question (the caller then falls back to the
    codes respondents named)."""
    if not mapping:
        return None
    codes: set[str] = set()
    found = False
    for item in mapping.get("multi_select") or ():
        if item.get("key") != key:
            continue
        found = True
        codes.update(str(c) for c in (item.get("options") or {}).values())
        if item.get("unknown"):
            codes.add(str(item["unknown"]))
    return frozenset(codes) if found else None


def asked(mapping: Mapping[str, Any] | None) -> frozenset[str] | None:
    """The feel-safe question keys (``after_dark.quiet_street``) a wave's stored mapping asked.

    None when the mapping is not known or lists no ``[[likert]]`` question (the caller then falls
    back to the keys respondents answered)."""
    if not mapping:
        return None
    keys = {str(item["key"]) for item in mapping.get("likert") or () if item.get("key")}
    return frozenset(keys) if keys else None


@dataclass(frozen=True)
class SharedOptions:
    """The options two waves both offered, and those left out with the wave that offered them."""

    compared: tuple[str, ...]
    left_out: tuple[tuple[str, str], ...]  # (code, "only in <wave>")

    def as_dict(self) -> dict[str, Any]:
        return {
            "compared": list(self.compared),
            "left_out": [{"code": c, "why": why} for c, why in self.left_out],
        }


def shared_options(
    first: tuple[str, frozenset[str] | None, Iterable[Iterable[str]]],
    second: tuple[str, frozenset[str] | None, Iterable[Iterable[str]]],
) -> SharedOptions:
    """Options offered by both waves; each wave is (name, offered codes or None, codes named).

    A wave whose offer is unknown (None) is taken to have offered what its respondents named."""
    (name_a, offer_a), (name_b, offer_b) = (
        (name, set(offer) if offer is not None else {c for codes in named for c in codes})
        for name, offer, named in (first, second)
    )
    both = offer_a & offer_b
    left_out = [
        (code, f"only in {name_a if code in offer_a else name_b}")
        for code in sorted((offer_a | offer_b) - both)
    ]
    return SharedOptions(tuple(sorted(both)), tuple(left_out))


@dataclass(frozen=True)
class NotUnderstood:
    """Answers of one wave to one kind of question that are on no scale the assessment reads."""

    wave: str
    measure: str  # "feel-safe"
    count: int
    values: tuple[str, ...]

    def sentence(self) -> str:
        return (
            f"Wave {self.wave}: {self.count:,} {self.measure} answer"
            f"{'s' if self.count != 1 else ''} not understood, {describe_values(self.values)}; "
            "map them"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "wave": self.wave,
            "measure": self.measure,
            "count": self.count,
            "values": list(self.values),
            "message": self.sentence(),
        }


def describe_values(values: Iterable[str]) -> str:
    """``codes 1–5`` for a run of whole numbers, else the values quoted (the first few)."""
    vals = sorted(set(values), key=lambda v: (not v.strip().lstrip("-").isdigit(), _num(v), v))
    if vals and all(v.strip().lstrip("-").isdigit() for v in vals):
        nums = sorted(int(v) for v in vals)
        if len(nums) > 2 and nums == list(range(nums[0], nums[-1] + 1)):
            return f"codes {nums[0]}\u2013{nums[-1]}"
        return "code" + ("s " if len(nums) > 1 else " ") + ", ".join(str(n) for n in nums)
    shown = ", ".join(f"'{v}'" for v in vals[:MAX_VALUES_NAMED])
    more = len(vals) - MAX_VALUES_NAMED
    return "answers " + shown + (f" and {more} more" if more > 0 else "")


def _num(v: str) -> int:
    try:
        return int(v)
    except ValueError:
        return 0


def understood(value: Any) -> bool:
    """Whether a feel-safe answer is on the scale or a stated non-answer."""
    return is_missing(value) or level(value) is not None


def feel_safe_not_understood(
    waves: Iterable[tuple[str, Iterable[Mapping[str, Any] | None]]],
) -> list[NotUnderstood]:
    """Per wave (name, each respondent's feel-safe answers): answers not understood, if any."""
    out = []
    for name, answers in waves:
        bad = [str(v).strip() for row in answers for v in (row or {}).values() if not understood(v)]
        if bad:
            out.append(NotUnderstood(name, "feel-safe", len(bad), tuple(sorted(set(bad)))))
    return out


def left_out_sentence(
    shared: SharedOptions, *, label: Any = None, what: str = "only one wave offered them"
) -> str:
    """ " Not compared, as only one wave offered them: no CCTV (only in Autumn 2022)." or empty
    when nothing was left out. ``label`` turns a code into words (the taxonomy's by default)."""
    if not shared.left_out:
        return ""
    if label is None:
        from saferstreets.themes.taxonomy import label
    parts = [f"{label(code).lower()} ({why})" for code, why in shared.left_out]
    return f" Not compared, as {what}: " + "; ".join(parts) + "."
