"""Where an issue is, in the browser on a 390 px phone and a desktop: the issue page names its place
and draws its outline (drawn again by tapping the map, or by naming streets without JavaScript);
the partner's referral shows that outline with its streets and landmarks by name; a resident taps
the map on "you said, we did" and lands on her ward's page. axe on every page."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser import _fixtures
from tests.browser import streets as street_map
from tests.browser._fixtures import NORTHGATE, OFFICER, PARTNER, PARTNER_CODE, SECRET_WORDS
from tests.browser.screens import DESKTOP
from tests.browser.streets import ISSUE_CENTRE as CENTRE
from tests.browser.streets import wait_for_streets

seeded = _fixtures.seeded
streets = street_map.streets
REQUEST = "Please light the path between Kiln Lane and the car park."


@pytest.fixture(scope="module")
def placed(seeded: Any, streets: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Streets and landmarks round the Northgate reports (in the gazetteer, and drawn on the
    street map), the issue's place derived again with them, and a referral of it to the
    lighting partner."""
    from saferstreets.actions import place, service
    from saferstreets.actions.models import LocalIssue
    from saferstreets.db import session_scope
    from saferstreets.places.service import import_places

    lat, lon = CENTRE
    marks = tmp_path_factory.mktemp("issue-places") / "landmarks.csv"
    marks.write_text(
        "name,kind,lat,lon,locality\n"
        f"Kiln Lane,street,{lat + 0.0003},{lon},Alderton\n"
        f"Orchard Road,street,{lat - 0.0015},{lon + 0.002},Alderton\n"
        f"Northgate car park,car park,{lat},{lon + 0.0006},Alderton\n"
    )
    engine = seeded.server.engine
    assert all(
        s.status == "ok" for s in import_places(engine=engine, paths=[marks], h3_resolution=9)
    )
    with session_scope(engine) as session:
        issue = session.get(LocalIssue, seeded.issue_id)
        assert place.derive_place(session=session, issue=issue) is not None
        service.refer(
            session=session, issue=issue, user=None, partner=PARTNER_CODE, request=REQUEST
        )
        name = issue.place_name
    assert name and name.startswith("around Kiln Lane and Northgate car park")
    return name


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_issue_page_names_and_draws_its_place(  # type: ignore[no-untyped-def]
    new_page, seeded, placed, staff_login, assert_accessible, assert_fits_screen, screenshot, size
) -> None:
    page = new_page(**({} if size == "phone" else DESKTOP))
    staff_login(page, OFFICER)
    page.goto(f"/staff/issues/{seeded.issue_id}")
    where = page.inner_text(".place-name")
    assert placed[0].upper() + placed[1:] in where and "from the linked reports" in where
    page.locator(".issue-map path.cell").first.wait_for(state="attached")
    assert page.locator(".issue-map path.cell").count() == 1  # one outline, no points
    assert page.locator(".issue-map .leaflet-marker-icon, .issue-map circle").count() == 0
    assert "The issue's place" in page.inner_text("#issue-map-legend")
    # The caption under the map runs the map's width: it once took the map key's box style
    # (a 15rem box with a shadow), four cramped lines under a wide map.
    caption, drawn = (page.locator(s).bounding_box() for s in ("#issue-map-legend", ".issue-map"))
    assert caption and drawn and caption["width"] >= drawn["width"] - 1
    page.locator("#where").scroll_into_view_if_needed()
    wait_for_streets(page, ".issue-map")
    assert "The issue's place" in (page.locator(".issue-map .map-legend").text_content() or "")
    assert_accessible(page, f"an issue page with its place ({size})")
    assert_fits_screen(page, f"an issue page with its place ({size})")
    screenshot(page, f"issue-place-{size}")
    page.close()


def test_an_officer_draws_the_place_by_tapping_the_map(  # type: ignore[no-untyped-def]
    new_page, seeded, placed, staff_login, assert_accessible, screenshot
) -> None:
    page = new_page()
    staff_login(page, OFFICER)
    page.goto(f"/staff/issues/{seeded.issue_id}")
    page.click(".place-change summary")
    drawing = page.locator("#place-draw")
    drawing.wait_for(state="visible")
    page.wait_for_timeout(300)  # the ward is fitted to the map
    box = drawing.bounding_box()
    assert box is not None
    for fx, fy in ((0.4, 0.4), (0.6, 0.4), (0.6, 0.6), (0.4, 0.6)):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    assert "4 corners: ready to set." in page.inner_text("#place-draw-status")
    assert_accessible(page, "the issue's place being drawn")
    screenshot(page, "issue-place-drawing-phone")
    with page.expect_navigation():
        page.get_by_role("button", name="Set the place", exact=True).click()
    assert "drawn on the map" in page.inner_text(".place-name")
    # Back to the outline of the reports, for the other tests.
    with page.expect_navigation():
        page.click(".place-change summary")
        page.get_by_role("button", name="Draw it from the linked reports").click()
    assert "from the linked reports" in page.inner_text(".place-name")
    page.close()


def test_without_javascript_the_place_is_named_by_its_streets(  # type: ignore[no-untyped-def]
    new_page, seeded, placed, staff_login, screenshot
) -> None:
    page = new_page()
    staff_login(page, OFFICER)
    nojs = new_page(java_script_enabled=False)
    nojs.context.add_cookies(page.context.cookies())
    nojs.goto(f"/staff/issues/{seeded.issue_id}")
    assert nojs.locator("#place-draw-tools").is_hidden()  # no drawing map without JavaScript
    nojs.click(".place-change summary")
    nojs.fill("#place-names", "Kiln Lane\nOrchard Road")
    with nojs.expect_navigation():
        nojs.get_by_role("button", name="Set the place", exact=True).click()
    assert "from the streets and places named" in nojs.inner_text(".place-name")
    screenshot(nojs, "issue-place-named-nojs-phone")
    with nojs.expect_navigation():
        nojs.click(".place-change summary")
        nojs.get_by_role("button", name="Draw it from the linked reports").click()
    page.close()
    nojs.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_referral_shows_the_place_with_its_streets(  # type: ignore[no-untyped-def]
    new_page, seeded, placed, staff_login, assert_accessible, assert_fits_screen, screenshot, size
) -> None:
    page = new_page(**({} if size == "phone" else DESKTOP))
    staff_login(page, PARTNER)
    page.goto("/staff/referrals")
    card = page.locator(".issue-card", has_text=REQUEST)
    assert card.count() == 1
    assert placed[0].upper() + placed[1:] in card.locator(".place-name").inner_text()
    lists = card.locator(".place-list").all_inner_texts()
    assert any("Kiln Lane" in t for t in lists) and any("Northgate car park" in t for t in lists)
    card.locator(".referral-map path.cell").first.wait_for(state="attached")
    assert card.locator(".referral-map path.cell").count() == 1  # the outline only
    for word in SECRET_WORDS:
        assert word not in page.content()  # no report's words
    card.scroll_into_view_if_needed()
    wait_for_streets(page, ".referral-map")
    assert "The place" in (card.locator(".referral-map .map-legend").text_content() or "")
    assert_accessible(page, f"/staff/referrals with the place ({size})")
    assert_fits_screen(page, f"/staff/referrals with the place ({size})")
    screenshot(page, f"referral-place-{size}")
    page.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_resident_taps_the_map_to_find_her_area(  # type: ignore[no-untyped-def]
    new_page, seeded, assert_accessible, assert_fits_screen, screenshot, size
) -> None:
    page = new_page(**({} if size == "phone" else DESKTOP))
    page.goto("/areas")
    page.locator("#area-finder[data-ready=true] path").first.wait_for(state="attached")
    assert_accessible(page, f"/areas with the map to tap ({size})")
    assert_fits_screen(page, f"/areas with the map to tap ({size})")
    page.locator("#area-finder").scroll_into_view_if_needed()
    screenshot(page, f"area-finder-{size}")
    # Tap where Northgate's reports are: the map is fitted to the county, so find the pixel.
    x, y = page.evaluate(
        """([lat, lon]) => {
            const el = document.getElementById('area-finder');
            const p = el.leafletMap.latLngToContainerPoint([lat, lon]);
            const r = el.getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        list(CENTRE),
    )
    with page.expect_navigation():
        page.mouse.click(x, y)
    page.wait_for_url(f"**/areas/{NORTHGATE}")
    assert "Northgate" in page.inner_text("h1")
    page.close()


def test_ward_names_on_the_area_finder_never_pile_up(new_page, seeded) -> None:  # type: ignore[no-untyped-def]
    """At a county's zoom the demo's 112 ward names covered each other in one unreadable block;
    a name now shows only where it fits inside its ward (zooming out here does the same)."""
    page = new_page(**DESKTOP)
    page.goto("/areas")
    page.locator("#area-finder[data-ready=true] path").first.wait_for(state="attached")
    boxes = (
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom]; })"
    )
    page.wait_for_timeout(1000)  # the fit to the county animates
    assert page.locator("#area-finder .ward-label").evaluate_all(boxes)  # the names that fit
    page.evaluate(
        "() => { const m = document.getElementById('area-finder').leafletMap;"
        " m.setZoom(m.getZoom() - 6, { animate: false }); }"  # the county 1/64th as wide
    )
    page.wait_for_timeout(500)
    shown = page.locator("#area-finder .ward-label").evaluate_all(boxes)
    overlapping = [
        (a, b)
        for i, a in enumerate(shown)
        for b in shown[i + 1 :]
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    ]
    assert not overlapping
    page.close()
