"""A national-scale year of police.uk street files, made from a seed (for bench_crime_import).

``generate_year(out, rows=6_000_000, seed=...)`` writes ``YYYY-MM/YYYY-MM-<force>-street.csv``
for 43 forces x 12 months, in police.uk's exact columns and formatting: 64-hex Crime IDs,
anti-social behaviour rows (about a quarter) without a Crime ID or outcome, "No Location" rows
(about 1.7%, as in Hertfordshire 2021), points snapped to a grid inside each force's box, LSOA
codes and names, and the crime-type mix and last outcomes of Hertfordshire 2021. Forces differ
in size (the Met about ten times a small force), as in the real national files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

FORCES = (
    "avon-and-somerset", "bedfordshire", "btp", "cambridgeshire", "cheshire", "city-of-london",
    "cleveland", "cumbria", "derbyshire", "devon-and-cornwall", "dorset", "durham", "dyfed-powys",
    "essex", "gloucestershire", "greater-manchester", "gwent", "hampshire", "hertfordshire",
    "humberside", "kent", "lancashire", "leicestershire", "lincolnshire", "merseyside",
    "metropolitan", "norfolk", "north-wales", "north-yorkshire", "northamptonshire",
    "northumbria", "nottinghamshire", "south-wales", "south-yorkshire", "staffordshire", "suffolk",
    "surrey", "sussex", "thames-valley", "warwickshire", "west-mercia", "west-midlands",
    "west-yorkshire",
)  # fmt: skip
# Hertfordshire 2021 (SOURCES.md): street rows by crime type over 13 months.
CRIME_MIX = {
    "Violence and sexual offences": 32266, "Anti-social behaviour": 27858, "Other theft": 8105,
    "Criminal damage and arson": 7963, "Vehicle crime": 7844, "Shoplifting": 6551,
    "Public order": 5918, "Burglary": 3775, "Drugs": 2885, "Other crime": 1754,
    "Bicycle theft": 1152, "Theft from the person": 1071, "Possession of weapons": 725,
    "Robbery": 598,
}  # fmt: skip
OUTCOMES = {
    "Unable to prosecute suspect": 30762, "Investigation complete; no suspect identified": 27801,
    "Under investigation": 10029, "Status update unavailable": 4191, "Awaiting court outcome": 2899,
    "Local resolution": 1515, "Court result unavailable": 1395, "Offender given a caution": 973,
    "Action to be taken by another organisation": 576,
    "Formal action is not in the public interest": 206,
    "Further investigation is not in the public interest": 179,
    "Further action is not in the public interest": 75,
    "Suspect charged as part of another case": 6,
}  # fmt: skip
STREETS = (
    "High Street", "Station Road", "Church Lane", "Park Road", "London Road", "Victoria Road",
    "Green Lane", "Manor Road", "Mill Lane", "School Lane", "Queens Road", "New Road",
    "Supermarket", "Parking Area", "Petrol Station", "Shopping Area", "Nightclub",
    "Sports/Recreation Area",
    "Bus/Coach Station", "Further/Higher Educational Building", "Hospital",
    "Conference/Exhibition Centre",
)  # fmt: skip
NO_LOCATION_SHARE = 1789 / 108465
HEX = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype="S2")


def _hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    return np.ascontiguousarray(HEX[raw]).view("S64").reshape(n)


def _force_sizes(rng: np.random.Generator, total: int) -> np.ndarray:
    weights = rng.lognormal(mean=0.0, sigma=0.6, size=len(FORCES))
    weights[FORCES.index("metropolitan")] = weights.max() * 6
    sizes = np.floor(weights / weights.sum() * total).astype(np.int64)
    sizes[np.argmax(sizes)] += total - sizes.sum()
    return sizes


def generate_year(
    out: Path,
    *,
    rows: int = 6_000_000,
    seed: int = 2021,
    year: int = 2021,
    forces: int = len(FORCES),
    months: int = 12,
) -> list[Path]:
    """Write the files; return their paths (43 x 12 by default)."""
    rng = np.random.default_rng(seed)
    chosen = FORCES[:forces]
    sizes = _force_sizes(rng, rows)[:forces]
    sizes[-1] += rows - sizes.sum()
    types = np.array(list(CRIME_MIX), dtype=object)
    type_p = np.array(list(CRIME_MIX.values()), dtype=float)
    type_p /= type_p.sum()
    outcome_names = np.array(list(OUTCOMES), dtype=object)
    outcome_p = np.array(list(OUTCOMES.values()), dtype=float)
    outcome_p /= outcome_p.sum()
    written: list[Path] = []
    for f_index, force in enumerate(chosen):
        name = force.replace("-", " ").title()
        label = "Metropolitan Police Service" if force == "metropolitan" else f"{name} Police"
        lat0 = rng.uniform(50.3, 55.0)
        lon0 = rng.uniform(-4.5, 0.8)
        per_month = np.full(months, sizes[f_index] // months)
        per_month[: sizes[f_index] % months] += 1
        lsoas = np.array([f"E01{rng.integers(0, 10**6):06d}" for _ in range(400)], dtype=object)
        lsoa_names = np.array(
            [f"{name} {i // 5 + 1:03d}{chr(65 + i % 5)}" for i in range(400)], dtype=object
        )
        for m in range(months):
            n = int(per_month[m])
            month = f"{year}-{m + 1:02d}"
            crime_type = rng.choice(types, size=n, p=type_p)
            asb = crime_type == "Anti-social behaviour"
            ids = _hex_ids(rng, n).astype("U64").astype(object)
            ids[asb] = None
            outcome = rng.choice(outcome_names, size=n, p=outcome_p)
            outcome[asb] = None
            # Snapped points: police.uk maps each crime to one of a fixed set of points.
            grid = rng.integers(0, 3000, size=n)
            lat = np.round(lat0 + (grid // 60) * 0.004, 6)
            lon = np.round(lon0 + (grid % 60) * 0.006, 6)
            lsoa_i = grid % 400
            location = np.array(["On or near " + s for s in STREETS], dtype=object)[
                grid % len(STREETS)
            ]
            no_loc = rng.random(n) < NO_LOCATION_SHARE
            columns = {
                "Crime ID": ids,
                "Month": [month] * n,
                "Reported by": [label] * n,
                "Falls within": [label] * n,
                "Longitude": np.where(no_loc, None, np.char.mod("%.6f", lon)).astype(object),
                "Latitude": np.where(no_loc, None, np.char.mod("%.6f", lat)).astype(object),
                "Location": np.where(no_loc, "No Location", location).astype(object),
                "LSOA code": np.where(no_loc, None, lsoas[lsoa_i]).astype(object),
                "LSOA name": np.where(no_loc, None, lsoa_names[lsoa_i]).astype(object),
                "Crime type": crime_type,
                "Last outcome category": outcome,
                "Context": [None] * n,
            }
            frame = pl.DataFrame(
                {
                    k: pl.Series(k, v.tolist() if isinstance(v, np.ndarray) else v, dtype=pl.String)
                    for k, v in columns.items()
                }
            )
            folder = out / month
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{month}-{force}-street.csv"
            frame.write_csv(path, null_value="")
            written.append(path)
    return written
