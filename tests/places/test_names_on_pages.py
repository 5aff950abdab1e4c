"""Pages that showed H3 ids name the place instead: a partner's referral names its issue's place
and lists the streets and landmarks in it."""

from __future__ import annotations

import h3
import sqlalchemy as sa
from tests.factories import add_area, add_report

from saferstreets.accounts.service import create_user
from saferstreets.actions import service
from saferstreets.places.layouts import PlaceRow
from saferstreets.places.naming import describe_cells
from saferstreets.places.service import save_places

LAT, LON = 51.805, -0.295  # inside the factories' ward W1 (Castle)


def _token(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def test_a_referral_lists_where_by_name_not_by_cell(client, session) -> None:  # type: ignore[no-untyped-def]
    add_area(session, "D1", "Northbury", "district")
    add_area(session, "W1", "Castle", "ward", parent="D1")
    save_places(
        session=session,
        source="landmarks",
        places=[
            PlaceRow(1, "lane", "Canal Lane", "street", lat=LAT + 0.0003, lon=LON),
            PlaceRow(2, "cp", "Lock car park", "landmark", lat=LAT, lon=LON + 0.0004),
        ],
        h3_resolution=9,
    )
    officer = create_user(session=session, username="pc", password="long enough pw",
                          role="ward_officer", wards=["W1"])  # fmt: skip
    create_user(session=session, username="cl", password="long enough pw", role="partner",
                partner="council_lighting")  # fmt: skip
    cell = h3.latlng_to_cell(LAT, LON, 9)
    reports = [
        add_report(
            session,
            ward="W1",
            district="D1",
            reasons=["poor_lighting"],
            h3_cell=cell,
            lat=LAT,
            lon=LON,
            free_text="secret words",
        )
        for _ in range(3)
    ]
    issue = service.create_issue(session=session, user=officer, ward_code="W1", title="Dark lock",
                                 report_ids=[r.id for r in reports])  # fmt: skip
    service.refer(session=session, issue=issue, user=officer, partner="council_lighting",
                  request="Lamps")  # fmt: skip
    session.commit()
    expected = describe_cells(session=session, cells=[cell])[cell]
    assert expected == "near Canal Lane and Lock car park, Castle"
    client.post("/login", data={"username": "cl", "password": "long enough pw",
                                "csrf_token": _token(client.get("/login").text)})  # fmt: skip
    page = client.get("/staff/referrals")
    assert page.status_code == 200
    assert "<strong>Where:</strong> Around Canal Lane and Lock car park, Castle" in page.text
    assert "<strong>Streets:</strong> Canal Lane" in page.text
    assert "<strong>Landmarks and stops:</strong> Lock car park" in page.text
    assert cell not in page.text and "secret words" not in page.text
    assert session.scalar(sa.select(sa.func.count()).select_from(sa.text("place"))) == 2
