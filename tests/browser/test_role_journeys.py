"""Each role's main journey in a real browser, on a phone and on a desktop, with axe-core at 0
violations and screenshots: the admin creates an account (its user sets her own password from
the one-time link) and reads the audit trail; a council partner answers its referral. (The ward
officer's journey from Scanning to closed is ``test_staff_pages.py``'s, at both sizes.)"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import sqlalchemy as sa
from tests.browser import _fixtures
from tests.browser._fixtures import NORTHGATE, PARTNER, PARTNER_CODE
from tests.browser.screens import SIZES

seeded = _fixtures.seeded  # the seeded store, as a fixture of this module
NEW_PASSWORD = "lamps along the canal path"


def _submit(page: Any, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def _path(link: str) -> str:
    """The path of an absolute link (the live server is not at ``public_base_url``)."""
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def new_issue(server: Any, title: str, request: str | None = None) -> tuple[int, int | None]:
    """A fresh Northgate issue from five of its reports (and a referral to street lighting)."""
    from saferstreets.accounts.models import User
    from saferstreets.actions.service import create_issue, refer
    from saferstreets.db import session_scope
    from saferstreets.reports.models import Report
    from saferstreets.reports.safeguarding import awaiting_review

    with session_scope(server.engine) as session:
        supervisor = session.scalar(sa.select(User).where(User.username == "supervisor"))
        # Urgent reports still waiting for review (the public-reporting tests send some) cannot
        # be linked: take the newest five that can, as an officer would.
        linkable = sa.and_(Report.ward_code == NORTHGATE, sa.not_(awaiting_review()))
        ids = session.scalars(
            sa.select(Report.id).where(linkable).order_by(Report.id.desc())
        ).all()[:5]
        issue = create_issue(session=session, user=supervisor, ward_code=NORTHGATE, title=title,
                             description="Women say the canal path is unlit at night.",
                             themes=["poor_lighting"], report_ids=ids, priority=2)  # fmt: skip
        referral = None
        if request:
            referral = refer(session=session, issue=issue, user=supervisor,
                             partner=PARTNER_CODE, request=request).id  # fmt: skip
        return issue.id, referral


@pytest.mark.parametrize("size", list(SIZES))
def test_admin_creates_a_user_and_reads_the_audit(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, assert_accessible, assert_fits_screen, screenshot, size: str
) -> None:
    page = new_page(**SIZES[size])
    # A failed sign-in first, for the audit trail to show.
    page.goto("/login")
    page.fill("#username", "analyst")
    page.fill("#password", "not the password at all")
    _submit(page, "Sign in")
    staff_login(page, "admin")
    assert page.url.endswith("/staff/users")  # the admin lands on the accounts
    assert page.inner_text("h1") == "Accounts"
    assert_accessible(page, f"/staff/users ({size})")
    assert_fits_screen(page, f"/staff/users at {size} size")
    screenshot(page, f"admin-users-{size}")

    # A ward officer without a ward is refused, with what was typed kept.
    username = f"pc.new.{size}"
    page.fill("#f-username", username)
    page.fill("#f-display_name", f"PC New ({size})")
    page.select_option("#f-role", "ward_officer")
    _submit(page, "Create the account")
    assert "a ward officer needs at least one ward" in page.inner_text(".error-summary")
    assert page.input_value("#f-username") == username
    assert_accessible(page, f"/staff/users with an error ({size})")
    screenshot(page, f"admin-users-error-{size}")
    page.select_option("#f-wards", [NORTHGATE])
    _submit(page, "Create the account")
    assert "The account is created." in page.inner_text(".reset-link")
    link = page.input_value("#reset-link")
    assert "/password-reset/" in link
    assert_accessible(page, f"a new account's page with its link ({size})")
    assert_fits_screen(page, f"a new account's page at {size} size")
    screenshot(page, f"admin-user-created-{size}")

    # She sets her own password through the link, and lands on her queue.
    user = new_page(**SIZES[size])
    user.goto(_path(link))
    assert user.inner_text("h1") == "Set your password"
    assert_accessible(user, f"the set-your-password page ({size})")
    screenshot(user, f"password-reset-{size}")
    user.fill("#password", NEW_PASSWORD)
    user.fill("#confirm", NEW_PASSWORD)
    _submit(user, "Set my password")
    assert "Your password is set." in user.inner_text("main")
    user.fill("#username", username)
    user.fill("#password", NEW_PASSWORD)
    _submit(user, "Sign in")
    assert user.url.endswith("/staff/issues")
    # The link works once.
    response = user.goto(_path(link))
    assert response is not None and response.status == 404

    # The audit trail: the account's creation, her password, the failed sign-in.
    page.get_by_role("link", name="Audit", exact=True).click()
    page.wait_for_url("**/staff/audit")
    assert_accessible(page, f"/staff/audit ({size})")
    assert_fits_screen(page, f"/staff/audit at {size} size")
    page.select_option("#f-action", "signin_failed")
    _submit(page, "Search")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() >= 1
    assert "(nobody)" in rows.first.inner_text() and "not the password" not in page.content()
    page.fill("#f-who", "admin")
    page.select_option("#f-action", "")
    page.select_option("#f-kind", "user")
    _submit(page, "Search")
    texts = page.locator("table.audit tbody").inner_text()
    assert "create" in texts and "password link" in texts
    assert_accessible(page, f"/staff/audit searched ({size})")
    screenshot(page, f"admin-audit-{size}")
    with page.expect_download() as download:
        page.get_by_role("link", name="as CSV").click()
    body = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    table = list(csv.reader(io.StringIO(body)))
    assert table[0][:3] == ["at_utc", "who", "action"]
    assert {r[1] for r in table[1:]} == {"admin"} and {r[3] for r in table[1:]} == {"user"}

    # Deactivated, she cannot sign in.
    page.goto("/staff/users")
    page.get_by_role("link", name=username).click()
    _submit(page, "Deactivate")
    assert "can no longer sign in" in page.inner_text("main")
    assert_accessible(page, f"an account's page ({size})")
    screenshot(page, f"admin-user-deactivated-{size}")
    response = user.goto("/staff/issues")
    assert "/login" in user.url


@pytest.mark.parametrize("size", list(SIZES))
def test_partner_answers_a_referral(  # type: ignore[no-untyped-def]
    new_page, seeded, staff_login, assert_accessible, assert_fits_screen, screenshot, size: str
) -> None:
    request = f"Please light the canal path between the lock and the bridge ({size})."
    title = f"Dark canal path, Northgate ({size})"
    new_issue(seeded.server, title, request)
    page = new_page(**SIZES[size])
    staff_login(page, PARTNER)
    assert page.url.endswith("/staff/referrals")  # a partner lands on its referrals
    card = page.locator(".issue-card", has_text=request)
    assert card.count() == 1 and card.locator("h2").inner_text() == title
    assert "pitch black" not in page.content()  # the request, never the reports
    card.locator(".referral-map path.leaflet-interactive").first.wait_for(state="attached")
    assert_accessible(page, f"/staff/referrals ({size})")
    assert_fits_screen(page, f"/staff/referrals at {size} size")
    screenshot(page, f"partner-referrals-{size}")
    card.locator("select").select_option("accepted")
    card.locator("textarea").fill("Survey booked for Monday; two columns to be added.")
    with page.expect_navigation():
        card.get_by_role("button", name="Send the answer").click()
    card = page.locator(".issue-card", has_text=request)
    assert card.locator(".badge").inner_text() == "accepted"
    assert "Survey booked for Monday" in card.inner_text()
    card.locator("select").select_option("done")
    card.locator("textarea").fill("Two new columns lit on 12 November.")
    with page.expect_navigation():
        card.get_by_role("button", name="Send the answer").click()
    card = page.locator(".issue-card", has_text=request)
    assert card.locator(".badge").inner_text() == "done" and card.locator("form").count() == 0
    assert_accessible(page, f"/staff/referrals answered ({size})")
    screenshot(page, f"partner-referral-answered-{size}")
    # Nothing else of the force's is hers: the store's figures and the queues are refused.
    for path in ("/staff/overview", "/staff/issues", "/staff/users"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
