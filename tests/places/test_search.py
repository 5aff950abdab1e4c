"""Search by name or postcode (service, JSON, the report form without JavaScript, the public
"find your area"), and naming a point or cell."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h3
import pytest
import sqlalchemy as sa
from tests.factories import add_area
from tests.places import placefiles as pf
from tests.reports.conftest import csrf_of, receipt_of
from tests.reports.county import INSIDE

from saferstreets.db import session_factory
from saferstreets.places.naming import describe_cell, describe_point
from saferstreets.places.search import search_places
from saferstreets.places.service import import_places
from saferstreets.reports.models import Report

NORTHGATE, RIVERSIDE, EASTBROOK = "E05009001", "E05009004", "E05009003"
N_LAT, N_LON = INSIDE[NORTHGATE]  # 51.80, -0.40
R_LAT, R_LON = INSIDE[RIVERSIDE]  # 51.65, -0.05


def _gazetteer(engine: sa.Engine, tmp_path: Path) -> None:
    """Landmarks and postcodes over the tiny county (two Mill Lanes, one in each district)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    marks = tmp_path / "landmarks.csv"
    marks.write_text(
        "name,kind,lat,lon\n"
        f"Stanwell,station,{N_LAT},{N_LON}\n"
        f"Mill Park,park,{N_LAT - 0.001},{N_LON}\n"
        f"Station car park,car park,{N_LAT + 0.0005},{N_LON + 0.0005}\n"
        f"<b>Bold</b> Corner,landmark,{R_LAT},{R_LON}\n"
    )
    # Two streets of one name: a name and kind identify a landmark, so these carry ids.
    lanes = tmp_path / "lanes.csv"
    lanes.write_text(
        "id,name,kind,lat,lon\n"
        f"lane-north,Mill Lane,street,{N_LAT + 0.001},{N_LON}\n"
        f"lane-river,Mill Lane,street,{R_LAT + 0.001},{R_LON}\n"
    )
    codes = pf.onspd(
        tmp_path / "ONSPD.csv",
        {
            "WY5 6AB": (N_LAT, N_LON),
            "WY5 6CD": (N_LAT + 0.002, N_LON),
            "WY5 7EF": (R_LAT, R_LON),
            "WY50 1AA": (R_LAT, R_LON),
        },
    )
    summaries = import_places(engine=engine, paths=[marks, lanes, codes], h3_resolution=9)
    assert all(s.status == "ok" for s in summaries), [s.line() for s in summaries]


@pytest.fixture
def gazetteer(county: sa.Engine, tmp_path: Path) -> sa.Engine:
    _gazetteer(county, tmp_path / "gaz")
    return county


def test_prefix_word_typo_kind_and_distance(gazetteer: sa.Engine) -> None:
    with session_factory(gazetteer)() as s:
        assert search_places(session=s, text="Stanwell station")[0].name == "Stanwell"
        assert search_places(session=s, text="stan")[0].kind == "station"  # prefix
        assert search_places(session=s, text="Stanwel statoin")[0].name == "Stanwell"  # typos
        assert "car park" not in [m.name for m in search_places(session=s, text="xyzzy")]
        found = search_places(session=s, text="mill")
        assert [m.kind for m in found] == ["street", "street", "park"]  # streets before parks
        near_river = search_places(session=s, text="mill lane", near=(R_LAT, R_LON))
        assert near_river[0].ward_code == RIVERSIDE
        near_north = search_places(session=s, text="mill lane", near=(N_LAT, N_LON))
        assert near_north[0].ward_code == NORTHGATE
        assert search_places(session=s, text="lane")[0].name == "Mill Lane"  # a word's start
        assert search_places(session=s, text="%") == []
        assert search_places(session=s, text="_i") == []  # wildcards are literal


def test_whole_and_partial_postcodes(gazetteer: sa.Engine) -> None:
    with session_factory(gazetteer)() as s:
        [whole] = search_places(session=s, text="wy56ab")
        assert (whole.name, whole.ward_code) == ("WY5 6AB", NORTHGATE)
        [sector] = search_places(session=s, text="WY5 6")
        assert (sector.name, sector.area_code) == ("WY5 6", NORTHGATE)
        assert sector.detail == "postcode sector, mostly in Northgate"
        [district] = search_places(session=s, text="WY5")
        # WY5 6AB, WY5 6CD in Northgate and WY5 7EF in Riverside; WY50 1AA is not in WY5
        assert (district.name, district.area_code) == ("WY5", NORTHGATE)
        assert district.latitude == pytest.approx((N_LAT * 2 + 0.002 + R_LAT) / 3)
        assert search_places(session=s, text="ZZ9 9ZZ") == []


def test_describe_point_and_cell(gazetteer: sa.Engine) -> None:
    with session_factory(gazetteer)() as s:
        name = describe_point(session=s, lat=N_LAT + 0.0002, lon=N_LON)
        assert name == "near Mill Lane and Stanwell station, Northgate"
        cell = h3.latlng_to_cell(R_LAT, R_LON, 9)
        assert describe_cell(session=s, cell=cell).endswith(", Riverside")
        assert describe_point(session=s, lat=51.70, lon=-0.30) == "Southmead"  # no place near
        assert describe_cell(session=s, cell="not-a-cell") == "not-a-cell"
        # with no place near, a town centre the point is in is named before its ward
        add_area(s, "TC9", "Southmead town centre", "town_centre", lon=-0.32, lat=51.69, size=0.02)
        s.commit()
        assert describe_point(session=s, lat=51.70, lon=-0.31) == "Southmead town centre"
        add_area(s, "TC8", "Old Market", "town_centre", lon=-0.45, lat=51.69, size=0.02)
        s.commit()
        assert describe_point(session=s, lat=51.70, lon=-0.44) == "Old Market, Southmead"
        # a place near still names the point first
        assert describe_point(session=s, lat=N_LAT + 0.0002, lon=N_LON).startswith("near Mill")


def test_json_search_and_describe(web, gazetteer: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    body = web.get("/api/places/search.json", params={"q": "stanwell"}).json()
    assert body["places"][0]["name"] == "Stanwell"
    assert body["places"][0]["area_code"] == NORTHGATE
    assert web.get("/api/places/search.json?q=s").status_code == 422
    assert web.get("/api/places/search.json?q=mill&lat=91&lon=0").status_code == 422
    near = web.get("/api/places/search.json", params={"q": "mill lane", "lat": R_LAT, "lon": R_LON})
    assert near.json()["places"][0]["ward_code"] == RIVERSIDE
    named = web.get("/api/places/describe.json", params={"lat": N_LAT, "lon": N_LON}).json()
    assert named["name"].endswith(", Northgate")


DAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def _form(web, **fields):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": csrf_of(web.get("/report").text),
        "action": "find",
        "latitude": "",
        "longitude": "",
        "occurred_on": DAY,
        "time_band": "evening",
        "reasons": ["poor_lighting"],
    }
    data.update(fields)
    return data


def test_report_form_finds_a_station_and_pins_it_without_javascript(web, gazetteer) -> None:  # type: ignore[no-untyped-def]
    data = _form(web, place_text="Stanwell station")
    step = web.post("/report", data=data)
    assert step.status_code == 200
    assert "We could not find" not in step.text
    choices = re.findall(r'name="area_code" value="([^"]+)"', step.text)
    assert choices and choices[0].startswith("place:")
    assert 'Stanwell <span class="muted">(station)</span>' in step.text
    sent = web.post("/report", data={**data, "action": "send", "area_code": choices[0]})
    assert sent.status_code == 200 and receipt_of(sent.text)
    with session_factory(gazetteer)() as session:
        report = session.scalar(sa.select(Report))
        assert (report.latitude, report.longitude) == pytest.approx((N_LAT, N_LON))
        assert (report.ward_code, report.place_text) == (NORTHGATE, "Stanwell station")


def test_report_form_finds_a_partial_postcode_as_its_area(web, gazetteer) -> None:  # type: ignore[no-untyped-def]
    step = web.post("/report", data=_form(web, place_text="wy5 6"))
    assert re.findall(r'name="area_code" value="([^"]+)" checked', step.text) == [NORTHGATE]
    assert "WY5 6" in step.text and "postcode sector" in step.text


def test_place_names_are_escaped_and_forged_choices_ignored(web, gazetteer) -> None:  # type: ignore[no-untyped-def]
    step = web.post("/report", data=_form(web, place_text="bold corner"))
    assert "&lt;b&gt;Bold&lt;/b&gt; Corner" in step.text and "<b>Bold</b>" not in step.text
    forged = web.post("/report", data=_form(web, action="send", area_code="place:99999"))
    assert forged.status_code == 422  # no such place: no pin, no area, asked again
    assert (
        web.post("/report", data=_form(web, action="send", area_code="place:x")).status_code == 422
    )


def test_public_find_your_area_by_postcode_street_or_name(web, gazetteer) -> None:  # type: ignore[no-untyped-def]
    page = web.get("/areas", params={"q": "WY5 7EF"})
    assert page.status_code == 200
    assert 'href="/areas/E05009004">Riverside</a>' in page.text
    street = web.get("/areas", params={"q": "mill lane"}).text
    assert 'href="/areas/E05009001">Northgate</a>' in street
    assert 'href="/areas/E05009004">Riverside</a>' in street
    none = web.get("/areas", params={"q": "<script>x</script>"}).text
    assert "We could not find “&lt;script&gt;x&lt;/script&gt;”" in none
    assert web.get("/areas").status_code == 200  # no search: the list as before


def test_public_find_your_area_by_tapping_the_map(web, gazetteer) -> None:  # type: ignore[no-untyped-def]
    """A tap (with JavaScript) is a GET with the point: straight to the ward's page."""
    tap = web.get("/areas", params={"lat": R_LAT, "lon": R_LON}, follow_redirects=False)
    assert (tap.status_code, tap.headers["location"]) == (303, f"/areas/{RIVERSIDE}")
    assert web.get(tap.headers["location"]).status_code == 200
    north = web.get("/areas", params={"lat": N_LAT, "lon": N_LON}, follow_redirects=False)
    assert north.headers["location"] == f"/areas/{NORTHGATE}"
    sea = web.get("/areas", params={"lat": 50.0, "lon": -3.0}, follow_redirects=False)
    assert sea.status_code == 200 and "That point is outside the areas we cover" in sea.text
    for bad in ({"lat": 999, "lon": 0}, {"lat": "x", "lon": 0}, {"lat": "nan", "lon": "nan"}):
        assert web.get("/areas", params=bad, follow_redirects=False).status_code == 422
    # The page offers the map to tap (shown by its script) beside the search without JavaScript.
    page = web.get("/areas").text
    assert 'id="area-finder-wrap" hidden' in page and 'name="q"' in page
    assert "/static/js/area-finder.js" in page
