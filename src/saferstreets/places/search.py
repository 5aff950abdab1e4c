"""Find places by name or postcode (the gazetteer's search), and areas by any of them.

Search matches what was typed against each place's name (with its kind word, so "Stevenage
station" finds the station called Stevenage): whole name, then start of the name, then start of
a word; then, where those find too little, names within a small edit distance (rapidfuzz) among
those sharing the first three letters, so "Stevenedge" still finds Stevenage. Each is a range of
a B-tree index (``place.search_key``, ``place_word.word``), so search stays fast on a national
gazetteer (bench/bench_places.py). A postcode, whole or partial ("SG1",
"SG1 1"), finds the postcode or the area its postcodes fall in.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import h3
import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.areas.models import Area
from saferstreets.places.layouts import (
    POSTCODE,
)
from saferstreets.places.models import PLACE_KINDS, REGION_RESOLUTION, Place, PlaceWord

# --------------------------------------------------------------------------- search


@dataclass
class PlaceMatch:
    """One place found by search: a place, or an area that a partial postcode falls in."""

    id: int | None
    name: str
    kind: str
    detail: str
    latitude: float
    longitude: float
    ward_code: str | None
    area_code: str | None  # the area to report against (the ward, else the district)
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


KIND_RANK = {kind: rank for rank, kind in enumerate(PLACE_KINDS)}
PARTIAL_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)(?:\s*([0-9])([A-Z]?))?$")
FUZZY_MIN_SCORE = 80.0


def _needle(text: str) -> str:
    return " ".join(re.sub(r"[^\w&']+", " ", str(text).lower()).split())[:100]


def search_places(
    *,
    session: Session,
    text: str,
    near: tuple[float, float] | None = None,
    limit: int = 10,
) -> list[PlaceMatch]:
    """Places whose name or postcode matches ``text``, best first.

    Ranked by how well the name matches (whole, start, start of a word, anywhere, near spelling),
    then by kind (stations, streets, stops, parks, landmarks, postcodes, towns), then by distance
    from ``near`` (lat, lon: the pin or the area in view) when given. One match per name and
    locality and area (a street in OS Open Names comes in several sections).
    """
    limit = max(1, min(int(limit), 50))
    postcode = _postcode_matches(session, text) or []
    needle = _needle(text)
    if len(needle) < 2 or (postcode and postcode[0].id is not None):
        return postcode  # a whole postcode held is the answer: no name is spelt so
    rows = _name_candidates(session, needle, limit * 20, near)
    scored = [(_match_rank(needle, r.search_key), r) for r in rows]
    if len(rows) < limit and len(needle) >= 4:
        scored += _fuzzy_candidates(session, needle, exclude={r.id for r in rows}, near=near)
    matches = _rank(scored, near)
    if postcode:  # the postcode or its area said it: not each postcode that starts so as well
        matches = [m for m in matches if m.kind != "postcode"]
    return _dedupe(postcode + matches)[:limit]


HIGHEST = "\uffff"  # above every character a name holds: "lan" to "lan\uffff" is a prefix range


def _name_candidates(
    session: Session, needle: str, cap: int, near: tuple[float, float] | None = None
) -> list[Any]:
    """Places whose name starts with what was typed, or has a word that does: ranges of the
    ``search_key`` and ``place_word`` indexes, never a scan of every name. With ``near``, the
    ones in the regions round it first (a national gazetteer holds hundreds of Mill Lanes)."""
    rows: list[Any] = []
    seen: set[int] = set()
    connection = session.connection()  # Core rows, prepared statements: little work per query
    params = {"lo": needle, "hi": needle + HIGHEST}
    passes = [(_near_regions(near), True), (None, False)] if near else [(None, False)]
    for regions, is_near in passes:
        for statement in _statements(is_near)[:2]:
            bound = {**params, "cap": cap - len(rows)} | ({"regions": regions} if is_near else {})
            for r in connection.execute(statement, bound):
                if r.id not in seen:
                    seen.add(r.id)
                    rows.append(r)
            if len(rows) >= cap:
                return rows
        if is_near and len(rows) >= cap // 10:  # enough near the pin
            return rows
    return rows


def _near_regions(near: tuple[float, float]) -> list[str]:
    """The regions (resolution-4 H3 cells, about 25 km across) round the pin: the first
    column of the (region, key) indexes, so a prefix near the pin is a handful of small ranges."""
    lat, lon = near
    try:
        centre = h3.latlng_to_cell(lat, lon, REGION_RESOLUTION)
    except (ValueError, h3.H3BaseException):
        return []
    return sorted(str(c) for c in h3.grid_disk(centre, 1))


@functools.cache
def _statements(near: bool) -> tuple[Any, Any, Any, Any]:
    """Prepared once: names starting with ``lo``..``hi``, later words doing so (both as place
    rows, at most ``cap``), and the same two as (id, key) for the near-spelling pass; each within
    ``regions`` when ``near``."""
    lo: Any = sa.bindparam("lo", type_=sa.String)
    hi: Any = sa.bindparam("hi", type_=sa.String)
    cap = sa.bindparam("cap", type_=sa.Integer)
    starts: list[Any] = [Place.search_key >= lo, Place.search_key < hi]
    words: list[Any] = [PlaceWord.word >= lo, PlaceWord.word < hi]
    joined = sa.join(Place, PlaceWord, PlaceWord.place_id == Place.id)
    if near:
        starts.append(Place.region.in_(sa.bindparam("regions", expanding=True)))
        words.append(PlaceWord.region.in_(sa.bindparam("regions", expanding=True)))
    return (
        _place_columns().where(*starts).limit(cap),
        _place_columns().select_from(joined).where(*words).limit(cap),
        sa.select(Place.id, Place.search_key).where(*starts).limit(cap),
        sa.select(PlaceWord.place_id, PlaceWord.word).where(*words).limit(cap),
    )


def _place_columns() -> Any:
    return sa.select(
        Place.id, Place.name, Place.kind, Place.search_key, Place.locality, Place.latitude,
        Place.longitude, Place.ward_code, Place.district_code,
    )  # fmt: skip


def _match_rank(needle: str, key: str) -> float:
    if key == needle:
        return 0.0
    if key.startswith(needle):
        return 1.0
    if f" {needle}" in f" {key}":
        return 2.0
    return 3.0


FUZZY_MAX_CANDIDATES = 20_000  # keys read for the near-spelling pass, at most


def _fuzzy_candidates(
    session: Session, needle: str, exclude: set[int], near: tuple[float, float] | None = None
) -> list[tuple[float, Any]]:
    """Names within a small edit distance, scored by rapidfuzz: names (or their later words)
    sharing the first three letters (typos after them are the common ones; "stevenidge" ~
    "stevenage"); near the pin only, when there is one and something near it scores well.
    Ranges of the indexes, capped."""
    best: dict[int, float] = {}
    for regions in [_near_regions(near), None] if near else [None]:
        best = _fuzzy_scores(session, needle, exclude, regions)
        if best:
            break
    if not best:
        return []
    rows = session.connection().execute(_place_columns().where(Place.id.in_(list(best))))
    return [(4.0 + (100.0 - best[r.id]) / 100.0, r) for r in rows]


def _fuzzy_scores(
    session: Session, needle: str, exclude: set[int], regions: list[str] | None
) -> dict[int, float]:
    from rapidfuzz import fuzz, process

    head = needle[:3]
    params: dict[str, Any] = {"lo": head, "hi": head + HIGHEST, "cap": FUZZY_MAX_CANDIDATES}
    if regions is not None:
        params["regions"] = regions
    ids, keys, taken = [], [], set()
    for statement in _statements(regions is not None)[2:]:
        for place_id, key in session.connection().execute(statement, params):
            if place_id not in exclude and place_id not in taken:
                taken.add(place_id)
                ids.append(place_id)
                keys.append(key)
    best: dict[int, float] = {}
    # The whole name, and its start as long as what was typed ("stevenidge" ~ "stevenage …").
    for choices in (keys, [k[: len(needle)] for k in keys]):
        for _, score, i in process.extract(
            needle, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE, limit=50
        ):
            best[ids[i]] = max(best.get(ids[i], 0.0), score)
    return best


def _distance_km(a: tuple[float, float], lat: float, lon: float) -> float:
    dlat = math.radians(lat - a[0])
    dlon = math.radians(lon - a[1]) * math.cos(math.radians((lat + a[0]) / 2))
    return 6371.0 * math.hypot(dlat, dlon)


def _rank(scored: list[tuple[float, Any]], near: tuple[float, float] | None) -> list[PlaceMatch]:
    def key(item: tuple[float, Any]) -> tuple[float, int, float, str]:
        rank, r = item
        distance = _distance_km(near, r.latitude, r.longitude) if near else 0.0
        return (math.floor(rank), KIND_RANK.get(r.kind, 99), rank + distance / 1000, r.name)

    return [
        PlaceMatch(
            id=r.id,
            name=r.name,
            kind=r.kind,
            detail=_detail(r.kind, r.locality),
            latitude=r.latitude,
            longitude=r.longitude,
            ward_code=r.ward_code,
            area_code=r.ward_code or r.district_code,
            score=rank,
        )
        for rank, r in sorted(scored, key=key)
    ]


KIND_LABELS = {"stop": "bus or tram stop", "other": "place"}


def _detail(kind: str, locality: str | None) -> str:
    label = KIND_LABELS.get(kind, kind)
    return f"{label} in {locality}" if locality else label


def _dedupe(matches: list[PlaceMatch]) -> list[PlaceMatch]:
    seen: set[tuple[str, str, str, str | None]] = set()
    out = []
    for m in matches:
        key = (m.name.lower(), m.kind, m.detail, m.area_code)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def _postcode_matches(session: Session, text: str) -> list[PlaceMatch] | None:
    """A whole postcode held, or the area a district ("SG1") or sector ("SG1 1") of the
    postcodes held falls in; ``None`` when ``text`` is not a postcode the gazetteer knows."""
    upper = " ".join(str(text).upper().split())
    whole = POSTCODE.match(upper)
    if whole:
        key = whole.group(1) + whole.group(2)
        rows = list(session.execute(_place_columns().where(Place.postcode_key == key).limit(1)))
        return _rank([(0.0, rows[0])], None) if rows else None
    partial = PARTIAL_POSTCODE.match(upper)
    if not partial:
        return None
    label, rows = _postcodes_in(session, partial)
    return [_postcode_area(session, label, rows)] if rows else None


def _postcodes_in(session: Session, partial: re.Match[str]) -> tuple[str, list[Any]]:
    """The postcodes held in a district ("SG1") or sector ("SG1 1"), and its label as written
    with one space: a range of the postcode index."""
    district, sector, letter = partial.group(1), partial.group(2) or "", partial.group(3) or ""
    prefix = district + sector + letter
    # "SG1" must not take in SG10 to SG19: the inward code is always 3 characters.
    rows = [
        r
        for r in session.execute(
            sa.select(
                Place.latitude,
                Place.longitude,
                Place.ward_code,
                Place.district_code,
                Place.postcode_key,
            ).where(
                Place.postcode_key >= prefix,
                Place.postcode_key < prefix + HIGHEST,
                Place.kind == "postcode",
            )
        )
        if len(r.postcode_key) == len(district) + 3
    ]
    return f"{district} {sector}{letter}".strip(), rows


MOSTLY = 0.8  # a district or sector "is in" an area when this share of its postcodes are


def postcode_area(*, session: Session, text: str) -> dict[str, str] | None:
    """The area columns (``ward_code``, ``district_code``) a postcode, whole or partial, is in.

    A whole postcode: those of its place. A sector ("SG1 1") or district ("SG1"): the ward or
    district that holds at least 80% of its postcodes; a sector or district split more evenly
    sets only the level it does not split (often the district alone). None when the gazetteer
    holds no such postcode."""
    upper = " ".join(str(text).upper().split())
    whole = POSTCODE.match(upper)
    if whole:
        row = session.execute(
            sa.select(Place.ward_code, Place.district_code).where(
                Place.postcode_key == whole.group(1) + whole.group(2)
            )
        ).first()
        if row is None:
            return None
        return {k: v for k, v in (("ward_code", row[0]), ("district_code", row[1])) if v}
    partial = PARTIAL_POSTCODE.match(upper)
    if not partial:
        return None
    _label, rows = _postcodes_in(session, partial)
    out = {}
    for column in ("ward_code", "district_code"):
        counts = Counter(getattr(r, column) for r in rows)
        if counts:
            code, n = counts.most_common(1)[0]
            if code and n >= MOSTLY * len(rows):
                out[column] = code
    return out if rows else None


def _postcode_area(session: Session, label: str, rows: list[Any]) -> PlaceMatch:
    lat = sum(r.latitude for r in rows) / len(rows)
    lon = sum(r.longitude for r in rows) / len(rows)
    wards = Counter(r.ward_code for r in rows if r.ward_code)
    districts = Counter(r.district_code for r in rows if r.district_code)
    ward = wards.most_common(1)[0][0] if wards else None
    area = ward or (districts.most_common(1)[0][0] if districts else None)
    names = area_names(session, [area] if area else [])
    where = names.get(area or "", "")
    kind = "postcode sector" if " " in label else "postcode district"
    return PlaceMatch(
        id=None,
        name=label,
        kind="postcode",
        detail=f"{kind}, mostly in {where}" if where else kind,
        latitude=lat,
        longitude=lon,
        ward_code=ward,
        area_code=area,
        score=0.0,
    )


def area_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """The names of the areas with these codes."""
    codes = [c for c in codes if c]
    if not codes:
        return {}
    rows = session.execute(sa.select(Area.code, Area.name).where(Area.code.in_(codes)))
    return {code: name for code, name in rows}


def get_place(*, session: Session, place_id: int) -> Place | None:
    """One place by id (``None`` if there is none)."""
    return session.get(Place, place_id)


@dataclass
class AreaFound:
    """A ward or district found for what a resident typed (a place name, street or postcode)."""

    name: str  # what matched: the place, postcode or area
    detail: str
    area_code: str
    area_name: str


def find_public_areas(*, session: Session, text: str, limit: int = 10) -> list[AreaFound]:
    """The wards and districts a name, street or postcode is in (for "find your area")."""
    from saferstreets.areas.service import find_areas_by_name

    out = [
        AreaFound(a.name, a.kind.replace("_", " "), a.code, a.name)
        for a in find_areas_by_name(session=session, text=text, limit=limit)
        if a.kind in ("ward", "district")
    ]
    places = [p for p in search_places(session=session, text=text, limit=limit) if p.area_code]
    names = area_names(session, [p.area_code for p in places if p.area_code])
    for p in places:
        assert p.area_code is not None
        if p.area_code in names:
            out.append(AreaFound(p.name, p.detail, p.area_code, names[p.area_code]))
    return out[:limit]


def public_area_at(*, session: Session, lat: float, lon: float) -> str | None:
    """The code of the ward (else the district) a point is in: where a tap on the map leads."""
    from saferstreets.areas.lookup import cached_area_index

    found = cached_area_index(session=session).locate_point(lat, lon)
    return found.get("ward") or found.get("district")
