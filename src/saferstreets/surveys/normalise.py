"""Turning survey answers into stored values: text, Likert labels, dates, age bands, postcodes.

Every function here is pure: a raw cell in, a normalised value out, or ``AnswerError`` with a
sentence that says what was wrong (the importer adds the file, row and field).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from typing import Any


class AnswerError(ValueError):
    """One answer that cannot be normalised; the message says why in plain words."""


_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)
_SPACE = re.compile(r"\s+")


def key(text: Any) -> str:
    """Case-, curly-quote- and whitespace-insensitive form of a label, for matching."""
    if text is None:
        return ""
    return _key(str(text))


@lru_cache(maxsize=65536)
def _key(text: str) -> str:
    value = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return _SPACE.sub(" ", value).strip().casefold()


def cell_text(value: Any) -> str | None:
    """A cell as trimmed text; ``None`` for blank cells. Whole floats lose their ``.0``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value)).replace("\u00a0", " ").strip()
    return text or None


def json_value(value: Any) -> Any:
    """A cell as a JSON-safe value for the raw row (dates as ISO text)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip() or None
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class Scale:
    """A Likert scale: its labels in order, and the answers kept as missing rather than refused."""

    def __init__(self, labels: tuple[str, ...], missing: tuple[str, ...] = ()) -> None:
        self.labels = labels
        self.missing = missing
        self._by_key = {key(label): label for label in labels}
        self._missing = {key(m) for m in missing}

    def normalise(self, value: Any) -> str | None:
        """The scale label this answer is, ``None`` if blank or a 'missing' answer."""
        text = cell_text(value)
        if text is None:
            return None
        k = key(text)
        if k in self._by_key:
            return self._by_key[k]
        if k in self._missing:
            return None
        raise AnswerError(
            f"'{text}' is not on the scale ({'; '.join(self.labels)})"
            + (f" nor a 'missing' answer ({'; '.join(self.missing)})" if self.missing else "")
        )


_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_SLASHED = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?:,?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?)?$"
)


def parse_date(value: Any, *, order: str = "dmy") -> date | None:
    """A date from an XLSX date cell, ISO text, or day-first (``dmy``) or month-first text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    if text is None:
        return None
    match = _ISO.match(text)
    if match:
        y, m, d = (int(g) for g in match.groups())
        return _make_date(text, y, m, d)
    match = _SLASHED.match(text)
    if match:
        a, b, y = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if len(match.group(3)) == 2:
            y += 2000
        d, m = (a, b) if order == "dmy" else (b, a)
        if m > 12 and d <= 12:
            other = "month-first" if order == "dmy" else "day-first"
            setting = "mdy" if order == "dmy" else "dmy"
            raise AnswerError(
                f"'{text}' is not a valid date read {order}; it "
                f'looks {other}: set date_order = "{setting}" in the mapping\'s [file] table'
            )
        return _make_date(text, y, m, d)
    raise AnswerError(f"'{text}' is not a date (use day/month/year or year-month-day)")


def _make_date(text: str, y: int, m: int, d: int) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise AnswerError(f"'{text}' is not a real date") from None


_BAND_RANGE = re.compile(
    r"^(?:aged\s+)?(\d{1,3})\s*(?:-|to)\s*(\d{1,3})(?:\s*(?:years?|yrs?)(?:\s*old)?)?$"
)
_BAND_UNDER = re.compile(
    r"^(?:under|below|less than|younger than)\s*(\d{1,3})(?:\s*(?:years?|yrs?))?$"
)
_BAND_OVER = re.compile(
    r"^(\d{1,3})\s*"
    r"(?:\+|plus|and over|or over|and above|or above|and older|or older|years and over)$"
)
AGE_MISSING = ("prefer not to say", "rather not say", "don't know", "not stated", "n/a")


def age_band(value: Any) -> str | None:
    """A compact age band (``16-24``, ``under16``, ``65+``) from answer text; None if not given."""
    text = cell_text(value)
    if text is None:
        return None
    k = key(text)
    if k in AGE_MISSING:
        return None
    band = _read_band(k)
    if band is not None:
        return band
    if len(k) <= 16:
        return k
    raise AnswerError(f"'{text}' is not an age band (add it to the mapping's [age_bands] table)")


def _read_band(k: str) -> str | None:
    for pattern, fmt in ((_BAND_RANGE, "{0}-{1}"), (_BAND_UNDER, "under{0}"), (_BAND_OVER, "{0}+")):
        match = pattern.match(k)
        if match:
            return fmt.format(*match.groups())
    return None


def reads_as_age(value: Any) -> bool:
    """Whether an answer reads as an age band or as a missing age ("Prefer not to say"); an
    answer that does not (``age_band`` keeps its text as the band) needs a person to say."""
    text = cell_text(value)
    return text is None or key(text) in AGE_MISSING or _read_band(key(text)) is not None


# Full postcodes and outward codes alone (surveys often ask only for the first half).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})?$")
# A partial postcode written with its space: a sector (``WY5 6``) or more (``WY5 6A``).
_PARTIAL = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s+([0-9][A-Z]?)$")


def postcode(value: Any) -> str | None:
    """A UK postcode upper-cased with one space (``AL1 3AB``), an outward code (``AL1``), or a
    partial postcode kept as written (``WY5 6``, not ``WY56``, which is another district)."""
    text = cell_text(value)
    if text is None:
        return None
    upper = text.upper().strip()
    partial = _PARTIAL.match(upper)
    if partial:
        return f"{partial[1]} {partial[2]}"
    compact = re.sub(r"\s+", "", upper)
    match = _POSTCODE.match(compact) or _POSTCODE.match(upper)
    if not match:
        raise AnswerError(f"'{text}' is not a UK postcode")
    outward, inward = match.groups()
    return f"{outward} {inward}" if inward else outward


def coordinate(value: Any, *, low: float, high: float, what: str) -> float | None:
    """A latitude or longitude in range, or None when blank."""
    text = cell_text(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise AnswerError(f"'{text}' is not a number") from None
    if not low <= number <= high:
        raise AnswerError(f"{number} is not a {what} (between {low} and {high})")
    return number


# Answers to an open question that say nothing: not free text (themes would count them).
NON_ANSWERS = frozenset(
    [
        "n/a",
        "na",
        "n.a",
        "none",
        "no",
        "nope",
        "nothing",
        "nil",
        "not applicable",
        "no comment",
        "no comments",
        "no thanks",
        "no thank you",
        "nothing to add",
        "nothing else",
        "nothing more",
        "don't know",
        "dont know",
        "idk",
        "not sure",
        "prefer not to say",
        "no answer",
        "x",
        "",
    ]
)


def is_non_answer(text: str) -> bool:
    """Whether an open answer says nothing ("n/a", "No.", "none", "-")."""
    return key(text).strip(" .!-_/?") in NON_ANSWERS


_UNSELECTED = {"0", "no", "false", "not selected", "unselected", "not checked", "n"}


def is_selected(value: Any) -> bool:
    """Whether a column-per-option cell is ticked: any text but blank, 0, no, false, unselected."""
    text = cell_text(value)
    return text is not None and key(text) not in _UNSELECTED


def split_choices(value: Any, *, delimiter: str | None, known: set[str]) -> list[str]:
    """The choices in one multi-select cell.

    With a delimiter, split on it. Without one, a cell that is itself a known option is one
    choice; else split on ``;`` (Microsoft Forms), else on ``,`` when every part is a known option
    (Qualtrics), else the whole cell is one (unknown) choice.
    """
    text = cell_text(value)
    if text is None:
        return []
    if delimiter:
        parts = text.split(delimiter)
    elif key(text) in known:
        parts = [text]
    elif ";" in text:
        parts = text.split(";")
    elif "," in text and all(key(p) in known for p in text.split(",") if p.strip()):
        parts = text.split(",")
    else:
        parts = [text]
    return [p.strip() for p in parts if p.strip()]
