"""Long work started from the staff pages runs on the real queue: the assessment."""

from __future__ import annotations

import sqlalchemy as sa
from tests.planning.conftest import fill_county

from saferstreets.accounts.service import create_user
from saferstreets.assessment.models import AnalysisRun, FindingsRendering
from saferstreets.db import session_scope

PASSWORD = "correct horse battery"


def _login(client, engine, name: str, role: str) -> str:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        create_user(session=session, username=name, password=PASSWORD, role=role)
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    page = client.get("/staff/assessment")
    assert page.status_code == 200
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _count(engine) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(AnalysisRun)) or 0)


def test_the_assessment_runs_as_a_job_from_the_staff_page(client, engine, job_worker) -> None:  # type: ignore[no-untyped-def]
    fill_county(engine)
    token = _login(client, engine, "ana", "analyst")
    assert 'action="/staff/assessment/run"' in client.get("/staff/assessment").text
    assert client.post("/staff/assessment/run", data={"csrf_token": "no"}).status_code == 403
    r = client.post("/staff/assessment/run", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/staff/jobs/")
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert _count(engine) == 0  # nothing ran in the request
    job_worker.start()
    row = job_worker.wait_for(job_id, timeout=180)
    assert row["status"] == "done", row
    stored = _count(engine)
    assert stored > 0 and row["result"] == {"findings": stored}
    # the job's last step, shown: the findings drawn once for the page, kept under the new run
    assert row["progress_what"] == "drawing the findings for the assessment page"
    with session_scope(engine) as session:
        newest = session.scalar(sa.select(sa.func.max(AnalysisRun.id)))
        assert session.scalars(sa.select(FindingsRendering.run_id)).all() == [newest]
    job = client.get(f"/staff/jobs/{job_id}.json").json()
    assert job["kind"] == "assessment.run" and job["result_url"] == "/staff/assessment"
    with session_scope(engine) as session:
        from saferstreets.jobs.models import Job

        assert session.get(Job, job_id).params == {"themes": False}  # type: ignore[union-attr]


def test_a_result_is_listed_in_words_not_field_names() -> None:
    from datetime import datetime

    from saferstreets.jobs.service import result_rows

    rows = result_rows(
        {
            "size_kb": 1234,
            "plan_id": 7,
            "coverage": 0.8312,
            "published": True,
            "figures shown": 4200,
            "report_cutoff": datetime(2026, 1, 2, 3, 4).isoformat(),
            "files": [{"rows": 3}],  # a table: the result's own page shows it
            "upload": "abc",
        }
    )
    assert rows == [
        ("Size", "1,234 KB"),
        ("Plan", "#7"),
        ("Demand covered", "83.1%"),
        ("Published", "yes"),
        ("Figures shown", "4,200"),
        ("Report cutoff", "2026-01-02 03:04:00"),
    ]
