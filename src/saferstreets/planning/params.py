"""What a plan can be asked for: one pydantic model, its defaults and its constraints.

The CLI (``saferstreets plan``), the web form (``/staff/plans/new``) and the service all read
:class:`PlanParams`: its defaults, descriptions and checks are written here once. A setting that
cannot work is a :class:`~saferstreets.errors.PlanningError` naming the field
(:meth:`PlanParams.check`), so a caller sees one kind of error whichever way the plan was asked
for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from saferstreets.errors import PlanningError

SOURCES = ("reports", "survey", "crime")
DEFAULT_WEIGHTS: dict[str, float] = {source: 1.0 for source in SOURCES}
NTE_HOURS_DEFAULT = [20, 21, 22, 23, 0, 1, 2, 3]
#: the message over a form whose fields could not be read as numbers or choices
CHECK_MARKED = "Please check the settings marked."


def weights_text(weights: Mapping[str, float]) -> str:
    """``{"reports": 1.0, ...}`` -> ``reports=1,survey=1,crime=1`` (what the CLI and form take)."""
    return ",".join(f"{k}={v:g}" for k, v in weights.items())


DEFAULT_WEIGHTS_TEXT = weights_text(DEFAULT_WEIGHTS)
SOURCE_WORDS = {
    "reports": "public reports",
    "survey": "survey concerns",
    "crime": "harm-weighted recorded crime",
}


def weights_words(weights: Mapping[str, float]) -> str:
    """``{"reports": 2, "survey": 1, "crime": 0}`` -> "public reports count twice as much as survey
    concerns; harm-weighted recorded crime is left out" (what a superintendent reads)."""
    order = [*SOURCES, *(k for k in weights if k not in SOURCES)]
    weights = {k: weights[k] for k in order if k in weights}  # the same order however stored
    used = {k: v for k, v in weights.items() if v > 0}
    left_out = [SOURCE_WORDS.get(k, k) for k, v in weights.items() if v <= 0]
    if not used:
        return "no source of demand is counted"
    values = set(used.values())
    if len(values) == 1:
        names = [SOURCE_WORDS.get(k, k) for k in used]
        text = f"{_and(names)} count equally" if len(names) > 1 else f"only {names[0]} counts"
    else:
        parts = [f"{SOURCE_WORDS.get(k, k)} {v:g}" for k, v in used.items()]
        text = f"weighed {_and(parts)} (a weight of 2 counts twice as much as 1)"
    if left_out:
        text += f"; {_and(left_out)} left out"
    return text


#: settings of the optimiser itself, not of the plan: shown under "How this was computed"
SOLVER_SETTINGS = ("time_limit", "mip_gap")
METHOD_WORDS = {
    "mclp": "cover as much demand as possible (maximal coverage)",
    "pmedian": "keep the average walk to demand shortest (p-median)",
}
APPORTIONMENT_WORDS = {
    "webster": "in proportion, rounded evenly (Webster/Sainte-Laguë)",
    "hamilton": "in proportion, largest remainders first (Hamilton)",
}
_LABELS = {
    "force_in": "Bases that must be used",
    "force_out": "Bases that must not be used",
    "weights": "What counts as demand",
    "method": "Bases are placed to",
    "apportionment": "Officers are shared",
    "rollout_start": "The first phase starts",
    "max_visits_per_hotspot": "Most visits to one hot spot in a week",
    "visits_per_hour": "Most visits to one hot spot in one hour",
    "nte_hours": "Night-time hours",
    "hotspots_per_team": "Hot spots each team patrols",
    "duty_share": "Share of a team on duty in a shift",
}


def setting_label(key: str) -> str:
    """A setting's name as a superintendent reads it: "Walking distance a team covers, in
    metres" for ``radius`` (from :class:`PlanParams`' descriptions)."""
    if key in _LABELS:
        return _LABELS[key]
    field = PlanParams.model_fields.get(key)
    text = field.description if field is not None and field.description else ""
    text = text.split(" (")[0].rstrip(".").lstrip("…").strip()
    return text[:1].upper() + text[1:] if text else key.replace("_", " ").capitalize()


def setting_text(key: str, value: Any, names: Mapping[str, str] | None = None) -> str:
    """A stored setting as a superintendent reads it: weights and choices in words, bases by
    name (``names``: base code -> name), dates written out, lists joined."""
    if key == "weights" and isinstance(value, Mapping):
        return weights_words(value)
    if key == "method" and value in METHOD_WORDS:
        return METHOD_WORDS[value]
    if key == "apportionment" and value in APPORTIONMENT_WORDS:
        return APPORTIONMENT_WORDS[value]
    if key in ("force_in", "force_out") and isinstance(value, list):
        return "; ".join((names or {}).get(v, v) for v in value) or "none"
    if key == "rollout_start" and value:
        day = date.fromisoformat(str(value)[:10])
        return f"{day.day} {day:%B %Y}"
    if key == "visits_per_hour" and value is None:
        return "1"  # a plan made before the setting: one visit an hour at most
    if key == "max_visits_per_hotspot" and value == 0:
        return "no cap beyond the hours that matter"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if value is None:
        return "not set"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def differing_settings(
    stored: list[Mapping[str, Any]], names: Mapping[str, str]
) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """The settings that differ between plans' ``stored`` settings: by key (the values in words;
    ``names``: base code -> name), and as rows to show (a label, the values, and whether it is
    the optimiser's own setting, shown under "How these were computed")."""
    keys = sorted({k for d in stored for k in d})
    keys = [k for k in keys if len({repr(d.get(k)) for d in stored}) > 1]
    differing = {k: [setting_text(k, d.get(k), names) for d in stored] for k in keys}
    rows = [
        {"key": k, "label": setting_label(k), "values": v, "solver": k in SOLVER_SETTINGS}
        for k, v in differing.items()
    ]
    return differing, rows


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def first_of_next_month(today: date) -> date:
    """The first day of the month after ``today``'s."""
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


def parse_weights(text: str) -> dict[str, float]:
    """``reports=1,survey=0.5,crime=2`` -> dict; a bad item is a PlanningError naming it."""
    out = dict(DEFAULT_WEIGHTS)
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in out:
            raise PlanningError(
                f"Cannot read the weight {item!r}",
                field_errors={"weights": f"use {DEFAULT_WEIGHTS_TEXT}"},
            )
        try:
            out[key] = float(value)
        except ValueError:
            raise PlanningError(
                f"The weight of {key} must be a number, not {value!r}",
                field_errors={"weights": f"{key} must be a number"},
            ) from None
    return out


class PlanParams(BaseModel):
    """Everything a "what if" can change. Defaults follow the Met's 2021 model.

    :meth:`check` refuses settings that cannot work with a ``PlanningError`` naming each such
    field (:meth:`problems`); the services call it before reading the store. Building one does
    not check it, so stored or partial settings can always be read back.
    """

    teams: int = Field(default=19, description="Town-centre teams (bases) to place.")
    officers: int = Field(default=500, description="Officers shared across the teams.")
    radius: float = Field(default=800.0, description="Walking distance a team covers, in metres.")
    min_team: int = Field(default=8, description="Fewest officers in a team.")
    max_team: int = Field(default=60, description="Most officers in a team.")
    ward_officers: int = Field(
        default=150, description="Extra officers shared across wards by need."
    )
    ward_min: int = Field(default=0, description="Fewest extra officers in any ward.")
    force_in: list[str] = Field(default_factory=list, description="Base codes that must be used.")
    force_out: list[str] = Field(default_factory=list, description="Base codes that must not.")
    weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="Weight of each demand source (reports, survey, crime).",
    )
    method: Literal["mclp", "pmedian"] = Field(default="mclp", description="mclp or pmedian.")
    apportionment: Literal["webster", "hamilton"] = Field(
        default="webster", description="webster or hamilton."
    )
    time_limit: float = Field(default=30.0, description="Seconds the optimiser may take.")
    mip_gap: float = Field(default=1e-4, description="Stop when proven within this relative gap.")
    phases: int = Field(default=4, description="Rollout phases.")
    rollout_start: date = Field(
        default_factory=lambda: first_of_next_month(date.today()),
        description="The day the first phase starts (default: the first of next month).",
    )
    phase_weeks: int = Field(default=6, description="Weeks from one phase's start to the next.")
    nte_hours: list[int] = Field(default_factory=lambda: list(NTE_HOURS_DEFAULT))
    nte_weight: float = Field(
        default=1.5, description="Multiplier for reports in night-time hours."
    )
    busy_quantile: float = Field(
        default=0.97, description="Cells this busy or more are candidates."
    )
    busy_min_records: int = Field(default=10, description="…and with at least this many records.")
    hotspots_per_team: int = 8
    visits_per_pair_shift: int = Field(
        default=3, description="Hot spot visits a pair of officers makes in one shift."
    )
    max_visits_per_hotspot: int = Field(
        default=0,
        description="Most visits to one hot spot in a week (0: no cap beyond the hours).",
    )
    visits_per_hour: int = Field(
        default=2,
        description="Most visits to one hot spot in one hour of the week (1 to 4: each keeps "
        "to its own part of the hour).",
    )
    duty_share: float = 0.25
    patrol_seed: int = Field(default=2021, description="Seed for the patrol times.")

    def problems(self) -> dict[str, str]:
        """Each setting that cannot work, and why (empty when all can)."""
        errors: dict[str, str] = {}
        if self.teams < 1:
            errors["teams"] = f"must be at least 1 (it is {self.teams})"
        if self.officers < 1:
            errors["officers"] = f"must be at least 1 (it is {self.officers})"
        if not self.radius > 0:
            errors["radius"] = f"must be more than 0 metres (it is {self.radius:g})"
        if self.min_team < 0:
            errors["min_team"] = "cannot be negative"
        if self.max_team < self.min_team:
            errors["max_team"] = f"is below the minimum team size ({self.min_team})"
        if self.teams >= 1 and self.min_team * self.teams > self.officers:
            errors["min_team"] = (
                f"{self.teams} teams of at least {self.min_team} need "
                f"{self.teams * self.min_team} officers, but there are {self.officers}"
            )
        if self.teams >= 1 and self.max_team * self.teams < self.officers:
            errors["max_team"] = (
                f"{self.teams} teams of at most {self.max_team} hold only "
                f"{self.teams * self.max_team} of the {self.officers} officers"
            )
        if self.ward_officers < 0:
            errors["ward_officers"] = "cannot be negative"
        if self.ward_min < 0:
            errors["ward_min"] = "cannot be negative"
        if not self.time_limit > 0:
            errors["time_limit"] = "must be more than 0 seconds"
        if not 0 <= self.mip_gap < 1:
            errors["mip_gap"] = "must be between 0 and 1"
        if self.phases < 1:
            errors["phases"] = "must be at least 1"
        if not 1 <= self.phase_weeks <= 52:
            errors["phase_weeks"] = "must be 1 to 52 weeks"
        if any(not 0 <= h <= 23 for h in self.nte_hours):
            errors["nte_hours"] = "hours must be 0 to 23"
        if self.max_visits_per_hotspot < 0:
            errors["max_visits_per_hotspot"] = "cannot be negative (0 means no cap)"
        if not 1 <= self.visits_per_hour <= 4:
            errors["visits_per_hour"] = "must be 1 to 4 (visits of up to 15 minutes each)"
        if not 0 < self.busy_quantile <= 1:
            errors["busy_quantile"] = "must be above 0 and at most 1"
        for key, value in self.weights.items():
            if key not in SOURCES:
                errors["weights"] = f"unknown source {key!r}: use reports, survey, crime"
            elif value < 0:
                errors["weights"] = f"{key} must be 0 or more"
        if both := sorted(set(self.force_in) & set(self.force_out)):
            errors["force_in"] = f"{', '.join(both)} is also forced out"
        return errors

    def check(self) -> None:
        """Raise PlanningError naming each setting that cannot work, and why."""
        if errors := self.problems():
            first = next(iter(errors.items()))
            raise PlanningError(
                f"This plan cannot be made: {first[0]} {first[1]}",
                field_errors=errors,
            )


#: the settings the web form and ``saferstreets plan`` offer, in the form's order
FORM_FIELDS = (
    "teams",
    "officers",
    "radius",
    "ward_officers",
    "ward_min",
    "min_team",
    "max_team",
    "force_in",
    "force_out",
    "weights",
    "method",
    "apportionment",
    "time_limit",
    "phases",
    "rollout_start",
    "phase_weeks",
    "max_visits_per_hotspot",
    "visits_per_hour",
)


def form_values(params: PlanParams) -> dict[str, str]:
    """The form's fields as text (whole numbers without ``.0``), from ``params``."""
    values: dict[str, str] = {}
    for key in FORM_FIELDS:
        value: Any = getattr(params, key)
        if key in ("force_in", "force_out"):
            values[key] = " ".join(value)
        elif key == "weights":
            values[key] = weights_text(value)
        elif isinstance(value, date):
            values[key] = value.isoformat()
        elif isinstance(value, float) and value.is_integer():
            values[key] = str(int(value))
        else:
            values[key] = str(value)
    return values


DEFAULTS = PlanParams()
#: the form's defaults; the rollout's start is left out, as it moves with the calendar (an empty
#: field means the first of next month on the day the plan is made)
FORM_DEFAULTS = {k: v for k, v in form_values(DEFAULTS).items() if k != "rollout_start"}

_TYPE_MESSAGES = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "date_from_datetime_parsing": "must be a date such as 2027-01-01",
    "date_parsing": "must be a date such as 2027-01-01",
}


def _type_problem(key: str, err: Mapping[str, Any]) -> str:
    if err["type"] == "literal_error":
        allowed = getattr(PlanParams.model_fields[key].annotation, "__args__", ())
        return "choose " + " or ".join(str(a) for a in allowed)
    return _TYPE_MESSAGES.get(str(err["type"]), str(err["msg"]))


def form_problems(raw: Mapping[str, str]) -> dict[str, str]:
    """The form's fields that are not numbers, or not one of the choices, and why."""
    errors: dict[str, str] = {}
    for key in FORM_FIELDS:
        if key in ("force_in", "force_out", "weights") or key not in raw:
            continue
        if key == "rollout_start" and not raw[key]:
            continue  # empty: the first of next month
        kind: Any = PlanParams.model_fields[key].annotation
        try:  # int() and float() as Python reads text, then the choices
            if kind in (int, float):
                kind(raw[key])
            else:
                TypeAdapter(kind).validate_python(raw[key])
        except ValueError as exc:
            errors[key] = (
                _type_problem(key, exc.errors()[0])
                if isinstance(exc, ValidationError)
                else _TYPE_MESSAGES["int_parsing" if kind is int else "float_parsing"]
            )
    return errors


def read_form(raw: Mapping[str, str]) -> PlanParams:
    """PlanParams from the form's text fields (missing ones take the defaults).

    A field that is not a number or not one of the choices is a PlanningError (message
    :data:`CHECK_MARKED`) naming every such field; then a bad weight is a PlanningError naming
    it. Whether the settings can work is :meth:`PlanParams.check`'s to say.
    """
    if errors := form_problems(raw):
        raise PlanningError(CHECK_MARKED, field_errors=errors)
    values: dict[str, Any] = {
        k: v for k, v in raw.items() if k in FORM_FIELDS and not (k == "rollout_start" and not v)
    }
    for key in ("force_in", "force_out"):
        if key in values:
            values[key] = str(values[key]).split()
    if "weights" in values:
        values["weights"] = parse_weights(str(values["weights"]))
    return PlanParams.model_validate(values)
