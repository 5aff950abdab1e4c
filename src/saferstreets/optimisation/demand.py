"""Demand: where the need for visible policing is, per H3 cell, from three sources.

Reports women and girls made (night-time-economy hours weighted up as configured), survey
concerns, and recorded crime relevant to women's safety weighted by harm (a CCHI-style weight per
crime type). Each source becomes a share of its county total before the configured weights apply,
so a weight of 1 each means equal say whatever the source's scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from saferstreets.errors import PlanningError

SOURCES = ("reports", "survey", "crime")


@dataclass
class Demand:
    """Weighted demand per cell.

    Parameters
    ----------
    report_cells, report_hours : each report's cell and hour (-1 or None when unknown)
    survey_cells, survey_amounts : where survey concerns fall and how many (fractions allowed:
        a response known only by ward is spread over that ward's cells)
    crime_cells, crime_types : each recorded crime's cell and police.uk type
    weights : source -> weight (reports, survey, crime); 0 leaves a source out
    harm_weights : crime type -> harm weight; types missing here count 0
    nte_hours : hours (0-23) of the night-time economy; ``nte_weight`` multiplies reports then

    Attributes (after :meth:`solve`)
    ----------
    cells : numpy.ndarray of str, every cell with some demand
    components : dict source -> numpy.ndarray of raw amounts per cell
    shares : dict source -> numpy.ndarray, each cell's share of the source's total
    demand : numpy.ndarray, ``sum_k weight_k * shares_k``
    used : list of sources that contributed (had data and a positive weight)

    References
    ----------
    Sherman, L., Neyroud, P. W. and Neyroud, E. (2016) The Cambridge Crime Harm Index: measuring
    total harm from crime based on sentencing guidelines. *Policing* 10(3), 171-183.
    """

    report_cells: Sequence[str]
    report_hours: np.ndarray
    survey_cells: Sequence[str]
    survey_amounts: np.ndarray
    crime_cells: Sequence[str]
    crime_types: Sequence[str]
    weights: Mapping[str, float]
    harm_weights: Mapping[str, float]
    nte_hours: tuple[int, ...] = ()
    nte_weight: float = 1.0
    cells: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    components: dict[str, np.ndarray] = field(default_factory=dict)
    shares: dict[str, np.ndarray] = field(default_factory=dict)
    demand: np.ndarray = field(default_factory=lambda: np.zeros(0))
    used: list[str] = field(default_factory=list)

    @classmethod
    def from_arrays(
        cls,
        *,
        report_cells: Sequence[str] = (),
        report_hours: ArrayLike = (),
        survey_cells: Sequence[str] = (),
        survey_amounts: ArrayLike = (),
        crime_cells: Sequence[str] = (),
        crime_types: Sequence[str] = (),
        weights: Mapping[str, float] | None = None,
        harm_weights: Mapping[str, float] | None = None,
        nte_hours: Sequence[int] = (),
        nte_weight: float = 1.0,
    ) -> Demand:
        """Check the inputs and build."""
        weights = dict(weights or {})
        for key, value in weights.items():
            if key not in SOURCES:
                raise PlanningError(
                    f"Unknown demand source {key!r} in the weights",
                    field_errors={"weights": f"use {', '.join(SOURCES)}"},
                )
            if not np.isfinite(value) or value < 0:
                raise PlanningError(
                    f"The weight of {key} must be a number of 0 or more (it is {value})",
                    field_errors={"weights": f"{key} must be 0 or more"},
                )
        if all(weights.get(k, 1.0) == 0 for k in SOURCES):
            raise PlanningError(
                "Every demand weight is zero, so nothing would count as need",
                field_errors={"weights": "at least one above 0"},
            )
        if nte_weight < 0:
            raise PlanningError("The night-time-economy weight cannot be negative")
        hours = np.asarray(report_hours, dtype=float).ravel()
        if len(hours) != len(report_cells):
            raise PlanningError("Each report needs an hour (or -1 when unknown)")
        amounts = np.asarray(survey_amounts, dtype=float).ravel()
        if len(amounts) != len(survey_cells):
            raise PlanningError("Each survey cell needs an amount")
        if len(crime_types) != len(crime_cells):
            raise PlanningError("Each crime needs a type")
        return cls(
            list(report_cells),
            hours,
            list(survey_cells),
            amounts,
            list(crime_cells),
            list(crime_types),
            weights,
            dict(harm_weights or {}),
            tuple(nte_hours),
            float(nte_weight),
        )

    def solve(self) -> Demand:
        """Sum each source per cell and combine; returns ``self``."""
        nte = np.isin(np.nan_to_num(self.report_hours, nan=-1).astype(int), self.nte_hours)
        report_w = np.where(nte, self.nte_weight, 1.0)
        harm = np.array([float(self.harm_weights.get(t, 0.0)) for t in self.crime_types])
        raw = {
            "reports": (self.report_cells, report_w),
            "survey": (self.survey_cells, self.survey_amounts),
            "crime": (self.crime_cells, harm),
        }
        all_cells = sorted({c for cells, _ in raw.values() for c in cells if c})
        index = {c: i for i, c in enumerate(all_cells)}
        self.cells = np.asarray(all_cells, dtype=object)
        n = len(all_cells)
        self.components, self.shares, self.used = {}, {}, []
        demand = np.zeros(n)
        for key, (cells, amount) in raw.items():
            vec = np.zeros(n)
            idx = np.array([index.get(c, -1) if c else -1 for c in cells], dtype=int)
            ok = idx >= 0
            if ok.any():
                np.add.at(vec, idx[ok], np.asarray(amount, dtype=float)[ok])
            self.components[key] = vec
            wt = float(self.weights.get(key, 1.0))
            if vec.sum() > 0 and wt > 0:
                self.shares[key] = vec / vec.sum()
                demand += wt * self.shares[key]
                self.used.append(key)
            else:
                self.shares[key] = np.zeros(n)
        keep = demand > 0
        self.cells = self.cells[keep]
        self.components = {k: v[keep] for k, v in self.components.items()}
        self.shares = {k: v[keep] for k, v in self.shares.items()}
        self.demand = demand[keep]
        if len(self.demand) == 0:
            raise PlanningError(
                "There is no demand to plan for: no reports, survey concerns or relevant recorded "
                "crime with a location (or their weights are zero)",
                hint="import crime, survey responses or reports first",
            )
        return self
