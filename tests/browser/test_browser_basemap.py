"""Streets and labels on every map, from our own origin: the report form with a pin on a street,
a ward's public page and the staff ward map, on a 390 px phone and a desktop, with axe-core.

Each page must fetch the basemap archive with range requests (answered 206), draw tiles on
canvas (not blank), show a key and a layer list, and send no request to any other origin."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser import _fixtures
from tests.browser import streets as street_map
from tests.browser._fixtures import EASTBROOK
from tests.browser.screens import SIZES
from tests.browser.streets import CANVAS_DRAWN

seeded = _fixtures.seeded
streets = street_map.streets
# Leaflet assigns window.L once: keep every map made, so a test can move the view.
KEEP_MAPS = """
Object.defineProperty(window, "L", { configurable: true, get: function () { return undefined; },
  set: function (v) {
    var make = v.map;
    v.map = function () {
      var m = make.apply(this, arguments);
      (window.__maps = window.__maps || []).push(m);
      return m;
    };
    Object.defineProperty(window, "L", { value: v, writable: true, configurable: true });
  } });
"""


def _watch(page: Any, base_url: str) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = {"requests": [], "tiles": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on(
        "response",
        lambda r: (
            seen["tiles"].append((r.status, r.request.headers.get("range")))
            if "/tiles/basemap.pmtiles" in r.url
            else None
        ),
    )
    return seen


SETTLE_ON_MILL_LANE = """() => {
  const m = window.__maps[0];
  if (m._animatingZoom) { return false; }
  const c = m.getCenter();
  if (Math.abs(c.lat - 51.802) > 1e-4 || Math.abs(c.lng + 0.40) > 1e-4 || m.getZoom() !== 16) {
    m.setView([51.802, -0.40], 16, { animate: false });
    return false;
  }
  return true;
}"""


def _assert_streets_drawn(page: Any, sel: str, seen: dict[str, list[Any]], base_url: str) -> None:
    page.wait_for_function(CANVAS_DRAWN, arg=sel, timeout=20_000)
    assert seen["tiles"], "the archive was fetched"
    assert all(status == 206 and rng and rng.startswith("bytes=") for status, rng in seen["tiles"])
    outside = [u for u in seen["requests"] if not u.startswith(base_url + "/")]
    assert not outside, f"requests left our origin: {outside}"
    legend = page.locator(f"{sel} .map-legend").text_content() or ""
    assert "Key" in legend and "Streets and places" in legend
    assert page.locator(f"{sel} .leaflet-control-layers").count() == 1
    assert "Test streets" in page.inner_text(f"{sel} .leaflet-control-attribution")


@pytest.mark.parametrize("size", SIZES)
def test_report_form_pin_on_a_street(  # type: ignore[no-untyped-def]
    new_page, streets, screenshot, assert_accessible, assert_fits_screen, size
) -> None:
    page = new_page(**SIZES[size])
    page.add_init_script(KEEP_MAPS)
    seen = _watch(page, streets.base_url)
    page.goto("/report")
    page.wait_for_function("window.__maps && window.__maps.length === 1")
    page.wait_for_selector("#report-map .leaflet-ss-areas-pane path", state="attached")
    # The form fits the map to the boundaries when they load (with a zoom animation): move the
    # view to Mill Lane once that has settled.
    page.wait_for_function(SETTLE_ON_MILL_LANE, polling=200)
    _assert_streets_drawn(page, "#report-map", seen, streets.base_url)
    box = page.locator("#report-map").bounding_box()
    page.locator("#report-map").click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    assert abs(float(page.input_value("#latitude")) - 51.802) < 0.0005
    assert "in Northgate" in page.inner_text("#pin-status")
    # The key is folded on a phone (it would hide a third of the map) and opens when tapped.
    legend = page.locator("#report-map details.map-legend")
    assert legend.evaluate("d => d.open") == (size == "desktop")
    if size == "phone":
        legend.locator("summary").click()
        assert legend.evaluate("d => d.open")
    assert "Your pin" in page.inner_text("#report-map .map-legend")
    page.wait_for_timeout(500)  # the labels settle after the last tile
    assert_accessible(page, f"the report form with streets ({size})")
    assert_fits_screen(page, f"the report form with streets ({size})")
    page.locator("#where").scroll_into_view_if_needed()
    page.locator("#where").screenshot(path=str(screenshot(page, f"basemap-report-pin-{size}")))


@pytest.mark.parametrize("size", SIZES)
def test_area_page_and_staff_map_draw_streets(  # type: ignore[no-untyped-def]
    new_page, streets, seeded, staff_login, screenshot, assert_accessible, size
) -> None:
    page = new_page(**SIZES[size])
    seen = _watch(page, streets.base_url)
    page.goto(f"/areas/{EASTBROOK}")
    page.wait_for_selector(".map path.cell", state="attached")
    _assert_streets_drawn(page, ".map", seen, streets.base_url)
    assert "Reports made here" in (page.locator(".map .map-legend").text_content() or "")
    assert_accessible(page, f"an area page with streets ({size})")
    screenshot(page, f"basemap-area-{size}")

    page = new_page(**SIZES[size])
    seen = _watch(page, streets.base_url)
    staff_login(page, "analyst")
    page.goto("/staff/overview")
    _assert_streets_drawn(page, "#ward-map", seen, streets.base_url)
    assert "Wards" in (page.locator("#ward-map .map-legend").text_content() or "")
    assert_accessible(page, f"the staff ward map with streets ({size})")
    page.locator("#ward-map").screenshot(path=str(screenshot(page, f"basemap-staff-wards-{size}")))
