"""Retention runs by itself: the scheduler queues ``retention.apply`` once a day and a real
worker removes the old words and points, with the same effect as the command."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from tests.retention.test_retention import OLD, RECENT, _store

from saferstreets.accounts.models import AuditEvent
from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.jobs.models import Job
from saferstreets.jobs.periodic import run_periodic
from saferstreets.jobs.queue import get_queue
from saferstreets.models_common import utcnow
from saferstreets.reports.models import Report


def test_the_daily_retention_job_removes_old_words_on_the_real_queue(
    engine: sa.Engine, settings: Settings, tmp_path: Path, job_worker
) -> None:  # type: ignore[no-untyped-def]
    _store(engine, settings, tmp_path)
    # A period between the old and the recent reports, whatever today's date is.
    today = utcnow()
    days = ((today - OLD).days + (today - RECENT).days) // 2
    job_worker.extra_env = {"SAFERSTREETS_REPORT_RETENTION_DAYS": str(days)}
    job_worker.start()

    fires = {task.name for task in get_queue(settings).read_periodic(datetime(2026, 12, 3, 3, 17))}
    assert "retention.apply" in fires  # once a day, at 03:17 UTC
    run_periodic(settings=settings, name="retention.apply")  # what huey's scheduler calls
    with session_scope(engine) as session:
        [job_id] = session.scalars(sa.select(Job.id).where(Job.kind == "retention.apply"))
    row = job_worker.wait_for(job_id, timeout=180)
    assert row["status"] == "done", row.get("error")
    assert row["result"]["reports"] == 60  # the 60 old reports of _store, and no recent one

    with session_scope(engine) as session:
        reports = session.scalars(sa.select(Report)).all()
        old = [r for r in reports if r.received_hour < RECENT.replace(minute=0)]
        recent = [r for r in reports if r.received_hour >= RECENT.replace(minute=0)]
        assert len(old) == 60 and len(recent) == 20
        assert all(r.free_text is None and r.latitude is None for r in old)
        assert all(r.free_text and r.latitude is not None for r in recent)
        events = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "retention")
        ).all()
        assert len(events) == 1 and events[0].detail["reports"] == 60
