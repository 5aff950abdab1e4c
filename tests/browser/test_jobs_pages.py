"""Background jobs in a real browser, with the worker that ``saferstreets serve`` starts: an
analyst runs the assessment again, watches its progress (htmx polls the job) and is taken back
to the findings; the jobs list; a failed job with its reason and Try again. axe on each page."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from tests.browser import _fixtures
from tests.browser.screens import SIZES

from saferstreets.db import session_scope

seeded = _fixtures.seeded


def _failed_job(server: Any, owner: str) -> int:
    from saferstreets.accounts.models import User
    from saferstreets.jobs.models import Job

    with session_scope(server.engine) as session:
        user_id = session.scalar(sa.select(User.id).where(User.username == owner))
        job = Job(kind="plan.solve", title="Solving the plan “Night-time economy, 4 teams”",
                  params={}, requested_by=user_id, status="failed", attempts=1, max_attempts=1,
                  error="Plan settings cannot work: 4 teams of at least 20 need 80 officers, "
                  "but there are 40.")  # fmt: skip
        session.add(job)
        session.flush()
        return job.id


@pytest.mark.parametrize("size", list(SIZES))
def test_the_assessment_runs_in_the_background_and_the_page_follows_it(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, assert_accessible, assert_fits_screen, screenshot, size: str
) -> None:
    page = new_page(**SIZES[size])
    staff_login(page, "analyst")
    page.goto("/staff/assessment")
    page.get_by_label("Assign themes to new free text first").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Run the assessment again").click()
    assert "/staff/jobs/" in page.url
    job_url = page.url
    assert page.inner_text("h1") == "Running the assessment"
    assert_accessible(page, f"a job's page while it waits or runs ({size})")
    assert_fits_screen(page, f"a job's page at {size} size")
    screenshot(page, f"staff-job-running-{size}")
    # htmx polls the job; when the worker is done the page opens the findings by itself
    page.wait_for_url("**/staff/assessment", timeout=120_000)
    page.goto(job_url)
    assert "Done." in page.inner_text("#job-status")
    assert page.get_by_role("link", name="Open the result").get_attribute("href") == (
        "/staff/assessment"
    )
    assert_accessible(page, f"a finished job's page ({size})")
    screenshot(page, f"staff-job-done-{size}")
    page.goto("/staff/jobs")
    row = page.locator("table.data tbody tr", has_text="Running the assessment").first
    assert "done" in row.inner_text()
    assert_accessible(page, f"/staff/jobs ({size})")
    assert_fits_screen(page, f"/staff/jobs at {size} size")
    screenshot(page, f"staff-jobs-{size}")


def test_a_failed_job_says_why_and_offers_to_try_again(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, assert_accessible, assert_fits_screen, screenshot
) -> None:
    job_id = _failed_job(seeded.server, "supervisor")
    page = new_page()
    staff_login(page, "supervisor")
    page.goto(f"/staff/jobs/{job_id}")
    status = page.inner_text("#job-status")
    assert "Failed after 1 attempt." in status and "need 80 officers" in status
    assert page.get_by_role("button", name="Try again").is_visible()
    assert_accessible(page, "a failed job's page")
    assert_fits_screen(page, "a failed job's page on a phone")
    screenshot(page, "staff-job-failed-phone")
    # another user's job is not hers to see
    other = _failed_job(seeded.server, "analyst")
    assert page.goto(f"/staff/jobs/{other}").status == 404
