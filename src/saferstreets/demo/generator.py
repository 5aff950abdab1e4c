"""Generate the synthetic demo county from a seed: boundaries, places, police.uk files, survey
waves and public reports, all in the formats a user's real files come in.

``generate_county(out=..., seed=...)`` writes::

    force.geojson districts.geojson wards.geojson lsoas.geojson town_centres.geojson places.geojson
    crime/YYYY-MM/YYYY-MM-demo-county-{street,outcomes}.csv
    surveys/safety-survey-{2021,2022}.{xlsx,toml}
    reports.jsonl
    gazetteer.csv basemap.pmtiles   (named streets and stops; the street map drawn under every map)
    truth/reports.jsonl   (what the generator meant: scenario, themes, urgent; for scoring)

The same seed gives the same bytes in every file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from saferstreets.demo import params
from saferstreets.demo.crime import write_crime
from saferstreets.demo.gazetteer import gazetteer_rows, write_gazetteer_rows
from saferstreets.demo.geography import County, geom_to_lonlat, to_lonlat
from saferstreets.demo.reports import write_reports
from saferstreets.demo.streets import write_basemap
from saferstreets.demo.survey import write_surveys
from saferstreets.progress import Progress, silent


def generate_county(*, out: Path, seed: int, progress: Progress | None = None) -> dict[str, Any]:
    """Write the whole demo county under ``out``; return the paths of what was written."""
    from saferstreets.demo.geography import build_county

    say = progress or silent
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # Independent streams per part, so changing one part leaves the others' bytes alone.
    geo_rng, crime_rng, survey_rng, report_rng, gazetteer_rng, streets_rng = (
        np.random.default_rng([seed, k]) for k in range(6)
    )
    say("boundaries and places")
    county = build_county(geo_rng)
    files = write_boundaries(county, out)
    rows = gazetteer_rows(county, gazetteer_rng)
    write_gazetteer_rows(rows, out)  # read by the pipeline's places stage
    say("the street map (basemap.pmtiles)")
    files["basemap"] = write_basemap(county, rows, streets_rng, out)
    say("police.uk street and outcome files")
    crime = write_crime(county, crime_rng, seed, out)
    say("survey waves")
    waves = write_surveys(county, survey_rng, out)
    say("public reports")
    reports = write_reports(county, report_rng, out)
    return {
        **files,
        "crime": crime,
        "surveys": [{"path": w.path, "mapping": w.mapping, "wave": w.wave} for w in waves],
        "reports": reports,
        "county_name": county.name,
        "seed": seed,
    }


def _coords(obj: Any) -> Any:
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], float):
            return [round(v, 6) for v in obj]
        return [_coords(o) for o in obj]
    return obj


def _feature(
    geom: shapely.Geometry, props: dict[str, Any], *, lonlat: bool = True
) -> dict[str, Any]:
    g = geom if lonlat else geom_to_lonlat(geom)
    if g.geom_type in ("Polygon", "MultiPolygon"):
        g = shapely.orient_polygons(g)  # RFC 7946: exterior rings counter-clockwise
    gj = mapping(g)
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": gj["type"], "coordinates": _coords(gj["coordinates"])},
    }


def _write_collection(path: Path, name: str, features: list[dict[str, Any]]) -> Path:
    doc = {"type": "FeatureCollection", "name": name, "features": features}
    path.write_text(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    return path


def write_boundaries(county: County, out: Path) -> dict[str, Path]:
    """The six GeoJSON layers, EPSG:4326, with ONS-style code and name fields."""
    lad_name = {d.code: d.name for d in county.districts}
    ward_name = {w.code: w.name for w in county.wards}
    files: dict[str, Path] = {}
    # Every level is built from the LSOAs in longitude/latitude, so the layers nest exactly.
    lsoa_ll = [geom_to_lonlat(a.geom) for a in county.lsoas]
    ward_ll = {
        w.code: shapely.coverage_union_all(
            [g for a, g in zip(county.lsoas, lsoa_ll, strict=True) if a.parent == w.code]
        )
        for w in county.wards
    }
    district_ll = {
        d.code: shapely.coverage_union_all(
            [ward_ll[w.code] for w in county.wards if w.district == d.code]
        )
        for d in county.districts
    }
    force = shapely.coverage_union_all(list(district_ll.values()))
    files["force"] = _write_collection(
        out / "force.geojson",
        "force",
        [_feature(force, {"PFA21CD": params.FORCE_CODE, "PFA21NM": params.FORCE_NAME})],
    )
    files["districts"] = _write_collection(
        out / "districts.geojson",
        "districts",
        [
            _feature(
                district_ll[d.code],
                {"LAD21CD": d.code, "LAD21NM": d.name, "population": d.population},
            )
            for d in county.districts
        ],
    )
    files["wards"] = _write_collection(
        out / "wards.geojson",
        "wards",
        [
            _feature(
                ward_ll[w.code],
                {
                    "WD21CD": w.code,
                    "WD21NM": w.name,
                    "LAD21CD": w.district,
                    "LAD21NM": lad_name[w.district],
                    "population": w.population,
                },
            )
            for w in county.wards
        ],
    )
    files["lsoas"] = _write_collection(
        out / "lsoas.geojson",
        "lsoas",
        [
            _feature(
                g,
                {
                    "LSOA21CD": a.code,
                    "LSOA21NM": a.name,
                    "WD21CD": a.parent,
                    "LAD21CD": a.district,
                    "population": a.population,
                },
            )
            for a, g in zip(county.lsoas, lsoa_ll, strict=True)
        ],
    )
    files["town_centres"] = _write_collection(
        out / "town_centres.geojson",
        "town_centres",
        [
            _feature(t.geom, {"code": t.code, "name": t.name, "LAD21CD": t.district}, lonlat=False)
            for t in county.town_centres
        ],
    )
    place_features = []
    for p in sorted(county.places, key=lambda p: (p.district, p.kind, p.name)):
        lon, lat = to_lonlat(p.x, p.y)
        props: dict[str, Any] = {
            "name": p.name,
            "kind": p.kind,
            "district": p.district,
            "district_name": lad_name.get(p.district, ""),
            "ward": p.ward,
            "ward_name": ward_name.get(p.ward, ""),
            "town": p.town,
        }
        props.update({k: p.props[k] for k in sorted(p.props)})
        place_features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(lon), 6), round(float(lat), 6)],
                },
            }
        )
    files["places"] = _write_collection(out / "places.geojson", "places", place_features)
    return files
