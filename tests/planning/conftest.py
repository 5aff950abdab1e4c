"""A small county in the store: wards, town centres, reports, survey responses and crime."""

from __future__ import annotations

from datetime import date, datetime

import h3
import numpy as np
import pytest
import sqlalchemy as sa

from saferstreets.areas.models import Area
from saferstreets.crime.models import Crime
from saferstreets.db import session_scope
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse, SurveyWave

LAT0, LON0 = 51.75, -0.34  # St Albans-ish


def _square(code: str, name: str, kind: str, lat: float, lon: float, half: float) -> Area:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return Area(
        code=code,
        name=name,
        kind=kind,
        geometry={"type": "Polygon", "coordinates": [ring]},
        min_lon=lon - half,
        min_lat=lat - half,
        max_lon=lon + half,
        max_lat=lat + half,
        centroid_lon=lon,
        centroid_lat=lat,
    )


def fill_county(engine: sa.Engine, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    towns = [
        (LAT0 + dy, LON0 + dx)
        for dy, dx in [
            (0, 0),
            (0.05, 0.08),
            (-0.04, 0.1),
            (0.08, -0.06),
            (-0.06, -0.08),
            (0.02, 0.18),
        ]
    ]
    with session_scope(engine) as s:
        wards = []
        for i in range(4):
            for j in range(4):
                lat, lon = LAT0 - 0.09 + 0.06 * i, LON0 - 0.12 + 0.09 * j
                wards.append((f"W{i}{j}", lat, lon))
                s.add(_square(f"W{i}{j}", f"Ward {i}{j}", "ward", lat, lon, 0.03))
        for k, (lat, lon) in enumerate(towns):
            s.add(_square(f"TC{k}", f"Town {k}", "town_centre", lat, lon, 0.004))
        wave = SurveyWave(name="Autumn 2021")
        s.add(wave)
        s.flush()

        def ward_of(lat: float, lon: float) -> str:
            return min(wards, key=lambda w: abs(w[1] - lat) + abs(w[2] - lon))[0]

        for n in range(400):
            lat, lon = towns[n % len(towns)]
            lat += rng.normal(scale=0.006)
            lon += rng.normal(scale=0.009)
            s.add(
                Report(
                    received_hour=datetime(2021, 10, 1),
                    occurred_on=date(2021, 10, 1 + n % 28),
                    occurred_hour=int(rng.choice([21, 22, 23, 0, 1, 17, 12])),
                    reasons=["lighting"],
                    latitude=lat,
                    longitude=lon,
                    h3_cell=h3.latlng_to_cell(lat, lon, 9),
                    ward_code=ward_of(lat, lon),
                    source="demo",
                )
            )
        for n in range(300):
            lat, lon = towns[n % 3]
            lat += rng.normal(scale=0.01)
            lon += rng.normal(scale=0.015)
            s.add(
                Crime(
                    row_key=f"k{n}".encode(),
                    month=date(2021, 9, 1),
                    reported_by="X",
                    falls_within="X",
                    crime_type=["Violence and sexual offences", "Public order", "Burglary"][n % 3],
                    latitude=lat,
                    longitude=lon,
                    h3_cell=h3.latlng_to_cell(lat, lon, 9),
                    ward_code=ward_of(lat, lon),
                )
            )
        for n in range(120):
            w = wards[n % len(wards)]
            s.add(
                SurveyResponse(
                    wave_id=wave.id,
                    ward_code=w[0],
                    concerns=["lighting", "harassment"][: 1 + n % 2],
                )
            )


@pytest.fixture
def county(engine: sa.Engine) -> sa.Engine:
    fill_county(engine)
    return engine
