"""Point → LSOA: saferstreets' vectorised lookup vs geopandas ``sjoin(predicate="within")``.

All 5,525 LSOAs of the Hertfordshire + London boundary files (shared data), 6 million random
points (seeded) inside their extent; 200k with ``--quick``. Both start from longitude/latitude
arrays and end with one LSOA code (or none) per point; both are timed in the same run.
"""

from __future__ import annotations

import numpy as np

from bench.common import markdown_table, peak_rss_mb, shared_data, timed

SEED = 20210303


def _lsoas() -> tuple[list[str], np.ndarray]:
    from saferstreets.areas.geometry import detect_fields, read_layer, repair

    folder = shared_data()
    if folder is None:
        raise RuntimeError(
            "../shared/data is not here: the areas benchmark needs the boundary files"
        )
    codes: list[str] = []
    geoms: list[object] = []
    for path in sorted(
        (folder / "uk-boundaries-martinjc-herts-london/json/statistical/eng/lsoa_by_lad").glob(
            "*.json"
        )
    ):
        layer = read_layer(path)
        choice = detect_fields(layer.fields, level="lsoa", source=path)
        fixed, _repaired, _reasons = repair(layer.geometries)
        codes += [str(p[choice.code]) for p in layer.properties]
        geoms += list(fixed)
    return codes, np.asarray(geoms, dtype=object)


def run(*, quick: bool) -> str:
    import geopandas as gpd
    import shapely

    from saferstreets.areas.lookup import AreaIndex

    codes, geoms = _lsoas()
    n = 200_000 if quick else 6_000_000
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    rng = np.random.default_rng(SEED)
    lons = rng.uniform(minx, maxx, n)
    lats = rng.uniform(miny, maxy, n)
    print(f"   {len(codes):,} LSOAs, {n:,} points", flush=True)

    build_ours, index = timed(lambda: AreaIndex.from_arrays({"lsoa": (codes, geoms)}))
    ours_s, ours = timed(lambda: index.lookup("lsoa", lons, lats))
    print(f"   saferstreets: {ours_s:.1f} s", flush=True)

    polygons = gpd.GeoDataFrame({"code": codes}, geometry=list(geoms), crs="EPSG:4326")

    def peer() -> np.ndarray:
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326")
        joined = gpd.sjoin(points, polygons, predicate="within", how="left")
        # A point within two overlapping polygons appears twice: keep the lowest code, as we do.
        first = joined["code"].groupby(level=0).min()
        out = np.full(n, None, dtype=object)
        hit = first.notna().to_numpy()
        out[first.index.to_numpy()[hit]] = first.to_numpy()[hit]
        return out

    peer_s, theirs = timed(peer)
    print(f"   geopandas sjoin: {peer_s:.1f} s", flush=True)

    same = ours == theirs
    mismatches = int((~same).sum())
    ours_only = int(np.sum(~same & (theirs == None)))  # noqa: E711 - elementwise on object arrays
    assigned = int(np.sum(ours != None))  # noqa: E711
    rows = [
        [
            "saferstreets AreaIndex.lookup (STRtree over points, prepared polygons)",
            n,
            ours_s,
            n / ours_s,
            1.0,
            build_ours,
        ],
        ["geopandas sjoin(predicate='within')", n, peer_s, n / peer_s, peer_s / ours_s, 0.0],
    ]
    table = markdown_table(
        ["method", "points", "seconds", "points/s", "time vs saferstreets", "index build s"], rows
    )
    notes = (
        f"\n\n{len(codes):,} LSOAs; {assigned:,} of {n:,} points fall in an LSOA (the rest are "
        f"in the extent's gaps). Assignments differ for {mismatches:,} points"
        + (
            f" ({ours_only:,} assigned by saferstreets only: points exactly on a boundary, which "
            "'within' excludes and saferstreets gives to the lowest code)"
            if mismatches
            else ""
        )
        + f". Peak memory of the run: {peak_rss_mb():,.0f} MB."
    )
    return table + notes
