"""Survey areas through the gazetteer: partial postcodes kept as written and matched to postcode
districts and sectors; town and village names matched; what could not be matched reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from tests.factories import add_area
from tests.surveys.survey_files import (
    Q_AREA,
    mapping_toml,
    surveymonkey_grid,
    write_mapping,
    write_xlsx,
)

from saferstreets.places.layouts import PlaceRow
from saferstreets.places.service import save_places
from saferstreets.surveys.models import SurveyResponse
from saferstreets.surveys.service import import_survey

# District D1 (lon -0.42 to -0.38) holds ward W1 (west half) and W2 (east half); D2 is elsewhere.
W1_LON, W2_LON, LAT = -0.41, -0.39, 51.65


def _gazetteer(session: Any) -> None:
    add_area(session, "D1", "Hertsmere", "district", lon=-0.42, lat=51.64, size=0.04)
    add_area(session, "W1", "Central", "ward", parent="D1", lon=-0.42, lat=51.64, size=0.02)
    add_area(session, "W2", "Oxhey", "ward", parent="D1", lon=-0.40, lat=51.64, size=0.02)
    add_area(session, "D2", "Dacorum", "district", lon=-0.62, lat=51.74, size=0.04)
    session.flush()

    def place(i: int, name: str, kind: str, lon: float, lat: float = LAT) -> PlaceRow:
        postcode = name if kind == "postcode" else None
        return PlaceRow(i, f"{name}-{i}", name, kind, lat=lat, lon=lon, postcode=postcode)

    save_places(
        session=session,
        source="test",
        places=[
            place(1, "WD17 1AA", "postcode", W1_LON),  # sector WD17 1: all in W1
            place(2, "WD17 1AB", "postcode", W1_LON),
            place(3, "WD17 2AA", "postcode", W1_LON),  # sector WD17 2: half in W1, half in W2
            place(4, "WD17 2AB", "postcode", W2_LON),
            place(5, "Bushey", "town", W1_LON),
            place(6, "Carpenders Park", "village", W2_LON),
            place(7, "Aldbury", "village", W2_LON),  # a village of this name in each district
            place(8, "Aldbury", "village", -0.6, lat=51.76),
        ],
        h3_resolution=9,
    )
    session.commit()


def _row(ref: str, area: str, postcode: str) -> tuple[Any, ...]:
    return (ref, "03/09/2021 10:15", "25-34", area, postcode, "Very unsafe", "Fairly safe", [], "")


def test_partial_postcodes_towns_and_villages_find_their_areas(
    engine: sa.Engine, tmp_path: Path
) -> None:
    with sa.orm.Session(engine) as session:
        _gazetteer(session)
    rows = [
        _row("1", "", "wd17 1aa"),  # a whole postcode: its place's ward
        _row("2", "", "WD17 1"),  # a sector all in one ward: that ward
        _row("3", "", "wd17 2"),  # a sector split between wards: the district only
        _row("4", "", "WD17"),  # a district 3 of 4 in W1 (under 80%): the district only
        _row("5", "WD17 1", ""),  # a partial postcode typed as the area
        _row("6", "Bushey", ""),  # a town: its district
        _row("7", "carpenders park", ""),  # a village: its ward and district
        _row("8", "Aldbury", ""),  # villages of that name in two districts: not matched
        _row("9", "", "ZZ9 9ZZ"),  # a postcode the gazetteer does not hold
        _row("10", "Central", "WD17 2AB"),  # the area answer wins over the postcode
    ]
    path = write_xlsx(tmp_path / "areas.xlsx", {"Responses": surveymonkey_grid(rows)})
    summary = import_survey(
        engine=engine, path=path, mapping=write_mapping(tmp_path, mapping_toml())
    )
    with sa.orm.Session(engine) as session:
        got = {
            r.respondent_ref: (r.postcode, r.ward_code, r.district_code)
            for r in session.scalars(sa.select(SurveyResponse))
        }
    assert got == {
        "1": ("WD17 1AA", "W1", "D1"),
        "2": ("WD17 1", "W1", "D1"),  # kept as written: not WD171
        "3": ("WD17 2", None, "D1"),
        "4": ("WD17", None, "D1"),
        "5": (None, "W1", "D1"),
        "6": (None, None, "D1"),
        "7": (None, "W2", "D1"),
        "8": (None, None, None),
        "9": ("ZZ9 9ZZ", None, None),
        "10": ("WD17 2AB", "W1", "D1"),
    }
    [problem] = summary.problems
    assert str(problem).endswith(
        f"field '{Q_AREA}': 'Aldbury' names places in more than one district (D1, D2)"
    )
    assert (
        "areas matched through the gazetteer: 4 by postcode, 1 by postcode in the area answer, "
        "1 by town name, 1 by village name" in summary.message
    )
    assert "1 postcodes matched no place in the gazetteer (ZZ9 9ZZ)" in summary.message
