"""police.uk-shaped CSV files that tests make: good rows, and each kind of bad input."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from saferstreets.crime.policeuk import OUTCOME_COLUMNS, STOP_SEARCH_COLUMNS, STREET_COLUMNS

FORCE = "Hertfordshire Constabulary"


def crime_id(n: int) -> str:
    """A 64-hex Crime ID, as police.uk's."""
    return hashlib.sha256(f"crime-{n}".encode()).hexdigest()


def street_row(
    n: int | None,
    *,
    month: str = "2021-01",
    lon: str = "-0.339000",
    lat: str = "51.750000",
    location: str = "On or near High Street",
    crime_type: str = "Violence and sexual offences",
    outcome: str = "Under investigation",
    lsoa: str = "E01023700",
) -> list[str]:
    """One street row; ``n=None`` makes an anti-social behaviour row without a Crime ID."""
    if n is None:
        return [
            "",
            month,
            FORCE,
            FORCE,
            lon,
            lat,
            location,
            lsoa,
            "St Albans 010A",
            "Anti-social behaviour",
            "",
            "",
        ]
    return [
        crime_id(n),
        month,
        FORCE,
        FORCE,
        lon,
        lat,
        location,
        lsoa,
        "St Albans 010A",
        crime_type,
        outcome,
        "",
    ]


def no_location_row(n: int | None, month: str = "2021-01") -> list[str]:
    row = street_row(n, month=month)
    row[4:9] = ["", "", "No Location", "", ""]
    return row


def outcome_row(
    n: int, *, month: str = "2021-02", outcome: str = "Unable to prosecute suspect"
) -> list[str]:
    return [
        crime_id(n),
        month,
        FORCE,
        FORCE,
        "-0.339000",
        "51.750000",
        "On or near High Street",
        "E01023700",
        "St Albans 010A",
        outcome,
    ]


def search_row(
    *, date: str = "2021-01-03T21:15:00+00:00", lat: str = "51.75", lon: str = "-0.34"
) -> list[str]:
    return [
        "Person search",
        date,
        "False",
        "",
        lat,
        lon,
        "Female",
        "18-24",
        "White - English/Welsh/Scottish/Northern Irish/British",
        "White",
        "Misuse of Drugs Act 1971 (section 23)",
        "Controlled drugs",
        "A no further action disposal",
        "",
        "False",
    ]


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if ("," in value or '"' in value) else value

    return "\n".join([",".join(header), *[",".join(cell(v) for v in r) for r in rows]]) + "\n"


def write(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], *, encoding: str = "utf-8"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(header, rows).encode(encoding))
    return path


def write_street(path: Path, rows: Sequence[Sequence[str]], **kw: str) -> Path:
    return write(path, STREET_COLUMNS, rows, **kw)


def write_outcomes(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    return write(path, OUTCOME_COLUMNS, rows)


def write_searches(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    return write(path, STOP_SEARCH_COLUMNS, rows)
