"""The public reporting pages in a real browser, at phone size: with and without JavaScript,
the map, quick exit, accessibility (axe, WCAG 2.2 AA) and what the server keeps."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from tests.browser.conftest import EXIT_URL, USER_AGENT
from tests.reports.county import INSIDE

CODE = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$")
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
#: the tiny county's Northgate ward (the live server's store is shared with the gazetteer's
#: tests, whose places named North... may come first in a search)
NORTHGATE = "E05009001"


def _reports(live_server) -> list:  # type: ignore[no-untyped-def]
    from saferstreets.reports.models import Report

    with live_server.engine.connect() as conn:
        return list(conn.execute(sa.select(Report.__table__)).mappings())


def _fill_rest(page, words: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#occurred_on", YESTERDAY)
    page.select_option("#time_band", "night")
    page.check("input[name=reasons][value=poor_lighting]")
    page.check("input[name=reasons][value=being_followed]")
    page.fill("#free_text", words)
    page.select_option("#age_band", "25-34")
    page.check("input[name=for_self][value=yes]")


def _look_up_and_delete(page, code: str, screenshot, hidden_phone: bool = False) -> None:  # type: ignore[no-untyped-def]
    page.goto("/report/status")
    page.fill("#code", code.lower().replace("-", " "))
    page.click("#check-report")
    page.wait_for_selector("#report-status")
    assert "Received" in page.inner_text("#report-status")
    assert ("[phone number removed]" in page.content()) is hidden_phone
    assert "07700" not in page.content()
    screenshot(page, "report-status-view")
    page.check("#confirm")
    page.click("#delete-report")
    page.wait_for_url("**/report/deleted")
    assert "deleted" in page.inner_text("h1")
    screenshot(page, "report-deleted")
    page.goto("/report/status")
    page.fill("#code", code)
    page.click("#check-report")
    assert "No report has that receipt code" in page.content()


def test_report_with_javascript_pin_on_the_map(page, live_server, screenshot) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    screenshot(page, "landing")
    page.click("main a[href='/report']")
    page.wait_for_url("**/report")
    assert page.is_visible("#report-map")
    page.wait_for_selector(
        "#report-map path.leaflet-interactive, #report-map svg path", state="attached"
    )
    box = page.locator("#report-map").bounding_box()
    assert box and box["width"] > 300  # the map fills the phone's width
    page.wait_for_timeout(300)  # let fitBounds settle
    page.locator("#report-map").click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.3})
    assert page.input_value("#latitude") and page.input_value("#longitude")
    assert page.inner_text("#pin-status") == "A pin is on the map, in Northgate."
    _fill_rest(page, "Followed along the dark path. Call me on 07700 900123")
    assert "characters left" in page.inner_text("#free_text-count")
    screenshot(page, "report-form-js")
    page.click("#send-report")
    page.wait_for_url("**/report/thanks")
    code = page.inner_text("#receipt-code").strip()
    assert CODE.match(code)
    assert code not in page.url
    screenshot(page, "report-thanks")
    rows = [r for r in _reports(live_server) if r["free_text"] and "dark path" in r["free_text"]]
    assert len(rows) == 1 and rows[0]["ward_code"] is not None and rows[0]["latitude"] is not None
    _look_up_and_delete(page, code, screenshot, hidden_phone=True)
    assert not [
        r for r in _reports(live_server) if r["free_text"] and "dark path" in r["free_text"]
    ]


def test_report_without_javascript_in_two_steps(page_nojs, live_server, screenshot) -> None:  # type: ignore[no-untyped-def]
    page = page_nojs
    page.goto("/report")
    assert not page.is_visible("#report-map")  # no map without JavaScript: the place search instead
    page.fill("#place_text", "Riverside")
    page.click("#find-place")
    page.wait_for_selector("input[name=area_code]")
    assert page.is_checked("input[name=area_code][value=E05009004]")
    # The answer comes back where the question was, not at the top of the page (the browser
    # scrolls to the address's #where once the page has loaded: waited for, not sampled, as a
    # loaded machine measured the box before that scroll once)
    expect(page.locator("input[name=area_code][value=E05009004]")).to_be_in_viewport()
    screenshot(page, "report-form-nojs-place-found")
    _fill_rest(page, "No JavaScript here: the underpass lights are out")
    page.click("#send-report")
    page.wait_for_url("**/report/thanks")
    code = page.inner_text("#receipt-code").strip()
    assert CODE.match(code)
    screenshot(page, "report-thanks-nojs")
    rows = [
        r
        for r in _reports(live_server)
        if r["free_text"] and "No JavaScript here" in r["free_text"]
    ]
    assert [(r["ward_code"], r["latitude"]) for r in rows] == [("E05009004", None)]
    page.goto("/report/thanks")
    assert code not in page.content()  # shown once only
    _look_up_and_delete(page, code, lambda *_: None)


def test_use_my_location_only_when_tapped(new_page, live_server) -> None:  # type: ignore[no-untyped-def]
    lat, lon = INSIDE["E05009003"]
    page = new_page(geolocation={"latitude": lat, "longitude": lon}, permissions=["geolocation"])
    page.goto("/report")
    page.wait_for_selector("#use-location", state="visible")
    assert page.input_value("#latitude") == ""  # nothing is read until she asks
    page.click("#use-location")
    expect(page.locator("#latitude")).not_to_have_value("")
    assert abs(float(page.input_value("#latitude")) - lat) < 1e-5
    assert abs(float(page.input_value("#longitude")) - lon) < 1e-5
    _fill_rest(page, "Located by the phone")
    page.click("#send-report")
    page.wait_for_url("**/report/thanks")
    rows = [r for r in _reports(live_server) if r["free_text"] == "Located by the phone"]
    assert [r["ward_code"] for r in rows] == ["E05009003"]


def test_errors_are_listed_and_linked_without_losing_answers(page, screenshot) -> None:  # type: ignore[no-untyped-def]
    page.goto("/report")
    page.fill("#free_text", "I kept what I wrote")
    page.fill("#occurred_on", "")
    page.click("#send-report")
    page.wait_for_selector("#error-summary")
    assert "There is a problem" in page.inner_text("#error-summary")
    # The list of problems has the focus, so it is read out and scrolled into view on a phone.
    # (expect retries in Playwright's own script world: the page's CSP forbids the string eval
    # that wait_for_function polls with, so that failed whenever the first look came too early)
    expect(page.locator("#error-summary")).to_be_focused()
    box = page.locator("#error-summary").bounding_box()
    assert box and 0 <= box["y"] < page.viewport_size["height"]
    assert page.input_value("#free_text") == "I kept what I wrote"
    assert page.get_attribute("#place_text", "aria-invalid") == "true"
    screenshot(page, "report-form-errors")


@pytest.mark.parametrize("how", ["button", "escape"])
def test_quick_exit_leaves_nothing_to_go_back_to(page, how: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.click("main a[href='/report']")  # links inside the site replace the page too
    page.wait_for_url("**/report")
    page.fill("#free_text", "something private")
    if how == "button":
        page.click("#quick-exit")
    else:
        page.locator("#free_text").press("Escape")
    page.wait_for_url(EXIT_URL)
    assert "Weather stub" in page.content()
    page.go_back()
    page.wait_for_timeout(300)
    assert "/report" not in page.url
    assert "something private" not in page.content()
    assert not page.url.startswith("http://127.0.0.1")


def test_every_public_page_passes_axe(
    page, page_noscripts, live_server, assert_accessible, assert_fits_screen, screenshot
) -> None:  # type: ignore[no-untyped-def]
    pages = {
        "landing": "/",
        "report-form": "/report",
        "report-status": "/report/status",
        "report-thanks-again": "/report/thanks",
        "report-deleted-page": "/report/deleted",
        "not-found": "/no/such/page",
    }
    for name, path in pages.items():
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert_accessible(page, f"{path} (with JavaScript)")
        assert_fits_screen(page, f"{path} on a phone")
        page_noscripts.goto(path)
        assert_accessible(page_noscripts, f"{path} (without JavaScript)")
        screenshot(page, f"axe-{name}")
    # Pages that only follow an action: errors, place matches, the receipt, the status view.
    page_noscripts.goto("/report")
    page_noscripts.click("#send-report")
    page_noscripts.wait_for_selector("#error-summary")
    assert_accessible(page_noscripts, "/report with errors")
    page_noscripts.fill("#place_text", "North")
    page_noscripts.click("#find-place")
    page_noscripts.wait_for_selector("input[name=area_code]")
    assert_accessible(page_noscripts, "/report with place matches")
    # Other tests may have added places named North...: choose the ward itself.
    page_noscripts.check(f"input[name=area_code][value={NORTHGATE}]")
    page_noscripts.check("input[name=reasons][value=isolated]")
    page_noscripts.fill("#occurred_on", YESTERDAY)
    page_noscripts.fill("#free_text", "my ex waits for me here")  # urgent: the 999 notice shows
    page_noscripts.click("#send-report")
    page_noscripts.wait_for_url("**/report/thanks")
    code = page_noscripts.inner_text("#receipt-code").strip()
    assert "If you are in danger now, call 999" in page_noscripts.content()
    assert_accessible(page_noscripts, "/report/thanks with a receipt")
    screenshot(page_noscripts, "report-thanks-urgent")
    page_noscripts.goto("/report/status")
    page_noscripts.fill("#code", "WRONG")
    page_noscripts.click("#check-report")
    assert_accessible(page_noscripts, "/report/status with an error")
    page_noscripts.fill("#code", code)
    page_noscripts.click("#check-report")
    page_noscripts.wait_for_selector("#report-status")
    assert_accessible(page_noscripts, "the status of a report")


def _flood_riverside(live_server, copies: int) -> list[str]:  # type: ignore[no-untyped-def]
    """``copies`` near-identical urgent reports in Riverside, straight into the store."""
    from datetime import datetime

    from saferstreets.db import session_scope
    from saferstreets.reports.schemas import ReportSubmission
    from saferstreets.reports.service import create_report

    lat, lon = INSIDE["E05009004"]
    sent = datetime(2026, 3, 2, 21)
    ids = []
    with session_scope(live_server.engine) as session:
        for i in range(copies):
            submission = ReportSubmission.model_validate(
                {"latitude": lat + i * 0.001, "longitude": lon, "occurred_on": sent.date(),
                 "reasons": ["isolated"], "free_text": "HE IS OUTSIDE MY HOUSE RIGHT NOW" + "!" * i}
            )  # fmt: skip
            report, _ = create_report(session=session, submission=submission, received_at=sent)
            ids.append(report.public_id)
    return ids


def test_safeguarding_queue_in_the_browser(
    page, live_server, staff_login, assert_accessible, assert_fits_screen, screenshot
) -> None:  # type: ignore[no-untyped-def]
    page.goto("/report")
    page.fill("#place_text", "Northgate")
    page.click("#find-place")
    page.check(f"input[name=area_code][value={NORTHGATE}]")
    _fill_rest(page, "A man called Gary follows girls from the station, he is outside now")
    page.click("#send-report")
    page.wait_for_url("**/report/thanks")
    assert_fits_screen(page, "the urgent thank-you page on a phone")
    screenshot(page, "report-thanks-urgent-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "report-thanks-urgent-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    flood = _flood_riverside(live_server, 12)
    staff_login(page, "supervisor")
    page.goto("/staff/safeguarding")
    assert "A man called Gary" in page.content()
    group = page.locator(f"#group-{flood[0]}")
    expect(group.locator(".sg-count")).to_have_text("12 near-identical reports")
    group.locator("summary").click()
    assert_fits_screen(page, "/staff/safeguarding on a phone")
    assert_accessible(page, "/staff/safeguarding")
    screenshot(page, "staff-safeguarding")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "staff-safeguarding-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    # One review for the whole flood, through the page: no further action needs its reason.
    group.locator("input[value=no_further_action]").check()
    group.locator("textarea").fill("The same words twelve times within an hour: a hostile flood.")
    group.locator("button[type=submit]").click()
    expect(page.locator(f"#group-{flood[0]}")).to_have_count(0)
    assert "A man called Gary" in page.content()


def test_the_server_keeps_no_address_or_browser_details(page, live_server) -> None:  # type: ignore[no-untyped-def]
    page.goto("/report")
    page.fill("#place_text", "Northgate")
    page.click("#find-place")
    page.check(f"input[name=area_code][value={NORTHGATE}]")
    _fill_rest(page, "Checking what the server keeps")
    page.click("#send-report")
    page.wait_for_url("**/report/thanks")
    code = page.inner_text("#receipt-code").strip()
    with live_server.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store = Path(sa.engine.make_url(live_server.db_url).database or "")
    dump = b"".join(p.read_bytes() for p in store.parent.glob(store.name + "*"))
    log = live_server.log()
    for secret in (USER_AGENT, "SaferstreetsBrowserTest", "127.0.0.1", code, code.replace("-", "")):
        assert secret.encode() not in dump, f"{secret!r} is in the store"
        assert secret not in log.replace(live_server.base_url, ""), (
            f"{secret!r} is in the server log"
        )


def test_axe_harness_finds_a_planted_problem(page, axe) -> None:  # type: ignore[no-untyped-def]
    page.goto("/report/status")
    page.evaluate(
        "() => { const i = document.createElement('input'); i.id = 'planted';"
        " document.querySelector('main').appendChild(i); }"
    )
    violations = axe(page)
    assert any(v["id"] == "label" for v in violations), "axe should flag an input with no label"
