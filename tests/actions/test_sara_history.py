"""SARA keeps its history (issue 13): every move's note is kept and shown in order; closing needs
a reason and the reports before and after; only a supervisor reopens; priority means something."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from tests.factories import add_area, add_report

from saferstreets.accounts.models import AuditEvent
from saferstreets.accounts.service import create_user
from saferstreets.actions import service, stages, workload
from saferstreets.actions.models import StageNote
from saferstreets.actions.priority import prioritise, report_weight
from saferstreets.errors import ValidationFailed

START = datetime(2022, 3, 1, 9)  # when the response starts, in the tests below


def _token(text: str) -> str:
    return text.split('name="csrf_token" value="')[1].split('"')[0]


def _county(session) -> None:  # type: ignore[no-untyped-def]
    add_area(session, "D1", "Northbury", "district")
    add_area(session, "W1", "Castle", "ward", parent="D1")
    for name, role in (("pc", "ward_officer"), ("sgt", "supervisor")):
        create_user(
            session=session, username=name, password="long enough pw", role=role, wards=["W1"]
        )


def _login(client, name: str) -> str:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    token = _token(client.get("/login").text)
    client.post(
        "/login", data={"username": name, "password": "long enough pw", "csrf_token": token}
    )
    return _token(client.get("/staff/issues").text)


def test_ward_officer_takes_an_issue_from_scanning_to_closed(client, engine) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.db import session_scope

    with session_scope(engine) as session:
        _county(session)
        ids = [
            add_report(session, ward="W1", district="D1", reasons=["poor_lighting"]).id
            for _ in range(4)
        ]
    token = _login(client, "pc")
    created = client.post(
        "/staff/issues",
        data={"csrf_token": token, "ward_code": "W1", "title": "Dark path",
              "themes": "poor_lighting", "report_ids": ",".join(map(str, ids))},
        follow_redirects=False,
    )  # fmt: skip
    url = created.headers["location"]
    # A move without its note is refused, with the field named, and nothing moves.
    refused = client.post(f"{url}/stage", data={"csrf_token": token, "stage": "analysis"})
    assert refused.status_code == 422
    assert "why these reports are one problem" in refused.text
    assert 'id="notes-error"' in refused.text and 'aria-invalid="true"' in refused.text
    assert client.get(f"{url}.json").json()["stage"] == "scanning"
    notes = {
        "analysis": "Four reports of the unlit canal path.",
        "response": "Unlit 300 m; Fri-Sat after 21:00; lamps 4-9 out.",
        "assessment": "Council mended lamps 4-9 & added two columns.",
    }
    for stage, note in notes.items():
        moved = client.post(
            f"{url}/stage",
            data={"csrf_token": token, "stage": stage, "notes": note},
            follow_redirects=False,
        )
        assert moved.status_code == 303, moved.text
    page = client.get(url).text
    assert "Reports before" in page and "Why it is closed" in page
    # Closing without a reason is refused, and the form shows again with what she typed.
    typed = "No reports & no calls since the lamps were mended."
    no_reason = client.post(
        f"{url}/stage",
        data={"csrf_token": token, "stage": "closed", "notes": typed, "reports_before": "4",
              "reports_after": "0"},
    )  # fmt: skip
    assert no_reason.status_code == 422
    assert "Choose why the issue is closed" in no_reason.text
    assert html.escape(typed) in no_reason.text
    closed = client.post(
        f"{url}/stage",
        data={"csrf_token": token, "stage": "closed", "notes": typed, "close_reason": "worked",
              "reports_before": "4", "reports_after": "1"},
        follow_redirects=False,
    )  # fmt: skip
    assert closed.status_code == 303
    page = client.get(url).text
    history = re.findall(r"<p>(.*?)</p></li>", page)
    assert history == [html.escape(n) for n in [*notes.values(), typed]]
    assert "The response worked; reports before the response 4, after 1" in page
    assert "Reopen" not in page  # a ward officer cannot reopen
    body = client.get(f"{url}.json").json()
    assert (body["stage"], body["close_reason"], body["reports_before"], body["reports_after"]) == (
        "closed", "worked", 4, 1,
    )  # fmt: skip
    with session_scope(engine) as session:
        events = session.scalars(
            sa.select(AuditEvent.detail).where(
                AuditEvent.object_kind == "local_issue", AuditEvent.action == "update"
            )
        ).all()
        assert {"stage": ["assessment", "closed"], "reason": "worked", "before": 4, "after": 1} in (
            events
        )
    # Reopening: refused to the ward officer, done by the supervisor with a reason.
    refused = client.post(
        f"{url}/stage", data={"csrf_token": token, "stage": "scanning", "notes": "again"}
    )
    assert refused.status_code == 403
    token = _login(client, "sgt")
    assert "Reopen" in client.get(url).text
    reopened = client.post(
        f"{url}/stage",
        data={"csrf_token": token, "stage": "scanning", "notes": "Six new reports in May."},
        follow_redirects=False,
    )
    assert reopened.status_code == 303
    body = client.get(f"{url}.json").json()
    assert body["stage"] == "scanning" and body["close_reason"] is None
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "reopen")) == 1


def test_an_issue_of_32_reports_cannot_be_closed_from_scanning_without_a_reason(session) -> None:  # type: ignore[no-untyped-def]
    _county(session)
    ids = [
        add_report(session, ward="W1", district="D1", reasons=["isolated"]).id for _ in range(32)
    ]
    issue = service.create_issue(
        session=session, user=None, ward_code="W1", title="Empty park", report_ids=ids
    )
    with pytest.raises(ValidationFailed, match="Say why the issue is closed"):
        stages.move_stage(session=session, issue=issue, to_stage="closed", user=None)
    with pytest.raises(ValidationFailed, match="Choose why the issue is closed"):
        stages.move_stage(session=session, issue=issue, to_stage="closed", user=None, notes="x")
    with pytest.raises(ValidationFailed, match="only be closed as a duplicate"):
        stages.move_stage(
            session=session, issue=issue, to_stage="closed", user=None, notes="fine now",
            close_reason="worked",
        )  # fmt: skip
    assert issue.stage == "scanning"
    assert session.scalar(sa.select(sa.func.count(StageNote.id))) == 0
    stages.move_stage(
        session=session, issue=issue, to_stage="closed", user=None,
        notes="Same park as issue 3.", close_reason="duplicate",
    )  # fmt: skip
    assert issue.stage == "closed" and issue.reports_before is None


def test_before_and_after_count_the_same_length_of_time_in_the_ward_and_themes(session) -> None:  # type: ignore[no-untyped-def]
    _county(session)
    add_area(session, "W2", "Riverside", "ward", parent="D1", lon=-0.29)

    def report(days: int, reasons: list[str], ward: str = "W1") -> None:
        add_report(session, ward=ward, district="D1", reasons=reasons).received_hour = (
            START + timedelta(days=days)
        )

    for days in (-30, -20, -10, -1):  # four in the 30 days before
        report(days, ["poor_lighting"])
    report(-31, ["poor_lighting"])  # before the window
    report(-5, ["staring"])  # another theme
    report(-5, ["poor_lighting"], ward="W2")  # another ward
    report(3, ["poor_lighting", "isolated"])  # one after
    issue = service.create_issue(
        session=session, user=None, ward_code="W1", title="Dark", themes=["poor_lighting"]
    )
    for stage in ("analysis", "response"):
        stages.move_stage(
            session=session, issue=issue, to_stage=stage, user=None, notes="n", at=START
        )
    counted = stages.before_after(session=session, issue=issue, today=date(2022, 3, 31))
    assert counted == {"start": date(2022, 3, 1), "days": 30, "before": 4, "after": 1}


def test_a_report_weighs_by_the_worst_harm_among_its_reasons() -> None:
    assert report_weight(["poor_lighting"]) == 1.0
    assert report_weight(["verbal_harassment"]) == 2.0
    assert report_weight(["poor_lighting", "touching"]) > 6.5
    many_dark = prioritise(report_reasons=[["poor_lighting"]] * 32, urgent=3, age_days=60,
                           waiting_days=41)  # fmt: skip
    assert many_dark.why == "Priority 3: 32 reports (harm-weighted 32), 3 urgent, waiting 41 days"
    assert many_dark.score == pytest.approx(32 + 30 + 41 / 7 + 2, abs=0.05)
    touching = prioritise(report_reasons=[["touching"]] * 20, urgent=0, age_days=0,
                          waiting_days=0)  # fmt: skip
    dark = prioritise(report_reasons=[["poor_lighting"]] * 20, urgent=0, age_days=0,
                      waiting_days=0)  # fmt: skip
    assert (touching.level, dark.level) == (2, 3)
    waited = prioritise(report_reasons=[["touching"]] * 20, urgent=0, age_days=400,
                        waiting_days=400)  # fmt: skip
    assert waited.score == touching.score + 24  # waiting and age are capped


def test_priorities_spread_and_order_the_queue(session) -> None:  # type: ignore[no-untyped-def]
    """Issues like the demo's (clusters of 4 to 40 reports, some urgent) no longer all come out
    priority 1, and the queue is ordered by the computed priority, not the stored one."""
    _county(session)
    officer = session.scalar(sa.select(service.User).where(service.User.username == "pc"))
    shapes = [  # reports, reason, urgent
        (40, "poor_lighting", 0), (12, "poor_lighting", 0), (6, "isolated", 0),
        (14, "being_followed", 2), (25, "verbal_harassment", 1), (5, "overgrown", 0),
        (30, "groups_of_men", 0), (8, "touching", 1), (10, "no_cctv", 0),
        (40, "touching", 2),
    ]  # fmt: skip
    issues = {}
    for count, reason, urgent in shapes:
        ids = [
            add_report(session, ward="W1", district="D1", reasons=[reason]).id
            for _ in range(count - urgent)
        ]
        for _ in range(urgent):  # reviewed, so linkable
            r = add_report(session, ward="W1", district="D1", reasons=[reason], urgent=True,
                           urgency=1, urgent_reason="danger now")  # fmt: skip
            from saferstreets.reports.safeguarding import record_review

            record_review(session=session, public_ids=[r.public_id], outcome="control_room",
                          note="Called in.", user=None)  # fmt: skip
            ids.append(r.id)
        issue = service.create_issue(
            session=session, user=None, ward_code="W1", title=f"{reason} {count}", report_ids=ids,
            priority=1,
        )  # fmt: skip
        issue.created_at = datetime(2022, 1, 1)
        issues[(count, reason)] = issue
    ranked = workload.queue(session=session, user=officer, today=date(2022, 2, 12))
    levels = [p.level for _, p in ranked]
    assert levels == sorted(levels)
    assert {1, 2, 3} <= set(levels) and levels.count(1) <= len(levels) // 2
    by_title = {i.title: p for i, p in ranked}
    assert by_title["being_followed 14"].why == (
        "Priority 2: 14 reports (harm-weighted 97), 2 urgent, waiting 42 days"
    )
    assert by_title["overgrown 5"].level == 3
    assert issues[(5, "overgrown")].priority == 3  # stored too


def test_at_a_glance_hers_due_and_changed_since_she_looked(session) -> None:  # type: ignore[no-untyped-def]
    _county(session)
    officer, supervisor = (
        session.scalar(sa.select(service.User).where(service.User.username == n))
        for n in ("pc", "sgt")
    )
    today = date(2022, 5, 1)
    mine = service.create_issue(session=session, user=supervisor, ward_code="W1", title="Mine",
                                owner_id=officer.id, due_on=today - timedelta(days=3))  # fmt: skip
    soon = service.create_issue(session=session, user=supervisor, ward_code="W1", title="Soon",
                                due_on=today + timedelta(days=2))  # fmt: skip
    later = service.create_issue(session=session, user=supervisor, ward_code="W1", title="Later",
                                 due_on=today + timedelta(days=30))  # fmt: skip
    looked = datetime(2022, 4, 20, 12)
    for issue in (mine, soon):
        session.add(AuditEvent(user_id=officer.id, action="view", object_kind="local_issue",
                               object_id=str(issue.id), at=looked))  # fmt: skip
    session.flush()
    for event in session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "create")):
        event.at = looked - timedelta(days=1)  # opened before she looked
    referral = service.refer(session=session, issue=soon, user=supervisor,
                             partner="council_lighting", request="Mend the lamps")  # fmt: skip
    glance = workload.at_a_glance(
        session=session, user=officer, issues=[mine, soon, later], today=today
    )
    assert glance[mine.id] == {
        "mine": True, "due": "overdue by 3 days", "overdue": True, "news": None,
    }  # fmt: skip
    # The supervisor sent a referral on "soon" after she last looked (audit time: now > looked).
    assert glance[soon.id]["news"] == "changed since you last looked"
    assert glance[soon.id]["due"] == "due in 2 days" and not glance[soon.id]["mine"]
    assert glance[later.id] == {"mine": False, "due": None, "overdue": False, "news": "new to you"}
    # Her own changes are not news to her.
    session.add(AuditEvent(user_id=officer.id, action="view", object_kind="local_issue",
                           object_id=str(soon.id), at=datetime(2100, 1, 1)))  # fmt: skip
    session.flush()
    service.add_action(session=session, issue=soon, user=officer, description="Patrolled")
    glance = workload.at_a_glance(session=session, user=officer, issues=[soon], today=today)
    assert glance[soon.id]["news"] is None
    # Overdue referrals are flagged to the supervisor, not the ward officer.
    referral.sent_on = today - timedelta(days=29)
    assert workload.overdue_referrals(session=session, user=officer, today=today) == []
    assert workload.overdue_referrals(session=session, user=supervisor, today=today) == [
        (referral, soon)
    ]
    referral.sent_on = today - timedelta(days=28)
    assert workload.overdue_referrals(session=session, user=supervisor, today=today) == []


def test_the_supervisor_queue_page_flags_overdue_referrals(client, engine) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.db import session_scope

    with session_scope(engine) as session:
        _county(session)
        issue = service.create_issue(session=session, user=None, ward_code="W1", title="Lamps <b>")
        referral = service.refer(session=session, issue=issue, user=None,
                                 partner="council_lighting", request="Mend the lamps")  # fmt: skip
        referral.sent_on = date.today() - timedelta(days=40)
    _login(client, "sgt")
    page = client.get("/staff/issues").text
    assert "Referrals overdue" in page and "40 days ago" in page and "Lamps &lt;b&gt;" in page
    _login(client, "pc")
    page = client.get("/staff/issues").text
    assert "Referrals overdue" not in page and "new to you" in page
