"""Place search and reverse lookup on a national-size gazetteer, beside the peers a Python user
would pick on the same names: SQLite FTS5 prefix search, rapidfuzz ``process.extract``, and an
SQLite R*Tree for the nearest names to a point.

The gazetteer is generated (seeded) in the published layouts: 2.4 million rows of OS Open Names
(no header, 34 columns, British National Grid; streets, settlements, stations, parks, landmarks
round 4,000 towns) and 600,000 ONS Postcode Directory rows (``pcds``, ``lat``, ``long``): 3 million
names (60,000 with ``--quick``). They are read by saferstreets' own layout readers and stored in an
SQLite store with the word index search uses; the peers get the same names.

Queries (seeded): the start of a real name ("mill la"), a later word's start ("lane"), a real name
with one letter wrong after the third ("mill lsne"), and postcodes whole and partial; each with the
pin at the name's town, as the report form sends it. A hit is the intended name among the first
10 answers. Reverse lookup names random points round the towns (``describe_point``: the nearest
street and other place within 400 m).
"""

from __future__ import annotations

import csv
import math
import os
import string
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import markdown_table, peak_rss_mb, timed

SEED = 20261202
STREET_SUFFIXES = (
    "Road",
    "Lane",
    "Street",
    "Close",
    "Avenue",
    "Way",
    "Drive",
    "Gardens",
    "Court",
    "Place",
    "Crescent",
    "Hill",
    "Grove",
    "Mews",
    "Walk",
    "Rise",
    "Row",
    "Terrace",
    "Green",
    "Park Road",
)
COMMON_STREETS = (
    "High Street",
    "Church Lane",
    "Station Road",
    "Mill Lane",
    "Church Street",
    "Victoria Road",
    "Green Lane",
    "Manor Road",
    "Park Road",
    "School Lane",
)
TOWN_ENDINGS = ("ton", "ford", "ham", "bury", "field", "by", "wick", "stead", "worth", "ley")
LANDMARKS = (
    ("Hospital", "Hospital"),
    ("Primary Education", "Primary School"),
    ("Further Education", "College"),
    ("Sports And Leisure Centre", "Leisure Centre"),
    ("Shopping Centre", "Shopping Centre"),
    ("Cemetery", "Cemetery"),
    ("Religious Centre", "Church"),
    ("Medical Care Accommodation", "Surgery"),
)
STARTS = (
    "ash",
    "bar",
    "bel",
    "brad",
    "bram",
    "brook",
    "cal",
    "carl",
    "chad",
    "chester",
    "clif",
    "cold",
    "crow",
    "dal",
    "dun",
    "east",
    "elm",
    "fair",
    "farn",
    "gold",
    "graf",
    "green",
    "hal",
    "hart",
    "hazel",
    "high",
    "holm",
    "kel",
    "kings",
    "lang",
    "lea",
    "mar",
    "mel",
    "mill",
    "nor",
    "oak",
    "pen",
    "red",
    "rich",
    "rose",
    "sal",
    "sand",
    "shel",
    "stan",
    "stock",
    "sun",
    "thorn",
    "wal",
    "well",
    "west",
    "whit",
    "wil",
    "win",
    "wood",
)
MIDDLES = ("", "a", "e", "i", "o", "er", "en", "ing", "ow", "el", "an", "is", "ar", "ol", "ey")
ENDS = (
    "dale",
    "more",
    "wood",
    "field",
    "brook",
    "croft",
    "mead",
    "gate",
    "hurst",
    "combe",
    "cliffe",
    "holme",
    "well",
    "side",
    "borne",
    "way",
    "ridge",
    "ton",
    "ley",
    "worth",
)


def _stems(rng: np.random.Generator) -> list[str]:
    stems = {f"{a}{m}{e}".capitalize() for a in STARTS for m in MIDDLES for e in ENDS}
    return sorted(stems)  # about 16,000 distinct


def _towns(rng: np.random.Generator, stems: list[str], n: int) -> tuple[list[str], np.ndarray]:
    names = sorted({f"{s[:-2] if len(s) > 6 else s}{e}" for s in stems for e in TOWN_ENDINGS})
    chosen = rng.choice(len(names), size=n, replace=False)
    xy = np.column_stack([rng.uniform(150_000, 640_000, n), rng.uniform(30_000, 950_000, n)])
    return [names[i] for i in chosen], xy


def _os_rows(
    rng: np.random.Generator, n: int, stems: list[str], towns: list[str], xy: np.ndarray
) -> Iterator[list[str]]:
    """OS Open Names rows (34 columns) round the towns: streets, settlements, parks, stations,
    landmarks."""
    kinds = rng.choice(5, size=n, p=[0.84, 0.03, 0.04, 0.01, 0.08])
    town = rng.integers(0, len(towns), size=n)
    offset = rng.normal(0, 2500, size=(n, 2))
    stem = rng.integers(0, len(stems), size=n)
    other = rng.integers(0, len(stems), size=n)
    pick = rng.random(n)
    for i in range(n):
        t = towns[town[i]]
        x, y = xy[town[i]] + offset[i]
        kind = kinds[i]
        if kind == 0:
            if pick[i] < 0.15:
                name = COMMON_STREETS[int(pick[i] * 1000) % len(COMMON_STREETS)]
            else:
                name = f"{stems[stem[i]]} {STREET_SUFFIXES[other[i] % len(STREET_SUFFIXES)]}"
            typ, local = "transportNetwork", "Named Road"
        elif kind == 1:
            name, typ, local = stems[stem[i]], "populatedPlace", ("Village", "Hamlet")[i % 2]
        elif kind == 2:
            name, typ, local = f"{stems[stem[i]]} Park", "landcover", "Urban Greenspace"
        elif kind == 3:
            name, typ, local = (
                t if pick[i] < 0.5 else stems[stem[i]],
                "transportNetwork",
                "Railway Station",
            )
        else:
            local, word = LANDMARKS[other[i] % len(LANDMARKS)]
            name, typ = f"{stems[stem[i]]} {word}", "other"
        row = [""] * 34
        row[0], row[2], row[3], row[6], row[7] = f"osgb{4000000000000 + i}", name, "eng", typ, local
        row[8], row[9] = f"{x:.0f}", f"{y:.0f}"
        row[18], row[21], row[29] = t, t, "England"
        yield row


def _postcode_rows(rng: np.random.Generator, n: int, xy: np.ndarray) -> Iterator[list[str]]:
    from pyproj import Transformer

    town = rng.integers(0, len(xy), size=n)
    pts = xy[town] + rng.normal(0, 2000, size=(n, 2))
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        pts[:, 0], pts[:, 1]
    )
    letters = string.ascii_uppercase
    seen: set[str] = set()
    for i in range(n):
        t = int(town[i])
        area = letters[t % 26] + letters[(t // 26) % 26]
        code = f"{area}{t % 97 + 1} {i % 10}{letters[(i // 10) % 26]}{letters[(i // 260) % 26]}"
        if code in seen:
            continue
        seen.add(code)
        yield [code.replace(" ", ""), code, code, "199801", "", f"{lat[i]:.6f}", f"{lon[i]:.6f}"]


def _write(folder: Path, n: int) -> tuple[list[Path], list[str], np.ndarray]:
    rng = np.random.default_rng(SEED)
    stems = _stems(rng)
    towns, xy = _towns(rng, stems, 4000)
    n_pc = n // 5
    os_path, pc_path = folder / "os_open_names.csv", folder / "onspd.csv"
    with os_path.open("w", newline="") as f:
        csv.writer(f).writerows(_os_rows(rng, n - n_pc, stems, towns, xy))
    with pc_path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["pcd", "pcd2", "pcds", "dointr", "doterm", "lat", "long"])
        out.writerows(_postcode_rows(rng, n_pc, xy))
    return [os_path, pc_path], towns, xy


def _load(engine: Any, paths: list[Path]) -> int:
    """Read the files with saferstreets' layout readers and store the places and word index."""

    from saferstreets.places.layouts import (
        PlaceRow,
        detect_layout,
        read_layout,
    )

    next_id = 1
    for path in paths:
        with path.open() as f:
            layout = detect_layout(f.readline(), path.name)
        assert layout is not None, path
        with path.open() as f, engine.begin() as conn:
            batch: list[PlaceRow] = []
            for row in read_layout(layout, f, str(path)):
                if isinstance(row, PlaceRow):
                    batch.append(row)
                if len(batch) >= 50_000:
                    next_id = _store(conn, batch, next_id, layout)
                    batch = []
            if batch:
                next_id = _store(conn, batch, next_id, layout)
    return next_id - 1


def _store(conn: Any, batch: list[Any], next_id: int, layout: str) -> int:
    """Store a batch of places read, with ids, H3 cells, regions and the word index."""
    import sqlalchemy as sa

    from saferstreets.areas.service import point_columns
    from saferstreets.places.layouts import search_key, to_wgs84
    from saferstreets.places.models import Place, PlaceWord
    from saferstreets.places.service import region_of, word_suffixes

    to_wgs84(batch)
    cols = point_columns([p.lat for p in batch], [p.lon for p in batch], index=None, resolution=9)
    places, words = [], []
    for i, p in enumerate(batch):
        key = search_key(p.name, p.kind)
        pid = next_id + i
        places.append(
            {
                "id": pid,
                "source": layout,
                "source_id": p.source_id,
                "name": p.name,
                "kind": p.kind,
                "search_key": key,
                "locality": p.locality,
                "postcode_key": p.postcode.replace(" ", "") if p.postcode else None,
                "latitude": p.lat,
                "longitude": p.lon,
                "h3_cell": cols["h3_cell"][i],
                "region": region_of(cols["h3_cell"][i]),
            }
        )
        words += [
            {"place_id": pid, "position": j, "word": w, "region": places[-1]["region"]}
            for j, w in enumerate(word_suffixes(key), start=1)
        ]
    conn.execute(sa.insert(Place), places)
    conn.execute(sa.insert(PlaceWord), words)
    return next_id + len(batch)


def _queries(engine: Any, n: int) -> list[tuple[str, str, str, tuple[float, float]]]:
    """(kind, typed, intended search key, near) from real rows, seeded."""
    import sqlalchemy as sa

    from saferstreets.places.models import Place

    rng = np.random.default_rng(SEED + 1)
    with engine.connect() as conn:
        top = conn.scalar(sa.select(sa.func.max(Place.id)))
        ids = [int(i) for i in rng.integers(1, top + 1, size=n * 4)]
        rows = conn.execute(
            sa.select(
                Place.id, Place.search_key, Place.kind, Place.latitude, Place.longitude
            ).where(Place.id.in_(ids))
        ).all()
    by_id = {r.id: r for r in rows}
    out = []
    for i, pid in enumerate(ids):
        r = by_id.get(pid)
        if r is None:
            continue
        kind = ("prefix", "word", "typo", "postcode")[i % 4]
        near = (r.latitude, r.longitude)
        key = r.search_key
        if kind == "postcode" or r.kind == "postcode":
            if r.kind != "postcode":
                continue
            out.append(("postcode", key.upper() if i % 8 else key.upper()[:-2], key, near))
        elif kind == "word" and " " in key:
            out.append(("word", key.split(" ", 1)[1][: 3 + i % 5], key, near))
        elif kind == "typo" and len(key) > 6:
            j = 3 + int(rng.integers(0, len(key) - 4))
            wrong = "e" if key[j] != "e" else "a"
            out.append(("typo", key[:j] + wrong + key[j + 1 :], key, near))
        else:
            out.append(("prefix", key[: 4 + i % 6], key, near))
    return out[:n]


def _percentiles(times: list[float]) -> tuple[float, float, float]:
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(ms.max())


def _ours(engine: Any, queries: list[Any]) -> dict[str, tuple[list[float], int]]:
    from saferstreets.db import session_factory
    from saferstreets.places.search import search_places

    out: dict[str, tuple[list[float], int]] = {}
    with session_factory(engine)() as s:
        search_places(session=s, text="warm up", limit=10)
        for kind, typed, key, near in queries:
            started = time.perf_counter()
            found = search_places(session=s, text=typed, near=near, limit=10)
            took = time.perf_counter() - started
            hit = _hit(kind, typed, key, [(m.name, _key(m)) for m in found])
            times, hits = out.setdefault(kind, ([], 0))
            times.append(took)
            out[kind] = (times, hits + hit)
    return out


def _hit(kind: str, typed: str, key: str, found: list[tuple[str, str]]) -> bool:
    """The intended name among those found (name, search key); for a postcode, the postcode or
    the district or sector typed."""
    if kind == "postcode":
        want = typed.replace(" ", "").lower()
        return any(
            name.replace(" ", "").lower() in (want, key.replace(" ", "")) for name, _ in found
        )
    return any(k == key for _, k in found)


def _key(match: Any) -> str:
    from saferstreets.places.layouts import search_key

    return search_key(match.name, match.kind)


def _fts(path: Path, queries: list[Any]) -> tuple[float, dict[str, tuple[list[float], int]]]:
    import sqlite3

    conn = sqlite3.connect(path)
    started = time.perf_counter()
    conn.execute("CREATE VIRTUAL TABLE place_fts USING fts5(search_key)")
    conn.execute("INSERT INTO place_fts(rowid, search_key) SELECT id, search_key FROM place")
    conn.commit()
    build = time.perf_counter() - started
    out: dict[str, tuple[list[float], int]] = {}
    for kind, typed, key, _near in queries:
        words = ["".join(ch for ch in w if ch.isalnum()) for w in typed.lower().split()]
        words = [w for w in words if w]
        match = " ".join(f'"{w}"' for w in words[:-1]) + f' "{words[-1]}"*' if words else '""'
        started = time.perf_counter()
        rows = conn.execute(
            "SELECT search_key FROM place_fts WHERE place_fts MATCH ? ORDER BY rank LIMIT 10",
            (match,),
        ).fetchall()
        took = time.perf_counter() - started
        times, hits = out.setdefault(kind, ([], 0))
        times.append(took)
        out[kind] = (times, hits + _hit(kind, typed, key, [(r[0], r[0]) for r in rows]))
    conn.close()
    return build, out


def _rapidfuzz(path: Path, queries: list[Any], n: int) -> tuple[float, dict[str, Any]]:
    import sqlite3

    from rapidfuzz import fuzz, process

    conn = sqlite3.connect(path)
    started = time.perf_counter()
    keys = [r[0] for r in conn.execute("SELECT search_key FROM place")]
    load = time.perf_counter() - started
    conn.close()
    out: dict[str, tuple[list[float], int]] = {}
    for kind, typed, key, _near in queries[:n]:
        started = time.perf_counter()
        found = process.extract(typed.lower(), keys, scorer=fuzz.WRatio, limit=10)
        took = time.perf_counter() - started
        times, hits = out.setdefault(kind, ([], 0))
        times.append(took)
        out[kind] = (times, hits + _hit(kind, typed, key, [(f[0], f[0]) for f in found]))
    return load, out


def _reverse(engine: Any, path: Path, towns_xy: np.ndarray, n: int) -> list[list[Any]]:
    import sqlite3

    from pyproj import Transformer

    from saferstreets.db import session_factory
    from saferstreets.places.naming import describe_point

    rng = np.random.default_rng(SEED + 2)
    pick = towns_xy[rng.integers(0, len(towns_xy), size=n)] + rng.normal(0, 1500, size=(n, 2))
    lons, lats = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        pick[:, 0], pick[:, 1]
    )
    ours, named = [], 0
    with session_factory(engine)() as s:
        describe_point(session=s, lat=float(lats[0]), lon=float(lons[0]))
        for lat, lon in zip(lats, lons, strict=True):
            started = time.perf_counter()
            text = describe_point(session=s, lat=float(lat), lon=float(lon))
            ours.append(time.perf_counter() - started)
            named += text.startswith("near ")
    conn = sqlite3.connect(path)
    started = time.perf_counter()
    conn.execute("CREATE VIRTUAL TABLE place_rtree USING rtree(id, min_x, max_x, min_y, max_y)")
    conn.execute(
        "INSERT INTO place_rtree SELECT id, longitude, longitude, latitude, latitude "
        "FROM place WHERE kind IN ('street','station','stop','park','landmark')"
    )
    conn.commit()
    build = time.perf_counter() - started
    peer, peer_named = [], 0
    scale = math.cos(math.radians(float(np.mean(lats))))
    d_lat, d_lon = 0.4 / 110.57, 0.4 / (111.32 * scale)  # 400 m
    for lat, lon in zip(lats, lons, strict=True):
        started = time.perf_counter()
        rows = conn.execute(
            "SELECT p.name, p.kind, p.latitude, p.longitude FROM place_rtree r JOIN place p "
            "ON p.id = r.id WHERE r.min_x >= ? AND r.max_x <= ? AND r.min_y >= ? AND r.max_y <= ?",
            (lon - d_lon, lon + d_lon, lat - d_lat, lat + d_lat),
        ).fetchall()
        km = [math.hypot((r[2] - lat) * 110.57, (r[3] - lon) * 111.32 * scale) for r in rows]
        pairs = sorted(zip(km, rows, strict=True), key=lambda pair: pair[0])
        rows = [r for d, r in pairs if d <= 0.4]
        peer.append(time.perf_counter() - started)
        peer_named += bool(rows)
    conn.close()
    o, p = _percentiles(ours), _percentiles(peer)
    return [
        ["saferstreets describe_point (H3 cells, ward named)", n, *o, 1.0, named, "-"],
        ["SQLite R*Tree box + sort (nearest names only)", n, *p, p[1] / o[1], peer_named, build],
    ]


def run(*, quick: bool) -> str:
    import sqlalchemy as sa

    from saferstreets.all_models import Base

    n = 60_000 if quick else 3_000_000
    n_queries, n_fuzz, n_points = (80, 8, 200) if quick else (400, 16, 1000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        gen_s, (paths, _towns, xy) = timed(lambda: _write(folder, n))
        print(f"   wrote {n:,} rows in the published layouts: {gen_s:.0f} s", flush=True)
        db = folder / "places.db"
        engine = sa.create_engine(f"sqlite:///{db}")
        Base.metadata.create_all(engine)
        load_s, stored = timed(lambda: _load(engine, paths))
        print(f"   read and stored {stored:,} places: {load_s:.0f} s", flush=True)
        queries = _queries(engine, n_queries)
        ours = _ours(engine, queries)
        print("   saferstreets searched", flush=True)
        fts_build, fts = _fts(db, queries)
        print(f"   FTS5 built in {fts_build:.0f} s and searched", flush=True)
        rf_load, rf = _rapidfuzz(db, queries, n_fuzz)
        print("   rapidfuzz searched", flush=True)
        reverse = _reverse(engine, db, xy, n_points)
        engine.dispose()
    return _table(stored, gen_s, load_s, ours, fts, fts_build, rf, rf_load, reverse)


def _table(
    stored: int,
    gen_s: float,
    load_s: float,
    ours: dict[str, Any],
    fts: dict[str, Any],
    fts_build: float,
    rf: dict[str, Any],
    rf_load: float,
    reverse: list[Any],
) -> str:
    rows = []
    for kind in ("prefix", "word", "typo", "postcode"):
        o = _percentiles(ours[kind][0])
        rows.append(
            [
                f"saferstreets search_places: {kind}",
                len(ours[kind][0]),
                *o,
                1.0,
                f"{ours[kind][1]}/{len(ours[kind][0])}",
            ]
        )
        if kind in fts:
            f = _percentiles(fts[kind][0])
            rows.append(
                [
                    f"SQLite FTS5 prefix MATCH, ORDER BY rank: {kind}",
                    len(fts[kind][0]),
                    *f,
                    f[1] / o[1],
                    f"{fts[kind][1]}/{len(fts[kind][0])}",
                ]
            )
        if kind in rf:
            r = _percentiles(rf[kind][0])
            rows.append(
                [
                    f"rapidfuzz process.extract (WRatio): {kind}",
                    len(rf[kind][0]),
                    *r,
                    r[1] / o[1],
                    f"{rf[kind][1]}/{len(rf[kind][0])}",
                ]
            )
    search = markdown_table(
        [
            "search",
            "queries",
            "p50 ms",
            "p95 ms",
            "max ms",
            "p95 vs saferstreets",
            "hits in top 10",
        ],
        rows,
    )
    reverse_table = markdown_table(
        [
            "reverse lookup",
            "points",
            "p50 ms",
            "p95 ms",
            "max ms",
            "p95 vs saferstreets",
            "points named",
            "index build s",
        ],
        reverse,
    )
    return (
        f"{search}\n\n{reverse_table}\n\n"
        f"{stored:,} names stored (OS Open Names and ONSPD layouts, generated, seeded). Writing "
        f"the files took {gen_s:.0f} s; reading them with saferstreets' layout readers and storing "
        f"places with their word index {load_s:.0f} s; FTS5's index {fts_build:.0f} s; loading the "
        f"names into memory for rapidfuzz {rf_load:.1f} s (rapidfuzz is timed on a few queries "
        "only: each reads every name). Aim: search p95 < 50 ms, reverse lookup p95 < 5 ms. A hit "
        "is the intended name (or, for a postcode, its place or area) among the first 10 answers; "
        "FTS5 has no notion of a typo, of the pin, or of a partial postcode. No areas are loaded, "
        f"so names carry no ward. Peak memory of the run: {peak_rss_mb():,.0f} MB. Load average "
        f"when the table was written: {os.getloadavg()[0]:.1f} (on a shared machine, times "
        "grow with it)."
    )
