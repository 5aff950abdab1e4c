"""Staff pages that show reporters' words leave a trail: who read which records, and when.

The safeguarding queue, an issue's page and JSON (with the ids of the reports shown), the
assessment's quotes, the chief officer's report (HTML and PDF) and the quarantine (raw rows of
survey files) each write one audit event per view, naming the records behind what was shown.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from tests.factories import add_area, add_report

from saferstreets.accounts.models import AuditEvent, User
from saferstreets.accounts.service import create_user
from saferstreets.actions import service as actions
from saferstreets.assessment.models import AnalysisRun
from saferstreets.db import session_scope
from saferstreets.ingest.models import QuarantinedRow
from saferstreets.themes.models import ThemeAssignment

PASSWORD = "correct horse battery staple"


@pytest.fixture
def store(engine: sa.Engine) -> dict[str, Any]:
    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district", size=0.04)
        add_area(session, "W1", "Castle", "ward", "D1")
        add_area(session, "W2", "Riverside", "ward", "D1", lon=-0.28)
        reports = [
            add_report(
                session,
                ward="W1",
                district="D1",
                reasons=["poor_lighting"],
                free_text=f"The canal path has no working lamps at all, night {n}",
            )
            for n in range(3)
        ]
        other = add_report(
            session, ward="W2", district="D1", reasons=["poor_lighting"], free_text="Riverside"
        )
        urgent = add_report(
            session,
            ward="W1",
            district="D1",
            reasons=["followed"],
            free_text="He is following me right now",
            urgent=True,
            urgent_reason="danger_now",
        )
        issue = actions.create_issue(
            session=session,
            user=None,
            ward_code="W1",
            title="Dark canal path",
            report_ids=[r.id for r in reports],
        )
        elsewhere = actions.create_issue(
            session=session, user=None, ward_code="W2", title="Riverside", report_ids=[other.id]
        )
        for r in reports:
            session.add(
                ThemeAssignment(
                    owner_kind="report",
                    owner_id=r.id,
                    theme="poor_lighting",
                    confidence=0.9,
                    source="model",
                )
            )
        ranked = [{"code": "poor_lighting", "share": 0.6, "lower": 0.4, "upper": 0.8}]
        session.add(AnalysisRun(kind="themes", result={"report": {"ranked": ranked}}))
        row = QuarantinedRow(
            kind="survey",
            source="wave.csv",
            row_number=3,
            reason="no date",
            raw={"free_text": "a respondent's words"},
        )
        session.add(row)
        for role, extra in (
            ("supervisor", {}),
            ("analyst", {}),
            ("ward_officer", {"wards": ["W1"]}),
        ):
            create_user(session=session, username=role, password=PASSWORD, role=role, **extra)
        session.flush()
        return {
            "reports": [r.id for r in reports],
            "urgent": urgent.public_id,
            "issue": issue.id,
            "elsewhere": elsewhere.id,
            "row": row.id,
        }


def _sign_in(client: Any, username: str) -> None:
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    data = {"username": username, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


def _events(engine: sa.Engine, username: str, kind: str) -> list[AuditEvent]:
    with session_scope(engine) as session:
        user_id = session.scalar(sa.select(User.id).where(User.username == username))
        events = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.user_id == user_id, AuditEvent.object_kind == kind)
            .order_by(AuditEvent.id)
        ).all()
        session.expunge_all()
        return list(events)


def test_an_issue_page_records_the_reports_it_showed(client, engine, store) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "ward_officer")
    page = client.get(f"/staff/issues/{store['issue']}")
    assert page.status_code == 200 and "no working lamps" in page.text
    assert client.get(f"/staff/issues/{store['issue']}.json").status_code == 200
    # Another ward's issue is not shown, so nothing about it is recorded as read.
    assert client.get(f"/staff/issues/{store['elsewhere']}").status_code == 404
    events = _events(engine, "ward_officer", "local_issue")
    assert [(e.action, e.object_id) for e in events] == [("view", str(store["issue"]))] * 2
    for event in events:
        assert sorted(event.detail["reports"]) == sorted(store["reports"])
        assert event.at is not None


def test_the_safeguarding_queue_records_the_reports_it_showed(client, engine, store) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "supervisor")
    page = client.get("/staff/safeguarding")
    assert page.status_code == 200 and "following me right now" in page.text
    (event,) = _events(engine, "supervisor", "safeguarding_queue")
    assert event.action == "view"
    assert store["urgent"] in event.detail["reports"]


def test_the_assessment_records_whose_words_it_quoted(client, engine, store, job_worker) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "analyst")
    page = client.get("/staff/assessment")
    assert page.status_code == 200 and "no working lamps" in page.text  # a quote is shown
    (event,) = _events(engine, "analyst", "assessment")
    assert event.action == "view"
    quoted = event.detail["quoted"]
    assert quoted and all(q["kind"] == "report" and q["id"] in store["reports"] for q in quoted)
    # The chief officer's report, as a page and as a PDF, carries the same quotes.
    assert client.get("/staff/report.html").status_code == 200
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    queued = client.post("/staff/report.pdf", data={"csrf_token": token}, follow_redirects=False)
    job_id = int(queued.headers["location"].rsplit("/", 1)[1])
    job_worker.start()
    assert job_worker.wait_for(job_id)["status"] == "done"
    assert client.get(f"/staff/jobs/{job_id}/download").status_code == 200
    exports = _events(engine, "analyst", "report")
    formats = [(e.action, e.detail["format"]) for e in exports]
    assert formats == [("export", "html"), ("export", "pdf")]
    assert all(e.detail["quoted"] == quoted for e in exports)


def test_the_quarantine_records_the_rows_it_showed(client, engine, store) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "analyst")
    for path in ("/staff/quarantine", "/staff/quarantine.json", "/staff/quarantine.csv"):
        assert client.get(path, params={"status": "all"}).status_code == 200
    events = _events(engine, "analyst", "quarantine")
    assert [e.action for e in events] == ["view", "export", "export"]
    assert all(e.detail["ids"] == [store["row"]] for e in events)
