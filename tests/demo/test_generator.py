"""The synthetic county: reproducible, geometrically sound, in the real formats, and shaped like
the published figures it cites."""

from __future__ import annotations

import csv
import json
import re
import tomllib
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
import shapely
from shapely.geometry import Point, shape

from saferstreets.crime.offences import CRIME_TYPES
from saferstreets.demo import params
from saferstreets.demo.generator import generate_county
from saferstreets.demo.survey import CONCERN_RATES, SETTING_PHRASES
from saferstreets.themes.taxonomy import SETTING_CODES, THEME_CODES

SEED = 20211

KEYS = {
    "force",
    "districts",
    "wards",
    "lsoas",
    "town_centres",
    "places",
    "basemap",
    "crime",
    "surveys",
    "reports",
    "county_name",
    "seed",
}


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return generate_county(out=tmp_path_factory.mktemp("county"), seed=SEED)


def _features(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    return doc["features"]


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- reproducibility ------------------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_same_bytes_and_other_seed_other_files(
    county: dict[str, Any], tmp_path: Path
) -> None:
    again = generate_county(out=tmp_path / "again", seed=SEED)
    first = _files(Path(county["wards"]).parent)
    second = _files(Path(again["wards"]).parent)
    assert first.keys() == second.keys()
    different = [name for name in first if first[name] != second[name]]
    assert different == []
    other = _files(Path(generate_county(out=tmp_path / "other", seed=SEED + 1)["wards"]).parent)
    for name in (
        "wards.geojson",
        "reports.jsonl",
        "surveys/safety-survey-2021.xlsx",
        "crime/2022-03/2022-03-demo-county-street.csv",
    ):
        assert other[name] != first[name], name


def test_returns_exactly_the_agreed_keys(county: dict[str, Any]) -> None:
    assert set(county) == KEYS
    assert county["seed"] == SEED and county["county_name"] == params.COUNTY_NAME
    for key in ("force", "districts", "wards", "lsoas", "town_centres", "places", "reports"):
        assert Path(county[key]).is_file(), key
    assert Path(county["crime"]).is_dir()
    assert [sorted(s) for s in county["surveys"]] == [["mapping", "path", "wave"]] * 2
    assert all(
        Path(s["path"]).is_file() and Path(s["mapping"]).is_file() for s in county["surveys"]
    )


# --- geometry -------------------------------------------------------------------------------


def test_boundaries_are_valid_and_nest(county: dict[str, Any]) -> None:
    force = [shape(f["geometry"]) for f in _features(county["force"])]
    districts = {
        f["properties"]["LAD21CD"]: shape(f["geometry"]) for f in _features(county["districts"])
    }
    wards_f = _features(county["wards"])
    wards = {f["properties"]["WD21CD"]: shape(f["geometry"]) for f in wards_f}
    lsoas_f = _features(county["lsoas"])
    assert len(force) == 1 and len(districts) == params.N_DISTRICTS and len(wards) >= 100
    for geom in [
        *force,
        *districts.values(),
        *wards.values(),
        *(shape(f["geometry"]) for f in lsoas_f),
    ]:
        assert geom.is_valid and geom.area > 0
    # Wards tessellate the county: no overlap (sum of areas = area of union) and no gaps.
    ward_geoms = list(wards.values())
    union = shapely.union_all(ward_geoms)
    assert sum(g.area for g in ward_geoms) == pytest.approx(union.area, rel=1e-6)
    assert union.area == pytest.approx(force[0].area, rel=1e-6)
    # Every ward lies in exactly one district: the one its LAD21CD names.
    for f in wards_f:
        ward = shape(f["geometry"])
        holders = [
            code for code, d in districts.items() if ward.intersection(d).area > 0.999 * ward.area
        ]
        assert holders == [f["properties"]["LAD21CD"]], f["properties"]["WD21NM"]
    # LSOAs subdivide wards: 4-6 per ward, areas add up, each inside its ward.
    per_ward = Counter(f["properties"]["WD21CD"] for f in lsoas_f)
    assert (
        set(per_ward) == set(wards) and min(per_ward.values()) >= 4 and max(per_ward.values()) <= 6
    )
    area_by_ward: Counter[str] = Counter()
    for f in lsoas_f:
        geom = shape(f["geometry"])
        area_by_ward[f["properties"]["WD21CD"]] += geom.area
        assert geom.intersection(wards[f["properties"]["WD21CD"]]).area > 0.999 * geom.area
    for code, geom in wards.items():
        assert area_by_ward[code] == pytest.approx(geom.area, rel=1e-6)
    # LSOA names follow ONS: "<district name> NNNX".
    lad_name = {
        f["properties"]["LAD21CD"]: f["properties"]["LAD21NM"]
        for f in _features(county["districts"])
    }
    for f in lsoas_f:
        p = f["properties"]
        assert re.fullmatch(re.escape(lad_name[p["LAD21CD"]]) + r" \d{3}[A-H]", p["LSOA21NM"])
        assert re.fullmatch(r"E01\d{6}", p["LSOA21CD"])
    # Lon/lat in England (EPSG:4326 order), near the configured centre.
    minx, miny, maxx, maxy = force[0].bounds
    assert -2.0 < minx < maxx < 0.0 and 51.5 < miny < maxy < 52.6


def test_places_cover_every_kind_inside_the_county(county: dict[str, Any]) -> None:
    force = shape(_features(county["force"])[0]["geometry"])
    places = _features(county["places"])
    kinds = Counter(f["properties"]["kind"] for f in places)
    assert set(kinds) == {
        "venue",
        "nte_street",
        "rail_station",
        "bus_station",
        "park",
        "path",
        "underpass",
        "shopping_centre",
    }
    districts = {f["properties"]["LAD21CD"] for f in _features(county["districts"])}
    for f in places:
        assert force.covers(shape(f["geometry"]))
        assert f["properties"]["district"] in districts
    assert any(f["properties"].get("lighting_upgraded") for f in places)
    centres = _features(county["town_centres"])
    assert len(centres) >= params.N_DISTRICTS
    assert all({"code", "name"} <= set(f["properties"]) for f in centres)


# --- police.uk files ------------------------------------------------------------------------


def _month_files(county: dict[str, Any], kind: str) -> list[Path]:
    return sorted(Path(county["crime"]).glob(f"*/*-demo-county-{kind}.csv"))


@pytest.mark.shared_data
def test_police_uk_headers_and_vocabulary_match_real_files(
    county: dict[str, Any], shared_data: Path
) -> None:
    real = shared_data / "police-uk-hertfordshire-2021"
    real_street = _csv(real / "street" / "2021-06-hertfordshire-street.csv")
    real_outcomes = _csv(real / "outcomes" / "2021-06-hertfordshire-outcomes.csv")
    street_header = (real / "street" / "2021-06-hertfordshire-street.csv").open().readline()
    outcome_header = (real / "outcomes" / "2021-06-hertfordshire-outcomes.csv").open().readline()
    known_last = {r["Last outcome category"] for r in real_street} | {"Under investigation"}
    known_outcome = {r["Outcome type"] for r in real_outcomes} | {
        "Suspect charged as part of another case"
    }
    for path in _month_files(county, "street"):
        assert path.open().readline() == street_header
        for row in _csv(path):
            assert row["Last outcome category"] in known_last
    for path in _month_files(county, "outcomes"):
        assert path.open().readline() == outcome_header
        for row in _csv(path):
            assert row["Outcome type"] in known_outcome


def test_police_uk_rows_are_consistent(county: dict[str, Any]) -> None:
    lsoas = {f["properties"]["LSOA21CD"]: f for f in _features(county["lsoas"])}
    streets = _month_files(county, "street")
    outcomes = _month_files(county, "outcomes")
    assert len(streets) == len(outcomes) == params.CRIME_MONTHS
    seen: dict[str, str] = {}
    types: Counter[str] = Counter()
    no_location = 0
    for path in streets:
        month = path.parent.name
        assert path.name == f"{month}-demo-county-street.csv"
        for row in _csv(path):
            assert row["Month"] == month and row["Falls within"] == params.FORCE_NAME
            types[row["Crime type"]] += 1
            if row["Crime type"] == "Anti-social behaviour":
                assert row["Crime ID"] == "" and row["Last outcome category"] == ""
            else:
                assert re.fullmatch(r"[0-9a-f]{64}", row["Crime ID"])
                seen[row["Crime ID"]] = month
            if row["Location"] == "No Location":
                no_location += 1
                assert row["Longitude"] == row["LSOA code"] == ""
                continue
            assert row["Location"].startswith("On or near ")
            assert re.fullmatch(r"-?\d+\.\d{6}", row["Longitude"]) and re.fullmatch(
                r"\d+\.\d{6}", row["Latitude"]
            )
            lsoa = lsoas[row["LSOA code"]]
            assert lsoa["properties"]["LSOA21NM"] == row["LSOA name"]
    assert set(types) == set(CRIME_TYPES)
    total = sum(types.values())
    assert 0 < no_location < 0.05 * total
    want = sum(params.CRIME_TYPE_COUNTS.values())
    for ctype, n in params.CRIME_TYPE_COUNTS.items():
        assert types[ctype] / total == pytest.approx(n / want, abs=0.01), ctype
    later = 0
    for path in outcomes:
        month = path.parent.name
        for row in _csv(path):
            assert re.fullmatch(r"[0-9a-f]{64}", row["Crime ID"]) and row["Month"] == month
            if row["Crime ID"] in seen:
                assert seen[row["Crime ID"]] <= month
                later += seen[row["Crime ID"]] < month
    assert later > 1000  # outcomes months after the crime, naming its ID


def test_crime_points_fall_in_their_lsoa_and_violence_gathers_at_night_time_streets(
    county: dict[str, Any],
) -> None:
    lsoas = {f["properties"]["LSOA21CD"]: shape(f["geometry"]) for f in _features(county["lsoas"])}
    nte = np.array(
        [
            f["geometry"]["coordinates"]
            for f in _features(county["places"])
            if f["properties"]["kind"] in ("nte_street", "venue")
        ]
    )
    rows = _csv(_month_files(county, "street")[5])
    near = Counter()
    count = Counter()
    for row in rows:
        if not row["LSOA code"]:
            continue
        x, y = float(row["Longitude"]), float(row["Latitude"])
        assert lsoas[row["LSOA code"]].buffer(1e-6).covers(Point(x, y))
        d = np.min(np.hypot((nte[:, 0] - x) * 0.614, nte[:, 1] - y)) * 111.0  # km
        kind = (
            "violence"
            if row["Crime type"] == "Violence and sexual offences"
            else ("burglary" if row["Crime type"] == "Burglary" else "other")
        )
        count[kind] += 1
        near[kind] += d < 0.3
    assert near["violence"] / count["violence"] > 2 * near["burglary"] / count["burglary"]


# --- surveys --------------------------------------------------------------------------------


def _read_wave(wave: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An independent reading of the export: two header rows, blocks started by row-1 text."""
    mapping = tomllib.loads(Path(wave["mapping"]).read_text(encoding="utf-8"))
    book = openpyxl.load_workbook(wave["path"], read_only=True)
    assert book.sheetnames[0] == mapping["file"]["sheet"] and len(book.sheetnames) >= 2
    rows = list(book[mapping["file"]["sheet"]].iter_rows(values_only=True))
    top, sub = rows[0], rows[1]
    names: list[str] = []
    block = ""
    for t, s in zip(top, sub, strict=True):
        block = t or block
        names.append(block if s in (None, "Response", "Open-Ended Response") else f"{block} / {s}")
    pad = (None,) * len(names)
    return mapping, [dict(zip(names, (*r, *pad[len(r) :]), strict=True)) for r in rows[2:]]


def _unsafe_share(rows: list[dict[str, Any]], column: str, scale: list[str]) -> float:
    answers = [r[column] for r in rows if r[column] in scale]
    return sum(a in scale[:2] for a in answers) / len(answers)


def test_survey_mapping_matches_the_export(county: dict[str, Any]) -> None:
    for wave in county["surveys"]:
        mapping, rows = _read_wave(wave)
        assert 4000 <= len(rows) <= 6000
        assert mapping["wave"]["name"] == wave["wave"]
        assert date.fromisoformat(mapping["wave"]["period_start"]) < date.fromisoformat(
            mapping["wave"]["period_end"]
        )
        for column in mapping["columns"].values():
            assert column in rows[0], column
        keys = {spec["key"] for spec in mapping["likert"]}
        settings = {s for s in SETTING_CODES if s in SETTING_PHRASES}  # the demo's questionnaire
        assert keys == {f"{t}.{s}" for t in ("day", "after_dark") for s in settings}
        for spec in mapping["likert"]:
            assert spec["column"] in rows[0]
            assert {r[spec["column"]] for r in rows} <= {*spec["scale"], *spec["missing"], None}
        multi = {m["key"]: m for m in mapping["multi_select"]}
        assert set(multi["concerns"]["options"].values()) == {*CONCERN_RATES["women"], "other"}
        assert set(multi["settings"]["options"].values()) == settings
        for m in multi.values():
            for label in m["options"]:
                assert f"{m['question']} / {label}" in rows[0]
        ages = {r[mapping["columns"]["age_band"]] for r in rows} - {None}
        assert ages <= set(mapping["age_bands"]) and {"11-15", "16-17"} <= ages


def test_survey_marginals_follow_the_cited_figures(county: dict[str, Any]) -> None:
    mapping, rows = _read_wave(county["surveys"][0])
    cols = mapping["columns"]
    likert = {spec["key"]: spec for spec in mapping["likert"]}
    scale = likert["after_dark.quiet_street"]["scale"]
    quiet = likert["after_dark.quiet_street"]["column"]
    park = likert["after_dark.park"]["column"]
    young = {"11-15", "16-17"}
    women = [
        r
        for r in rows
        if r[cols["gender"]] == "Female" and r[cols["age_band"]] not in young | {None}
    ]
    men = [
        r for r in rows if r[cols["gender"]] == "Male" and r[cols["age_band"]] not in young | {None}
    ]
    girls = [r for r in rows if r[cols["gender"]] == "Female" and r[cols["age_band"]] in young]
    boys = [r for r in rows if r[cols["gender"]] == "Male" and r[cols["age_band"]] in young]
    assert len(women) > 2500 and len(boys) > 150
    assert _unsafe_share(women, quiet, scale) == pytest.approx(
        params.WOMEN_UNSAFE_QUIET_STREET_DARK.value, abs=0.03
    )
    assert _unsafe_share(women, park, scale) == pytest.approx(
        params.WOMEN_UNSAFE_PARK_DARK.value, abs=0.03
    )
    assert _unsafe_share(men, quiet, scale) == pytest.approx(
        params.MEN_UNSAFE_QUIET_STREET_DARK.value, abs=0.06
    )
    assert _unsafe_share(girls, quiet, scale) == pytest.approx(
        params.GIRLS_UNSAFE_DARK_2021.value, abs=0.05
    )
    assert _unsafe_share(boys, quiet, scale) == pytest.approx(
        params.BOYS_UNSAFE_DARK_2021.value, abs=0.08
    )
    assert _unsafe_share(girls, quiet, scale) > _unsafe_share(boys, quiet, scale) + 0.2


def test_second_wave_feels_safer_where_lighting_was_upgraded(county: dict[str, Any]) -> None:
    upgraded = {
        f["properties"]["ward_name"]
        for f in _features(county["places"])
        if f["properties"].get("lighting_upgraded")
    }
    shares = []
    for wave in county["surveys"]:
        mapping, rows = _read_wave(wave)
        spec = next(s for s in mapping["likert"] if s["key"] == "after_dark.quiet_street")
        local = [r for r in rows if r[mapping["columns"]["area"]] in upgraded]
        assert len(local) > 100
        shares.append(_unsafe_share(local, spec["column"], spec["scale"]))
    assert shares[1] < shares[0] - 0.05


# --- reports --------------------------------------------------------------------------------

REPORT_FIELDS = {
    "latitude",
    "longitude",
    "place_text",
    "occurred_on",
    "time_band",
    "happens_regularly",
    "reasons",
    "other_reason",
    "free_text",
    "age_band",
    "for_self",
    "received_at",
    "occurred_hour",
}


def _reports(county: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in Path(county["reports"]).read_text(encoding="utf-8").splitlines()
    ]


def test_reports_have_the_public_form_fields(county: dict[str, Any]) -> None:
    from saferstreets.demo.reports import AGE_BANDS, time_band

    reports = _reports(county)
    assert len(reports) == params.REPORTS
    force = shape(_features(county["force"])[0]["geometry"])
    for r in reports:
        assert set(r) == REPORT_FIELDS
        assert force.covers(Point(r["longitude"], r["latitude"]))
        assert r["time_band"] == time_band(r["occurred_hour"])
        assert set(r["reasons"]) <= {*THEME_CODES, "other"} and r["reasons"]
        assert (r["other_reason"] is not None) == ("other" in r["reasons"])
        assert r["age_band"] in (*AGE_BANDS, None)
        assert r["received_at"][:10] >= r["occurred_on"]
    texts = [r["free_text"] for r in reports if r["free_text"]]
    assert 0.5 * len(reports) < len(texts) < 0.9 * len(reports)
    assert len(set(texts)) > 0.9 * len(texts)  # varied, not a handful of templates
    assert any("lighting is fine but" in t.lower() or "well lit" in t.lower() for t in texts)
    truth = [
        json.loads(line)
        for line in (Path(county["reports"]).parent / "truth" / "reports.jsonl")
        .read_text()
        .splitlines()
    ]
    assert len(truth) == len(reports) and sum(t["urgent"] for t in truth) >= 5


def test_reports_cluster_at_night_time_streets_on_friday_and_saturday_nights(
    county: dict[str, Any],
) -> None:
    reports = _reports(county)
    nte = np.array(
        [
            f["geometry"]["coordinates"]
            for f in _features(county["places"])
            if f["properties"]["kind"] in ("nte_street", "venue")
        ]
    )

    def near_nte(r: dict[str, Any]) -> bool:
        d = (
            np.min(np.hypot((nte[:, 0] - r["longitude"]) * 0.614, nte[:, 1] - r["latitude"]))
            * 111.0
        )
        return bool(d < 0.3)

    def weekend_night(r: dict[str, Any]) -> bool:
        day = date.fromisoformat(r["occurred_on"]).weekday()
        hour = r["occurred_hour"]
        return (day in (4, 5) and hour >= 21) or (day in (5, 6) and hour < 4)

    in_nte = [r for r in reports if near_nte(r)]
    uniform = (2 / 7) * (7 / 24)  # share of the week's hours that are Friday or Saturday night
    share = sum(weekend_night(r) for r in in_nte) / len(in_nte)
    assert len(in_nte) > 200
    assert share > 2.5 * uniform


# --- the gazetteer ----------------------------------------------------------------------------


def test_the_county_has_a_gazetteer_that_search_finds(county: dict[str, Any], engine: Any) -> None:
    """High streets, named streets and bus stops (gazetteer.csv) and stations and parks
    (places.geojson), imported as a force's own landmarks would be, found by name."""
    from saferstreets.areas.service import import_boundaries
    from saferstreets.db import session_factory
    from saferstreets.demo.gazetteer import GAZETTEER_FILE
    from saferstreets.places.search import search_places
    from saferstreets.places.service import count_places, import_places

    gazetteer = Path(county["places"]).parent / GAZETTEER_FILE
    for key, level in (("districts", "district"), ("wards", "ward")):
        import_boundaries(engine=engine, path=county[key], level=level)
    summaries = import_places(
        engine=engine, paths=[Path(county["places"]), gazetteer], h3_resolution=9
    )
    assert [s.rows_quarantined for s in summaries] == [0, 0]
    station = next(
        f["properties"] for f in _features(county["places"])
        if f["properties"]["kind"] == "rail_station"
    )  # fmt: skip
    with session_factory(engine)() as session:
        kinds = count_places(session=session)
        assert kinds["street"] > 100 and kinds["stop"] > 50 and kinds["park"] > 5
        assert kinds["station"] >= 1
        found = search_places(session=session, text=station["name"])
        assert (found[0].name, found[0].kind) == (station["name"], "station")
        assert found[0].ward_code == station["ward"]
        highs = search_places(session=session, text="high street", limit=50)
        centres = _features(county["town_centres"])
        assert len([m for m in highs if m.name == "High Street"]) == len(centres)
