"""Perception against recorded crime: which response fits each place.

Each area (ward, or hotspot cell) gets a *concern* measure (reports of feeling unsafe, plus survey
respondents there who said they felt unsafe, per km^2) and a *crime* measure (women's-safety
crimes per km^2, or per 1,000 residents where a population is known). Both are log-transformed
(``log1p``: densities are strongly right-skewed) and standardised across areas (z-scores). An area
is "high" on a measure when its z-score is above the threshold (default 0, the mean of the logs,
which is close to the median of the densities), and its quadrant sets the recommended response:

===========================  =========================================================
feared and high crime        ``patrol_enforcement``: visible patrol, enforcement, offender focus
feared, little recorded       ``design``: environmental fixes (lighting, sightlines, CCTV),
crime                        because fear is not (yet) matched by recorded crime
crime with little fear       ``awareness``: tell people what is happening; encourage reporting
neither                      ``monitor``: keep watching
===========================  =========================================================

Recorded crime undercounts sexual offences and harassment (most are never reported), so
"feared, little recorded crime" can mean hidden crime as much as misplaced fear: the design
response helps either way, and the summary says so.

References
----------
Hale, C. (1996). Fear of crime: a review of the literature. International Review of Victimology
    4(2), 79-150 (fear and recorded crime are only loosely coupled).
Welsh, B. C. and Farrington, D. P. (2008). Effects of improved street lighting on crime.
    Campbell Systematic Reviews 4(1).
Braga, A. A. et al. (2019). Hot spots policing of small geographic areas: effects on crime.
    Campbell Systematic Reviews 15(3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

RESPONSES = {
    (True, True): ("feared and high crime", "patrol_enforcement"),
    (True, False): ("feared, little recorded crime", "design"),
    (False, True): ("crime with little fear", "awareness"),
    (False, False): ("neither", "monitor"),
}


def standardise(values: ArrayLike) -> np.ndarray:
    """z-scores of ``log1p(values)`` (zeros where every value is the same)."""
    v = np.log1p(np.asarray(values, dtype=float))
    sd = v.std()
    return np.zeros_like(v) if sd == 0 or not np.isfinite(sd) else (v - v.mean()) / sd


@dataclass(frozen=True)
class Quadrants:
    """Per area: concern and crime measures, their z-scores, the quadrant and the response."""

    rows: tuple[dict[str, Any], ...]
    threshold: float
    concern_measure: str
    crime_measure: str

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r["response"]] = counts.get(r["response"], 0) + 1
        return {
            "areas": list(self.rows),
            "threshold_z": self.threshold,
            "concern_measure": self.concern_measure,
            "crime_measure": self.crime_measure,
            "counts": counts,
        }


def quadrants(
    codes: Sequence[str],
    concern: ArrayLike,
    crime: ArrayLike,
    *,
    denominators: ArrayLike | None = None,
    threshold: float = 0.0,
    concern_measure: str = "reports and unsafe survey answers per km2",
    crime_measure: str = "women's-safety crimes per km2",
) -> Quadrants:
    """Place each area in a fear x crime quadrant and attach the recommended response.

    Parameters
    ----------
    codes : sequence of str
        Area codes or H3 cells.
    concern, crime : array_like
        Counts per area.
    denominators : array_like, optional
        Area (km^2) or population per area; rates are ``count / denominator``. Without it the
        counts themselves are compared (equal-area H3 cells).
    threshold : float, default 0
        z-score above which a measure counts as high.
    """
    con = np.asarray(concern, dtype=float)
    cri = np.asarray(crime, dtype=float)
    if denominators is not None:
        d = np.asarray(denominators, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            con = np.where(d > 0, con / d, np.nan)
            cri = np.where(d > 0, cri / d, np.nan)
    ok = np.isfinite(con) & np.isfinite(cri)
    zc = np.full(con.shape, np.nan)
    zr = np.full(cri.shape, np.nan)
    if ok.any():
        zc[ok] = standardise(con[ok])
        zr[ok] = standardise(cri[ok])
    rows: list[dict[str, Any]] = []
    for i, code in enumerate(codes):
        if not ok[i]:
            rows.append(
                {
                    "code": code,
                    "concern_rate": None,
                    "crime_rate": None,
                    "concern_z": None,
                    "crime_z": None,
                    "quadrant": "unknown",
                    "response": "unknown",
                }
            )
            continue
        quadrant, response = RESPONSES[(bool(zc[i] > threshold), bool(zr[i] > threshold))]
        rows.append(
            {
                "code": code,
                "concern_rate": float(con[i]),
                "crime_rate": float(cri[i]),
                "concern_z": float(zc[i]),
                "crime_z": float(zr[i]),
                "quadrant": quadrant,
                "response": response,
            }
        )
    return Quadrants(tuple(rows), threshold, concern_measure, crime_measure)


def cell_quadrants(
    cells: Sequence[str], report_classes: ArrayLike, crime_classes: ArrayLike
) -> Quadrants:
    """Quadrants for H3 cells from two Gi* runs: "high" means a significant hot spot (class > 0)."""
    rc = np.asarray(report_classes)
    cc = np.asarray(crime_classes)
    rows: list[dict[str, Any]] = []
    for cell, a, b in zip(cells, rc, cc, strict=True):
        quadrant, response = RESPONSES[(bool(a > 0), bool(b > 0))]
        rows.append(
            {
                "code": cell,
                "report_class": int(a),
                "crime_class": int(b),
                "quadrant": quadrant,
                "response": response,
            }
        )
    return Quadrants(
        tuple(rows), 0.0, "Gi* hot spot of reports", "Gi* hot spot of women's-safety crime"
    )
