"""The plain data a plan is computed from and the steps hand each other (no store, no web)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import h3
import numpy as np
import scipy.sparse as sp

from saferstreets.optimisation.demand import Demand


class ReportRow(NamedTuple):
    h3_cell: str | None
    occurred_hour: int | None
    occurred_on: date | None
    ward_code: str | None


class SurveyRow(NamedTuple):
    h3_cell: str | None
    ward_code: str | None
    concerns: list[str] | None


class CrimeRow(NamedTuple):
    """Recorded crimes of one type in one cell and ward, counted."""

    h3_cell: str | None
    crime_type: str
    ward_code: str | None
    n: int  # how many


class Place(NamedTuple):
    """A ward or a town centre: its code, name, kind and centroid."""

    code: str
    name: str
    kind: str
    centroid_lat: float
    centroid_lon: float


@dataclass
class PlanInputs:
    """What the store holds that a plan reads, as plain rows (the service reads them)."""

    reports: Sequence[ReportRow]
    surveys: Sequence[SurveyRow]
    crimes: Sequence[CrimeRow]
    harm: Mapping[str, float]  # harm weight per crime type
    womens: tuple[str, ...]  # the crime types of women's safety
    wards: Sequence[Place]
    town_centres: Sequence[Place]
    hotspots: list[tuple[str, float, int]]  # Gi* hot cells: (cell, z, class)
    hotspot_runs: list[int]
    resolution: int = 9  # H3 resolution for a survey answer placed at its ward's centroid


@dataclass
class DemandStep:
    """Demand per H3 cell, projected to metres, and the cells each source and ward touch."""

    demand: Demand
    cells: list[str]
    xy: np.ndarray  # projected (x, y) of each demand cell, metres
    lon0: float
    lat0: float
    report_cells: list[str]
    crime_cells: list[str]
    ward_cells: dict[str, list[str]]

    @property
    def weights(self) -> np.ndarray:
        return self.demand.demand


@dataclass
class Candidates:
    """Candidate bases: town centres and busy cells, projected, with the forced ones."""

    bases: list[dict[str, Any]]
    xy: np.ndarray
    forced_in: list[int]
    forced_out: list[int]


@dataclass
class Placement:
    """The chosen bases, what the solver proved, and the demand each base covers."""

    selected: np.ndarray  # indexes into the candidates
    solver: dict[str, Any]
    cover: sp.csr_matrix  # demand cells x candidates
    coverage_share: float
    total: float
    own: np.ndarray  # per demand cell, the team that counts it (-1: none within reach)
    team_demand: np.ndarray

    @property
    def selected_cover(self) -> sp.csc_matrix:
        return self.cover[:, self.selected].tocsc()


@dataclass
class PlanResult:
    """A computed plan, as the service stores it (see :meth:`as_dict`)."""

    coverage: float
    solver: dict[str, Any]
    teams: list[dict[str, Any]]
    wards: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "coverage": self.coverage,
            "solver": self.solver,
            "teams": self.teams,
            "wards": self.wards,
            "summary": self.summary,
        }


def cell_latlng(cell: str) -> tuple[float, float]:
    return h3.cell_to_latlng(cell)
