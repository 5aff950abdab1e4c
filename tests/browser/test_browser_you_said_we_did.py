"""The public "you said, we did" pages as a person uses them, on a phone and on a desktop:
accessibility (axe, WCAG 2.2 AA), the coarse-cell map, suppression, no free text or exact points,
the CSV and Atom links, and quick exit."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import h3
import pytest
from tests.browser import _fixtures
from tests.browser._fixtures import (
    ALDERTON,
    EASTBROOK,
    NORTHGATE,
    SECRET_WORDS,
    SOUTHMEAD,
    Seeded,
)
from tests.browser.conftest import EXIT_URL
from tests.browser.screens import SIZES

from saferstreets.db import session_scope
from saferstreets.publishing import service

K = 10  # Settings.public_min_count on the live server (the default)
seeded = _fixtures.seeded  # the seeded store, as a fixture of this module
PAGES = {
    "areas": "/areas",
    "district": f"/areas/{ALDERTON}",
    # Eastbrook's map is shown. Northgate's is not: Alderton (27) minus Southmead (3) would give
    # Northgate away, so Northgate is hidden by complementary suppression, its map cell with it.
    "ward": f"/areas/{EASTBROOK}",
    "ward-suppressed": f"/areas/{SOUTHMEAD}",
}
ATOM = "{http://www.w3.org/2005/Atom}"


def _area(seeded: Seeded, code: str) -> service.AreaPage:
    with session_scope(seeded.server.engine) as session:
        page = service.area_page(session=session, code=code, k=K)
        session.expunge_all()
        return page


def _assert_nothing_private(text: str, seeded: Seeded, where: str) -> None:
    """No reporter's words, phone number or exact place in what the public receives."""
    for word in SECRET_WORDS:
        assert word not in text, f"free text ({word!r}) on {where}"
    assert "07700" not in text and "pitch black" not in text, f"free text on {where}"
    for lat, lon in seeded.report_points:
        for value in (f"{lat:.4f}", f"{lon:.4f}"):
            assert value not in text, f"an exact point ({value}) on {where}"


@pytest.mark.parametrize("size", list(SIZES))
def test_pages_pass_axe_and_show_no_private_detail(  # type: ignore[no-untyped-def]
    new_page, seeded, assert_accessible, assert_fits_screen, screenshot, size: str
) -> None:
    page = new_page(**SIZES[size])
    for name, path in PAGES.items():
        page.goto(path)
        page.wait_for_load_state("networkidle")
        if path == PAGES["ward"]:
            page.wait_for_selector(".map path.cell", state="attached")
        assert page.locator("h1").count() == 1
        _assert_nothing_private(page.content(), seeded, path)
        assert_accessible(page, f"{path} ({size})")
        assert_fits_screen(page, f"{path} at {size} size")
        screenshot(page, f"ysd-{name}-{size}")


def test_hidden_counts_read_not_shown(page, seeded) -> None:  # type: ignore[no-untyped-def]
    with session_scope(seeded.server.engine) as session:
        districts = [(d.name, c, [(w.name, wc) for w, wc in wards])
                     for d, c, wards in service.public_areas(session=session, k=K)]  # fmt: skip
    page.goto("/areas")
    hidden = 0
    for d_name, _count, wards in districts:
        link = page.get_by_role("link", name=d_name, exact=True)
        section = page.locator("section.district", has=link)
        section.locator("summary").click()  # open the ward list as she would
        for w_name, wcount in wards:
            item = section.locator("li", has=page.get_by_role("link", name=w_name, exact=True))
            assert item.inner_text().strip() == f"{w_name} {wcount.text(K)}"
            hidden += wcount.suppressed
    assert hidden >= 2  # Southmead and, by complementary suppression, another ward
    # The ward with three reports, on its own page.
    southmead = _area(seeded, SOUTHMEAD)
    assert southmead.reports.suppressed
    page.goto(f"/areas/{SOUTHMEAD}")
    assert "The number of reports here is not shown" in page.inner_text(".lead")
    assert "Where" not in [h.strip() for h in page.locator("h2").all_inner_texts()]  # no map
    lines = (
        "el => { const r = document.createRange(); r.selectNodeContents(el);"
        " return r.getClientRects().length; }"
    )
    for row in page.locator("table.data tbody tr").all():
        assert row.locator("td.num").inner_text() == "not shown"
        assert row.locator("td.num").evaluate(lines) == 1  # on one line, on a phone too
    # The district page: a ward hidden by complementary suppression cannot be found by subtraction.
    page.goto(f"/areas/{ALDERTON}")
    items = page.locator(".ward-list li").all_inner_texts()
    assert items and all(t.endswith("not shown") for t in items), items


def test_ward_map_shows_coarse_cells_only(page, seeded, screenshot) -> None:  # type: ignore[no-untyped-def]
    assert _area(seeded, NORTHGATE).cells == []  # hidden with Northgate's total (see PAGES)
    expected = _area(seeded, EASTBROOK).cells
    assert expected  # the seeded cluster is big enough to be shown
    page.goto(f"/areas/{EASTBROOK}")
    page.wait_for_selector(".map path.cell", state="attached")
    assert page.locator(".map path.cell").count() == len(expected)
    # The wards of the district are the base map, this ward outlined, so the shading has a place.
    assert page.locator(".map path.boundary").count() == 2
    label = page.get_attribute(".map", "aria-label") or ""
    assert "coarse areas" in label
    data = page.request.get(f"/api/public/areas/{EASTBROOK}/cells.geojson").json()
    assert len(data["features"]) == len(expected)
    for feature, (cell, n) in zip(data["features"], expected, strict=True):
        assert h3.get_resolution(cell) == service.PUBLIC_H3_RESOLUTION
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and len(ring) == 7  # a hexagon, not a point
        lat = sum(p[1] for p in ring[:-1]) / 6
        lon = sum(p[0] for p in ring[:-1]) / 6
        assert h3.latlng_to_cell(lat, lon, service.PUBLIC_H3_RESOLUTION) == cell
        assert feature["properties"]["count"] == n >= K
    _assert_nothing_private(str(data["features"][0]["properties"]), seeded, "the cells GeoJSON")
    # The hexagon tells its count when tapped or hovered.
    page.locator(".map path.cell").first.hover()
    assert page.locator(".leaflet-tooltip").inner_text() == f"Reports here: {expected[0][1]:,}"
    screenshot(page, "ysd-ward-map-tooltip")


def test_csv_and_atom_links(page, seeded) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.actions.updates import publish_update

    with session_scope(seeded.server.engine) as session:
        publish_update(
            session=session, user=None, area_code=ALDERTON, title="Street lights <repaired>",
            body="Twelve lights were repaired along the canal & the park.",
        )  # fmt: skip
    expected = _area(seeded, EASTBROOK)
    page.goto(f"/areas/{EASTBROOK}")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download these figures (CSV)").click()
    download = info.value
    assert download.suggested_filename == f"you-said-we-did-{EASTBROOK}.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    _assert_nothing_private(text, seeded, "the ward CSV")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["theme"] == "All reports" and rows[0]["reports"] == str(expected.reports.value)
    by_theme = {r["theme_code"]: r for r in rows[1:]}
    for code, _label, count in expected.themes:
        assert by_theme[code]["reports"] == ("" if count.suppressed else str(count.value))
        assert by_theme[code]["suppressed_below_threshold"] == ("yes" if count.suppressed else "no")
    assert any(r["suppressed_below_threshold"] == "yes" for r in rows)  # "Being followed" (3)
    # The feed, found as a feed reader finds it, from the district page (it carries ward updates).
    page.goto(f"/areas/{ALDERTON}")
    href = page.get_attribute("link[rel=alternate][type='application/atom+xml']", "href")
    assert href == page.get_attribute("a:text('Follow updates (Atom feed)')", "href")
    response = page.request.get(href)
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.body())
    entries = {
        e.findtext(f"{ATOM}title"): e.findtext(f"{ATOM}content")
        for e in feed.findall(f"{ATOM}entry")
    }
    assert (
        entries["Street lights <repaired>"]
        == "Twelve lights were repaired along the canal & the park."
    )
    _assert_nothing_private(response.text(), seeded, "the Atom feed")
    page.goto(f"/areas/{ALDERTON}")
    assert "Street lights <repaired>" in page.inner_text("ol.updates")  # escaped, not markup
    # The open-data CSV from the index page.
    page.goto("/areas")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the figures (CSV)").click()
    data = Path(info.value.path()).read_text(encoding="utf-8-sig")
    _assert_nothing_private(data, seeded, "the open-data CSV")
    assert re.search(rf"^ward,{SOUTHMEAD},Southmead,", data, re.M) or SOUTHMEAD in data


@pytest.mark.parametrize("how", ["button", "escape"])
def test_quick_exit_from_an_area_page(page, seeded, how: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/areas")
    page.get_by_role("link", name="Alderton", exact=True).click()
    page.wait_for_url(f"**/areas/{ALDERTON}")
    page.get_by_role("link", name="Northgate").click()
    page.wait_for_url(f"**/areas/{NORTHGATE}")
    if how == "button":
        page.get_by_role("link", name=re.compile("Leave this site")).click()
    else:
        page.keyboard.press("Escape")
    page.wait_for_url(EXIT_URL)
    page.go_back()
    page.wait_for_timeout(300)
    assert "/areas" not in page.url  # the pages she looked at are not one Back away


def test_unknown_area_is_a_friendly_404(page, seeded, assert_accessible, screenshot) -> None:  # type: ignore[no-untyped-def]
    response = page.goto("/areas/E99999999")
    assert response is not None and response.status == 404
    assert page.inner_text("h1") == "Not found"
    body = page.inner_text("main")
    assert "E99999999" in body and "Traceback" not in page.content()
    assert page.is_visible("#quick-exit")
    assert_accessible(page, "the unknown-area page")
    screenshot(page, "ysd-unknown-area")
