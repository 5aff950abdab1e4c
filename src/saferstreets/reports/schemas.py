"""What the public report form accepts: one pydantic model, with limits on every field.

The same model serves the web form, the demo generator's JSON Lines and imports from other
channels, so every way into the store is validated the same way. ``parse_submission`` turns
pydantic's errors into plain ``{field: message}`` maps that the form shows next to each field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from saferstreets.errors import ValidationFailed
from saferstreets.themes.taxonomy import BY_CODE, OTHER, THEME_CODES, THEMES

TIME_BANDS: tuple[tuple[str, str], ...] = (
    ("morning", "Morning (6am to noon)"),
    ("afternoon", "Afternoon (noon to 5pm)"),
    ("evening", "Evening (5pm to 9pm)"),
    ("night", "Night (9pm to midnight)"),
    ("late_night", "Late night (midnight to 6am)"),
)
TIME_BAND_CODES = tuple(code for code, _ in TIME_BANDS)
# The band an hour of the day falls in (imports and the demo give hours; the form gives bands).
HOUR_BANDS: dict[int, str] = {
    **{h: "late_night" for h in range(0, 6)},
    **{h: "morning" for h in range(6, 12)},
    **{h: "afternoon" for h in range(12, 17)},
    **{h: "evening" for h in range(17, 21)},
    **{h: "night" for h in range(21, 24)},
}

AGE_BANDS: tuple[tuple[str, str], ...] = (
    ("under16", "Under 16"),
    ("16-17", "16 to 17"),
    ("18-24", "18 to 24"),
    ("25-34", "25 to 34"),
    ("35-44", "35 to 44"),
    ("45-54", "45 to 54"),
    ("55-64", "55 to 64"),
    ("65+", "65 or over"),
)
AGE_BAND_CODES = tuple(code for code, _ in AGE_BANDS)

# The reasons the form offers: the environmental and behavioural themes, then "other".
_FORM_KINDS = ("environmental", "behavioural")
FORM_REASONS: tuple[tuple[str, str, str], ...] = tuple(
    (t.code, t.label, t.kind) for t in THEMES if t.kind in _FORM_KINDS
) + tuple((t.code, t.label, "other") for t in THEMES if t.kind not in _FORM_KINDS)
REASON_CODES: tuple[str, ...] = (*THEME_CODES, OTHER)

MAX_FREE_TEXT = 2000
MAX_OTHER_REASON = 200
MAX_PLACE_TEXT = 200
MAX_AREA_CODE = 32
AREA_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,31}$"

TimeBand = Literal["morning", "afternoon", "evening", "night", "late_night"]
AgeBand = Literal["under16", "16-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]

_JOIN = " | "  # joins several cross-field problems into one error; field_errors splits them
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: Any, *, multiline: bool = False) -> str | None:
    """Normalise (NFC), drop control and direction-override characters, trim; empty is None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be text")
    text = unicodedata.normalize("NFC", value)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CONTROL.sub("", text)
        text = re.sub(r"\n{3,}", "\n\n", text)
    else:
        text = _CONTROL.sub("", text.replace("\n", " ").replace("\t", " "))
        text = re.sub(r"\s{2,}", " ", text)
    text = text.strip()
    return text or None


class ReportSubmission(BaseModel):
    """One public report as submitted: where, when, why, in her own words, and optional context.

    No field identifies the person reporting: there is no name, email, phone, account, device or
    address field. ``latitude``/``longitude`` come from a map pin or "use my location" (only on an
    explicit tap); ``area_code`` from the place search; at least one of them is needed.
    """

    model_config = ConfigDict(extra="forbid", str_max_length=MAX_FREE_TEXT * 2)

    latitude: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    place_text: str | None = Field(default=None, max_length=MAX_PLACE_TEXT)
    area_code: str | None = Field(default=None, max_length=MAX_AREA_CODE, pattern=AREA_CODE_PATTERN)
    occurred_on: date | None = None
    time_band: TimeBand | None = None
    happens_regularly: bool = False
    reasons: list[str] = Field(default_factory=list, max_length=len(REASON_CODES))
    other_reason: str | None = Field(default=None, max_length=MAX_OTHER_REASON)
    free_text: str | None = Field(default=None, max_length=MAX_FREE_TEXT)
    age_band: AgeBand | None = None
    for_self: bool | None = None

    @field_validator("place_text", "other_reason", "area_code", mode="before")
    @classmethod
    def _one_line(cls, value: Any) -> str | None:
        return clean_text(value)

    @field_validator("free_text", mode="before")
    @classmethod
    def _multiline(cls, value: Any) -> str | None:
        return clean_text(value, multiline=True)

    @field_validator("time_band", "age_band", mode="before")
    @classmethod
    def _empty_choice(cls, value: Any) -> Any:
        return None if value in ("", "not_sure", "prefer_not") else value

    @field_validator("for_self", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"": None, "yes": True, "no": False, "prefer_not": None}.get(value, value)
        return value

    @field_validator("reasons", mode="before")
    @classmethod
    def _reasons(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        return value

    @field_validator("reasons")
    @classmethod
    def _known_reasons(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code not in REASON_CODES]
        if unknown:
            raise ValueError(f"unknown reason {unknown[0][:40]!r}")
        seen: list[str] = []
        for code in value:
            if code not in seen:
                seen.append(code)
        return seen

    @model_validator(mode="after")
    def _consistent(self) -> ReportSubmission:
        if self.other_reason and OTHER not in self.reasons:
            self.reasons = [*self.reasons, OTHER]
        problems = []
        if (self.latitude is None) != (self.longitude is None):
            problems.append("location: give both latitude and longitude, or neither")
        elif self.latitude is None and not self.area_code:
            problems.append("location: choose the place on the map or from the list of places")
        if self.occurred_on is None and not self.happens_regularly:
            problems.append(
                "occurred_on: give the date it happened, or tick 'It happens regularly'"
            )
        if not self.reasons and not self.free_text:
            problems.append("reasons: tick at least one reason, or tell us in your own words")
        if OTHER in self.reasons and not self.other_reason and not self.free_text:
            problems.append("other_reason: say in a few words what the other reason was")
        if problems:
            raise ValueError(_JOIN.join(problems))
        return self

    def reason_labels(self) -> list[str]:
        """The reasons in plain words."""
        return [BY_CODE[c].label if c in BY_CODE else "Other" for c in self.reasons]


# Plain messages for the form, by field; pydantic's own wording is for developers.
FIELD_MESSAGES = {
    "latitude": "The map position could not be read; place the pin again",
    "longitude": "The map position could not be read; place the pin again",
    "place_text": f"Keep the place name under {MAX_PLACE_TEXT} characters",
    "area_code": "Choose a place from the list",
    "occurred_on": "Enter the date as day, month and year",
    "time_band": "Choose a time of day from the list",
    "happens_regularly": "Tick the box or leave it empty",
    "reasons": "Choose reasons from the list",
    "other_reason": f"Keep the other reason under {MAX_OTHER_REASON} characters",
    "free_text": f"Keep what you write under {MAX_FREE_TEXT:,} characters",
    "age_band": "Choose an age group from the list, or leave it empty",
    "for_self": "Choose yes or no, or leave it empty",
}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Turn pydantic's errors into one plain message per form field."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
        if loc:
            name = loc[0]
            if name not in FIELD_MESSAGES:
                name = "form"
            errors.setdefault(name, FIELD_MESSAGES.get(name, "This field is not accepted"))
            continue
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        for part in message.split(_JOIN):
            name, _, text = part.partition(": ")
            if text and name in (*FIELD_MESSAGES, "location"):
                errors.setdefault(name, text[:1].upper() + text[1:])
            else:
                errors.setdefault("form", part)
    return errors


def parse_submission(data: dict[str, Any]) -> ReportSubmission:
    """Validate ``data`` into a submission, or raise ValidationFailed with a message per field."""
    try:
        return ReportSubmission.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            "Some answers need another look before the report can be sent.",
            field_errors=field_errors(exc),
        ) from None
