"""The 503 page when the store does not answer: her words back in the form, the reason at the
top, accessible, and on a phone and a desktop screen. The store's write lock is held by the test
for longer than the server waits (SQLite's busy timeout), so the failure is real."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest
from tests.reports.county import INSIDE

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
WORDS = "Wren-2290 the underpass lights were out again"


@pytest.mark.parametrize("width", [390, 1280])
def test_a_store_that_does_not_answer_gives_her_form_back(  # type: ignore[no-untyped-def]
    new_page, live_server, assert_accessible, screenshot, width: int
) -> None:
    page = new_page(viewport={"width": width, "height": 900}, is_mobile=width < 600,
                    has_touch=width < 600)  # fmt: skip
    page.set_default_timeout(60_000)
    page.goto("/report")
    lat, lon = INSIDE["E05009001"]
    page.evaluate(f"document.getElementById('latitude').value = '{lat}'")
    page.evaluate(f"document.getElementById('longitude').value = '{lon}'")
    page.fill("#occurred_on", YESTERDAY)
    page.select_option("#time_band", "night")
    page.check("input[name=reasons][value=poor_lighting]")
    page.fill("#free_text", WORDS)
    key = page.get_attribute("input[name=submission_key]", "value")
    path = live_server.db_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held past the server's busy timeout
        with page.expect_response("**/report") as sent:
            page.click("#send-report")
        response = sent.value
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status == 503 and int(response.headers["retry-after"]) > 0
    page.wait_for_selector("#unsaved")
    assert "We could not save this, please try again" in page.inner_text("#unsaved")
    assert page.input_value("#free_text") == WORDS
    assert page.get_attribute("input[name=submission_key]", "value") == key
    assert_accessible(page, f"the 503 report page at {width} px")
    screenshot(page, f"report-store-unavailable-{width}")
    page.click("#send-report")  # sent again once the store answers: stored, with a receipt
    page.wait_for_selector("#receipt-code")
    assert WORDS not in live_server.log()
