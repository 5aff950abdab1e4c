"""Background jobs on the real queue: a worker killed mid-job, retries with backoff, failures
shown and retried from the page, no traceback or report words anywhere, who sees which job."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import tests.jobs.kinds as kinds
from tests.conftest import JobWorker

from saferstreets.accounts.models import User
from saferstreets.accounts.service import create_user
from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.jobs import service, worker
from saferstreets.jobs.models import Job
from saferstreets.models_common import utcnow

PASSWORD = "correct horse battery"
FAST = {"job_heartbeat_seconds": 0.3, "job_stale_seconds": 2.0}
FAST_ENV = {"SAFERSTREETS_JOB_HEARTBEAT_SECONDS": "0.3", "SAFERSTREETS_JOB_STALE_SECONDS": "2"}


def _user(engine: sa.Engine, name: str, role: str, **extra: Any) -> User:
    with session_scope(engine) as session:
        user = create_user(session=session, username=name, password=PASSWORD, role=role, **extra)
        session.flush()
        session.expunge(user)
    return user


def _enqueue(engine: sa.Engine, settings: Settings, kind: str, params: dict, user=None) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return service.enqueue(
            session=session, kind=kind, params=params, user=user, settings=settings
        ).id


def _row(engine: sa.Engine, job_id: int) -> Job:
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _login(client, name: str) -> str:  # type: ignore[no-untyped-def]
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/staff/jobs")
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Settings with a quick heartbeat and a 2 s staleness, as the test workers get."""
    return settings.model_copy(update=FAST)


def test_a_worker_killed_mid_job_is_replaced_and_the_job_finishes(engine, fast) -> None:  # type: ignore[no-untyped-def]
    job_id = _enqueue(engine, fast, "test.steps", {"steps": 12, "seconds": 0.4})
    first = JobWorker(fast, env=FAST_ENV).start(preload="tests.jobs.kinds")
    try:
        deadline = time.monotonic() + 60
        while (_row(engine, job_id).progress_done or 0) < 2:  # well under way
            assert time.monotonic() < deadline, first.log.read_text()[-2000:]
            time.sleep(0.1)
        first.kill()  # SIGKILL: no cleanup, the row says "running" with a heartbeat going stale
        left = _row(engine, job_id)
        assert left.status == "running" and left.attempts == 1
        assert 2 <= (left.progress_done or 0) < 12
        stale_at = left.heartbeat_at + timedelta(seconds=fast.job_stale_seconds)
        while utcnow() <= stale_at:  # a restarted worker arrives after the heartbeat went stale
            time.sleep(0.1)
        second = JobWorker(fast, env=FAST_ENV).start(preload="tests.jobs.kinds")
        try:
            row = second.wait_for(job_id, timeout=60)
        finally:
            second.stop()
    finally:
        first.stop()
    assert row["status"] == "done", row
    assert row["attempts"] == 2  # run again from the start by the new worker
    assert row["result"] == {"steps": 12} and row["progress_done"] == 12
    assert row["worker"] != left.worker


def test_failures_are_retried_with_backoff_then_done(
    engine, settings, job_worker, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "tries.txt"
    job_id = _enqueue(engine, settings, "test.flaky", {"marker": str(marker), "fail": 2})
    job_worker.start(preload="tests.jobs.kinds")
    row = job_worker.wait_for(job_id)
    assert row["status"] == "done" and row["attempts"] == 3
    assert row["result"] == {"tries": 3} and row["error"] is None
    assert marker.read_text().count("try") == 3


def test_a_failed_job_is_shown_and_retried_from_its_page(  # type: ignore[no-untyped-def]
    engine, settings, client, job_worker, tmp_path
) -> None:
    owner = _user(engine, "ana", "analyst")
    marker = tmp_path / "tries.txt"
    job_id = _enqueue(engine, settings, "test.flaky", {"marker": str(marker), "fail": 3}, owner)
    job_worker.start(preload="tests.jobs.kinds")
    assert job_worker.wait_for(job_id)["status"] == "failed"
    token = _login(client, "ana")
    page = client.get(f"/staff/jobs/{job_id}")
    assert page.status_code == 200
    assert "Failed" in page.text and "The channel did not answer (try 3)" in page.text
    assert f'action="/staff/jobs/{job_id}/retry"' in page.text
    listing = client.get("/staff/jobs").text
    assert "The channel did not answer (try 3)" in listing
    assert client.post(f"/staff/jobs/{job_id}/retry", data={"csrf_token": "x"}).status_code == 403
    r = client.post(
        f"/staff/jobs/{job_id}/retry", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/staff/jobs/{job_id}"
    row = job_worker.wait_for(job_id)
    assert row["status"] == "done" and row["result"] == {"tries": 4}
    assert row["attempts"] == 4 and row["max_attempts"] == 6
    again = client.post(f"/staff/jobs/{job_id}/retry", data={"csrf_token": token})
    assert again.status_code == 409  # only a failed job can be tried again


def test_an_unexpected_error_shows_no_traceback_and_no_report_words(  # type: ignore[no-untyped-def]
    engine, settings, client, caplog
) -> None:
    owner = _user(engine, "ana", "analyst")
    job_id = _enqueue(engine, settings, "test.crash", {}, owner)
    with caplog.at_level(logging.DEBUG):
        worker.run_job(settings=settings, job_id=job_id)
    row = _row(engine, job_id)
    assert row.status == "failed"
    assert row.error == worker.UNEXPECTED.format(id=job_id)
    assert f"job {job_id} (test.crash) failed: ValueError" in caplog.text  # the frames, too
    assert "kinds.py" in caplog.text
    assert kinds.SECRET_WORDS not in caplog.text
    assert "bus station" not in caplog.text
    _login(client, "ana")
    page = client.get(f"/staff/jobs/{job_id}").text
    assert "Traceback" not in page and "bus station" not in page and "ValueError" not in page
    assert f"job {job_id}" in page


def test_only_one_of_two_workers_claims_a_job(engine, settings) -> None:  # type: ignore[no-untyped-def]
    job_id = _enqueue(engine, settings, "test.steps", {"steps": 1})
    claims = [service.claim(engine=engine, job_id=job_id, token=t) for t in ("a", "b")]
    assert [c is not None for c in claims] == [True, False]
    assert _row(engine, job_id).worker == "a"


def test_the_sweep_requeues_dead_workers_jobs_and_resends_lost_messages(engine, fast) -> None:  # type: ignore[no-untyped-def]
    dead = _enqueue(engine, fast, "test.steps", {"steps": 1})
    lost = _enqueue(engine, fast, "test.steps", {"steps": 1})
    fresh = _enqueue(engine, fast, "test.steps", {"steps": 1})
    assert service.claim(engine=engine, job_id=dead, token="gone") is not None
    past = utcnow() - timedelta(seconds=10)
    with session_scope(engine) as session:
        session.execute(sa.update(Job).where(Job.id == dead).values(heartbeat_at=past))
        session.execute(sa.update(Job).where(Job.id == lost).values(sent_at=past))
    assert sorted(service.sweep(engine=engine, settings=fast)) == [dead, lost]
    assert _row(engine, dead).status == "queued" and _row(engine, dead).worker is None
    assert service.sweep(engine=engine, settings=fast) == []  # each is sent once per period
    assert _row(engine, fresh).status == "queued"


def test_a_job_whose_workers_keep_dying_fails_with_a_message(engine, fast) -> None:  # type: ignore[no-untyped-def]
    job_id = _enqueue(engine, fast, "test.steps", {"steps": 1})
    for n in range(1 + service.DEATHS_ALLOWED):
        assert service.claim(engine=engine, job_id=job_id, token=f"w{n}") is not None
        with session_scope(engine) as session:
            session.execute(
                sa.update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow() - timedelta(60))
            )
        service.sweep(engine=engine, settings=fast)
    row = _row(engine, job_id)
    assert row.status == "failed" and row.attempts == 1 + service.DEATHS_ALLOWED
    assert "stopped 3 times" in (row.error or "")


def test_who_sees_which_job(engine, settings, client) -> None:  # type: ignore[no-untyped-def]
    ana = _user(engine, "ana", "analyst")
    _user(engine, "bob", "supervisor")
    _user(engine, "root", "admin")
    _user(engine, "pat", "partner", partner="parks")
    mine = _enqueue(engine, settings, "test.steps", {"steps": 1}, ana)
    scheduled = _enqueue(engine, settings, "test.steps", {"steps": 1})
    _login(client, "bob")
    assert client.get("/staff/jobs.json").json() == []
    assert client.get(f"/staff/jobs/{mine}").status_code == 404
    assert client.get(f"/staff/jobs/{mine}.json").status_code == 404
    client.cookies.clear()
    _login(client, "ana")
    assert [j["id"] for j in client.get("/staff/jobs.json").json()] == [mine]
    assert client.get(f"/staff/jobs/{scheduled}.json").status_code == 404
    client.cookies.clear()
    _login(client, "root")
    assert [j["id"] for j in client.get("/staff/jobs.json").json()] == [scheduled, mine]
    client.cookies.clear()
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "pat", "password": PASSWORD, "csrf_token": token})
    assert client.get("/staff/jobs").status_code == 403
    assert client.get(f"/staff/jobs/{mine}.json").status_code == 403


def test_enqueue_refuses_an_unknown_kind(session, settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(service.AppError, match="no kind of job"):
        service.enqueue(session=session, kind="no.such", params={}, user=None, settings=settings)
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_jobs_land_on_the_queue_only_after_commit(engine, settings) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.jobs.queue import get_queue

    huey = get_queue(settings)
    before = huey.pending_count()
    with session_scope(engine) as session:
        service.enqueue(session=session, kind="test.steps", params={"steps": 1}, user=None,
                        settings=settings)  # fmt: skip
        assert huey.pending_count() == before
    assert huey.pending_count() == before + 1
    try:
        with session_scope(engine) as session:
            service.enqueue(session=session, kind="test.steps", params={"steps": 1}, user=None,
                            settings=settings)  # fmt: skip
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert huey.pending_count() == before + 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_progress_told_while_the_job_holds_the_write_lock_does_not_wait_for_it(
    engine, settings
) -> None:  # type: ignore[no-untyped-def]
    """An import tells its progress from inside its own transaction. On SQLite that transaction
    holds the store's one write lock: a progress write made there and then waited for the lock
    its own job held (the busy timeout, then "database is locked"). It is written afterwards."""
    job_id = _enqueue(engine, settings, "test.steps", {"steps": 1})
    assert service.claim(engine=engine, job_id=job_id, token="w") is not None
    progress = service.progress_into(engine=engine, job_id=job_id, token="w")
    with engine.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the job's own write transaction
        progress("reading files", 1, 3)
        progress("storing rows", 4_000, 10_000)
        conn.exec_driver_sql("COMMIT")
    progress.close()
    row = _row(engine, job_id)
    assert (row.progress_what, row.progress_done, row.progress_total) == (
        "storing rows", 4_000, 10_000,
    )  # fmt: skip
