"""The analyst's filter on the assessment workspace: what it holds, how it is read from an address
and written back into one (so a filtered view can be shared), and the SQL conditions it means.

Every field is optional; an empty filter is the whole force. Bad values raise one
``ValidationFailed`` naming each field, so the page shows the form again with the errors in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any
from urllib.parse import urlencode

from saferstreets.crime.models import Crime
from saferstreets.errors import ValidationFailed
from saferstreets.models_common import listed
from saferstreets.reports.models import Report
from saferstreets.reports.schemas import AGE_BAND_CODES
from saferstreets.surveys.models import SurveyResponse
from saferstreets.themes.taxonomy import BY_CODE

SOURCES_REPORTS = "reports"
WAVE_PREFIX = "wave-"
MAX_CODE = 32


@dataclass(frozen=True)
class WorkspaceFilter:
    """Which records the workspace counts.

    ``area`` is a district or ward code; ``source`` is ``reports`` (public reports only),
    ``wave-<id>`` (one survey wave only) or empty (both); ``theme`` keeps texts an analyst or the
    model gave that theme; ``reason`` keeps reports ticking it and respondents naming it.
    """

    start: date | None = None
    end: date | None = None
    area: str = ""
    area_kind: str = ""  # district or ward, found from ``area`` by the service
    age: str = ""
    source: str = ""
    theme: str = ""
    reason: str = ""

    @property
    def empty(self) -> bool:
        return not any(
            (self.start, self.end, self.area, self.age, self.source, self.theme, self.reason)
        )

    @property
    def wave_id(self) -> int | None:
        return int(self.source.removeprefix(WAVE_PREFIX)) if self.is_wave else None

    @property
    def is_wave(self) -> bool:
        return self.source.startswith(WAVE_PREFIX)

    @property
    def wants_reports(self) -> bool:
        return not self.is_wave

    @property
    def wants_survey(self) -> bool:
        return self.source != SOURCES_REPORTS

    def params(self) -> dict[str, str]:
        """The filter as query parameters (only those set), in a stable order."""
        out = {
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "area": self.area,
            "age": self.age,
            "source": self.source,
            "theme": self.theme,
            "reason": self.reason,
        }
        return {k: v for k, v in out.items() if v}

    def query(self) -> str:
        """``?from=...&area=...`` or an empty string for the empty filter."""
        params = self.params()
        return "?" + urlencode(params) if params else ""

    def key(self) -> str:
        """A canonical text of the filter, for cache keys."""
        return urlencode(sorted(self.params().items()))

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"] = self.start.isoformat() if self.start else None
        d["end"] = self.end.isoformat() if self.end else None
        return d


FIELD_NAMES = tuple(f.name for f in fields(WorkspaceFilter))


def _date(text: str, name: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = "a date as YYYY-MM-DD"
        return None


def parse_filter(query: Mapping[str, str]) -> WorkspaceFilter:
    """The filter from query parameters (``from``, ``to``, ``area``, ``age``, ``source``,
    ``theme``, ``reason``); unknown parameters are ignored, bad values refused by field."""
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = (query.get(name) or "").strip()
        if len(value) > MAX_CODE or not value.replace("-", "").replace("_", "").isalnum():
            if value:
                errors[name] = "not a value this filter offers"
            return ""
        return value

    start = _date((query.get("from") or "").strip()[:10], "from", errors)
    end = _date((query.get("to") or "").strip()[:10], "to", errors)
    if start and end and end < start:
        errors["to"] = "the end date is before the start date"
    age, source, theme, reason = text("age"), text("source"), text("theme"), text("reason")
    area = text("area")
    if age and age not in AGE_BAND_CODES:
        errors["age"] = "one of the report form's age bands"
    if source and source != SOURCES_REPORTS:
        tail = source.removeprefix(WAVE_PREFIX)
        if not source.startswith(WAVE_PREFIX) or not tail.isdigit() or len(tail) > 9:
            errors["source"] = "public reports or one survey wave"
    for name, value in (("theme", theme), ("reason", reason)):
        if value and value not in BY_CODE:
            errors[name] = "one of the taxonomy's codes"
    if errors:
        raise ValidationFailed(
            "The filter has values the workspace cannot use: "
            + "; ".join(f"{k}: {v}" for k, v in sorted(errors.items())),
            field_errors=errors,
        )
    return WorkspaceFilter(start, end, area, "", age, source, theme, reason)


def _area(model: Any, flt: WorkspaceFilter) -> Any:
    column = model.district_code if flt.area_kind == "district" else model.ward_code
    return column == flt.area


def report_conditions(flt: WorkspaceFilter) -> list[Any]:
    """The WHERE conditions on ``report`` (its theme: one of the themes in force it holds)."""
    out: list[Any] = []
    if flt.start:
        out.append(Report.occurred_on >= flt.start)
    if flt.end:
        out.append(Report.occurred_on <= flt.end)
    if flt.area:
        out.append(_area(Report, flt))
    if flt.age:
        out.append(Report.age_band == flt.age)
    if flt.reason:
        out.append(listed(Report.reasons, flt.reason))
    if flt.theme:
        out.append(listed(Report.themes, flt.theme))
    return out


def response_conditions(flt: WorkspaceFilter) -> list[Any]:
    """The WHERE conditions on ``survey_response`` (a wave's respondents answered on a day)."""
    r = SurveyResponse
    out: list[Any] = []
    if flt.start:
        out.append(r.answered_on >= flt.start)
    if flt.end:
        out.append(r.answered_on <= flt.end)
    if flt.area:
        out.append(_area(r, flt))
    if flt.age:
        out.append(r.age_band == flt.age)
    if flt.wave_id is not None:
        out.append(r.wave_id == flt.wave_id)
    if flt.reason:
        out.append(listed(r.concerns, flt.reason))
    if flt.theme:
        out.append(listed(r.themes, flt.theme))
    return out


def crime_conditions(flt: WorkspaceFilter) -> list[Any]:
    """Recorded crime follows the dates (by month) and the area; it has no age, theme or reason."""
    out: list[Any] = []
    if flt.start:
        out.append(Crime.month >= flt.start.replace(day=1))
    if flt.end:
        out.append(Crime.month <= flt.end)
    if flt.area:
        out.append(_area(Crime, flt))
    return out
