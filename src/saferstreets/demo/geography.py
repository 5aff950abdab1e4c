"""The county's geography: outline, districts, wards, LSOAs, towns, town centres and places.

Everything is built in a local plane in kilometres (x east, y north, origin at the county's
centre) and converted to longitude/latitude only when written. Wards are the Voronoi cells of
seeded points (dense in towns, sparse in the country) clipped to the outline, so they tessellate
the county exactly; districts are unions of wards; LSOAs are Voronoi cells of points inside each
ward clipped to it, so they tessellate their ward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from saferstreets.demo import params
from saferstreets.demo.names import NameBank

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON = 111.320 * math.cos(math.radians(params.CENTRE_LAT))


def to_lonlat(x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Local kilometres to (longitude, latitude) in degrees."""
    lon = params.CENTRE_LON + np.asarray(x, dtype=float) / KM_PER_DEG_LON
    lat = params.CENTRE_LAT + np.asarray(y, dtype=float) / KM_PER_DEG_LAT
    return lon, lat


def geom_to_lonlat(geom: BaseGeometry) -> BaseGeometry:
    """A geometry in local kilometres as longitude/latitude rounded to 6 decimals.

    Rounding is vertex by vertex, so polygons that share vertices still share them exactly.
    """
    out = shapely.transform(
        geom, lambda xy: np.round(np.column_stack(to_lonlat(xy[:, 0], xy[:, 1])), 6)
    )
    return out if out.is_valid else shapely.make_valid(out)


def node_lsoas(county: County) -> None:
    """Re-cut the LSOAs from their noded common linework so neighbours share every vertex."""
    lines = shapely.union_all([a.geom.boundary for a in county.lsoas])
    faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    tree = shapely.STRtree([a.geom for a in county.lsoas])
    owned: dict[int, list[BaseGeometry]] = {}
    for face in faces:
        hits = [int(k) for k in tree.query(face.representative_point(), predicate="within")]
        if hits:
            owned.setdefault(hits[0], []).append(face)
    for i, lsoa in enumerate(county.lsoas):
        parts = owned.get(i, [])
        if parts:
            lsoa.geom = parts[0] if len(parts) == 1 else shapely.union_all(parts)


@dataclass
class Town:
    name: str
    x: float
    y: float
    size: str  # large, medium, small, village
    district: int = -1  # index into County.districts

    @property
    def point(self) -> Point:
        return Point(self.x, self.y)


@dataclass
class Area:
    code: str
    name: str
    geom: BaseGeometry
    parent: str = ""  # district code for wards; ward code for LSOAs
    district: str = ""
    population: int = 0
    urban: bool = False


@dataclass
class PlaceSpec:
    name: str
    kind: str
    x: float
    y: float
    town: str
    district: str = ""  # LAD code
    ward: str = ""
    props: dict[str, object] = field(default_factory=dict)


@dataclass
class SnapPoint:
    """A police.uk-style anonymised location: a point, its 'On or near ...' label, its LSOA."""

    x: float
    y: float
    label: str
    lsoa: int  # index into County.lsoas
    kind: str = "street"  # street or a place kind it serves


@dataclass
class County:
    name: str
    outline: Polygon
    towns: list[Town]
    districts: list[Area]
    wards: list[Area]
    lsoas: list[Area]
    town_centres: list[Area]
    places: list[PlaceSpec]
    snaps: list[SnapPoint]
    streets_by_ward: dict[str, list[str]]

    def places_of(self, *kinds: str) -> list[PlaceSpec]:
        return [p for p in self.places if p.kind in kinds]


# ---------------------------------------------------------------------------------------------


def _outline(rng: np.random.Generator) -> Polygon:
    theta = np.linspace(0.0, 2 * math.pi, 240, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 8):
        r += (
            rng.uniform(0.015, 0.06)
            / math.sqrt(k - 1)
            * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
        )
    x = params.HALF_WIDTH_KM * r * np.cos(theta)
    y = params.HALF_HEIGHT_KM * r * np.sin(theta)
    poly = Polygon(np.column_stack([x, y]))
    return poly if poly.is_valid else shapely.make_valid(poly)


def _random_in(geom: BaseGeometry, rng: np.random.Generator, n: int) -> np.ndarray:
    minx, miny, maxx, maxy = geom.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        xs = rng.uniform(minx, maxx, 4 * n)
        ys = rng.uniform(miny, maxy, 4 * n)
        inside = shapely.contains_xy(geom, xs, ys)
        out.extend(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
    return np.array(out[:n])


def _best_candidates(
    geom: BaseGeometry,
    rng: np.random.Generator,
    n: int,
    existing: np.ndarray | None = None,
    k: int = 30,
) -> np.ndarray:
    """Mitchell's best-candidate sampling: well-spread points inside ``geom``."""
    pts: list[np.ndarray] = [] if existing is None else list(existing)
    chosen: list[np.ndarray] = []
    for _ in range(n):
        cands = _random_in(geom, rng, k)
        if pts:
            d = np.min(
                np.linalg.norm(cands[:, None, :] - np.array(pts)[None, :, :], axis=2), axis=1
            )
            best = cands[int(np.argmax(d))]
        else:
            best = cands[0]
        pts.append(best)
        chosen.append(best)
    return np.array(chosen)


def _voronoi(points: np.ndarray, clip: BaseGeometry) -> list[BaseGeometry]:
    """Voronoi cells of ``points`` (in input order) clipped to ``clip``, fragments merged away."""
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=clip.buffer(5), ordered=True)
    parts = [cell.intersection(clip) for cell in cells.geoms]
    return _merge_fragments(parts, points)


def _merge_fragments(parts: list[BaseGeometry], points: np.ndarray) -> list[BaseGeometry]:
    """Keep for each cell the polygon holding its seed; give detached bits to a touching cell."""
    result: list[BaseGeometry] = []
    loose: list[BaseGeometry] = []
    for geom, (px, py) in zip(parts, points, strict=True):
        polys = [
            g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and g.area > 0
        ]
        if not polys:
            result.append(geom)
            continue
        seed = Point(px, py)
        keep = next((p for p in polys if p.covers(seed)), max(polys, key=lambda p: p.area))
        result.append(keep)
        loose.extend(p for p in polys if p is not keep)
    for bit in loose:
        best, best_len = -1, 0.0
        for i, cell in enumerate(result):
            shared = cell.boundary.intersection(bit.boundary).length
            if shared > best_len:
                best, best_len = i, shared
        if best >= 0:
            result[best] = shapely.union(result[best], bit)
    return [shapely.make_valid(g) if not g.is_valid else g for g in result]


# ---------------------------------------------------------------------------------------------


def build_county(rng: np.random.Generator) -> County:
    """Build the whole geography from one random generator."""
    names = NameBank(rng)
    outline = _outline(rng)
    inner = outline.buffer(-3.0)

    # Towns: one main town per district (best-candidate spread), then smaller towns and villages.
    main_xy = _best_candidates(inner, rng, params.N_DISTRICTS)
    sizes = ["large"] * 3 + ["medium"] * (params.N_DISTRICTS - 3)
    towns = [
        Town(names.town(), float(x), float(y), s) for (x, y), s in zip(main_xy, sizes, strict=True)
    ]
    small_xy = _best_candidates(inner, rng, 7, existing=main_xy)
    towns += [Town(names.town(), float(x), float(y), "small") for x, y in small_xy]
    village_xy = _best_candidates(
        outline.buffer(-1.0), rng, 30, existing=np.vstack([main_xy, small_xy])
    )
    towns += [Town(names.village(), float(x), float(y), "village") for x, y in village_xy]

    # Ward seeds: clustered in towns, spread in the country.
    per_size = {"large": 10, "medium": 6, "small": 3}
    sigma = {"large": 1.6, "medium": 1.1, "small": 0.7}
    seeds: list[tuple[float, float, int]] = []  # x, y, town index or -1

    def far_enough(x: float, y: float, min_d: float) -> bool:
        return all((x - a) ** 2 + (y - b) ** 2 >= min_d**2 for a, b, _ in seeds)

    for ti, town in enumerate(towns):
        if town.size == "village":
            continue
        placed, tries = 0, 0
        while placed < per_size[town.size] and tries < 2000:
            tries += 1
            r = sigma[town.size] * math.sqrt(rng.uniform(0.0, 1.0)) * 1.4 if placed else 0.0
            a = rng.uniform(0, 2 * math.pi)
            x, y = town.x + r * math.cos(a), town.y + r * math.sin(a)
            if outline.contains(Point(x, y)) and far_enough(x, y, 0.75):
                seeds.append((x, y, ti))
                placed += 1
    n_rural = params.N_WARDS - len(seeds)
    rural = _best_candidates(
        outline.buffer(-0.5), rng, n_rural, existing=np.array([(a, b) for a, b, _ in seeds])
    )
    seeds += [(float(x), float(y), -1) for x, y in rural]
    seed_xy = np.array([(a, b) for a, b, _ in seeds])
    ward_geoms = _voronoi(seed_xy, outline)

    # Districts: each ward joins the district of the nearest main town; detached pieces move.
    main_pts = np.array([(t.x, t.y) for t in towns[: params.N_DISTRICTS]])
    cent = np.array([(g.centroid.x, g.centroid.y) for g in ward_geoms])
    # Distance to main towns, stretched a little at random so boundaries are not straight lines.
    stretch = rng.uniform(0.85, 1.15, size=(len(ward_geoms), params.N_DISTRICTS))
    dist = np.linalg.norm(cent[:, None, :] - main_pts[None, :, :], axis=2) * stretch
    assign = np.argmin(dist, axis=1)
    for i in range(params.N_DISTRICTS):  # the ward holding each main town's seed stays with it
        home = next(j for j, s in enumerate(seeds) if s[2] == i)
        assign[home] = i
    tree = shapely.STRtree(ward_geoms)
    for _ in range(10):
        moved = False
        for d in range(params.N_DISTRICTS):
            members = np.flatnonzero(assign == d)
            union = shapely.union_all([ward_geoms[j] for j in members])
            if union.geom_type == "Polygon":
                continue
            biggest = max(union.geoms, key=lambda p: p.area)
            for j in members:
                if biggest.covers(ward_geoms[j].representative_point()):
                    continue
                neigh = [
                    int(k) for k in tree.query(ward_geoms[j], predicate="touches") if assign[k] != d
                ]
                if neigh:
                    shared = [ward_geoms[j].intersection(ward_geoms[k]).length for k in neigh]
                    assign[j] = assign[neigh[int(np.argmax(shared))]]
                    moved = True
        if not moved:
            break

    # District names and codes (codes in alphabetical order of name, as ONS numbers them).
    district_names = names.districts([t.name for t in towns[: params.N_DISTRICTS]])
    order = sorted(range(params.N_DISTRICTS), key=lambda d: district_names[d])
    lad_code = {d: f"E0790{rank + 1:04d}" for rank, d in enumerate(order)}
    districts = []
    for d in order:
        members = np.flatnonzero(assign == d)
        geom = shapely.union_all([ward_geoms[j] for j in members])
        districts.append(Area(lad_code[d], district_names[d], geom))
    index_of_lad = {a.code: i for i, a in enumerate(districts)}
    for ti, town in enumerate(towns):
        town.district = index_of_lad[
            lad_code[int(assign[int(np.argmin(np.linalg.norm(cent - (town.x, town.y), axis=1)))])]
        ]
        if ti < params.N_DISTRICTS:
            town.district = index_of_lad[lad_code[ti]]

    # Ward names: town wards after the town (Central, compass points, local names); rural wards
    # after the nearest village.
    village_pts = np.array([(t.x, t.y) for t in towns if t.size == "village"])
    villages = [t for t in towns if t.size == "village"]
    ward_names: list[str] = []
    used: set[str] = set()
    for x, y, ti in seeds:
        if ti >= 0:
            town = towns[ti]
            dx, dy = x - town.x, y - town.y
            if dx * dx + dy * dy < 0.05:
                base = f"{town.name} Central"
            else:
                base = names.town_ward(town.name, dx, dy)
        else:
            k = int(np.argmin(np.linalg.norm(village_pts - (x, y), axis=1)))
            base = names.rural_ward(villages[k].name)
        name, tries = base, 0
        while name in used:
            tries += 1
            if tries > 40:
                name = f"{base} {tries}"
            elif ti >= 0:
                name = names.town_ward(towns[ti].name, float(rng.normal()), float(rng.normal()))
            else:
                name = names.rural_ward(villages[k].name)
        used.add(name)
        ward_names.append(name)

    urban_ward = [s[2] >= 0 for s in seeds]
    ward_order = sorted(range(len(seeds)), key=lambda j: (lad_code[int(assign[j])], ward_names[j]))
    wards: list[Area] = []
    for rank, w in enumerate(ward_order):
        code = f"E0590{rank + 1:04d}"
        lad = lad_code[int(assign[w])]
        wards.append(
            Area(code, ward_names[w], ward_geoms[w], parent=lad, district=lad, urban=urban_ward[w])
        )

    # LSOAs: 4-6 per ward; numbered like ONS within the district, north to south.
    lsoas: list[Area] = []
    lo, hi = params.LSOAS_PER_WARD
    by_district: dict[str, list[Area]] = {}
    for ward in wards:
        by_district.setdefault(ward.district, []).append(ward)
    lsoa_code = 1
    for district in districts:
        dwards = sorted(
            by_district[district.code], key=lambda w: (-round(w.geom.centroid.y, 6), w.code)
        )
        for msoa, ward in enumerate(dwards, start=1):
            n = int(rng.integers(lo + (1 if ward.urban else 0), hi + 1))
            pts = _spread_in(ward.geom, rng, n, ward.geom.area)
            cells = _voronoi(pts, ward.geom)
            cells.sort(key=lambda g: (-round(g.centroid.y, 6), round(g.centroid.x, 6)))
            for letter, cell in zip("ABCDEFGH", cells, strict=False):
                pop = int(rng.normal(1650, 220)) if ward.urban else int(rng.normal(1450, 200))
                lsoas.append(
                    Area(
                        f"E0190{lsoa_code:04d}",
                        f"{district.name} {msoa:03d}{letter}",
                        cell,
                        parent=ward.code,
                        district=district.code,
                        population=pop,
                        urban=ward.urban,
                    )
                )
                lsoa_code += 1
            ward.population = sum(a.population for a in lsoas if a.parent == ward.code)
    for district in districts:
        district.population = sum(w.population for w in wards if w.district == district.code)

    county = County(params.COUNTY_NAME, outline, towns, districts, wards, lsoas, [], [], [], {})
    node_lsoas(county)
    _town_centres_and_places(county, rng, names)
    _snap_points(county, rng, names)
    return county


def _spread_in(geom: BaseGeometry, rng: np.random.Generator, n: int, area: float) -> np.ndarray:
    """``n`` points inside ``geom``, not too close together (so no sliver LSOAs)."""
    min_d = 0.35 * math.sqrt(area / n)
    pts: list[tuple[float, float]] = []
    tries = 0
    while len(pts) < n:
        tries += 1
        ((x, y),) = _random_in(geom, rng, 1)
        if tries > 500 or all((x - a) ** 2 + (y - b) ** 2 >= min_d**2 for a, b in pts):
            pts.append((float(x), float(y)))
    return np.array(pts)


def _ward_at(county: County, x: float, y: float) -> Area | None:
    p = Point(x, y)
    for ward in county.wards:
        if ward.geom.covers(p):
            return ward
    return None


def _town_centres_and_places(county: County, rng: np.random.Generator, names: NameBank) -> None:
    outline = county.outline
    tc_radius = {"large": 0.85, "medium": 0.6, "small": 0.4}
    towns = sorted((t for t in county.towns if t.size != "village"), key=lambda t: t.name)
    for i, town in enumerate(towns, start=1):
        theta = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        r = tc_radius[town.size] * (
            1
            + 0.18 * np.cos(2 * theta + rng.uniform(0, 6))
            + 0.1 * np.cos(3 * theta + rng.uniform(0, 6))
        )
        ring = np.column_stack([town.x + r * np.cos(theta), town.y + 0.8 * r * np.sin(theta)])
        geom = Polygon(ring).intersection(outline)
        county.town_centres.append(
            Area(
                f"TC{i:03d}",
                f"{town.name} town centre",
                geom,
                district=county.districts[town.district].code,
            )
        )

    def add(
        name: str, kind: str, x: float, y: float, town: Town, **props: object
    ) -> PlaceSpec | None:
        if not outline.contains(Point(x, y)):
            return None
        ward = _ward_at(county, x, y)
        district = ward.district if ward else county.districts[town.district].code
        place = PlaceSpec(
            name, kind, x, y, town.name, district, ward.code if ward else "", dict(props)
        )
        county.places.append(place)
        return place

    def near(town: Town, lo: float, hi: float) -> tuple[float, float]:
        r = rng.uniform(lo, hi)
        a = rng.uniform(0, 2 * math.pi)
        return town.x + r * math.cos(a), town.y + 0.85 * r * math.sin(a)

    for town in towns:
        big = town.size in ("large", "medium")
        n_nte = {"large": 3, "medium": 2, "small": 1}[town.size]
        for street in names.nte_streets(n_nte):
            sx, sy = near(town, 0.05, 0.35 * tc_radius[town.size] / 0.85)
            add(f"{street}, {town.name}", "nte_street", sx, sy, town, street=street)
            for _ in range(int(rng.integers(3, 8 if big else 5))):
                vx, vy = sx + rng.normal(0, 0.07), sy + rng.normal(0, 0.07)
                venue, venue_type = names.venue()
                add(venue, "venue", vx, vy, town, venue_type=venue_type, street=street)
        if town.size != "small" or rng.random() < 0.5:
            x, y = near(town, 0.5, 1.4)
            add(f"{town.name} station", "rail_station", x, y, town)
        if big:
            x, y = near(town, 0.1, 0.4)
            add(f"{town.name} bus station", "bus_station", x, y, town)
        if town.size == "large":
            x, y = near(town, 0.05, 0.3)
            add(names.shopping_centre(town.name), "shopping_centre", x, y, town)
        for _ in range({"large": 4, "medium": 3, "small": 1}[town.size]):
            x, y = near(town, 0.6, 2.6)
            add(names.park(town.name), "park", x, y, town, lit=bool(rng.random() < 0.3))
        for _ in range({"large": 3, "medium": 2, "small": 1}[town.size]):
            x, y = near(town, 0.3, 1.8)
            add(names.path(town.name), "path", x, y, town, lit=False)
        for _ in range({"large": 2, "medium": 1, "small": 0}[town.size]):
            x, y = near(town, 0.3, 1.0)
            add(names.underpass(town.name), "underpass", x, y, town, lit=False)
    for village in (t for t in county.towns if t.size == "village"):
        if rng.random() < 0.35:
            add(
                names.country_park(village.name),
                "park",
                village.x + rng.normal(0, 0.6),
                village.y + rng.normal(0, 0.6),
                village,
                lit=False,
            )

    # The demo's story: street lighting is upgraded at some unlit paths, underpasses and parks.
    dark = [
        p
        for p in county.places
        if p.kind in ("path", "underpass", "park") and not p.props.get("lit")
    ]
    for idx in sorted(rng.choice(len(dark), size=min(8, len(dark)), replace=False).tolist()):
        dark[idx].props["lighting_upgraded"] = params.LIGHTING_UPGRADE_DATE


def _snap_points(county: County, rng: np.random.Generator, names: NameBank) -> None:
    """police.uk-style snap points: streets in every LSOA and the landmark categories at places."""
    lsoa_geoms = [a.geom for a in county.lsoas]
    tree = shapely.STRtree(lsoa_geoms)
    ward_of = {a.code: a for a in county.wards}
    for ward in county.wards:
        county.streets_by_ward[ward.code] = names.streets(24 if ward.urban else 12)
    for i, lsoa in enumerate(county.lsoas):
        streets = county.streets_by_ward[lsoa.parent]
        n = int(rng.integers(9, 15)) if lsoa.urban else int(rng.integers(5, 9))
        pts = _random_in(lsoa.geom, rng, n)
        for x, y in pts:
            county.snaps.append(
                SnapPoint(
                    float(x), float(y), f"On or near {streets[int(rng.integers(len(streets)))]}", i
                )
            )
        if rng.random() < 0.25:
            ((x, y),) = _random_in(lsoa.geom, rng, 1)
            label = str(
                rng.choice(
                    ["Supermarket", "Parking Area", "Petrol Station", "Sports/Recreation Area"]
                )
            )
            county.snaps.append(SnapPoint(float(x), float(y), f"On or near {label}", i, "landmark"))
    del ward_of
    landmark = {
        "park": "Park/Open Space",
        "underpass": "Pedestrian Subway",
        "bus_station": "Bus/Coach Station",
        "shopping_centre": "Shopping Area",
    }
    for place in county.places:
        hit = [int(k) for k in tree.query(Point(place.x, place.y), predicate="intersects")]
        if not hit:
            continue
        lsoa_index = hit[0]
        if place.kind == "venue":
            label = (
                "Nightclub"
                if place.props.get("venue_type") == "club"
                else str(place.props.get("street"))
            )
        elif place.kind == "nte_street":
            label = str(place.props.get("street"))
        elif place.kind == "rail_station":
            label = "Station Road"
        elif place.kind == "path":
            label = place.name.split(",")[0]
        else:
            label = landmark.get(place.kind, place.name)
        county.snaps.append(
            SnapPoint(place.x, place.y, f"On or near {label}", lsoa_index, place.kind)
        )
