"""Small gazetteer files in each published layout, over the areas tests' two wards."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.areas.areas_testfiles import DISTRICT, E0, EAST, N0, WEST, write

from saferstreets.areas.service import import_boundaries
from saferstreets.places.layouts import OS_OPEN_NAMES_COLUMNS

WEST_CODE, EAST_CODE, DISTRICT_CODE = "E05000001", "E05000002", "E07000243"


def setup_areas(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """District Stevenage with West Ward and East Ward (1 km squares)."""
    write(tmp_path / "d.geojson", [{"LAD21CD": DISTRICT_CODE, "LAD21NM": "Stevenage"}],
          [DISTRICT], crs="EPSG:27700")  # fmt: skip
    write(
        tmp_path / "w.geojson",
        [
            {"WD21CD": EAST_CODE, "WD21NM": "East Ward"},
            {"WD21CD": WEST_CODE, "WD21NM": "West Ward"},
        ],
        [EAST, WEST],
        crs="EPSG:27700",
    )
    import_boundaries(engine=engine, path=tmp_path / "d.geojson", level="district")
    import_boundaries(engine=engine, path=tmp_path / "w.geojson", level="ward")


def os_row(id_: str, name: str, type_: str, local: str, x: float, y: float, **extra: str) -> list:
    """One OS Open Names row, all 34 columns in OS's order."""
    row = dict.fromkeys(OS_OPEN_NAMES_COLUMNS, "")
    row.update(
        ID=id_,
        NAMES_URI=f"http://data.ordnancesurvey.co.uk/id/{id_}",
        NAME1=name,
        NAME1_LANG="",
        TYPE=type_,
        LOCAL_TYPE=local,
        GEOMETRY_X=str(x),
        GEOMETRY_Y=str(y),
        MOST_DETAIL_VIEW_RES="1000",
        LEAST_DETAIL_VIEW_RES="25000",
        POSTCODE_DISTRICT="SG1",
        POPULATED_PLACE="Stevenage",
        DISTRICT_BOROUGH="Stevenage",
        COUNTY_UNITARY="Hertfordshire",
        REGION="East of England",
        COUNTRY="England",
    )
    row.update(extra)
    return [row[c] for c in OS_OPEN_NAMES_COLUMNS]


def os_open_names(path: Path) -> Path:
    """OS Open Names as OS publishes it: no header row; three good rows and three bad."""
    rows = [
        os_row("osgb4000000074567890", "Mill Lane", "transportNetwork", "Named Road",
               E0 + 500, N0 + 500),
        os_row("osgb4000000074567891", "Mill Lane", "transportNetwork", "Section Of Named Road",
               E0 + 520, N0 + 520),
        os_row("osgb4000000074500001", "Stanwell", "transportNetwork", "Railway Station",
               E0 + 1500, N0 + 500),
        os_row("SG11AA", "SG1 1AA", "other", "Postcode", E0 + 1400, N0 + 400),
        os_row("osgb4000000074500002", "", "transportNetwork", "Named Road", E0, N0),
        os_row("osgb4000000074500003", "Bad Road", "transportNetwork", "Named Road", "x", N0),  # type: ignore[arg-type]
        os_row("osgb4000000074500004", "Short Row", "landform", "Hill", E0, N0)[:33],
    ]  # fmt: skip
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


ONSPD_HEADER = [
    "pcd",
    "pcd2",
    "pcds",
    "dointr",
    "doterm",
    "oscty",
    "ced",
    "oslaua",
    "osward",
    "parish",
    "usertype",
    "oseast1m",
    "osnrth1m",
    "osgrdind",
    "oshlthau",
    "nhser",
    "ctry",
    "rgn",
    "streg",
    "pcon",
    "eer",
    "teclec",
    "ttwa",
    "pct",
    "itl",
    "statsward",
    "oa01",
    "casward",
    "park",
    "lsoa01",
    "msoa01",
    "ur01ind",
    "oac01",
    "oa11",
    "lsoa11",
    "msoa11",
    "wz11",
    "sicbl",
    "bua24",
    "ru11ind",
    "oac11",
    "lat",
    "long",
    "lep1",
    "lep2",
    "pfa",
    "imd",
    "calncv",
    "icb",
    "oa21",
    "lsoa21",
    "msoa21",
]


def onspd(path: Path, points: dict[str, tuple[float, float]]) -> Path:
    """ONSPD CSV: header row; live, terminated, no-grid-reference and bad postcodes."""
    rows = []
    for pcds, (lat, lon) in points.items():
        rows.append({"pcds": pcds, "lat": lat, "long": lon, "doterm": ""})
    rows.append({"pcds": "SG1 9ZZ", "lat": 51.9, "long": -0.2, "doterm": "201905"})
    rows.append({"pcds": "SG1 9ZY", "lat": 99.999999, "long": 0.0, "doterm": ""})
    rows.append({"pcds": "NOT A CODE", "lat": 51.9, "long": -0.2, "doterm": ""})
    rows.append({"pcds": "SG1 9ZX", "lat": "north", "long": -0.2, "doterm": ""})
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, ONSPD_HEADER, restval="")
        writer.writeheader()
        for row in rows:
            pcds = str(row["pcds"])
            writer.writerow({**row, "pcd": pcds.replace(" ", "").ljust(7), "pcd2": pcds,
                             "dointr": "198001", "usertype": "0", "ctry": "E92000001"})  # fmt: skip
    return path


NAPTAN_HEADER = [
    "ATCOCode",
    "NaptanCode",
    "PlateCode",
    "CleardownCode",
    "CommonName",
    "CommonNameLang",
    "ShortCommonName",
    "ShortCommonNameLang",
    "Landmark",
    "LandmarkLang",
    "Street",
    "StreetLang",
    "Crossing",
    "CrossingLang",
    "Indicator",
    "IndicatorLang",
    "Bearing",
    "NptgLocalityCode",
    "LocalityName",
    "ParentLocalityName",
    "GrandParentLocalityName",
    "Town",
    "TownLang",
    "Suburb",
    "SuburbLang",
    "LocalityCentre",
    "GridType",
    "Easting",
    "Northing",
    "Longitude",
    "Latitude",
    "StopType",
    "BusStopType",
    "TimingStatus",
    "DefaultWaitTime",
    "Notes",
    "NotesLang",
    "AdministrativeAreaCode",
    "CreationDateTime",
    "ModificationDateTime",
    "RevisionNumber",
    "Modification",
    "Status",
]


def naptan(path: Path, lat: float, lon: float) -> Path:
    """NaPTAN Stops.csv: a bus stop, a rail station by easting/northing, an inactive stop, a bad
    row."""
    rows = [
        {"ATCOCode": "1000DSGH0001", "CommonName": "Mill Lane", "Indicator": "Stop A",
         "Street": "Mill Lane", "LocalityName": "Stevenage", "Latitude": lat, "Longitude": lon,
         "StopType": "BCT", "Status": "active"},
        {"ATCOCode": "9100STEVNGE", "CommonName": "Stevenage Rail Station", "Indicator": "",
         "LocalityName": "Stevenage", "Easting": E0 + 1500, "Northing": N0 + 700,
         "StopType": "RLY", "Status": "active"},
        {"ATCOCode": "1000DSGH0002", "CommonName": "Old Stop", "Latitude": lat, "Longitude": lon,
         "StopType": "BCT", "Status": "inactive"},
        {"ATCOCode": "1000DSGH0003", "CommonName": "Far Stop", "Latitude": 12.0,
         "Longitude": lon, "StopType": "BCT", "Status": "active"},
    ]  # fmt: skip
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, NAPTAN_HEADER, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def landmarks_csv(path: Path, lat: float, lon: float) -> Path:
    path.write_text(
        "name,kind,lat,lon\n"
        f"Station car park,car park,{lat},{lon}\n"
        f"King George's Park,park,{lat + 0.001},{lon}\n"
        f"Nowhere,landmark,,{lon}\n"
        f",park,{lat},{lon}\n"
    )
    return path


def landmarks_geojson(path: Path, lat: float, lon: float) -> Path:
    features = [
        {"type": "Feature", "properties": {"name": "The Underpass", "kind": "underpass"},
         "geometry": {"type": "Point", "coordinates": [lon, lat]}},
        {"type": "Feature", "properties": {"name": "A line", "kind": "path"},
         "geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon, lat + 0.01]]}},
    ]  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path
