"""The assessment service as it was before the speed work (commit 442ea9d), kept as an oracle.

Purpose: tests/analysis/test_assess_equal.py runs this and ``assessment.service.run_assessment``
(the store-backed service that runs the pure ``analysis.people`` and ``analysis.place``) on one
varied store and requires every stored finding, parameter, summary and hotspot cell to be equal.
It is the only check that the speed work (SQL tallies, vectorised cell indexing) and the split of
the old ``analysis/service.py`` into a pure package and the ``assessment`` domain changed no
number. It is test code: outside ``src/``, so not held to the architecture test's rules. Do not
optimise or edit this copy beyond import paths; replace it with small golden outputs of the demo
county when it is no longer wanted.
"""
# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import h3
import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.analysis import emerging as emerging_mod
from saferstreets.analysis.fusion import cell_quadrants, quadrants
from saferstreets.analysis.groups import compare_groups, fmt_p
from saferstreets.analysis.hotspots import GiStar, H3Weights, study_cells
from saferstreets.analysis.likert import UNSAFE, key_in_words, level, summarise_feel_safe
from saferstreets.assessment.models import AnalysisRun, HotspotCell
from saferstreets.analysis.outcomes import latest_outcomes, outcome_shares
from saferstreets.analysis.proportions import difference, proportion, suppress
from saferstreets.analysis.timeprofile import monthly_profile, time_profile
from saferstreets.areas.models import Area
from saferstreets.config import Settings
from saferstreets.crime import offences
from saferstreets.crime.models import Crime, Outcome
from saferstreets.db import session_scope
from saferstreets.errors import AppError
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.themes.models import ThemeAssignment
from saferstreets.themes.taxonomy import label

Progress = Callable[[str], None]
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


# ---------------------------------------------------------------------------------------------
# reading the store


@dataclass
class StoreData:
    responses: list[Any]
    waves: list[Any]
    reports: list[Any]
    crimes: list[Any]
    outcomes: list[Any]
    themes: list[Any]
    areas: list[Any]
    texts: dict[str, set[int]]


def load(*, session: Session) -> StoreData:
    """Everything the analyses read, as plain rows."""
    r = SurveyResponse
    responses = session.execute(
        sa.select(
            r.id,
            r.wave_id,
            r.age_band,
            r.gender,
            r.ward_code,
            r.district_code,
            r.concerns,
            r.settings,
            r.feel_safe,
            r.latitude,
            r.longitude,
            r.h3_cell,
        )
    ).all()
    waves = session.execute(
        sa.select(SurveyWave.id, SurveyWave.name, SurveyWave.period_start).order_by(SurveyWave.id)
    ).all()
    p = Report
    reports = session.execute(
        sa.select(
            p.id,
            p.reasons,
            p.occurred_on,
            p.occurred_hour,
            p.time_band,
            p.h3_cell,
            p.latitude,
            p.longitude,
            p.ward_code,
            p.district_code,
            p.age_band,
        )
    ).all()
    c = Crime
    crimes = session.execute(
        sa.select(
            c.crime_id,
            c.month,
            c.crime_type,
            c.latitude,
            c.longitude,
            c.h3_cell,
            c.ward_code,
            c.district_code,
            c.last_outcome,
        )
    ).all()
    outcomes = session.execute(
        sa.select(Outcome.crime_id, Outcome.month, Outcome.outcome_type)
    ).all()
    t = ThemeAssignment
    themes = session.execute(
        sa.select(t.owner_kind, t.owner_id, t.theme, t.source, t.present).order_by(t.id)
    ).all()
    areas = session.execute(
        sa.select(Area.code, Area.name, Area.kind, Area.area_km2, Area.population, Area.geometry)
    ).all()
    texts = {
        "report": set(
            session.scalars(
                sa.select(Report.id).where(Report.free_text.is_not(None), Report.free_text != "")
            )
        ),
        "survey_response": set(
            session.scalars(
                sa.select(SurveyResponse.id).where(
                    SurveyResponse.free_text.is_not(None), SurveyResponse.free_text != ""
                )
            )
        ),
    }
    return StoreData(
        list(responses),
        list(waves),
        list(reports),
        list(crimes),
        list(outcomes),
        list(themes),
        list(areas),
        texts,
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


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def interval(d: dict[str, Any]) -> str:
    """``48% (46 to 50%)`` from a Proportion dict."""
    if d.get("share") is None:
        return "n/a"
    return f"{pct(d['share'])} ({100 * d['lower']:.0f} to {100 * d['upper']:.0f}%)"


def life_stage(age_band: str | None) -> str | None:
    """``girls`` (band wholly under 18), ``women`` (wholly 18 or over), ``mixed`` or None."""
    if not age_band:
        return None
    text = age_band.strip().lower().replace(" ", "")
    try:
        if text.startswith("under"):
            return "girls" if int(text[5:]) <= 18 else "mixed"
        if text.endswith("+"):
            return "women" if int(text[:-1]) >= 18 else "mixed"
        lo, hi = (int(v) for v in text.split("-", 1))
    except ValueError:
        return None
    if hi < 18:
        return "girls"
    return "women" if lo >= 18 else "mixed"


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


def effective_themes(rows: Iterable[Any]) -> dict[tuple[str, int], set[str]]:
    """Themes per (owner_kind, owner_id): the model's, overridden by an analyst's yes or no."""
    model: dict[tuple[str, int], set[str]] = defaultdict(set)
    analyst: dict[tuple[str, int], dict[str, bool]] = defaultdict(dict)
    for owner_kind, owner_id, theme, source, present in rows:
        key = (owner_kind, owner_id)
        if source == "analyst":
            analyst[key][theme] = bool(present)
        elif present:
            model[key].add(theme)
    out: dict[tuple[str, int], set[str]] = {}
    for key in set(model) | set(analyst):
        themes = set(model.get(key, set()))
        for theme, yes in analyst.get(key, {}).items():
            (themes.add if yes else themes.discard)(theme)
        out[key] = themes
    return out


def _ranked(lists: Sequence[Sequence[str]], n: int) -> list[dict[str, Any]]:
    counts = Counter(code for codes in lists for code in set(codes))
    rows = [
        {"code": code, "label": label(code), **proportion(count, n).as_dict()}
        for code, count in counts.items()
    ]
    rows.sort(key=lambda r: (-r["count"], r["code"]))
    return rows


def _by_group(
    items: Sequence[tuple[Sequence[str], str | None]],
    codes: Sequence[str],
    *,
    k: int,
    overlapping: bool = False,
) -> dict[str, Any]:
    """Per code: share by group with a test; ``items`` are (codes named, group) per person."""
    totals: Counter[str] = Counter(g for _, g in items if g)
    groups = sorted(totals)
    out = {}
    for code in codes:
        counts = Counter(g for named, g in items if g and code in named)
        cmp = compare_groups(
            groups, [counts[g] for g in groups], [totals[g] for g in groups], min_count=k
        ).as_dict()
        if overlapping:
            cmp["test"] = {
                "test": "none",
                "statistic": None,
                "dof": None,
                "p_value": None,
                "min_expected": None,
                "share_expected_below_5": None,
                "note": "groups overlap (one person can name several), so no test of "
                "independence applies",
            }
        out[code] = cmp
    return out


# ---------------------------------------------------------------------------------------------
# the analyses (each returns Findings; none raises on empty input)


def assess_concerns(data: StoreData, settings: Settings) -> Finding:
    """Concerns ranked with Wilson intervals, by age band, district, ward and setting."""
    k = settings.public_min_count
    answered = [r for r in data.responses if r.concerns]
    reports = [r for r in data.reports if r.reasons]
    result: dict[str, Any] = {"n_respondents": len(data.responses), "n_answered": len(answered)}
    result["reports"] = {
        "n": len(reports),
        "ranked": _ranked([r.reasons for r in reports], len(reports)),
    }
    if not answered:
        result["ranked"] = []
        result["by"] = {}
        summary = "No survey responses with concerns yet."
        if reports:
            top = result["reports"]["ranked"][0]
            summary += (
                f" Among {len(reports):,} public reports, {top['label'].lower()} was the most "
                f"common reason: {interval(top)}."
            )
        return Finding("concerns", {}, result, summary)
    ranked = _ranked([r.concerns for r in answered], len(answered))
    result["ranked"] = ranked
    codes = [r["code"] for r in ranked]
    by: dict[str, Any] = {}
    for dim in ("age_band", "district_code", "ward_code"):
        items = [(r.concerns, getattr(r, dim)) for r in answered]
        by[dim.removesuffix("_code")] = _by_group(items, codes, k=k)
    setting_items = [(r.concerns, s) for r in answered for s in (r.settings or [])]
    by["setting"] = _by_group(setting_items, codes, k=k, overlapping=True)
    result["by"] = by
    top = ranked[0]
    summary = (
        f"{top['label']} was the most common concern: {interval(top)} of the "
        f"{len(answered):,} respondents who answered."
    )
    age = by["age_band"].get(top["code"], {}).get("test", {})
    if age.get("p_value") is not None:
        summary += f" It differed by age band ({age['test']}, {fmt_p(age['p_value'])})."
    return Finding("concerns", {"min_count": k}, result, summary)


def assess_feel_safe(data: StoreData, settings: Settings) -> Finding:
    """Share feeling very or fairly unsafe per question, and day vs after dark."""
    answers = [r.feel_safe for r in data.responses if r.feel_safe]
    if not answers:
        return Finding(
            "feel_safe",
            {},
            {"questions": [], "day_vs_dark": []},
            "No survey responses with feel-safe answers yet.",
        )
    res = summarise_feel_safe(answers).as_dict()
    dark = [q for q in res["questions"] if q["when"] == "after_dark" and q["n"]]
    if dark:
        worst = max(dark, key=lambda q: q["unsafe"]["share"] or 0)
        summary = (
            f"After dark, {interval(worst['unsafe'])} of {worst['n']:,} felt very or fairly unsafe "
            f"in {label(worst['setting']).lower()}, the highest of any setting."
        )
        pair = next((p for p in res["day_vs_dark"] if p["setting"] == worst["setting"]), None)
        if pair:
            summary += f" By day it was {interval(pair['day_unsafe'])} ({fmt_p(pair['p_value'])})."
    else:
        q = max(res["questions"], key=lambda q: q["unsafe"]["share"] or 0)
        summary = f"{interval(q['unsafe'])} felt very or fairly unsafe {key_in_words(q['key'])}."
    return Finding(
        "feel_safe", {"scale": "very or fairly unsafe among answers on the scale"}, res, summary
    )


def assess_who(data: StoreData, settings: Settings) -> Finding:
    """Girls vs women and by gender: feeling unsafe after dark and the main concerns."""
    k = settings.public_min_count
    if not data.responses:
        return Finding(
            "who", {}, {"by_life_stage": {}, "by_gender": {}}, "No survey responses yet."
        )
    keys = sorted({key for r in data.responses for key in (r.feel_safe or {})})
    result: dict[str, Any] = {}
    for dim, getter in (
        ("life_stage", lambda r: life_stage(r.age_band)),
        ("gender", lambda r: r.gender),
    ):
        items = []
        for r in data.responses:
            g = getter(r)
            if not g:
                continue
            unsafe = {key for key, v in (r.feel_safe or {}).items() if level(v) == UNSAFE}
            answered = {key for key, v in (r.feel_safe or {}).items() if level(v) is not None}
            items.append((g, unsafe, answered, r.concerns or []))
        feel = {}
        for key in keys:
            sub = [(u, g) for g, u, a, _ in items if key in a]
            feel[key] = _by_group([(u, g) for u, g in sub], [key], k=k)[key]
        concern_items = [(c, g) for g, _, _, c in items if c]
        top = [
            r["code"]
            for r in _ranked([c for c, _ in concern_items], max(len(concern_items), 1))[:5]
        ]
        result[f"by_{dim}"] = {
            "feel_unsafe": feel,
            "concerns": _by_group(concern_items, top, k=k),
            "groups": dict(Counter(g for g, *_ in items)),
        }
    summary = "Who: "
    stage = result["by_life_stage"]["feel_unsafe"]
    dark = [key for key in stage if key.startswith("after_dark")]
    parts = []
    preferred = [key for key in dark if key == "after_dark.quiet_street"] or dark
    for key in preferred[:1]:
        groups = {g["group"]: g for g in stage[key]["groups"]}
        for name in ("girls", "women"):
            if name in groups and groups[name]["share"] is not None:
                parts.append(f"{interval(groups[name])} of {name} felt unsafe {key_in_words(key)}")
        test = stage[key]["test"]
        if parts and test.get("p_value") is not None:
            parts.append(f"{test['test']}, {fmt_p(test['p_value'])}")
    summary += "; ".join(parts) if parts else "age bands do not separate girls from women here."
    return Finding("who", {"min_count": k, "girls": "age band wholly under 18"}, result, summary)


def assess_when(data: StoreData, settings: Settings, params: AssessParams) -> list[Finding]:
    """Reports by weekday and hour with the NTE window; crime by month (police.uk has no time)."""
    nights, start, end = settings.nte_nights, settings.nte_start_hour, settings.nte_end_hour
    window = {"nte_nights": nights, "nte_start_hour": start, "nte_end_hour": end}
    if data.reports:
        prof = time_profile(
            [r.occurred_on for r in data.reports],
            [r.occurred_hour for r in data.reports],
            nights=nights,
            start_hour=start,
            end_hour=end,
        )
        res = prof.as_dict()
        res["time_bands"] = dict(Counter(r.time_band for r in data.reports if r.time_band))
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


def _study_area(data: StoreData, res: int) -> set[str] | None:
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


def _hotspots(
    name: str,
    events: list[tuple[str, date | None]],
    params: AssessParams,
    within: set[str] | None,
    progress: Progress,
) -> tuple[list[Finding], HotspotLayer]:
    kind = f"hotspots_{name}"
    p = params.as_dict()
    if not events:
        empty = HotspotLayer(name, [], None, np.zeros(0), None)
        return [Finding(kind, p, {"n_events": 0, "cells": 0}, f"No located {name} yet.")], empty
    counts = Counter(c for c, _ in events)
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
    # emerging hot spots over months
    months = sorted({d.replace(day=1) for _, d in events if d is not None})
    trend: dict[str, str] = {}
    emerging_res: dict[str, Any] | None = None
    if len(months) >= MIN_EMERGING_PERIODS:
        progress(f"emerging hot spots over {len(months)} months ({name})")
        index = {c: i for i, c in enumerate(cells)}
        col = {m: j for j, m in enumerate(months)}
        series = np.zeros((len(cells), len(months)))
        for c, d in events:
            if d is not None:
                series[index[c], col[d.replace(day=1)]] += 1
        em = emerging_mod.emerging_hotspots(
            series,
            weights,
            tuple(m.isoformat()[:7] for m in months),
            permutations=0,
            inference="analytic",
            fdr=params.fdr,
        )
        trend = dict(zip(cells, em.categories, strict=True))
        cats = Counter(em.categories)
        emerging_res = {
            "periods": list(em.periods),
            "categories": {k: v for k, v in cats.most_common() if k != "no pattern"},
            "no_pattern": cats.get("no pattern", 0),
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
    cell_rows = [
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
    findings = [Finding(kind, p, result, summary, cell_rows)]
    if emerging_res is not None:
        cats = emerging_res["categories"]
        text = ", ".join(f"{v:,} {k}s" for k, v in list(cats.items())[:4]) or "no emerging pattern"
        findings.append(
            Finding(
                f"emerging_{name}",
                {**p, "periods": len(months)},
                emerging_res,
                f"Over {len(months)} months of {name}: {text}.",
            )
        )
    return findings, HotspotLayer(name, cells, gi, y, weights)


def assess_fusion(
    data: StoreData, params: AssessParams, reports: HotspotLayer, crime: HotspotLayer
) -> Finding:
    """Wards and hotspot cells placed in fear x crime quadrants, each with a response type."""
    wards = [a for a in data.areas if a.kind == "ward"]
    concern: Counter[str] = Counter(r.ward_code for r in data.reports if r.ward_code)
    for r in data.responses:
        if r.ward_code and any(level(v) == UNSAFE for v in (r.feel_safe or {}).values()):
            concern[r.ward_code] += 1
    crimes: Counter[str] = Counter(
        c.ward_code for c in data.crimes if c.ward_code and c.crime_type in params.crime_types
    )
    result: dict[str, Any] = {}
    if wards:
        codes = [a.code for a in wards]
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
        return Finding(
            "fusion",
            params.as_dict(),
            result,
            "Not enough data to compare fear with recorded crime yet (needs wards or "
            "both reports and crime).",
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


def assess_outcomes(data: StoreData, settings: Settings, params: AssessParams) -> Finding:
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


def assess_waves(data: StoreData, settings: Settings) -> Finding:
    """Latest survey wave against the one before: concerns and feeling unsafe, with intervals."""
    if len(data.waves) < 2:
        return Finding(
            "waves",
            {},
            {"comparisons": []},
            "Only one survey wave so far: no change to measure yet."
            if data.waves
            else "No survey waves yet.",
        )
    ordered = sorted(data.waves, key=lambda w: (w.period_start or date.min, w.id))
    prev, last = ordered[-2], ordered[-1]
    a = [r for r in data.responses if r.wave_id == last.id]
    b = [r for r in data.responses if r.wave_id == prev.id]
    rows = []
    for key in sorted({k for r in a + b for k in (r.feel_safe or {})}):

        def tally(rs: list[Any], key: str = key) -> tuple[int, int]:
            levels = [level((r.feel_safe or {}).get(key)) for r in rs]
            levels = [v for v in levels if v is not None]
            return sum(v == UNSAFE for v in levels), len(levels)

        x1, n1 = tally(a)
        x2, n2 = tally(b)
        if n1 and n2:
            rows.append(
                {"measure": "feel_unsafe", "key": key, **difference(x1, n1, x2, n2).as_dict()}
            )
    a_ans = [r for r in a if r.concerns]
    b_ans = [r for r in b if r.concerns]
    if a_ans and b_ans:
        for code in sorted({c for r in a_ans + b_ans for c in r.concerns}):
            x1 = sum(code in r.concerns for r in a_ans)
            x2 = sum(code in r.concerns for r in b_ans)
            rows.append(
                {
                    "measure": "concern",
                    "key": code,
                    **difference(x1, len(a_ans), x2, len(b_ans)).as_dict(),
                }
            )
    res = {
        "latest": {"id": last.id, "name": last.name, "n": len(a)},
        "previous": {"id": prev.id, "name": prev.name, "n": len(b)},
        "comparisons": rows,
        "method": "difference latest - previous; Newcombe hybrid score interval (method 10); "
        "pooled two-proportion z test",
    }
    dark = [r for r in rows if r["measure"] == "feel_unsafe" and r["key"].startswith("after_dark")]
    if dark:
        headline = [
            r for r in dark if r["key"] == "after_dark.quiet_street"
        ]  # the ONS headline question
        d = headline[0] if headline else max(dark, key=lambda r: r["n1"])
        direction = "fewer" if d["difference"] < 0 else "more"
        signif = "a real change" if d["lower"] > 0 or d["upper"] < 0 else "within chance"
        summary = (
            f"{last.name} vs {prev.name}: {pct(d['p1'])} felt unsafe {key_in_words(d['key'])} "
            f"against {pct(d['p2'])}: {abs(100 * d['difference']):.0f} points {direction} "
            f"({100 * d['lower']:.0f} to {100 * d['upper']:.0f}), {signif} ({fmt_p(d['p_value'])})."
        )
    else:
        summary = f"{last.name} vs {prev.name}: {len(rows)} measures compared."
    return Finding("waves", {}, res, summary)


def assess_themes(data: StoreData, settings: Settings) -> Finding:
    """Themes in free text (model, overridden by analysts), with intervals, reports and surveys."""
    eff = effective_themes(data.themes)
    res: dict[str, Any] = {}
    parts = []
    for owner_kind in ("report", "survey_response"):
        owners = data.texts.get(owner_kind, set())
        n = len(owners)
        lists = [list(eff.get((owner_kind, i), set())) for i in owners]
        ranked = _ranked(lists, n) if n else []
        k = settings.public_min_count
        for row in ranked:
            row["suppressed"] = suppress(row["count"], n, k)
        res[owner_kind] = {
            "n_texts": n,
            "n_classified": sum(1 for i in owners if (owner_kind, i) in eff),
            "ranked": ranked,
        }
        if ranked:
            parts.append(
                f"in {n:,} {owner_kind.replace('_', ' ')} texts the most common theme was "
                f"{ranked[0]['label'].lower()} ({interval(ranked[0])})"
            )
    summary = ("Free text: " + "; ".join(parts) + ".") if parts else "No classified free text yet."
    return Finding("themes", {"analyst_overrides_model": True}, res, summary)


# ---------------------------------------------------------------------------------------------
# orchestration


def _run_themes(engine: Engine, settings: Settings, progress: Progress) -> None:
    try:
        from saferstreets.themes.service import assign_all  # type: ignore[attr-defined]
    except ImportError:
        progress("themes: no classifier installed, using stored theme assignments")
        return

    def counted(what: str, done: int | None = None, total: int | None = None) -> None:
        progress(f"assigning themes to free text ({done:,} of {total:,})")

    try:
        assign_all(engine=engine, progress=counted, settings=settings)
    except AppError as exc:
        progress(f"themes: not assigned ({exc.message}); using stored assignments")


def run_assessment(
    *,
    engine: Engine,
    settings: Settings,
    progress: Progress | None = None,
    resolution: int | None = None,
    permutations: int = 999,
    seed: int = 1,
    inference: str = "analytic",
    assign_themes: bool = True,
) -> list[AnalysisRun]:
    """Run every analysis on what the store holds and store each finding; return the runs."""
    say: Progress = progress or (lambda _msg: None)
    params = AssessParams(
        resolution=resolution or settings.h3_resolution,
        permutations=permutations,
        seed=seed,
        inference=inference,
        crime_types=tuple(
            getattr(settings, "womens_safety_crime_types", None) or offences.WOMENS_SAFETY_TYPES
        ),
    )
    if assign_themes:
        say("assigning themes to free text")
        _run_themes(engine, settings, say)
    say("reading the store")
    with session_scope(engine) as session:
        data = load(session=session)
    findings: list[Finding] = []
    steps: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("concerns", lambda: [assess_concerns(data, settings)]),
        ("feeling safe", lambda: [assess_feel_safe(data, settings)]),
        ("who", lambda: [assess_who(data, settings)]),
        ("when", lambda: assess_when(data, settings, params)),
        ("themes", lambda: [assess_themes(data, settings)]),
        ("outcomes", lambda: [assess_outcomes(data, settings, params)]),
        ("survey waves", lambda: [assess_waves(data, settings)]),
    ]
    for name, step in steps:
        say(name)
        findings.extend(step())
    res = params.resolution
    say("study area")
    within = _study_area(data, res)
    report_events = [
        (cell, r.occurred_on)
        for r in data.reports
        if (cell := cell_at(r.latitude, r.longitude, r.h3_cell, res)) is not None
    ]
    crime_events = [
        (cell, c.month)
        for c in data.crimes
        if c.crime_type in params.crime_types
        and (cell := cell_at(c.latitude, c.longitude, c.h3_cell, res)) is not None
    ]
    say("hot spots of reports")
    f_rep, layer_rep = _hotspots("reports", report_events, params, within, say)
    say("hot spots of crime")
    f_cri, layer_cri = _hotspots("crime", crime_events, params, within, say)
    findings.extend(f_rep + f_cri)
    say("fear and recorded crime")
    findings.append(assess_fusion(data, params, layer_rep, layer_cri))
    say("storing the findings")
    runs: list[AnalysisRun] = []
    with session_scope(engine) as session:
        for f in findings:
            run = AnalysisRun(
                kind=f.kind, params=jsonable(f.params), result=jsonable(f.result), summary=f.summary
            )
            session.add(run)
            session.flush()
            if f.cells:
                session.execute(
                    sa.insert(HotspotCell),
                    [
                        {"run_id": run.id, **{k: v for k, v in c.items() if k != "p_sim"}}
                        for c in f.cells
                    ],
                )
            runs.append(run)
    return runs


def latest_results(*, session: Session) -> dict[str, AnalysisRun]:
    """The most recent run of each kind."""
    newest = (
        sa.select(AnalysisRun.kind, sa.func.max(AnalysisRun.id).label("id"))
        .group_by(AnalysisRun.kind)
        .subquery()
    )
    rows = session.scalars(sa.select(AnalysisRun).join(newest, AnalysisRun.id == newest.c.id))
    return {run.kind: run for run in rows}


def hotspot_cells(*, session: Session, run_id: int) -> list[HotspotCell]:
    """The cells of one hotspot run."""
    return list(session.scalars(sa.select(HotspotCell).where(HotspotCell.run_id == run_id)))
