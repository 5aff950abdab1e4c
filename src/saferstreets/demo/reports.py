"""Anonymous public reports (``reports.jsonl``), clustered where and when such reports cluster.

Each report comes from a scenario: a night out (night-time-economy streets, Friday and Saturday
nights), a station or bus stop (evenings and late), a park, path or underpass after dark, a town
centre by day, a quiet residential street in the evening, the walk to or from school. The
scenario fixes where (near a place of its kind), when (weekday and hour profiles), the reasons
ticked (theme probabilities) and the free text (``text.compose``). A handful of reports describe
danger now or a named individual, for triage to flag. The ground truth (scenario, themes the text
expresses, urgent) goes to ``truth/reports.jsonl`` for scoring theme detection and triage; it is
not part of the public form.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from saferstreets.demo import params
from saferstreets.demo.geography import County, PlaceSpec, to_lonlat
from saferstreets.demo.survey import CONCERN_RATES
from saferstreets.demo.text import compose, urgent
from saferstreets.reports.schemas import HOUR_BANDS
from saferstreets.themes.taxonomy import THEME_CODES

# The themes the demo is calibrated on, in taxonomy order (codes added later are not drawn).
DEMO_THEMES = tuple(t for t in THEME_CODES if t in CONCERN_RATES["women"])
TIME_BANDS = ("morning", "afternoon", "evening", "night", "late_night")
AGE_BANDS = ("under16", "16-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")


def time_band(hour: int) -> str:
    """The public form's time band for an hour of the day (the form's own table)."""
    return HOUR_BANDS[hour]


@dataclass(frozen=True)
class Scenario:
    name: str
    weight: float
    kinds: tuple[str, ...]
    spread_km: float
    weekday: tuple[float, ...]  # Monday … Sunday
    hours: dict[int, float]
    themes: dict[str, float]  # probability each theme is ticked
    ages: tuple[float, ...]  # over AGE_BANDS


_NIGHT = {21: 1.0, 22: 2.0, 23: 3.0, 0: 3.5, 1: 3.0, 2: 2.0, 3: 1.0, 20: 0.6}
_EVENING = {17: 1.0, 18: 1.5, 19: 2.0, 20: 2.0, 21: 1.8, 22: 1.5, 23: 1.0, 0: 0.5, 16: 0.6}
_DAY = {9: 0.6, 10: 1.0, 11: 1.2, 12: 1.4, 13: 1.4, 14: 1.3, 15: 1.3, 16: 1.2, 17: 1.0}
_SCHOOL = {8: 1.5, 15: 2.5, 16: 2.0, 17: 0.8}
_YOUNG = (0.02, 0.06, 0.38, 0.30, 0.12, 0.07, 0.04, 0.01)
_ADULT = (0.01, 0.03, 0.18, 0.26, 0.21, 0.16, 0.10, 0.05)
_GIRLS = (0.75, 0.25, 0, 0, 0, 0, 0, 0)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "night_out",
        0.30,
        ("nte_street", "venue"),
        0.08,
        (0.3, 0.3, 0.5, 1.0, 3.2, 3.6, 0.8),
        _NIGHT,
        {
            "drink_drugs": 0.45,
            "verbal_harassment": 0.35,
            "sexual_comments": 0.35,
            "touching": 0.25,
            "staring": 0.2,
            "being_followed": 0.15,
            "transport": 0.15,
            "taking_pictures": 0.06,
            "no_cctv": 0.05,
        },
        _YOUNG,
    ),
    Scenario(
        "station",
        0.17,
        ("rail_station", "bus_station"),
        0.12,
        (1.0, 1.0, 1.0, 1.1, 1.6, 1.3, 0.8),
        _EVENING,
        {
            "transport": 0.6,
            "isolated": 0.25,
            "staring": 0.2,
            "being_followed": 0.2,
            "verbal_harassment": 0.2,
            "poor_lighting": 0.2,
            "touching": 0.08,
            "no_cctv": 0.1,
        },
        _ADULT,
    ),
    Scenario(
        "park_dark",
        0.16,
        ("park",),
        0.2,
        (1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.1),
        _EVENING,
        {
            "poor_lighting": 0.55,
            "isolated": 0.5,
            "overgrown": 0.3,
            "being_followed": 0.2,
            "indecent_exposure": 0.08,
            "drink_drugs": 0.15,
            "blind_spots": 0.15,
        },
        _ADULT,
    ),
    Scenario(
        "path_underpass",
        0.14,
        ("path", "underpass"),
        0.1,
        (1.0, 1.0, 1.0, 1.0, 1.1, 1.0, 0.9),
        _EVENING,
        {
            "poor_lighting": 0.6,
            "blind_spots": 0.45,
            "isolated": 0.4,
            "overgrown": 0.25,
            "rundown": 0.2,
            "being_followed": 0.2,
            "no_cctv": 0.15,
        },
        _ADULT,
    ),
    Scenario(
        "town_day",
        0.10,
        ("shopping_centre", "nte_street", "bus_station"),
        0.25,
        (1.0, 1.0, 1.0, 1.0, 1.1, 1.4, 0.7),
        _DAY,
        {
            "staring": 0.3,
            "verbal_harassment": 0.3,
            "sexual_comments": 0.3,
            "taking_pictures": 0.12,
            "rundown": 0.15,
            "drink_drugs": 0.15,
            "specific_individual": 0.08,
        },
        _ADULT,
    ),
    Scenario(
        "quiet_street",
        0.08,
        ("home",),
        0.0,
        (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        _EVENING,
        {
            "poor_lighting": 0.45,
            "being_followed": 0.35,
            "isolated": 0.3,
            "specific_individual": 0.15,
            "verbal_harassment": 0.1,
        },
        _ADULT,
    ),
    Scenario(
        "school_route",
        0.05,
        ("bus_station", "park", "path"),
        0.3,
        (1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.05),
        _SCHOOL,
        {
            "verbal_harassment": 0.45,
            "sexual_comments": 0.4,
            "taking_pictures": 0.2,
            "being_followed": 0.25,
            "staring": 0.2,
            "transport": 0.15,
        },
        _GIRLS,
    ),
)

OTHER_REASONS = (
    "Men on e-scooters riding at us",
    "Dogs off leads",
    "Cars speeding",
    "People begging aggressively",
    "No pavement so you walk in the road",
    "Fireworks being thrown",
)


def _place_text(
    rng: np.random.Generator, place: PlaceSpec | None, street: str, town: str
) -> str | None:
    r = rng.random()
    if r < 0.08:
        return None
    if place is None:
        return f"{street}, {town}" if r < 0.7 else street
    base = place.name.split(",")[0]
    if r < 0.45:
        return place.name
    if r < 0.65:
        return f"near {base}"
    if r < 0.8:
        return (
            f"outside {base}"
            if place.kind == "venue"
            else f"by {base.lower() if base.islower() else base}"
        )
    return f"{street}, {town}"


def write_reports(county: County, rng: np.random.Generator, out: Path) -> Path:
    """Write ``reports.jsonl`` (and the ground truth under ``truth/``); return the report file."""
    start = date.fromisoformat(params.REPORTS_START)
    n_days = (date.fromisoformat(params.REPORTS_END) - start).days + 1
    all_days = [start + timedelta(days=i) for i in range(n_days)]
    weekday_of = np.array([d.weekday() for d in all_days])
    upgrade = date.fromisoformat(params.LIGHTING_UPGRADE_DATE)
    town_size = {t.name: t.size for t in county.towns}
    size_w = {"large": 3.0, "medium": 1.8, "small": 0.8, "village": 0.4}
    urban_lsoas = [i for i, a in enumerate(county.lsoas) if a.urban]
    lsoa_snaps: dict[int, list[int]] = {}
    for i, s in enumerate(county.snaps):
        if s.kind == "street":
            lsoa_snaps.setdefault(s.lsoa, []).append(i)
    ward_by_code = {w.code: w for w in county.wards}
    lsoa_ward = [ward_by_code[a.parent] for a in county.lsoas]
    stations = county.places_of("rail_station", "bus_station")

    sw = np.array([s.weight for s in SCENARIOS])
    records: list[dict[str, object]] = []
    truths: list[dict[str, object]] = []
    urgent_at = {int(i) for i in rng.choice(params.REPORTS, size=7, replace=False)}
    while len(records) < params.REPORTS:
        sc = SCENARIOS[int(rng.choice(len(SCENARIOS), p=sw / sw.sum()))]
        # When: weekday profile over the whole period, hour profile of the scenario.
        day_w = np.array([sc.weekday[w] for w in weekday_of])
        day_w = day_w * (
            1.0 + 0.25 * np.cos(2 * math.pi * (np.arange(n_days) - 80) / 365)
        )  # darker months
        hours = list(sc.hours)
        hw = np.array([sc.hours[h] for h in hours])
        hour = int(hours[int(rng.choice(len(hours), p=hw / hw.sum()))])
        day = all_days[int(rng.choice(n_days, p=day_w / day_w.sum()))]
        if hour < 6:  # the small hours belong to the night before's outing
            day = min(day + timedelta(days=1), all_days[-1])
        # Where.
        place: PlaceSpec | None = None
        if sc.kinds == ("home",):
            lsoa = urban_lsoas[int(rng.integers(len(urban_lsoas)))]
            snaps = lsoa_snaps[lsoa]
            snap = county.snaps[snaps[int(rng.integers(len(snaps)))]]
            x, y = snap.x + rng.normal(0, 0.05), snap.y + rng.normal(0, 0.05)
            street = snap.label.removeprefix("On or near ")
            town = lsoa_ward[lsoa].name.split(" ")[0]
        else:
            plist = county.places_of(*sc.kinds)
            pw = np.array([size_w[town_size.get(p.town, "village")] for p in plist])
            place = plist[int(rng.choice(len(plist), p=pw / pw.sum()))]
            x, y = place.x + rng.normal(0, sc.spread_km), place.y + rng.normal(0, sc.spread_km)
            street = str(
                place.props.get("street")
                or county.streets_by_ward.get(place.ward, ["High Street"])[0]
            )
            town = place.town
        if not county.outline.contains(_pt(x, y)):
            continue
        # Why.
        themes = [t for t in DEMO_THEMES if rng.random() < sc.themes.get(t, 0.0)]
        if (
            place is not None
            and place.props.get("lighting_upgraded")
            and day >= upgrade
            and "poor_lighting" in themes
            and rng.random() < 0.8  # the lamps were fixed: most such reports stop
        ):
            continue
        if not themes:
            keys = list(sc.themes)
            themes = [keys[int(rng.integers(len(keys)))]]
        other = None
        reasons = list(themes)
        if rng.random() < 0.05:
            other = str(OTHER_REASONS[int(rng.integers(len(OTHER_REASONS)))])
            reasons.append("other")
        anchor = stations[int(rng.integers(len(stations)))].name if stations else "work"
        is_urgent = len(records) in urgent_at
        if is_urgent:
            text: str | None = urgent(
                rng, place=place.name.split(",")[0] if place else street, street=street
            )
            expressed: tuple[str, ...] = ("being_followed", "specific_individual")
        elif rng.random() < 0.72:
            # Free text usually echoes what was ticked, sometimes less, sometimes more.
            said = [t for t in themes if rng.random() < 0.85] or themes[:1]
            if rng.random() < 0.12:
                extra = [t for t in sc.themes if t not in said]
                if extra:
                    said.append(extra[int(rng.integers(len(extra)))])
            c = compose(
                rng,
                said,
                place=place.name.split(",")[0] if place else street,
                street=street,
                anchor=anchor,
            )
            text, expressed = c.text, c.themes
        else:
            text, expressed = None, ()
        lon, lat = to_lonlat(x, y)
        age = AGE_BANDS[int(rng.choice(len(AGE_BANDS), p=np.array(sc.ages) / sum(sc.ages)))]
        delay_h = (
            float(rng.exponential(20.0)) if rng.random() < 0.8 else float(rng.uniform(24, 24 * 14))
        )
        occurred = datetime(day.year, day.month, day.day, hour, int(rng.integers(60)))
        received = occurred + timedelta(hours=delay_h)
        records.append(
            {
                "latitude": round(float(lat), 6),
                "longitude": round(float(lon), 6),
                "place_text": _place_text(rng, place, street, town),
                "occurred_on": occurred.date().isoformat(),
                "time_band": time_band(hour),
                "happens_regularly": bool(
                    rng.random()
                    < (0.45 if sc.name in ("path_underpass", "park_dark", "quiet_street") else 0.25)
                ),
                "reasons": reasons,
                "other_reason": other,
                "free_text": text,
                "age_band": None if rng.random() < 0.2 else age,
                "for_self": None if rng.random() < 0.05 else bool(rng.random() < 0.88),
                "received_at": received.replace(second=0, microsecond=0).isoformat(),
                "occurred_hour": hour,
            }
        )
        truths.append(
            {
                "index": len(records) - 1,
                "scenario": sc.name,
                "place": place.name if place else None,
                "text_themes": list(expressed),
                "urgent": bool(is_urgent),
            }
        )
    order = sorted(range(len(records)), key=lambda i: (str(records[i]["received_at"]), i))
    path = out / "reports.jsonl"
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for i in order:
            fh.write(json.dumps(records[i], ensure_ascii=False) + "\n")
    truth_dir = out / "truth"
    truth_dir.mkdir(exist_ok=True)
    with (truth_dir / "reports.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
        for line, i in enumerate(order):
            fh.write(json.dumps({**truths[i], "index": line}, ensure_ascii=False) + "\n")
    return path


def _pt(x: float, y: float):
    from shapely.geometry import Point

    return Point(x, y)
