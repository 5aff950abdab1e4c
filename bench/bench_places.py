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


def _towns_xy() -> tuple[list[str], np.ndarray, np.random.Generator]:
    """The towns (seeded: the same on every run, so a cached store's towns are known)."""
    rng = np.random.default_rng(SEED)
    stems = _stems(rng)
    towns, xy = _towns(rng, stems, 4000)
    return towns, xy, rng


def _write(folder: Path, n: int) -> list[Path]:
    towns, xy, rng = _towns_xy()
    stems = _stems(rng)
    n_pc = n // 5
    os_path, pc_path = folder / "os_open_names.csv", folder / "onspd.csv"
    with os_path.open("w", newline="") as f:
        csv.writer(f).writerows(_os_rows(rng, n - n_pc, stems, towns, xy))
    with pc_path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["pcd", "pcd2", "pcds", "dointr", "doterm", "lat", "long"])
        out.writerows(_postcode_rows(rng, n_pc, xy))
    return [os_path, pc_path]


CACHE = Path(__file__).resolve().parents[1] / "var" / "bench"


def _schema_tag() -> str:
    """A short digest of the gazetteer's tables as created: a store built for another schema
    is not reused."""
    import hashlib

    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from saferstreets.all_models import Base

    ddl = []
    for table in Base.metadata.sorted_tables:
        ddl.append(str(CreateTable(table).compile(dialect=sqlite.dialect())))
        ddl += sorted(str(CreateIndex(i).compile(dialect=sqlite.dialect())) for i in table.indexes)
    return hashlib.sha256("\n".join(ddl).encode()).hexdigest()[:10]


def _store_path(n: int) -> Path:
    return CACHE / f"places-seed{SEED}-n{n}-{_schema_tag()}.db"


def _cached_store(n: int) -> tuple[Path, dict[str, Any]]:
    """The built store of ``n`` names (SQLite, under var/bench/, keyed by seed, size and
    schema): built once (files written in the published layouts, read with saferstreets'
    readers, stored), then reused. Returns its path and how it was built."""
    import json

    path = _store_path(n)
    facts = path.with_suffix(".json")
    if path.exists() and facts.exists():
        built = json.loads(facts.read_text())
        print(f"   reusing the stored gazetteer {path.name} (built {built['when']})", flush=True)
        return path, {**built, "reused": True}
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        gen_s, paths = timed(lambda: _write(Path(tmp), n))
        print(f"   wrote {n:,} rows in the published layouts: {gen_s:.0f} s", flush=True)
        load_s, stored = timed(lambda: _build(partial, paths))
        print(f"   read and stored {stored:,} places: {load_s:.0f} s", flush=True)
    partial.rename(path)
    built = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "stored": stored,
        "write_s": gen_s,
        "store_s": load_s,
        "load_average": os.getloadavg()[0],
    }
    facts.write_text(json.dumps(built))
    return path, {**built, "reused": False}


def _build(path: Path, paths: list[Path]) -> int:
    """Store the files' places in a new SQLite store: tables first, rows in bulk, then the
    indexes (sorting once is far quicker than keeping millions of index entries in order)."""
    import sqlalchemy as sa

    from saferstreets.all_models import Base
    from saferstreets.places.models import Place, PlaceWord

    engine = sa.create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    tables = [Place.__table__, PlaceWord.__table__]
    with engine.begin() as conn:
        for table in tables:
            for index in table.indexes:  # type: ignore[attr-defined]
                index.drop(conn)
        conn.exec_driver_sql("PRAGMA journal_mode=OFF")
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
    stored = _load(engine, paths)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA cache_size=-512000")  # 500 MB to sort the indexes in
        for table in tables:
            for index in table.indexes:  # type: ignore[attr-defined]
                index.create(conn)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return stored


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
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
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
    from saferstreets.places.models import Place, PlaceWord, region_of, tile_of
    from saferstreets.places.service import word_suffixes

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
                "tile": tile_of(p.lat, p.lon),
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


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.thread_time()


def _since(started: tuple[float, float]) -> tuple[float, float]:
    """Wall time, and this thread's CPU time (what the lookup itself cost: no waiting for the
    other engineers' processes on the shared cores), since ``started``."""
    wall, cpu = _now()
    return wall - started[0], cpu - started[1]


def _percentiles(times: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """p50, p95 and max of the wall times, and p95 of the CPU times, in ms."""
    ms = np.array(times).reshape(-1, 2) * 1000
    wall, cpu = ms[:, 0], ms[:, 1]
    return (
        float(np.percentile(wall, 50)),
        float(np.percentile(wall, 95)),
        float(wall.max()),
        float(np.percentile(cpu, 95)),
    )


def _ours(engine: Any, queries: list[Any]) -> dict[str, tuple[list[Any], int]]:
    from saferstreets.db import session_factory
    from saferstreets.places.search import search_places

    out: dict[str, tuple[list[Any], int]] = {}
    with session_factory(engine)() as s:
        search_places(session=s, text="warm up", near=queries[0][3], limit=10)
        for kind, typed, key, near in queries:
            started = _now()
            found = search_places(session=s, text=typed, near=near, limit=10)
            took = _since(started)
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


def _peer_store(store: Path) -> tuple[Path, dict[str, Any]]:
    """The peers' indexes on the same names, in a store of their own beside the cached one
    (built once, like it): an FTS5 table of the search keys and an R*Tree of the points of the
    kinds reverse lookup names."""
    import json
    import sqlite3

    # Keyed by seed and size alone: the loader numbers the places the same for any schema.
    path = store.with_name(store.stem.rsplit("-", 1)[0] + "-peers.db")
    facts = path.with_suffix(".json")
    if path.exists() and facts.exists():
        return path, {**json.loads(facts.read_text()), "reused": True}
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(partial)
    conn.execute("ATTACH ? AS store", (str(store),))
    started = time.perf_counter()
    conn.execute("CREATE VIRTUAL TABLE main.place_fts USING fts5(search_key)")
    conn.execute("INSERT INTO place_fts(rowid, search_key) SELECT id, search_key FROM store.place")
    conn.commit()
    fts_s = time.perf_counter() - started
    print(f"   FTS5 index built: {fts_s:.0f} s", flush=True)
    started = time.perf_counter()
    conn.execute(
        "CREATE VIRTUAL TABLE main.place_rtree USING rtree(id, min_x, max_x, min_y, max_y)"
    )
    conn.execute(
        "INSERT INTO place_rtree SELECT id, longitude, longitude, latitude, latitude "
        "FROM store.place WHERE kind IN ('street','station','stop','park','landmark')"
    )
    conn.commit()
    rtree_s = time.perf_counter() - started
    print(f"   R*Tree index built: {rtree_s:.0f} s", flush=True)
    conn.close()
    partial.rename(path)
    built = {"fts_s": fts_s, "rtree_s": rtree_s, "load_average": os.getloadavg()[0]}
    facts.write_text(json.dumps(built))
    return path, {**built, "reused": False}


def _fts(peers: Path, queries: list[Any]) -> dict[str, tuple[list[Any], int]]:
    import sqlite3

    conn = sqlite3.connect(peers)
    out: dict[str, tuple[list[Any], int]] = {}
    for kind, typed, key, _near in queries:
        words = ["".join(ch for ch in w if ch.isalnum()) for w in typed.lower().split()]
        words = [w for w in words if w]
        match = " ".join(f'"{w}"' for w in words[:-1]) + f' "{words[-1]}"*' if words else '""'
        started = _now()
        rows = conn.execute(
            "SELECT search_key FROM place_fts WHERE place_fts MATCH ? ORDER BY rank LIMIT 10",
            (match,),
        ).fetchall()
        took = _since(started)
        times, hits = out.setdefault(kind, ([], 0))
        times.append(took)
        out[kind] = (times, hits + _hit(kind, typed, key, [(r[0], r[0]) for r in rows]))
    conn.close()
    return out


def _rapidfuzz(path: Path, queries: list[Any], n: int) -> tuple[float, dict[str, Any]]:
    import sqlite3

    from rapidfuzz import fuzz, process

    conn = sqlite3.connect(path)
    started = time.perf_counter()
    keys = [r[0] for r in conn.execute("SELECT search_key FROM place")]
    load = time.perf_counter() - started
    conn.close()
    out: dict[str, tuple[list[Any], int]] = {}
    for kind, typed, key, _near in queries[:n]:
        started = _now()
        found = process.extract(typed.lower(), keys, scorer=fuzz.WRatio, limit=10)
        took = _since(started)
        times, hits = out.setdefault(kind, ([], 0))
        times.append(took)
        out[kind] = (times, hits + _hit(kind, typed, key, [(f[0], f[0]) for f in found]))
    return load, out


def _points(towns_xy: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points round the towns (seeded): their latitudes and longitudes."""
    from pyproj import Transformer

    rng = np.random.default_rng(SEED + 2)
    pick = towns_xy[rng.integers(0, len(towns_xy), size=n)] + rng.normal(0, 1500, size=(n, 2))
    lons, lats = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        pick[:, 0], pick[:, 1]
    )
    return np.asarray(lats), np.asarray(lons)


APART_S = 0.005  # requests spaced as a server gets them, not back to back


def _describe(
    engine: Any, lats: np.ndarray, lons: np.ndarray, apart: float = 0.0
) -> tuple[list[Any], int]:
    """saferstreets names each point: the times, and how many points it named by a place.
    With ``apart``, it sleeps that long before each point, as a server waits for the next
    request (a process that sleeps is woken ahead of the busy ones on the shared cores; one
    that never sleeps waits its turn behind them)."""
    from saferstreets.db import session_factory
    from saferstreets.places.naming import describe_point

    times, named = [], 0
    with session_factory(engine)() as s:
        describe_point(session=s, lat=float(lats[0]), lon=float(lons[0]))
        for lat, lon in zip(lats, lons, strict=True):
            if apart:
                time.sleep(apart)
            started = _now()
            text = describe_point(session=s, lat=float(lat), lon=float(lon))
            times.append(_since(started))
            named += text.startswith("near ")
    return times, named


def _rtree(store: Path, peers: Path, lats: np.ndarray, lons: np.ndarray) -> tuple[list[Any], int]:
    """The peer: the SQLite R*Tree's box round each point, measured and sorted."""
    import sqlite3

    conn = sqlite3.connect(peers)
    conn.execute("ATTACH ? AS store", (str(store),))
    times, named = [], 0
    scale = math.cos(math.radians(float(np.mean(lats))))
    d_lat, d_lon = 0.4 / 110.57, 0.4 / (111.32 * scale)  # 400 m
    for lat, lon in zip(lats, lons, strict=True):
        started = _now()
        rows = conn.execute(
            "SELECT p.name, p.kind, p.latitude, p.longitude FROM place_rtree r JOIN store.place p "
            "ON p.id = r.id WHERE r.min_x >= ? AND r.max_x <= ? AND r.min_y >= ? AND r.max_y <= ?",
            (lon - d_lon, lon + d_lon, lat - d_lat, lat + d_lat),
        ).fetchall()
        km = [math.hypot((r[2] - lat) * 110.57, (r[3] - lon) * 111.32 * scale) for r in rows]
        pairs = sorted(zip(km, rows, strict=True), key=lambda pair: pair[0])
        rows = [r for d, r in pairs if d <= 0.4]
        times.append(_since(started))
        named += bool(rows)
    conn.close()
    return times, named


def _reverse(
    engines: dict[str, Any], store: Path, peers: Path, towns_xy: np.ndarray, n: int, rtree_s: float
) -> list[list[Any]]:
    lats, lons = _points(towns_xy, n)
    rows, first = [], None
    for label, engine in engines.items():
        for apart, how in ((0.0, "back to back"), (APART_S, f"{APART_S * 1000:.0f} ms apart")):
            times, named = _describe(engine, lats, lons, apart)
            o = _percentiles(times)
            first = first or o
            rows.append(
                [f"saferstreets describe_point on {label}, {how}", n, *o, o[1] / first[1],
                 named, "-"]
            )  # fmt: skip
    times, named = _rtree(store, peers, lats, lons)
    p = _percentiles(times)
    assert first is not None
    rows.append(
        ["SQLite R*Tree box + sort (nearest names only)", n, *p, p[1] / first[1], named, rtree_s]
    )
    return rows


def run(*, quick: bool) -> str:
    import sqlalchemy as sa

    from bench.places_postgres import postgres_store, warm

    n = 60_000 if quick else 3_000_000
    n_queries, n_fuzz, n_points = (80, 8, 200) if quick else (400, 16, 1000)
    store, built = _cached_store(n)
    peers, peer_built = _peer_store(store)
    postgres = postgres_store(store)
    _towns, xy, _rng = _towns_xy()
    _warm(store, peers)
    engines = {"SQLite": sa.create_engine(f"sqlite:///{store}")}
    if postgres:
        engines["PostgreSQL"] = postgres[0]
        warm(postgres[0])
    queries = _queries(engines["SQLite"], n_queries)
    load = [os.getloadavg()[0]]
    ours = {label: _ours(engine, queries) for label, engine in engines.items()}
    print("   saferstreets searched", flush=True)
    fts = _fts(peers, queries)
    print("   FTS5 searched", flush=True)
    load.append(os.getloadavg()[0])
    rf_load, rf = _rapidfuzz(store, queries, n_fuzz)
    print("   rapidfuzz searched", flush=True)
    load.append(os.getloadavg()[0])
    reverse = _reverse(engines, store, peers, xy, n_points, peer_built["rtree_s"])
    load.append(os.getloadavg()[0])
    for engine in engines.values():
        engine.dispose()
    built["postgres"] = postgres[1] if postgres else None
    return _table(built, peer_built, ours, fts, rf, rf_load, reverse, load)


def _search_row(
    name: str, kind: str, found: dict[str, Any], times: tuple[float, ...], first: tuple[float, ...]
) -> list[Any]:
    n = len(found[kind][0])
    return [f"{name}: {kind}", n, *times, times[1] / first[1], f"{found[kind][1]}/{n}"]


def _warm(*paths: Path) -> None:
    """Read the stores once, so that every contender answers from memory, as a server's store
    does once it has been up a while (a cached store may have left the page cache)."""
    for path in paths:
        with path.open("rb") as f:
            while f.read(1 << 24):
                pass


def _table(
    built: dict[str, Any],
    peer_built: dict[str, Any],
    ours: dict[str, dict[str, Any]],
    fts: dict[str, Any],
    rf: dict[str, Any],
    rf_load: float,
    reverse: list[Any],
    load: list[float],
) -> str:
    rows = []
    for kind in ("prefix", "word", "typo", "postcode"):
        first = None
        for label, found in ours.items():
            o = _percentiles(found[kind][0])
            first = first or o
            name = f"saferstreets search_places on {label}"
            rows.append(_search_row(name, kind, found, o, first))
        assert first is not None
        for name, peer in (("SQLite FTS5 prefix MATCH, ORDER BY rank", fts),
                           ("rapidfuzz process.extract (WRatio)", rf)):  # fmt: skip
            if kind in peer:
                rows.append(_search_row(name, kind, peer, _percentiles(peer[kind][0]), first))
    search = markdown_table(
        [
            "search",
            "queries",
            "p50 ms",
            "p95 ms",
            "max ms",
            "p95 CPU ms",
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
            "p95 CPU ms",
            "p95 vs saferstreets",
            "points named",
            "index build s",
        ],
        reverse,
    )
    reused = "built in this run"
    if built["reused"]:
        reused = f"reused from var/bench/ (built {built['when']})"
    postgres = "No PostgreSQL server was configured: saferstreets was timed on SQLite only. "
    if built.get("postgres"):
        pg = built["postgres"]
        postgres = (
            f"The PostgreSQL store is a copy of the same names (COPY and indexes "
            f"{pg['copy_s']:.0f} s, load average {pg['load_average']:.1f}"
            f"{', reused' if pg['reused'] else ''}); on it, p95 CPU ms counts this process "
            "only (the server's own work is done in another process, and is in the wall time). "
        )
    return (
        f"{search}\n\n{reverse_table}\n\n{postgres}"
        f"{built['stored']:,} names stored (OS Open Names and ONSPD layouts, generated, seeded), "
        f"{reused}: writing the files took {built['write_s']:.0f} s; reading them with "
        f"saferstreets' layout readers and storing places with their indexes "
        f"{built['store_s']:.0f} s (load average {built['load_average']:.1f}); the peers' "
        f"indexes FTS5 {peer_built['fts_s']:.0f} s, R*Tree {peer_built['rtree_s']:.0f} s. "
        f"Loading the names into memory for rapidfuzz took {rf_load:.1f} s (rapidfuzz is timed "
        "on a few queries only: each reads every name). Aim: search p95 < 50 ms, reverse lookup "
        "p95 < 5 ms. p95 CPU ms is the lookup's own CPU time (`time.thread_time`): what it "
        "costs, without the waits for other processes on the shared cores that wall time "
        f"holds. Reverse lookup is timed back to back and again with {APART_S * 1000:.0f} ms "
        "between points (a server sleeps between requests; the kernel wakes a sleeper ahead "
        "of busy processes, so its wall time is nearer its CPU time). "
        "The stores are read once before timing (in memory, as a server's). "
        "A hit is the intended name (or, for a postcode, its place or area) among "
        "the first 10 answers; FTS5 has no notion of a typo, of the pin, or of a partial "
        "postcode. No areas are loaded, so names carry no ward. Peak memory of the run: "
        f"{peak_rss_mb():,.0f} MB. Load average (1 min, `os.getloadavg`) before saferstreets' "
        f"searches, before rapidfuzz, before reverse lookup and at the end: "
        f"{', '.join(f'{x:.1f}' for x in load)} (2 shared cores: times grow with it)."
    )
