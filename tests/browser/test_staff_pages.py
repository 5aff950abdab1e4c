"""Staff pages in a real browser as the people who use them: a ward officer working her queue
(on a phone and on a desktop) through SARA to a public update and to closed, a council partner
answering its referral, an analyst's assessment (charts as images with alt text), quarantine,
safeguarding, plans, and the friendly 403 and 404 pages. axe (WCAG 2.2 AA) runs on every page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.browser import _fixtures
from tests.browser._fixtures import NORTHGATE, OFFICER, PARTNER, PARTNER_CODE
from tests.browser.screens import DESKTOP, SIZES

seeded = _fixtures.seeded  # the seeded store, as a fixture of this module
STAGE_NAMES = ["Scanning", "Analysis", "Response", "Assessment", "Closed"]


def _submit(page: Any, button: str) -> None:
    """Press a form's button and wait for the page the server answers with."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def _current_stage(page: Any) -> str:
    return str(page.inner_text(".sara [aria-current=step]")).strip()


@pytest.mark.parametrize("size", list(SIZES))
def test_ward_officer_works_an_issue_from_scanning_to_closed(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, assert_accessible, assert_fits_screen, screenshot, size: str
) -> None:
    from tests.browser.test_role_journeys import new_issue

    issue_title = f"Unlit path behind the bins, Northgate ({size})"
    issue_id, _ = new_issue(seeded.server, issue_title)
    page = new_page(**SIZES[size])
    staff_login(page, OFFICER)
    assert page.url.endswith("/staff/issues")  # she lands on her queue
    # The overview, with the ward map.
    page.goto("/staff/overview")
    page.wait_for_selector("#ward-map path.leaflet-interactive", state="attached")
    assert page.locator("#ward-map path.leaflet-interactive").count() == 4
    assert_accessible(page, "/staff (ward officer)")
    assert_fits_screen(page, "/staff on a phone")
    screenshot(page, f"staff-overview-{size}")
    # Her queue: only her ward's issues.
    page.get_by_role("link", name="Local issues").click()
    page.wait_for_url("**/staff/issues")
    cards = page.locator(".issue-card")
    assert cards.count() >= 1
    for text in cards.all_inner_texts():
        assert "Northgate ·" in text  # her ward, by name
    assert page.locator(".issue-card", has_text=issue_title).count() == 1
    assert "Clusters of reports" not in page.content()  # suggestions are for supervisors
    assert_accessible(page, "/staff/issues (ward officer)")
    assert_fits_screen(page, "/staff/issues on a phone")
    screenshot(page, f"staff-issues-{size}")
    page.get_by_role("link", name=issue_title).click()
    page.wait_for_url(f"**/staff/issues/{issue_id}")
    # Reporters' words are there for her, with phone numbers taken out.
    assert "pitch black" in page.content()
    assert "[phone number removed]" in page.content() and "07700" not in page.content()
    assert _current_stage(page) == "Scanning"
    assert_accessible(page, "an issue page")
    assert_fits_screen(page, "an issue page on a phone")
    screenshot(page, f"staff-issue-scanning-{size}")

    # Every move needs its note: without one she is told so beside the field, and stays put.
    page.select_option("#stage", "analysis")
    _submit(page, "Move")
    assert "why these reports are one problem" in page.inner_text(".error-summary")
    assert page.get_attribute("#notes", "aria-invalid") == "true"
    assert _current_stage(page) == "Scanning"
    page.select_option("#stage", "analysis")
    scanned = "Five women say the Northgate path is pitch black at night: one problem."
    page.fill("#notes", scanned)
    _submit(page, "Move")
    assert _current_stage(page) == "Analysis"
    # A response needs the analysis written down: the page says so and keeps her in place.
    page.select_option("#stage", "response")
    _submit(page, "Move")
    assert "Write down the analysis" in page.inner_text(".error-summary")
    assert _current_stage(page) == "Analysis"
    assert_accessible(page, "an issue page with an error")
    screenshot(page, f"staff-issue-error-{size}")
    page.select_option("#stage", "response")
    analysis = "Weekday nights 9pm to 1am; two lights out on the path; a man waits by the bins."
    page.fill("#notes", analysis)
    _submit(page, "Move")
    assert _current_stage(page) == "Response"
    assert analysis in page.inner_text("main")

    page.fill(
        "#action-description", "Patrolled the path 9pm to 1am on four nights; spoke to the man."
    )
    page.select_option("#action-kind", "patrol")
    _submit(page, "Record the action")
    assert "Patrolled the path" in page.inner_text("main")
    assert page.input_value("#partner") == PARTNER_CODE  # suggested for poor lighting
    request = f"Please repair the two lights behind the bins and add one by the gate ({size})."
    page.fill("#referral-request", request)
    _submit(page, "Send the referral")
    assert request in page.inner_text("main")
    headline = f"Lights repaired and evening patrols on the Northgate path ({size})"
    page.fill("#update-title", headline)
    page.fill(
        "#update-body",
        "You told us the path was dark. The council is fixing two lights and we patrol at night.",
    )
    _submit(page, "Save as a draft for approval")
    assert headline in page.inner_text("main")
    assert "not public until another supervisor or admin approves it" in page.inner_text("main")
    assert page.get_by_role("button", name="Approve and publish").count() == 0
    assert_accessible(page, "an issue page after the response")
    screenshot(page, f"staff-issue-response-{size}")
    public = new_page()
    public.goto(f"/areas/{NORTHGATE}")
    assert headline not in public.content()  # a draft is not public

    # A supervisor approves it; then the public sees it on the ward's page.
    supervisor = new_page()
    staff_login(supervisor, "supervisor")
    supervisor.goto(f"/staff/issues/{issue_id}")
    _submit(supervisor, "Approve and publish")
    assert "The update was approved." in supervisor.inner_text("main")
    assert_accessible(supervisor, "an issue page with a public update (supervisor)")
    screenshot(supervisor, f"staff-issue-update-approved-{size}")
    public.goto(f"/areas/{NORTHGATE}")
    assert headline in public.inner_text("ol.updates")
    assert "a man waits" not in public.content()  # the analysis notes stay inside
    screenshot(public, f"ysd-ward-with-update-{size}")

    # The council's street lighting team answers on its phone.
    partner = new_page()
    staff_login(partner, PARTNER)
    partner.goto("/staff/referrals")
    card = partner.locator(".issue-card", has_text=request)
    assert card.count() == 1
    # Where and what, to act on it: the issue's title and ward, not the reports themselves.
    assert card.locator("h2").inner_text() == issue_title
    assert "Northgate" in card.locator(".meta").first.inner_text()
    # ... and a map of where the reports were made, as hexagons, with the ward outlined.
    card.locator(".referral-map path.leaflet-interactive").first.wait_for(state="attached")
    assert card.locator(".referral-map path.cell").count() >= 1
    assert card.locator(".referral-map path.boundary").count() >= 1
    assert "pitch black" not in partner.content()  # partners see the request, not reports
    assert_accessible(partner, "/staff/referrals (partner)")
    screenshot(partner, f"staff-referrals-partner-{size}")
    card.locator("select").select_option("done")
    card.locator("textarea").fill(
        "Both lights repaired on 3 November; a new column by the gate is ordered."
    )
    with partner.expect_navigation():
        card.get_by_role("button", name="Send the answer").click()
    done = partner.locator(".issue-card", has_text=request)
    assert done.locator(".badge").inner_text() == "done"
    assert done.locator("form").count() == 0
    screenshot(partner, f"staff-referrals-answered-{size}")
    # A partner has no issue queue: a friendly "not allowed", no traceback.
    response = partner.goto("/staff/issues")
    assert response is not None and response.status == 403
    assert partner.inner_text("h1") == "Not allowed"
    assert "Traceback" not in partner.content()
    assert_accessible(partner, "the 403 page")
    screenshot(partner, f"staff-403-{size}")

    # Back on the officer's phone, the answer is on the issue.
    page.reload()
    assert "Both lights repaired on 3 November" in page.inner_text("main")
    page.select_option("#stage", "assessment")
    page.fill("#notes", "Patrols from 1 November; the council mended both lights on 3 November.")
    _submit(page, "Move")
    assert _current_stage(page) == "Assessment"
    # Closing needs a reason: refused without one, with what she typed kept.
    assessed = "No reports since the lights were fixed; women say the path feels safer."
    page.select_option("#stage", "closed")
    page.fill("#notes", assessed)
    _submit(page, "Move")
    assert "Choose why the issue is closed" in page.inner_text(".error-summary")
    assert page.input_value("#notes") == assessed
    assert page.input_value("#reports_before").isdigit()  # the service's count, to confirm
    assert_accessible(page, "closing an issue, refused for want of a reason")
    screenshot(page, f"staff-issue-closing-{size}")
    page.select_option("#close_reason", "worked")
    _submit(page, "Move")
    assert _current_stage(page) == "Closed"
    history = page.locator(".stage-history li").all_inner_texts()
    assert [h.split("\n")[-1].strip() for h in history][:1] == [scanned]
    assert assessed in history[-1] and "Assessment → Closed" in history[-1]
    assert "The response worked" in page.inner_text("main")
    assert_accessible(page, "a closed issue with its history")
    screenshot(page, f"staff-issue-closed-{size}")
    page.goto("/staff/issues")
    assert page.locator(".issue-card", has_text=issue_title).count() == 0  # closed: off the queue


def test_supervisor_opens_an_issue_from_a_cluster(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, assert_accessible, screenshot
) -> None:
    page = new_page(**DESKTOP)
    staff_login(page, "supervisor")
    page.goto("/staff/issues")
    assert "Clusters of reports not yet worked" in page.content()
    assert_accessible(page, "/staff/issues (supervisor)")
    screenshot(page, "staff-issues-supervisor-desktop")
    row = page.locator("table.data tbody tr", has_text="Eastbrook").first
    with page.expect_navigation():
        row.get_by_role("button", name="Open an issue").click()
    assert "/staff/issues/" in page.url
    assert "in Eastbrook" in page.inner_text("h1")
    # The latest five reports are open; the others fold away so the forms stay near.
    n = int(page.inner_text("h2:has-text('Reports (')").split("(")[1].rstrip(")"))
    assert n == page.locator(".report-list li").count() > 5
    assert page.locator(".report-list li:visible").count() == 5
    summary = page.locator(".more-reports summary")
    assert summary.inner_text() == f"Show the other {n - 5} reports"
    summary.click()
    assert page.locator(".report-list li:visible").count() == n
    # When, in words: "3 Nov 2026, night (9pm to midnight)", not "2026-11-03 night".
    meta = page.locator(".report-list li .meta").first.inner_text()
    bands = ("morning (", "afternoon (", "evening (", "night (", "late night (")
    assert any(b in meta for b in bands) and "_" not in meta, meta


@pytest.mark.parametrize("size", list(SIZES))
def test_assessment_charts_are_images_with_alt_text(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, assert_accessible, assert_fits_screen, screenshot, size: str
) -> None:
    page = new_page(**SIZES[size])
    staff_login(page, "analyst")
    page.goto("/staff/assessment")
    page.wait_for_load_state("networkidle")
    charts = page.locator("main img.chart-img")
    assert charts.count() >= 4
    for chart in charts.all():
        alt = chart.get_attribute("alt") or ""
        # Alt text says what the chart shows, not only what it is.
        title, _, shows = alt.partition(": ")
        assert len(title) > 10 and len(shows) >= 8, alt
        chart.scroll_into_view_if_needed()
        # Drawn (the CSP lets data: images through); its frame no wider than the screen, and
        # on a phone the chart keeps a readable width and scrolls sideways inside the frame.
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0"), alt
        screen = SIZES[size].get("viewport", {"width": 390})["width"]
        frame = chart.locator("xpath=ancestor::figure[1]")
        box, image = frame.bounding_box(), chart.bounding_box()
        assert box and image and box["width"] <= screen, alt
        assert image["width"] >= min(600, screen - 40), alt  # labels not shrunk to pixels
        assert frame.get_attribute("tabindex") == "0", alt  # keyboard users can scroll it too
    assert_accessible(page, f"/staff/assessment ({size})")
    assert_fits_screen(page, f"/staff/assessment at {size} size")
    screenshot(page, f"staff-assessment-{size}")


def test_printable_report_is_styled_in_the_browser(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, screenshot
) -> None:
    """The report carries its styles inline (it stands alone when saved): the page's policy
    must let exactly those through, or the analyst sees an unstyled page."""
    page = new_page(**DESKTOP)
    blocked: list[str] = []
    page.on(
        "console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None
    )
    staff_login(page, "analyst")
    page.goto("/staff/report.html")
    page.wait_for_load_state("networkidle")
    assert blocked == []
    # report.css: headings in the brand colour, text in DejaVu Sans rather than the serif default.
    assert page.eval_on_selector("h1", "h => getComputedStyle(h).color") == "rgb(61, 58, 107)"
    assert "DejaVu Sans" in page.eval_on_selector("body", "b => getComputedStyle(b).fontFamily")
    # Nothing else inline is allowed: a style element the policy does not name is refused.
    page.evaluate(
        "() => { const s = document.createElement('style');"
        " s.textContent = 'h1 { color: rgb(1, 2, 3) }'; document.head.appendChild(s); }"
    )
    assert page.eval_on_selector("h1", "h => getComputedStyle(h).color") == "rgb(61, 58, 107)"
    screenshot(page, "staff-report-html")


def test_quarantine_rows_can_be_marked_fixed(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, assert_accessible, screenshot
) -> None:
    page = new_page()
    staff_login(page, "analyst")
    page.goto("/staff/quarantine")
    row = page.locator("table.data tbody tr", has_text="'120+' is not an age band")
    assert row.count() == 1
    assert "autumn-survey.csv" in row.inner_text()
    assert_accessible(page, "/staff/quarantine")
    screenshot(page, "staff-quarantine-phone")
    row.locator("input[type=checkbox]").check()
    _submit(page, "Mark fixed")
    assert page.locator("table.data tbody tr", has_text="'120+' is not an age band").count() == 0
    assert page.locator("table.data tbody tr", has_text="'Nowhere' is not a ward").count() == 1


@pytest.mark.parametrize("size", list(SIZES))
def test_safeguarding_and_plans_pages(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, assert_accessible, assert_fits_screen, screenshot, size: str
) -> None:
    page = new_page(**SIZES[size])
    staff_login(page, "supervisor")
    page.goto("/staff/safeguarding")
    assert page.inner_text("h1") == "Safeguarding queue"
    assert_accessible(page, f"/staff/safeguarding ({size})")
    screenshot(page, f"staff-safeguarding-{size}")
    page.goto("/staff/plans")
    assert page.inner_text("h1") == "Deployment plans"
    assert_accessible(page, f"/staff/plans ({size})")
    screenshot(page, f"staff-plans-{size}")
    page.goto("/staff/plans/new")
    assert_accessible(page, f"/staff/plans/new ({size})")
    page.fill("#f-teams", "two")
    _submit(page, "Make the plan")
    assert "whole number" in page.inner_text(".error-summary")
    assert_accessible(page, f"/staff/plans/new with an error ({size})")
    screenshot(page, f"staff-plans-new-error-{size}")
    page.fill("#f-name", f"Browser test plan {size}")
    page.fill("#f-teams", "1")
    page.fill("#f-officers", "12")
    page.fill("#f-min_team", "4")
    page.fill("#f-ward_officers", "4")
    page.fill("#f-time_limit", "10")
    _submit(page, "Make the plan")
    # The plan is solved by the worker `serve` starts: the job's page follows it, then opens it.
    assert page.inner_text("h1") == f"Solving the plan “Browser test plan {size}”"
    page.wait_for_url(re.compile(r".*/staff/plans/\d+$"), timeout=120_000)
    assert page.inner_text("h1") == f"Browser test plan {size}", page.inner_text("main")[:500]
    page.wait_for_load_state("networkidle")
    # The map really draws: ward shapes, the base and its reach are Leaflet vector layers.
    page.wait_for_selector("#plan-map .leaflet-interactive", timeout=10_000)
    assert page.locator("#plan-map .leaflet-interactive").count() >= 3
    assert_accessible(page, f"a plan's page ({size})")
    assert_fits_screen(page, f"a plan's page at {size} size")
    screenshot(page, f"staff-plan-detail-{size}")
    # A team's briefing, as a sergeant opens it between visits.
    page.get_by_role("link", name="page").first.click()
    page.wait_for_url("**/briefing")
    assert page.locator(".week .day").count() == 7
    assert_accessible(page, f"a team briefing ({size})")
    assert_fits_screen(page, f"a team briefing at {size} size")
    screenshot(page, f"staff-plan-briefing-{size}")


@pytest.mark.parametrize("size", list(SIZES))
def test_error_pages_are_friendly(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, assert_accessible, screenshot, size: str
) -> None:
    page = new_page(**SIZES[size])
    # Signed out, a staff page asks her to sign in and comes back after.
    page.goto("/staff/issues")
    assert "/login?next=/staff/issues" in page.url
    page.fill("#username", OFFICER)
    page.fill("#password", "wrong password here")
    _submit(page, "Sign in")
    assert page.locator(".error-summary").is_visible()
    assert_accessible(page, f"/login with an error ({size})")
    screenshot(page, f"staff-login-error-{size}")
    staff_login(page, OFFICER)
    cases = [
        ("/staff/assessment", 403, "Not allowed"),  # analysts and supervisors only
        ("/staff/issues/999999", 404, "Not found"),
        ("/staff/no-such-page", 404, "Page not found"),
        ("/no-such-page", 404, "Page not found"),
    ]
    for path, status, title in cases:
        response = page.goto(path)
        assert response is not None and response.status == status, path
        assert page.inner_text("h1") == title, path
        content = page.content()
        assert "Traceback" not in content and 'File "' not in content, path
        assert page.get_by_role("link", name="Go to the start page").is_visible()
        assert_accessible(page, f"{path} ({size})")
        name = path.strip("/").replace("/", "-")
        screenshot(page, f"error-{status}-{name}-{size}")
