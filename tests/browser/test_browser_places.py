"""Places found by name or postcode in the browser, on a 390 px phone and a desktop: the report
form with and without JavaScript (a chosen station becomes the pin), and "find your area"."""

from __future__ import annotations

import pytest
from tests.browser.conftest import LiveServer
from tests.browser.screens import DESKTOP

from saferstreets.places.service import import_places

STATION = (51.80, -0.40)  # in Northgate (the tiny county)


@pytest.fixture(scope="module")
def gazetteer(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    folder = tmp_path_factory.mktemp("gazetteer")
    marks = folder / "landmarks.csv"
    marks.write_text(
        "name,kind,lat,lon,locality\n"
        f"Stanwell,station,{STATION[0]},{STATION[1]},Alderton\n"
        f"Mill Lane,street,{STATION[0] + 0.002},{STATION[1]},Alderton\n"
    )
    codes = folder / "ONSPD.csv"
    codes.write_text(
        f"pcd,pcd2,pcds,doterm,lat,long\nWY5 6AB,WY5 6AB,WY5 6AB,,{STATION[0]},{STATION[1]}\n"
    )
    summaries = import_places(engine=live_server.engine, paths=[marks, codes], h3_resolution=9)
    assert all(s.status == "ok" for s in summaries)
    return live_server


@pytest.mark.parametrize("scripts", ["nojs", "js"])
def test_report_form_finds_stanwell_station(
    new_page,
    gazetteer,
    screenshot,
    assert_fits_screen,
    scripts,  # type: ignore[no-untyped-def]
) -> None:
    page = new_page() if scripts == "js" else new_page(java_script_enabled=False)
    page.goto("/report")
    page.fill("#place_text", "Stanwell station")
    page.click("#find-place")
    page.wait_for_selector("input[name=area_code]")
    assert "We could not find" not in page.content()
    first = page.locator("input[name=area_code]").first
    assert first.get_attribute("value", timeout=2000).startswith("place:")
    assert "Stanwell" in page.inner_text("#area_code")
    assert_fits_screen(page, f"the report form with places found ({scripts})")
    screenshot(page, f"places-report-form-{scripts}-phone")


def test_find_your_area_by_postcode_on_phone_and_desktop(
    new_page,
    gazetteer,
    screenshot,
    assert_fits_screen,
    assert_accessible,  # type: ignore[no-untyped-def]
) -> None:
    for name, options in (("phone", {}), ("desktop", DESKTOP)):
        page = new_page(**options)
        page.goto("/areas")
        page.fill("#q", "WY5 6")
        page.click("form.find-area button")
        page.wait_for_selector(".found-areas")
        assert page.locator(".found-areas a", has_text="Northgate").count() == 1
        assert_fits_screen(page, f"find your area ({name})")
        assert_accessible(page, f"find your area ({name})")
        screenshot(page, f"places-find-your-area-{name}")
        page.click(".found-areas a")
        page.wait_for_url("**/areas/E05009001")
        page.close()
