"""The demo reviews urgent reports as a supervisor would before it links any to an issue."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from tests.factories import add_area, add_report

from saferstreets.actions.models import IssueReport, LocalIssue
from saferstreets.demo.local_issues import WAITING_DAYS, seed_local_issues
from saferstreets.reports.models import Report, SafeguardingReview
from saferstreets.reports.safeguarding import awaiting_review

FIRST = datetime(2022, 9, 1, 20)


def test_the_demo_links_no_urgent_report_before_its_review(session) -> None:  # type: ignore[no-untyped-def]
    add_area(session, "D1", "Northbury", "district")
    add_area(session, "W1", "Castle", "ward", parent="D1")
    for day in range(30):  # one cluster of lighting reports, a fifth of them urgent
        urgent = day % 5 == 0
        report = add_report(
            session, ward="W1", district="D1", reasons=["poor_lighting"], urgent=urgent,
            urgency=1 if urgent else None, urgent_reason="danger now" if urgent else None,
        )  # fmt: skip
        report.received_hour = FIRST + timedelta(days=day)
    session.flush()
    created = seed_local_issues(session=session, seed=3, today=date(2022, 10, 1))
    assert created > 0 and session.scalar(sa.select(sa.func.count(LocalIssue.id))) == created
    linked_waiting = session.scalar(
        sa.select(sa.func.count())
        .select_from(IssueReport)
        .join(Report, Report.id == IssueReport.report_id)
        .where(awaiting_review())
    )
    assert linked_waiting == 0
    reviews = session.scalars(sa.select(SafeguardingReview)).all()
    assert len(reviews) == 5  # the sixth (day 25) is within the last three days' grace: waiting
    assert all(r.outcome in ("control_room", "no_further_action") and r.note for r in reviews)
    waiting = session.scalars(sa.select(Report.received_hour).where(awaiting_review())).all()
    assert waiting == [FIRST + timedelta(days=25)]
    assert all(
        timedelta(hours=1)
        <= r.reviewed_at - session.get(Report, r.report_id).received_hour
        < timedelta(days=1)
        for r in reviews
    )
    assert WAITING_DAYS == 3
