"""The analyst's journey on a phone and a desktop: filter the assessment (the address carries the
filter), download a table and a map layer that follow it, correct a quote's themes, and start an
import from the browser. axe-core at 0 violations on every page; screenshots to look at."""

from __future__ import annotations

import csv
import zipfile
from typing import Any

import pytest
from tests.browser import _fixtures
from tests.browser._fixtures import ALDERTON
from tests.browser.screens import SIZES
from tests.crime.policeuk_files import STREET_COLUMNS, csv_text, street_row

seeded = _fixtures.seeded  # the seeded store, as a fixture of this module


def _street_zip(path: Any, first: int) -> Any:
    """Five street rows and a broken one (Crime IDs from ``first``: each screen's are new)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "2021-02/2021-02-hertfordshire-street.csv",
            csv_text(
                STREET_COLUMNS,
                [street_row(n, month="2021-02") for n in range(first, first + 5)]
                + [street_row(first + 5, month="not a month")],  # quarantined with its reason
            ),
        )
    return path


@pytest.mark.parametrize("size", list(SIZES))
def test_the_analyst_filters_exports_corrects_and_imports(  # type: ignore[no-untyped-def]
    new_page,
    seeded,
    staff_login,
    assert_accessible,
    assert_fits_screen,
    screenshot,
    size,
    tmp_path,
) -> None:
    page = new_page(**SIZES[size])
    staff_login(page, "analyst")
    page.goto("/staff/assessment")
    page.wait_for_load_state("networkidle")
    whole = int(page.locator(".stat-value").first.inner_text().replace(",", ""))
    # filter: one district, one reason; the address carries it
    page.select_option("#f-area", ALDERTON)
    page.select_option("#f-reason", "being_followed")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply the filter").click()
    page.wait_for_load_state("networkidle")
    assert f"area={ALDERTON}" in page.url and "reason=being_followed" in page.url
    shown = int(page.locator(".stat-value").first.inner_text().replace(",", ""))
    expected = sum(1 for i in range(24) if i % 4 == 0) + sum(1 for i in range(3) if i % 4 == 0)
    assert 0 < shown == expected < whole  # Northgate and Southmead reports ticking it
    # the map draws the filtered layers; its legend is on the page
    page.locator("#ws-map-canvas path.leaflet-interactive").first.wait_for(timeout=15_000)
    assert page.locator(".legend li").count() >= 8
    charts = page.locator("main img.chart-img")
    assert charts.count() >= 2
    for chart in charts.all():
        chart.scroll_into_view_if_needed()
        chart.evaluate("img => img.decode()")
        assert chart.evaluate("img => img.naturalWidth > 0"), chart.get_attribute("alt")
    assert_accessible(page, f"/staff/assessment filtered ({size})")
    assert_fits_screen(page, f"/staff/assessment filtered at {size} size")
    screenshot(page, f"analyst-workspace-filtered-{size}")
    # a download follows the filter
    with page.expect_download() as got:
        page.locator("#ws-what .downloads a", has_text="CSV").first.click()
    with open(got.value.path(), encoding="utf-8-sig", newline="") as fh:
        rows = {r["code"]: int(r["reports"]) for r in csv.DictReader(fh)}
    assert rows["being_followed"] == shown
    with page.expect_download() as got:
        page.get_by_role("link", name="hot spots").click()
    assert got.value.suggested_filename == "saferstreets-hotspots.geojson"
    # correct a quote's themes
    page.get_by_role("link", name="Read quotes and correct their themes").click()
    page.wait_for_url("**/staff/themes")
    card = page.locator(".quote-card").first
    assert "07700" not in card.inner_text()  # scrubbed
    card.get_by_label("Being followed").check()
    with page.expect_navigation():
        card.get_by_role("button", name="Save these themes").click()
    assert "Saved the themes of report" in page.content()
    assert_accessible(page, f"/staff/themes ({size})")
    assert_fits_screen(page, f"/staff/themes at {size} size")
    screenshot(page, f"analyst-themes-{size}")
    # an import from the browser: the job page follows it (a worker imports it in the background)
    page.goto("/staff/imports")
    assert_accessible(page, f"/staff/imports ({size})")
    assert_fits_screen(page, f"/staff/imports at {size} size")
    screenshot(page, f"analyst-imports-{size}")
    upload = _street_zip(tmp_path / "herts-2021-02.zip", 900 + 10 * list(SIZES).index(size))
    page.set_input_files("#files-crime", str(upload))
    with page.expect_navigation():
        page.locator("form", has=page.locator("#files-crime")).get_by_role(
            "button", name="Upload and import"
        ).click()
    assert "/staff/jobs/" in page.url
    assert "Importing police.uk files" in page.content()
    assert_accessible(page, f"an import's job page ({size})")
    screenshot(page, f"analyst-import-job-{size}")
    # The worker finishes the import ...
    job_url = page.url.split("?")[0]
    assert _fixtures.wait_for_job(page) == "done"
    # ... then the summary, with the quarantined row and why
    job = page.request.get(f"{job_url}.json").json()
    page.goto(job["result_url"])
    assert "Quarantined from 2021-02-hertfordshire-street.csv" in page.inner_text("main")
    assert "Month" in page.inner_text("main")
    assert_accessible(page, f"an import's summary ({size})")
    assert_fits_screen(page, f"an import's summary at {size} size")
    screenshot(page, f"analyst-import-done-{size}")
