"""The analyses of where and when: time profiles, hot spots (Gi*), fear and crime, outcomes.

Pure: rows of :class:`~saferstreets.analysis.inputs.StoreData` and located events in, findings
out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np

from saferstreets.analysis import emerging as emerging_mod
from saferstreets.analysis.fusion import cell_quadrants, quadrants
from saferstreets.analysis.groups import fmt_p
from saferstreets.analysis.hotspots import GiStar, H3Weights, study_cells
from saferstreets.analysis.inputs import (
    MIN_EMERGING_PERIODS,
    AssessParams,
    AssessSettings,
    Events,
    Finding,
    Progress,
    StoreData,
)
from saferstreets.analysis.likert import UNSAFE
from saferstreets.analysis.outcomes import latest_outcomes, outcome_shares
from saferstreets.analysis.people import interval, level_of, pct
from saferstreets.analysis.timeprofile import monthly_profile, time_profile
from saferstreets.crime import offences


def assess_when(data: StoreData, settings: AssessSettings, params: AssessParams) -> list[Finding]:
    """Reports by weekday and hour with the NTE window; crime by month (police.uk has no time)."""
    nights, start, end = settings.nte_nights, settings.nte_start_hour, settings.nte_end_hour
    window = {"nte_nights": nights, "nte_start_hour": start, "nte_end_hour": end}
    if data.reports.n:
        when = data.reports.when
        prof = time_profile(
            [day for day, _, _ in when],
            np.array([np.nan if h is None else h for _, h, _ in when], dtype=float),
            nights=nights,
            start_hour=start,
            end_hour=end,
            counts=[count for _, _, count in when],
        )
        res = prof.as_dict()
        res["time_bands"] = dict(data.reports.time_bands)
        w = res["nte_window"]
        if prof.n_timed:
            summary = (
                f"{interval(w['observed'])} of {prof.n_timed:,} reports with a day and hour "
                "fell in "
                f"the night-time-economy window ({', '.join(w['nights'])} {start:02d}:00 to "
                f"{end:02d}:00), against {pct(w['expected_share'])} if times were even "
                f"({fmt_p(w['p_value'])})."
            )
        else:
            summary = "No report gives both a day and an hour, so only time bands are shown."
        rep = Finding("when_reports", window, res, summary)
    else:
        rep = Finding(
            "when_reports", window, {"counts": [], "n_timed": 0, "n_untimed": 0}, "No reports yet."
        )
    months = [c.month for c in data.crimes if c.crime_type in params.crime_types]
    res_c = monthly_profile(months)
    res_c["note"] = "police.uk publishes the month of a crime only, not the day or hour"
    res_c["crime_types"] = list(params.crime_types)
    if months:
        i = int(np.argmax(res_c["counts"]))
        summary_c = (
            f"{len(months):,} women's-safety crimes over {len(res_c['months'])} months; "
            f"the most in {res_c['months'][i]} ({res_c['counts'][i]:,}, "
            f"{res_c['index'][i]:.2f} times the monthly "
            "mean). police.uk gives the month only, so there is no hour-of-day profile of crime."
        )
    else:
        summary_c = "No recorded crime yet."
    return [rep, Finding("when_crime", {"crime_types": list(params.crime_types)}, res_c, summary_c)]


PARTIAL_MONTH_SHARE = 0.5


def drop_partial_months(
    series: np.ndarray, periods: tuple[str, ...]
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Leave out trailing months with under half the median monthly total (a partial import).

    A final month holding only a few days' records makes every persistent hot spot look
    "historical"; police.uk publishes whole months, so such a month is an incomplete import.
    """
    totals = series.sum(axis=0)
    keep = len(periods)
    while keep > MIN_EMERGING_PERIODS:
        median = float(np.median(totals[: keep - 1]))
        if median > 0 and totals[keep - 1] < PARTIAL_MONTH_SHARE * median:
            keep -= 1
        else:
            break
    return series[:, :keep], periods[:keep], periods[keep:]


def study_area(data: StoreData, res: int) -> set[str] | None:
    polys = [a for a in data.areas if a.kind == "force"] or [
        a for a in data.areas if a.kind == "district"
    ]
    if not polys:
        return None
    cells: set[str] = set()
    for a in polys:
        try:
            cells.update(h3.geo_to_cells(a.geometry, res))
        except Exception:  # noqa: S112 - an odd geometry only loses its restriction
            continue
    return cells or None


@dataclass
class HotspotLayer:
    name: str
    cells: list[str]
    gi: GiStar | None
    counts: np.ndarray
    weights: H3Weights | None


def assess_hotspots(
    name: str,
    events: Events,
    params: AssessParams,
    within: set[str] | None,
    progress: Progress,
) -> tuple[list[Finding], HotspotLayer]:
    """Gi* hot spots of ``events`` on H3 cells, and emerging hot spots over their months."""
    kind = f"hotspots_{name}"
    p = params.as_dict()
    if not len(events):
        empty = HotspotLayer(name, [], None, np.zeros(0), None)
        return [Finding(kind, p, {"n_events": 0, "cells": 0}, f"No located {name} yet.")], empty
    per_cell = np.bincount(events.cell_of, minlength=len(events.cells))
    counts = dict(zip(events.cells, per_cell.tolist(), strict=True))
    cells = study_cells(counts, k=params.k, within=within)
    weights = H3Weights.from_cells(cells, k=params.k)
    y = np.array([counts.get(c, 0) for c in cells], dtype=float)
    progress(f"Gi* on {len(cells):,} cells ({name})")
    gi = GiStar(
        y,
        weights,
        permutations=params.permutations,
        seed=params.seed,
        fdr=params.fdr,
        inference=params.inference,
    ).fit()
    emerging_res: dict[str, Any] | None = None
    trend: dict[str, str] = {}
    if len(events.months) >= MIN_EMERGING_PERIODS:
        progress(f"emerging hot spots over {len(events.months)} months ({name})")
        emerging_res, trend = _emerging(events, cells, weights, params)
    findings = [_hotspot_finding(name, p, params, cells, counts, y, gi, within, trend)]
    if emerging_res is not None:
        findings.append(_emerging_finding(name, p, len(events.months), emerging_res))
    return findings, HotspotLayer(name, cells, gi, y, weights)


def _emerging(
    events: Events, cells: list[str], weights: H3Weights, params: AssessParams
) -> tuple[dict[str, Any], dict[str, str]]:
    """Emerging hot spots over the events' months (partial last months left out); each cell's
    category."""
    months = events.months
    index = {c: i for i, c in enumerate(cells)}
    row_of = np.array([index[c] for c in events.cells], dtype=np.int64)
    dated = events.month_of >= 0
    series = np.zeros((len(cells), len(months)))
    np.add.at(series, (row_of[events.cell_of[dated]], events.month_of[dated]), 1)
    periods = tuple(m.isoformat()[:7] for m in months)
    series, periods, partial = drop_partial_months(series, periods)
    em = emerging_mod.emerging_hotspots(
        series,
        weights,
        periods,
        permutations=0,
        inference="analytic",
        fdr=params.fdr,
    )
    cats = Counter(em.categories)
    result = {
        "periods": list(em.periods),
        "categories": {k: v for k, v in cats.most_common() if k != "no pattern"},
        "no_pattern": cats.get("no pattern", 0),
        "dropped_partial_months": list(partial),
        "cells": [
            {
                "cell": c,
                "category": cat,
                "trend_z": float(em.trend.z[i]),
                "trend_p": float(em.trend.p[i]),
                "tau": float(em.trend.tau[i]),
                "z": em.z[i].tolist(),
                "classes": em.classes[i].tolist(),
            }
            for i, (c, cat) in enumerate(zip(cells, em.categories, strict=True))
            if cat != "no pattern"
        ],
        "definitions": "Esri Emerging Hot Spot Analysis categories; see docs/methods.md",
    }
    return result, dict(zip(cells, em.categories, strict=True))


def _hotspot_finding(
    name: str,
    p: dict[str, Any],
    params: AssessParams,
    cells: list[str],
    counts: dict[str, int],
    y: np.ndarray,
    gi: GiStar,
    within: set[str] | None,
    trend: dict[str, str],
) -> Finding:
    """The hot-spot finding: classes, the top cells, a sentence, and one row per cell."""
    classes = Counter(int(v) for v in gi.classes)
    perm_two = np.minimum(1.0, 2.0 * np.minimum(gi.p_greater, gi.p_less))
    hot = gi.classes > 0
    confirmed = int(np.sum(hot & (perm_two <= 0.05))) if params.permutations else None
    result = {
        "n_events": int(y.sum()),
        "cells": len(cells),
        "cells_with_events": len(counts),
        "classes": {str(k): classes.get(k, 0) for k in range(-3, 4)},
        "hot_confirmed_by_permutation": confirmed,
        "top": [
            {"cell": cells[i], "count": int(y[i]), "z": float(gi.z[i]), "class": int(gi.classes[i])}
            for i in np.argsort(-np.nan_to_num(gi.z, nan=-np.inf))[:20]
        ],
        "study_area": "force or district boundaries"
        if within
        else "cells with data and neighbours",
    }
    n_hot = int(hot.sum())
    summary = (
        f"{n_hot:,} of {len(cells):,} H3 cells (resolution {params.resolution}) are hot spots of "
        f"{name} at 90% confidence or more after false-discovery-rate control "
        f"({classes.get(3, 0):,} at 99%)."
    )
    if confirmed is not None and n_hot:
        summary += (
            f" {confirmed:,} of them are also significant by conditional permutation (p <= 0.05)."
        )
    return Finding(f"hotspots_{name}", p, result, summary, _cell_rows(cells, y, gi, trend))


def _cell_rows(
    cells: list[str], y: np.ndarray, gi: GiStar, trend: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            "cell": c,
            "count": float(y[i]),
            "z": float(gi.z[i]) if np.isfinite(gi.z[i]) else 0.0,
            "p": float(gi.p[i]) if np.isfinite(gi.p[i]) else 1.0,
            "q": float(gi.q[i]) if np.isfinite(gi.q[i]) else 1.0,
            "p_sim": float(gi.p_sim[i]) if np.isfinite(gi.p_sim[i]) else None,
            "klass": int(gi.classes[i]),
            "trend": trend.get(c),
        }
        for i, c in enumerate(cells)
    ]


def _emerging_finding(
    name: str, p: dict[str, Any], n_months: int, emerging_res: dict[str, Any]
) -> Finding:
    cats = emerging_res["categories"]
    text = ", ".join(f"{v:,} {k}s" for k, v in list(cats.items())[:4]) or "no emerging pattern"
    dropped = emerging_res["dropped_partial_months"]
    return Finding(
        f"emerging_{name}",
        {**p, "periods": n_months},
        emerging_res,
        f"Over {len(emerging_res['periods'])} months of {name}: {text}."
        + (
            f" {', '.join(dropped)} left out: too few records for a whole month." if dropped else ""
        ),
    )


def assess_fusion(
    data: StoreData, params: AssessParams, reports: HotspotLayer, crime: HotspotLayer
) -> Finding:
    """Wards and hotspot cells placed in fear x crime quadrants, each with a response type."""
    wards = [a for a in data.areas if a.kind == "ward"]
    concern: Counter[str] = Counter(data.reports.wards)
    for r in data.responses:
        if r.ward_code and any(level_of(v) == UNSAFE for v in (r.feel_safe or {}).values()):
            concern[r.ward_code] += 1
    crimes: Counter[str] = Counter(
        c.ward_code for c in data.crimes if c.ward_code and c.crime_type in params.crime_types
    )
    result: dict[str, Any] = {}
    codes = [a.code for a in wards]
    # With no fear placed in any ward (or no crime), every ward would be "little fear" (or
    # "little crime"): an absence of data is not a finding, so no ward comparison is made.
    missing = [
        what
        for what, counts in (
            ("reports or survey answers placed in wards", concern),
            ("recorded crime placed in wards", crimes),
        )
        if not any(counts[c] for c in codes)
    ]
    if wards and not missing:
        q = quadrants(
            codes,
            [concern[c] for c in codes],
            [crimes[c] for c in codes],
            denominators=[a.area_km2 if a.area_km2 else np.nan for a in wards],
        ).as_dict()
        names = {a.code: a.name for a in wards}
        for row in q["areas"]:
            row["name"] = names.get(row["code"])
        result["wards"] = q
    else:
        result["wards"] = None
    if reports.gi is not None and crime.gi is not None:
        rc = dict(zip(reports.cells, reports.gi.classes, strict=True))
        cc = dict(zip(crime.cells, crime.gi.classes, strict=True))
        cells = sorted(c for c in set(rc) | set(cc) if rc.get(c, 0) > 0 or cc.get(c, 0) > 0)
        result["cells"] = cell_quadrants(
            cells, [rc.get(c, 0) for c in cells], [cc.get(c, 0) for c in cells]
        ).as_dict()
    else:
        result["cells"] = None
    if result["wards"] is None and result["cells"] is None:
        needs = "ward boundaries" if not wards else " and ".join(missing)
        return Finding(
            "fusion",
            params.as_dict(),
            result,
            f"Not enough data to compare fear with recorded crime yet: there are no {needs}.",
        )
    parts = []
    if result["wards"]:
        n = result["wards"]["counts"]
        parts.append(
            f"{n.get('design', 0)} wards are feared with little recorded crime (design fixes), "
            f"{n.get('patrol_enforcement', 0)} are feared with high crime "
            "(patrol and enforcement), "
            f"{n.get('awareness', 0)} have crime with little fear (awareness)"
        )
    if result["cells"]:
        n = result["cells"]["counts"]
        parts.append(
            f"of hot-spot cells, {n.get('patrol_enforcement', 0)} are hot for both reports "
            "and crime, "
            f"{n.get('design', 0)} for reports only, {n.get('awareness', 0)} for crime only"
        )
    summary = "; ".join(parts) + (
        ". Recorded crime undercounts harassment and sexual offences, so little recorded crime "
        "may mean hidden crime."
    )
    return Finding("fusion", params.as_dict(), result, summary[0].upper() + summary[1:])


def outcome_groups() -> dict[str, tuple[str, ...]]:
    """The outcome groups of ``crime.offences`` (older versions: the three tuples)."""
    groups = getattr(offences, "OUTCOME_GROUPS", None)
    if groups:
        return dict(groups)
    return {
        "charged": tuple(getattr(offences, "CHARGED_OUTCOMES", ())),
        "no_suspect": tuple(getattr(offences, "NO_SUSPECT_OUTCOMES", ())),
        "unable_to_prosecute": tuple(getattr(offences, "VICTIM_NO_SUPPORT_OUTCOMES", ())),
    }


def assess_outcomes(data: StoreData, settings: AssessSettings, params: AssessParams) -> Finding:
    """Latest outcome of violence and sexual offences, shares by district with intervals."""
    chosen = [c for c in data.crimes if c.crime_type in params.outcome_types]
    p = {"crime_types": list(params.outcome_types), "min_count": settings.public_min_count}
    if not chosen:
        return Finding(
            "outcomes",
            p,
            {"overall": None, "by_area": []},
            "No violence and sexual offences recorded yet.",
        )
    latest = latest_outcomes((o.crime_id, o.month, o.outcome_type) for o in data.outcomes)
    res = outcome_shares(
        ((c.crime_id, c.district_code, c.last_outcome) for c in chosen),
        latest,
        groups=outcome_groups(),
        min_count=settings.public_min_count,
    ).as_dict()
    res["groups"] = {k: list(v) for k, v in outcome_groups().items()}
    o = res["overall"]
    summary = (
        f"Of {o['n']:,} violence and sexual offences, {interval(o['charged'])} led to a charge or "
        f"summons, {interval(o['no_suspect'])} ended with no suspect identified and "
        f"{interval(o['unable_to_prosecute'])} with the suspect not prosecuted (evidential "
        "difficulties, including where the victim did not support action)."
    )
    return Finding("outcomes", p, res, summary)
