"""The survey mapping form on a phone and a desktop: the suggestion's guesses marked, a refused
submission with its errors by the fields, then the corrected form queues the import. axe-core at
0 violations on each state; screenshots to look at."""

from __future__ import annotations

import pytest
from tests.browser import _fixtures
from tests.browser.screens import SIZES
from tests.surveys.survey_files import qualtrics_numeric_grid, write_csv

seeded = _fixtures.seeded  # the seeded store, as a fixture of this module


@pytest.mark.parametrize("size", list(SIZES))
def test_the_mapping_form_marks_guesses_and_shows_errors_by_field(  # type: ignore[no-untyped-def]
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
    page.goto("/staff/imports")
    export = write_csv(tmp_path / "qualtrics-numeric.csv", qualtrics_numeric_grid(12))
    page.set_input_files("#files-survey", str(export))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and check the mapping").click()
    assert page.url.endswith("/mapping")
    assert page.locator(".badge-check").count() >= 5
    assert page.locator("#likert_0_key").input_value() == "after_dark.home_area"
    assert_accessible(page, f"the mapping form ({size})")
    assert_fits_screen(page, f"the mapping form at {size} size")
    screenshot(page, f"mapping-form-{size}")
    with page.expect_navigation():  # the '?' age bands are refused, by their fields
        page.get_by_role("button", name="Import with this mapping").click()
    assert page.locator("#e-age_0_band").is_visible()
    assert_accessible(page, f"the mapping form with errors ({size})")
    assert_fits_screen(page, f"the mapping form with errors at {size} size")
    screenshot(page, f"mapping-form-errors-{size}")
    for n, band in enumerate(["16-24", "25-34", "35-44"]):
        page.fill(f"#age_{n}_band", band)
    page.select_option("#likert_0_key", "after_dark.quiet_street")
    with page.expect_navigation():
        page.get_by_role("button", name="Import with this mapping").click()
    assert "/staff/jobs/" in page.url
    assert "Importing a survey export" in page.content()
