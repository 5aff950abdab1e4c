"""An issue has a place: derived from its reports without showing any one of them, or drawn by the
officer (on the map, or by naming streets without JavaScript); stored, audited and named."""

from __future__ import annotations

import json
import re
from typing import Any

import h3
import numpy as np
import pytest
import sqlalchemy as sa
from shapely.geometry import Point, shape
from tests.factories import add_area, add_report

from saferstreets.accounts.models import AuditEvent
from saferstreets.accounts.service import create_user
from saferstreets.actions import place, service
from saferstreets.actions.models import LocalIssue
from saferstreets.db import session_scope
from saferstreets.errors import ValidationFailed
from saferstreets.places.layouts import PlaceRow
from saferstreets.places.service import save_places

LAT, LON = 51.805, -0.295  # the middle of the factories' ward W1 (a 0.01° square)


def _places(session: Any) -> None:
    save_places(
        session=session,
        source="landmarks",
        places=[
            PlaceRow(1, "mill", "Mill Lane", "street", lat=LAT + 0.0004, lon=LON),
            PlaceRow(2, "stn", "Castle", "station", lat=LAT, lon=LON + 0.0005),
            PlaceRow(3, "far", "Far Road", "street", lat=LAT + 0.004, lon=LON + 0.004),
        ],
        h3_resolution=9,
    )


@pytest.fixture
def ward(session):  # type: ignore[no-untyped-def]
    add_area(session, "D1", "Northbury", "district", lon=-0.32, lat=51.78, size=0.05)
    add_area(session, "W1", "Castle", "ward", parent="D1")
    add_area(session, "W2", "Riverside", "ward", parent="D1", lon=-0.31, lat=51.79)
    _places(session)
    officer = create_user(
        session=session, username="pc", password="long enough pw", role="ward_officer", wards=["W1"]
    )
    session.commit()
    return officer


def _issue(session: Any, officer: Any, points: list[tuple[float, float]]) -> LocalIssue:
    reports = [
        add_report(session, ward="W1", district="D1", reasons=["poor_lighting"], lat=a, lon=b)
        for a, b in points
    ]
    return service.create_issue(
        session=session,
        user=officer,
        ward_code="W1",
        title="Dark lane",
        report_ids=[r.id for r in reports],
    )


def test_an_outline_never_shows_where_fewer_than_three_reports_were_made() -> None:
    rng = np.random.default_rng(7)
    assert place.outline_from_points([(LAT, LON), (LAT, LON)]) is None  # two could be pointed at
    cluster = [(LAT + d, LON + e) for d, e in rng.normal(0, 0.0002, size=(8, 2))]
    strays = [(LAT + 0.02, LON + 0.02), (LAT - 0.02, LON + 0.03), (LAT + 0.03, LON - 0.02)]
    outline = place.outline_from_points(cluster + strays)
    assert outline is not None
    geom = shape(outline.geometry)
    # Every cluster report is inside; no stray (each alone in its cell) is, at any resolution.
    cells = {h3.latlng_to_cell(a, b, outline.resolution) for a, b in cluster}
    held = sum(1 for a, b in cluster if h3.latlng_to_cell(a, b, outline.resolution) in cells)
    assert outline.reports_in == held == 8 and outline.reports_located == 11
    assert all(geom.contains(Point(b, a)) for a, b in cluster)
    assert not any(geom.buffer(0.002).contains(Point(b, a)) for a, b in strays)
    # Generalised: no vertex of the outline is a report's point.
    vertices = {tuple(np.round(c, 7)) for c in geom.exterior.coords}
    assert not vertices & {(round(b, 7), round(a, 7)) for a, b in cluster}


def test_too_scattered_reports_give_no_outline() -> None:
    scattered = [(LAT + 0.05 * i, LON + 0.05 * i) for i in range(5)]
    assert place.outline_from_points(scattered) is None


def test_a_derived_place_is_stored_named_and_audited(session, ward) -> None:  # type: ignore[no-untyped-def]
    issue = _issue(session, ward, [(LAT, LON)] * 2)
    assert issue.place_geometry is None and issue.place_source is None  # two: no outline
    third = add_report(
        session, ward="W1", district="D1", reasons=["poor_lighting"], lat=LAT, lon=LON
    )
    service.link_reports(session=session, issue=issue, report_ids=[third.id], user=ward)
    assert issue.place_source == "reports"
    assert shape(issue.place_geometry).contains(Point(LON, LAT))
    assert issue.place_name == "around Mill Lane and Castle station, Castle"
    audits = session.scalars(
        sa.select(AuditEvent.detail).where(
            AuditEvent.object_kind == "local_issue", AuditEvent.object_id == str(issue.id)
        )
    ).all()
    assert {"place": "reports"} in audits
    geo = place.place_geojson(issue)
    assert [f["geometry"]["type"] for f in geo["features"]] == ["Polygon"]


def test_the_issue_point_is_inside_its_place_never_a_report_point(session, ward) -> None:  # type: ignore[no-untyped-def]
    her = (LAT + 0.0011, LON - 0.0013)
    issue = _issue(session, ward, [her])
    assert (issue.latitude, issue.longitude) == (None, None)  # one report: no place, no point
    more = [add_report(session, ward="W1", district="D1", reasons=["poor_lighting"], lat=LAT,
                       lon=LON) for _ in range(3)]  # fmt: skip
    service.link_reports(session=session, issue=issue, report_ids=[r.id for r in more], user=ward)
    assert issue.latitude is not None and issue.longitude is not None
    assert shape(issue.place_geometry).contains(Point(issue.longitude, issue.latitude))
    located = [her, (LAT, LON)]
    assert (issue.latitude, issue.longitude) not in located
    # Not the mean of the four reports either (which an attacker could undo).
    mean = ((her[0] + 3 * LAT) / 4, (her[1] + 3 * LON) / 4)
    assert (issue.latitude, issue.longitude) != pytest.approx(mean)


def test_deleting_a_report_derives_the_place_again_without_it(session, ward) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.reports.models import Report
    from saferstreets.retention.service import erase_report

    issue = _issue(session, ward, [(LAT, LON)] * 3)
    assert issue.place_source == "reports" and issue.latitude is not None
    her = session.scalars(sa.select(Report).order_by(Report.id)).first()
    erase_report(session=session, report=her)
    session.refresh(issue)
    # Two reports left: an outline would point at them, so the place and its point go.
    assert (issue.place_geometry, issue.place_source) == (None, None)
    assert (issue.latitude, issue.longitude) == (None, None)


def test_an_officer_draws_the_place_and_bad_drawings_are_refused(session, ward) -> None:  # type: ignore[no-untyped-def]
    issue = _issue(session, ward, [])
    square = [[LAT - 0.001, LON - 0.001], [LAT - 0.001, LON + 0.001],
              [LAT + 0.001, LON + 0.001], [LAT + 0.001, LON - 0.001]]  # fmt: skip
    place.draw_place(session=session, issue=issue, user=ward, polygon=json.dumps(square))
    assert issue.place_source == "drawn"
    assert shape(issue.place_geometry).area == pytest.approx(0.002 * 0.002)
    assert issue.place_name == "around Mill Lane and Castle station, Castle"
    bad = {
        "not json": "could not be read",
        json.dumps(square[:2]): "between 3 and",
        json.dumps([[LAT, LON], [LAT, "x"], [LAT + 1, LON]]): "latitude and a longitude",
        json.dumps(
            [[LAT, LON], [LAT + 0.001, LON + 0.001], [LAT, LON + 0.001], [LAT + 0.001, LON]]
        ): "crosses itself",
        json.dumps([[50.0, -1.0], [50.0, -1.001], [50.001, -1.0]]): "not in the issue's ward",
        json.dumps([[51.0, -1.0], [51.0, 0.0], [52.0, 0.0]]): "km²",
    }
    for polygon, message in bad.items():
        with pytest.raises(ValidationFailed, match=message):
            place.draw_place(session=session, issue=issue, user=ward, polygon=polygon)
    assert issue.place_source == "drawn"  # the good drawing stands


def test_without_javascript_the_place_is_named_streets(session, ward) -> None:  # type: ignore[no-untyped-def]
    issue = _issue(session, ward, [])
    place.place_from_names(
        session=session, issue=issue, user=ward, names="Mill Lane\nCastle station"
    )
    outline = shape(issue.place_geometry)
    assert issue.place_source == "places"
    assert outline.contains(Point(LON, LAT + 0.0004)) and outline.contains(Point(LON + 0.0005, LAT))
    with pytest.raises(ValidationFailed, match="Not found in or by Castle: Nowhere Street"):
        place.place_from_names(
            session=session, issue=issue, user=ward, names="Mill Lane; Nowhere Street"
        )
    with pytest.raises(ValidationFailed, match="at least one"):
        place.place_from_names(session=session, issue=issue, user=ward, names=" ;\n")


def _token(text: str) -> str:
    return text.split('name="csrf_token" value="')[1].split('"')[0]


def test_the_issue_page_shows_and_sets_its_place(client, engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district", lon=-0.32, lat=51.78, size=0.05)
        add_area(session, "W1", "Castle", "ward", parent="D1")
        _places(session)
        officer = create_user(session=session, username="pc", password="long enough pw",
                              role="ward_officer", wards=["W1"])  # fmt: skip
        issue_id = _issue(session, officer, [(LAT, LON)] * 3).id
    client.post("/login", data={"username": "pc", "password": "long enough pw",
                                "csrf_token": _token(client.get("/login").text)})  # fmt: skip
    page = client.get(f"/staff/issues/{issue_id}")
    assert "Around Mill Lane and Castle station, Castle" in page.text
    assert "from the linked reports" in page.text
    geo = client.get(f"/staff/issues/{issue_id}/place.geojson").json()
    assert len(geo["features"]) == 1 and "Point" not in json.dumps(geo)
    token = _token(page.text)
    bad = client.post(f"/staff/issues/{issue_id}/place",
                      data={"csrf_token": token, "names": "Nowhere <b>Street</b>"})  # fmt: skip
    assert bad.status_code == 422
    assert "Not found in or by Castle: Nowhere &lt;b&gt;Street&lt;/b&gt;" in bad.text
    assert "<b>Street</b>" not in bad.text
    url = f"/staff/issues/{issue_id}/place"
    done = client.post(url, data={"csrf_token": token, "names": "Far Road"}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(f"/staff/issues/{issue_id}")
    assert re.search(
        r"Around Far Road, Castle</strong> <span class=\"meta\">\(from the streets", page.text
    )
    forged = client.post(f"/staff/issues/{issue_id}/place",
                         data={"csrf_token": "forged", "names": "Mill Lane"})  # fmt: skip
    assert forged.status_code == 403
    assert "Around Far Road" in client.get(f"/staff/issues/{issue_id}").text  # unchanged
    again = client.post(
        url, data={"csrf_token": token, "source": "reports"}, follow_redirects=False
    )
    assert again.status_code == 303
    assert "from the linked reports" in client.get(f"/staff/issues/{issue_id}").text
