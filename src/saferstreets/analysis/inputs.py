"""What the assessment's analyses read and return: plain rows in, findings out.

The store-backed :mod:`saferstreets.assessment.service` reads these rows from the store and
stores the findings; nothing here touches the store, the web or the CLI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import h3
import numpy as np

from saferstreets.crime import offences
from saferstreets.progress import Progress as Progress


class AssessSettings(Protocol):
    """The settings the analyses read (``saferstreets.config.Settings`` has them all)."""

    public_min_count: int
    nte_nights: Any
    nte_start_hour: int
    nte_end_hour: int


VIOLENCE_AND_SEXUAL = ("Violence and sexual offences",)
MIN_EMERGING_PERIODS = 4


@dataclass(frozen=True)
class AssessParams:
    """What an assessment run is asked to do (stored with every finding it makes)."""

    resolution: int = 9
    permutations: int = 999
    seed: int = 1
    inference: str = "analytic"
    fdr: bool = True
    k: int = 1
    crime_types: tuple[str, ...] = offences.WOMENS_SAFETY_TYPES
    outcome_types: tuple[str, ...] = VIOLENCE_AND_SEXUAL

    def as_dict(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "permutations": self.permutations,
            "seed": self.seed,
            "inference": self.inference,
            "fdr": self.fdr,
            "k": self.k,
            "crime_types": list(self.crime_types),
            "outcome_types": list(self.outcome_types),
        }


@dataclass
class Finding:
    kind: str
    params: dict[str, Any]
    result: dict[str, Any]
    summary: str
    cells: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReportTallies:
    """Public reports counted in the store (GROUP BY), not read one Python object a report."""

    n: int
    reasons: list[tuple[list[str], int]]  # each distinct list of ticked reasons, and how many
    when: list[tuple[date | None, int | None, int]]  # (day, hour, reports)
    time_bands: dict[str, int]
    wards: dict[str, int]


@dataclass
class StoreData:
    responses: list[Any]
    waves: list[Any]
    reports: ReportTallies
    crimes: list[Any]
    outcomes: list[Any]
    themes: list[Any]
    areas: list[Any]
    texts: dict[str, set[int]]


@dataclass
class Events:
    """Located events at one H3 resolution: each event's cell and month (as indexes)."""

    cells: list[str]  # the distinct cells of the events
    cell_of: np.ndarray  # per event, index into ``cells``
    months: list[date]  # the distinct months (first day) of events with a date, sorted
    month_of: np.ndarray  # per event, index into ``months``; -1 where the date is unknown

    def __len__(self) -> int:
        return len(self.cell_of)


def events_at(
    lats: Sequence[float | None],
    lons: Sequence[float | None],
    stored: Sequence[str | None],
    months: Sequence[str | None],
    res: int,
) -> Events:
    """The cell (as :func:`cell_at`) and month of each point; points with no cell are dropped.

    ``months`` are ISO dates or months (``YYYY-MM...``) as text, or None.
    """
    import h3.api.basic_int as h3i

    n = len(lats)
    codes = np.zeros(n, dtype=np.int64)  # H3 indexes as integers; 0 = no cell
    lat = np.array(lats, dtype=float).reshape(n)  # None -> NaN
    lon = np.array(lons, dtype=float).reshape(n)
    has_point = ~(np.isnan(lat) | np.isnan(lon))
    to_cell = h3i.latlng_to_cell
    codes[has_point] = [
        to_cell(a, b, res)
        for a, b in zip(lat[has_point].tolist(), lon[has_point].tolist(), strict=True)
    ]
    parent: dict[str, int] = {}
    for i in np.flatnonzero(~has_point).tolist():
        cell = stored[i]
        if cell:
            if cell not in parent:
                found = cell_at(None, None, cell, res)
                parent[cell] = h3.str_to_int(found) if found else 0
            codes[i] = parent[cell]
    keep = np.flatnonzero(codes != 0)
    unique, cell_of = np.unique(codes[keep], return_inverse=True)
    month_text = np.array(
        [m[:7] if m else "" for m in (months[i] for i in keep.tolist())], dtype=object
    )
    dated = month_text != ""
    month_keys, month_idx = np.unique(month_text[dated].astype(str), return_inverse=True)
    month_of = np.full(len(keep), -1, dtype=np.int64)
    month_of[dated] = month_idx
    return Events(
        [format(int(c), "x") for c in unique.tolist()],
        cell_of.astype(np.int64),
        [date(int(k[:4]), int(k[5:7]), 1) for k in month_keys.tolist()],
        month_of,
    )


def crime_events(data: StoreData, params: AssessParams) -> Events:
    """The cell and month of every located crime of the chosen types."""
    chosen = [c for c in data.crimes if c.crime_type in params.crime_types]
    return events_at(
        [c.latitude for c in chosen],
        [c.longitude for c in chosen],
        [c.h3_cell for c in chosen],
        [c.month.isoformat() if c.month is not None else None for c in chosen],
        params.resolution,
    )


# ---------------------------------------------------------------------------------------------
# helpers


def jsonable(value: Any) -> Any:
    """Plain JSON: numpy scalars to Python, NaN/inf to None, tuples to lists, dates to ISO."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def cell_at(lat: float | None, lon: float | None, stored: str | None, res: int) -> str | None:
    """The H3 cell of a point at ``res``: from lat/lon, else the stored cell's parent."""
    if lat is not None and lon is not None:
        return h3.latlng_to_cell(lat, lon, res)
    if stored:
        have = h3.get_resolution(stored)
        if have == res:
            return stored
        if have > res:
            return h3.cell_to_parent(stored, res)
    return None
