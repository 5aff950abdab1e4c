"""Scheduled work: the periodic table is wired into huey's scheduler, and the publication of
public figures runs as a job on the real queue when (and only when) a batch is due."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from tests.publishing.test_no_subtraction import seed_county

from saferstreets.db import session_scope
from saferstreets.jobs.models import Job
from saferstreets.jobs.periodic import PERIODIC, run_periodic
from saferstreets.jobs.queue import get_queue
from saferstreets.publishing.models import PublishBatch


def test_every_periodic_entry_is_on_huey_s_schedule_at_its_time(settings) -> None:  # type: ignore[no-untyped-def]
    huey = get_queue(settings)
    names = {p.name for p in PERIODIC}
    assert names == {
        "jobs.sweep",
        "alerts.due",
        "reports.tally",
        "publishing.due",
        "retention.apply",
    }
    minutely = {"jobs.sweep", "alerts.due", "reports.tally"}

    def firing(at: datetime) -> set[str]:
        return {task.name for task in huey.read_periodic(at)}

    hourly = names - {"retention.apply"}
    assert firing(datetime(2026, 12, 2, 10, 2)) == hourly  # :02, every hour: publication too
    assert firing(datetime(2026, 12, 2, 10, 3)) == minutely
    assert firing(datetime(2026, 12, 2, 3, 17)) == minutely | {"retention.apply"}


def _batches(engine) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(PublishBatch)) or 0)


def _jobs(engine, kind: str) -> list[int]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(Job.id).where(Job.kind == kind).order_by(Job.id)))


def test_the_publication_is_queued_when_due_and_run_by_the_worker(
    engine, settings, job_worker
) -> None:  # type: ignore[no-untyped-def]
    seed_county(engine)
    job_worker.start()
    run_periodic(settings=settings, name="publishing.due")  # what huey's scheduler calls
    [job_id] = _jobs(engine, "publishing.publish")
    row = job_worker.wait_for(job_id)
    assert row["status"] == "done" and row["result"]["published"] is True
    assert _batches(engine) == 1
    with session_scope(engine) as session:
        batch = session.scalars(sa.select(PublishBatch)).one()
        assert row["result"]["batch"] == batch.id
        assert row["result"]["figures shown"] == batch.figures_shown
    # An hour later the day's batch is out: the check queues nothing, no job row is left.
    run_periodic(settings=settings, name="publishing.due")
    assert _jobs(engine, "publishing.publish") == [job_id] and _batches(engine) == 1
