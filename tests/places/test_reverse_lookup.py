"""Reverse lookup reads places by the grid squares round a point (``place.tile``): it names a
point from exactly the places a search of every place would, on both stores."""

from __future__ import annotations

import random
from pathlib import Path

import sqlalchemy as sa
from pyproj import Geod
from tests.reports.county import INSIDE

from saferstreets.db import session_factory
from saferstreets.places.models import Place, tile_of, tiles_round
from saferstreets.places.naming import NEAR_KM, describe_point, describe_points
from saferstreets.places.service import import_places

GEOD = Geod(ellps="WGS84")
N_LAT, N_LON = INSIDE["E05009001"]


def test_the_squares_round_a_point_hold_every_point_within_the_distance() -> None:
    rng = random.Random(20261202)
    for _ in range(5000):
        lat, lon = rng.uniform(-75, 75), rng.uniform(-179, 179)
        km = rng.choice([0.05, 0.4, 1.5])
        azimuth, metres = rng.uniform(0, 360), rng.uniform(0, km * 1000 * 0.999)
        lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres)
        assert tile_of(lat2, lon2) in tiles_round(lat, lon, km), (lat, lon, lat2, lon2, km)
    # a few squares, not a stripe of the country: 0.8 km by 0.8 km at most 3 by 3 of them
    assert len(tiles_round(51.8, -0.4, 0.4)) <= 9


def _scatter(engine: sa.Engine, tmp_path: Path) -> list[tuple[str, str, float, float]]:
    """300 streets and parks scattered over 4 km by 4 km round Northgate, imported as a force's
    landmarks file."""
    rng = random.Random(7)
    places = []
    for i in range(300):
        kind = ("street", "park")[i % 2]
        lat, lon = N_LAT + rng.uniform(-0.018, 0.018), N_LON + rng.uniform(-0.03, 0.03)
        places.append((f"{kind.title()} {i}", kind, lat, lon))
    path = tmp_path / "scatter.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"s{i},{n},{k},{lat:.6f},{lon:.6f}" for i, (n, k, lat, lon) in enumerate(places)]
    path.write_text("id,name,kind,lat,lon\n" + "\n".join(lines) + "\n")
    [summary] = import_places(engine=engine, paths=[path], h3_resolution=9)
    assert summary.status == "ok", summary.line()
    return places


def _expected(places: list[tuple[str, str, float, float]], lat: float, lon: float) -> str | None:
    """The nearest street and nearest park within NEAR_KM by geodesic distance (pyproj), or
    None when a place lies so near the limit, or two so near alike, that rounding could decide."""
    metres = [GEOD.inv(lon, lat, plon, plat)[2] for _, _, plat, plon in places]
    near = sorted((m, name, kind) for m, (name, kind, _, _) in zip(metres, places, strict=True))
    if any(abs(m - NEAR_KM * 1000) < 5 for m, _, _ in near):
        return None
    near = [p for p in near if p[0] <= NEAR_KM * 1000]
    names = []
    for kind in ("street", "park"):
        of_kind = [p for p in near if p[2] == kind]
        if len(of_kind) > 1 and of_kind[1][0] - of_kind[0][0] < 2:
            return None
        names += [name for _, name, _ in of_kind[:1]]
    return " and ".join(names)


def test_reverse_lookup_names_a_point_from_the_places_nearest_it(
    county: sa.Engine, tmp_path: Path
) -> None:
    places = _scatter(county, tmp_path)
    rng = random.Random(11)
    points = [
        (N_LAT + rng.uniform(-0.022, 0.022), N_LON + rng.uniform(-0.036, 0.036)) for _ in range(150)
    ]
    with session_factory(county)() as s:
        assert s.scalar(sa.select(sa.func.count()).where(Place.tile.is_(None))) == 0
        together = describe_points(session=s, points=points)
        checked = 0
        for (lat, lon), named in zip(points, together, strict=True):
            want = _expected(places, lat, lon)
            if want is None:
                continue
            alone = describe_point(session=s, lat=lat, lon=lon)
            assert alone == named  # one point or many: the same words
            said = named.removeprefix("near ").split(", ")[0] if want else ""
            assert said == want or (not want and not named.startswith("near ")), (lat, lon)
            checked += 1
    assert checked > 100  # those skipped are the ones rounding could decide
