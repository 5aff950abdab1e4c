"""The failed-alert banner on the safeguarding queue, in a real browser on a phone and a desk."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.browser.screens import DESKTOP

from saferstreets.alerts.models import Alert
from saferstreets.db import session_scope
from saferstreets.models_common import utcnow


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_failed_alert_is_the_first_thing_on_the_queue(  # type: ignore[no-untyped-def]
    live_server, new_page, staff_login, assert_accessible, assert_fits_screen, screenshot, size
) -> None:
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    with session_scope(live_server.engine) as session:
        session.add(
            Alert(
                report_public_id="00000000-0000-4000-8000-000000000001",
                urgency="danger now",
                reasons="danger now; asks for help",
                ward_code="E05009001",
                received_hour=now,
                created_at=now,
                status="failed",
                attempts=6,
                finished_at=now + timedelta(minutes=16),
                last_error="webhook: HTTP 503; email: ConnectionRefusedError: [Errno 111] "
                "Connection refused",
                deliveries={},
            )
        )
    try:
        page = new_page(**({} if size == "phone" else DESKTOP))
        staff_login(page, "supervisor")
        page.goto("/staff/safeguarding")
        banner = page.locator("#alert-trouble")
        assert banner.is_visible()
        assert "1 danger-now alert could not be delivered" in banner.inner_text()
        assert banner.locator("a").get_attribute("href") == (
            "/staff/safeguarding?report=00000000-0000-4000-8000-000000000001#report-00000000-0000-4000-8000-000000000001"
        )
        assert_accessible(page, f"/staff/safeguarding with a failed alert ({size})")
        assert_fits_screen(page, f"/staff/safeguarding with a failed alert ({size})")
        screenshot(page, f"staff-safeguarding-alert-failed-{size}")
    finally:
        with session_scope(live_server.engine) as session:
            session.execute(sa.delete(Alert))
