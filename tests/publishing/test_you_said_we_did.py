"""Public pages never expose a reporter: small counts suppressed, no points, no free text."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from xml.etree import ElementTree as ET

import h3
from tests.factories import add_area, add_report

from saferstreets.actions.models import PublicUpdate
from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.publishing.batch import publish
from saferstreets.publishing.service import public_count, suppress_parts


def test_suppression_rules() -> None:
    assert public_count(0, 10).value == 0
    assert public_count(9, 10).suppressed
    assert public_count(10, 10).value == 10
    # one hidden part could be recovered from the total: a second part is hidden with it
    shown = suppress_parts([25, 4, 12, 0], 10)
    assert [c.suppressed for c in shown] == [False, True, True, False]
    assert [c.suppressed for c in suppress_parts([25, 4, 3], 10)] == [False, True, True]


def _county(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district")
        add_area(session, "W1", "Castle", "ward", parent="D1")
        add_area(session, "W2", "Riverside", "ward", parent="D1")
        add_area(session, "W3", "Oldfield", "ward", parent="D1")
        cell = h3.latlng_to_cell(51.805, -0.295, 9)
        for _ in range(14):
            add_report(
                session,
                ward="W1",
                district="D1",
                reasons=["poor_lighting"],
                h3_cell=cell,
                free_text="A man called Darren follows women here",
            )
        for _ in range(3):
            add_report(session, ward="W2", district="D1", reasons=["being_followed"], h3_cell=cell)
        for _ in range(11):
            add_report(session, ward="W3", district="D1", reasons=["isolated"], h3_cell=cell)
        session.add(
            PublicUpdate(
                area_code="W1",
                title="Lights repaired on Canal Walk",
                body="The council repaired six street lights.",
                themes=["poor_lighting"],
                published_on=date(2021, 11, 3),
            )
        )
    _publish(engine)


def _publish(engine, **settings) -> None:  # type: ignore[no-untyped-def]
    """Publish a batch, as `saferstreets publish` does (public pages read only batches)."""
    with session_scope(engine) as session:
        publish(
            session=session,
            settings=Settings(env="test", **settings),
            now=datetime(2021, 11, 4, 6),
        )


def test_area_page_suppresses_and_hides_text(client, engine) -> None:  # type: ignore[no-untyped-def]
    _county(engine)
    district = client.get("/areas/D1")
    assert district.status_code == 200
    assert "28 reports" in district.text
    assert "Lights repaired on Canal Walk" in district.text
    assert "Darren" not in district.text
    data = client.get("/areas/D1.json").json()
    wards = {w["code"]: w["reports"] for w in data["wards"]}
    assert wards["W1"] == {"value": 14, "suppressed": False}
    assert wards["W2"] == {"value": None, "suppressed": True}
    assert wards["W3"] == {"value": None, "suppressed": True}  # complementary suppression
    themes = {t["code"]: t["reports"] for t in data["themes"]}
    assert themes["being_followed"]["suppressed"] is True
    assert themes["poor_lighting"]["value"] == 14


def test_public_map_shows_only_coarse_cells(client, engine) -> None:  # type: ignore[no-untyped-def]
    _county(engine)
    geo = client.get("/api/public/areas/W1/cells.geojson").json()
    assert len(geo["features"]) == 1
    assert geo["features"][0]["properties"]["count"] == 14
    assert client.get("/api/public/areas/W2/cells.geojson").json()["features"] == []  # 3 < 10


def test_open_data_csv_is_suppressed(client, engine) -> None:  # type: ignore[no-untyped-def]
    _county(engine)
    response = client.get("/open-data/you-said-we-did.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    w2 = next(r for r in rows if r["area_code"] == "W2" and r["theme_code"] == "all")
    assert w2["reports"] == "" and w2["suppressed_below_threshold"] == "yes"
    d1 = next(r for r in rows if r["area_code"] == "D1" and r["theme_code"] == "all")
    assert d1["reports"] == "28"


def test_atom_feed_escapes_and_lists_updates(client, engine) -> None:  # type: ignore[no-untyped-def]
    _county(engine)
    with session_scope(engine) as session:
        session.add(
            PublicUpdate(
                area_code="W1",
                title="<script>alert(1)</script> & more",
                body="Body",
                published_on=date(2021, 12, 1),
            )
        )
    response = client.get("/areas/W1/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    titles = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}title")]
    assert "<script>alert(1)</script> & more" in titles
    assert b"<script>" not in response.content


def test_unknown_area_is_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/areas/NOPE")
    assert response.status_code == 404
    assert "no district or ward" in response.text
