"""police.uk street and outcome CSVs for the demo county, in the data.police.uk archive layout.

``crime/YYYY-MM/YYYY-MM-demo-county-street.csv`` and ``...-outcomes.csv`` with exactly the
columns, vocabulary and number formatting of data.police.uk. Volumes follow Hertfordshire's
crime mix and monthly seasonality (params); places follow the county: violence, public order and
theft from the person gather at the night-time-economy streets and venues, shoplifting in town
centres, bicycle theft at stations, anti-social behaviour in parks and underpasses, burglary and
vehicle crime in residential streets. Locations are snapped to anonymised points labelled
"On or near ..." as police.uk does.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from saferstreets.crime.policeuk import OUTCOME_COLUMNS, STREET_COLUMNS
from saferstreets.demo import params
from saferstreets.demo.geography import County, to_lonlat

# Where each crime type happens: share drawn near each kind of place (a modelling choice).
# "home" = residential streets, weighted by LSOA population and a per-LSOA deprivation factor.
ATTRACTORS: dict[str, dict[str, float]] = {
    "Violence and sexual offences": {
        "home": 0.56,
        "nte": 0.24,
        "centre": 0.10,
        "station": 0.04,
        "dark": 0.06,
    },
    "Anti-social behaviour": {
        "home": 0.45,
        "nte": 0.10,
        "centre": 0.22,
        "station": 0.05,
        "dark": 0.18,
    },
    "Other theft": {"home": 0.45, "nte": 0.12, "centre": 0.30, "station": 0.13},
    "Criminal damage and arson": {"home": 0.68, "nte": 0.08, "centre": 0.10, "dark": 0.14},
    "Vehicle crime": {"home": 0.72, "centre": 0.16, "station": 0.12},
    "Shoplifting": {"home": 0.12, "centre": 0.88},
    "Public order": {"home": 0.40, "nte": 0.30, "centre": 0.18, "station": 0.07, "dark": 0.05},
    "Burglary": {"home": 1.0},
    "Drugs": {"home": 0.35, "nte": 0.22, "centre": 0.13, "dark": 0.30},
    "Other crime": {"home": 0.80, "centre": 0.20},
    "Bicycle theft": {"home": 0.30, "centre": 0.32, "station": 0.38},
    "Theft from the person": {"nte": 0.42, "centre": 0.33, "station": 0.25},
    "Possession of weapons": {"home": 0.40, "nte": 0.25, "centre": 0.20, "station": 0.15},
    "Robbery": {"home": 0.20, "nte": 0.22, "centre": 0.25, "station": 0.15, "dark": 0.18},
}
ATTRACTOR_KINDS: dict[str, tuple[str, ...]] = {
    "nte": ("venue", "nte_street"),
    "centre": ("shopping_centre", "nte_street", "bus_station"),
    "station": ("rail_station", "bus_station"),
    "dark": ("park", "path", "underpass"),
}
SPREAD_KM = {"nte": 0.08, "centre": 0.25, "station": 0.12, "dark": 0.15}
TOWN_WEIGHT = {"large": 3.0, "medium": 1.8, "small": 0.8, "village": 0.3}


def month_list() -> list[str]:
    """The 13 months of police.uk data the demo writes, as YYYY-MM."""
    year, month = params.CRIME_FIRST_MONTH
    out = []
    for _ in range(params.CRIME_MONTHS):
        out.append(f"{year:04d}-{month:02d}")
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return out


def _crime_id(seed: int, tag: str) -> str:
    return hashlib.sha256(f"wyvernshire:{seed}:{tag}".encode()).hexdigest()


def _choice(
    rng: np.random.Generator, weights: dict[str, float] | dict[str, int], size: int
) -> list[str]:
    keys = list(weights)
    p = np.array([float(weights[k]) for k in keys])
    return [keys[i] for i in rng.choice(len(keys), size=size, p=p / p.sum())]


def _drawer(rng: np.random.Generator, weights: dict[str, int]):
    """A draw from ``weights`` by inverse CDF: one uniform per call, cheap in a loop."""
    keys = list(weights)
    cdf = np.cumsum([float(weights[k]) for k in keys])
    cdf /= cdf[-1]

    def draw() -> str:
        return keys[min(int(np.searchsorted(cdf, rng.random(), side="right")), len(keys) - 1)]

    return draw


def write_crime(county: County, rng: np.random.Generator, seed: int, out: Path) -> Path:
    """Write 13 months of street and outcome files under ``out/crime``; return that folder."""
    folder = out / "crime"
    months = month_list()
    lsoas = county.lsoas
    snaps = county.snaps
    snap_xy = np.array([(s.x, s.y) for s in snaps])
    snap_lon, snap_lat = to_lonlat(snap_xy[:, 0], snap_xy[:, 1])
    tree = cKDTree(snap_xy)
    street_snaps: dict[int, list[int]] = {}
    for i, s in enumerate(snaps):
        if s.kind in ("street", "landmark"):
            street_snaps.setdefault(s.lsoa, []).append(i)
    # Residential weights: population times a skewed "deprivation" factor, fixed for the run.
    home_w = np.array([a.population for a in lsoas], dtype=float) * rng.lognormal(
        0.0, 0.55, len(lsoas)
    )
    home_w /= home_w.sum()
    town_size = {t.name: t.size for t in county.towns}
    places_by = {}
    for key, kinds in ATTRACTOR_KINDS.items():
        plist = county.places_of(*kinds)
        w = np.array([TOWN_WEIGHT[town_size.get(p.town, "village")] for p in plist])
        places_by[key] = (plist, w / w.sum())

    seasonal = np.array([params.MONTHLY_COUNTS_2021[int(m[5:])] for m in months], dtype=float)
    seasonal /= np.mean([params.MONTHLY_COUNTS_2021[k] for k in range(1, 13)])
    totals = rng.poisson(params.CRIMES_PER_MONTH * seasonal)
    lag_p = np.array(params.OUTCOME_LAG_COUNTS, dtype=float)
    lag_p /= lag_p.sum()

    last_draw = {
        ctype: _drawer(rng, counts) for ctype, counts in params.LAST_OUTCOME_COUNTS.items()
    }
    crimes: list[list[dict[str, str]]] = [[] for _ in months]
    outcomes: list[list[dict[str, str]]] = [[] for _ in months]
    type_names = list(params.CRIME_TYPE_COUNTS)
    type_p = np.array([params.CRIME_TYPE_COUNTS[t] for t in type_names], dtype=float)
    type_p /= type_p.sum()
    snap_lists = [np.array(street_snaps[i]) for i in range(len(lsoas))]
    for mi, month in enumerate(months):
        n = int(totals[mi])
        types = rng.choice(len(type_names), size=n, p=type_p)
        snap_of = np.empty(n, dtype=int)
        for ti, ctype in enumerate(type_names):
            members = np.flatnonzero(types == ti)
            if not len(members):
                continue
            attractors = ATTRACTORS[ctype]
            keys = list(attractors)
            ap = np.array([attractors[k] for k in keys])
            where = rng.choice(len(keys), size=len(members), p=ap / ap.sum())
            for ki, key in enumerate(keys):
                sel = members[where == ki]
                if not len(sel):
                    continue
                if key == "home":
                    lsoa_pick = rng.choice(len(lsoas), size=len(sel), p=home_w)
                    snap_of[sel] = [
                        snap_lists[j][int(rng.integers(len(snap_lists[j])))] for j in lsoa_pick
                    ]
                else:
                    plist, pw = places_by[key]
                    pick = rng.choice(len(plist), size=len(sel), p=pw)
                    xy = np.array([(plist[j].x, plist[j].y) for j in pick])
                    xy = xy + rng.normal(0, SPREAD_KM[key], size=xy.shape)
                    snap_of[sel] = tree.query(xy)[1]
        no_loc = rng.random(n) < params.NO_LOCATION_SHARE
        lags = mi + rng.choice(len(lag_p), size=n, p=lag_p)
        for ci in range(n):
            ctype = type_names[int(types[ci])]
            snap = int(snap_of[ci])
            is_asb = ctype == "Anti-social behaviour"
            crime_id = "" if is_asb else _crime_id(seed, f"{month}:{ci}")
            located = is_asb or not no_loc[ci]
            row = (
                _located_row(snaps[snap], snap_lon[snap], snap_lat[snap], lsoas)
                if located
                else _no_location("No Location")
            )
            last = ""
            if not is_asb:
                last = last_draw[ctype]()
                event = params.OUTCOME_EVENT_FOR_LAST.get(last)
                if event is not None:
                    when = int(lags[ci])
                    if when < len(months):
                        orow = dict(row)
                        orow["Location"] = (
                            _outcome_location(orow["Location"]) if located else "No location"
                        )
                        outcomes[when].append(
                            {
                                "Crime ID": crime_id,
                                "Month": months[when],
                                **orow,
                                "Outcome type": event,
                            }
                        )
                    else:
                        last = "Under investigation"
            crimes[mi].append(
                {
                    "Crime ID": crime_id,
                    "Month": month,
                    **row,
                    "Crime type": ctype,
                    "Last outcome category": last,
                    "Context": "",
                }
            )

    # Outcomes in the first months for crimes recorded before the window (as real files have).
    event_weights: dict[str, float] = {}
    for counts in params.LAST_OUTCOME_COUNTS.values():
        for last, n in counts.items():
            event = params.OUTCOME_EVENT_FOR_LAST.get(last)
            if event:
                event_weights[event] = event_weights.get(event, 0.0) + n
    pre_draw = _drawer(rng, event_weights)  # type: ignore[arg-type]
    for mi, month in enumerate(months[:8]):
        n_pre = int(len(outcomes[mi]) * (1 - params.OUTCOMES_MATCHED_SHARE) * 2.5 * (1 - mi / 8))
        for k in range(n_pre):
            snap = int(rng.integers(len(snaps)))
            row = _located_row(snaps[snap], snap_lon[snap], snap_lat[snap], lsoas)
            row["Location"] = _outcome_location(row["Location"])
            if rng.random() < params.NO_LOCATION_SHARE:
                row = _no_location("No location")
            outcomes[mi].append(
                {
                    "Crime ID": _crime_id(seed, f"before:{month}:{k}"),
                    "Month": month,
                    **row,
                    "Outcome type": pre_draw(),
                }
            )

    for mi, month in enumerate(months):
        mdir = folder / month
        mdir.mkdir(parents=True, exist_ok=True)
        rows = crimes[mi]
        located_rows = sorted(
            (r for r in rows if r["LSOA name"]),
            key=lambda r: (r["LSOA name"], r["Crime type"], r["Crime ID"]),
        )
        unlocated = sorted(
            (r for r in rows if not r["LSOA name"]), key=lambda r: (r["Crime type"], r["Crime ID"])
        )
        _write_csv(
            mdir / f"{month}-{params.FORCE_SLUG}-street.csv",
            STREET_COLUMNS,
            located_rows + unlocated,
        )
        orows = outcomes[mi]
        order = rng.permutation(len(orows))
        _write_csv(
            mdir / f"{month}-{params.FORCE_SLUG}-outcomes.csv",
            OUTCOME_COLUMNS,
            [orows[i] for i in order],
        )
    return folder


def _located_row(snap, lon: float, lat: float, lsoas) -> dict[str, str]:
    lsoa = lsoas[snap.lsoa]
    return {
        "Reported by": params.FORCE_NAME,
        "Falls within": params.FORCE_NAME,
        "Longitude": f"{lon:.6f}",
        "Latitude": f"{lat:.6f}",
        "Location": snap.label,
        "LSOA code": lsoa.code,
        "LSOA name": lsoa.name,
    }


def _no_location(label: str) -> dict[str, str]:
    return {
        "Reported by": params.FORCE_NAME,
        "Falls within": params.FORCE_NAME,
        "Longitude": "",
        "Latitude": "",
        "Location": label,
        "LSOA code": "",
        "LSOA name": "",
    }


def _outcome_location(label: str) -> str:
    prefix = "On or near "
    return prefix + label[len(prefix) :].upper() if label.startswith(prefix) else label


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row[c] for c in columns])
