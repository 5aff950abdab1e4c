"""Danger-now alert delivery as jobs (``alerts.deliver``), keeping the outbox underneath.

The report's transaction writes the :class:`~saferstreets.alerts.models.Alert` row and queues
a job for it (:func:`queue_delivery`), so a worker sends it within a second of the commit. The
job makes one delivery pass (:func:`~saferstreets.alerts.service.deliver_due`, whose leases let
several workers run at once). While the alert waits for a retry (``alert_retry_seconds``,
doubling) the job queues its follow-up for that moment; when the alert has failed for good the
job fails with the channels' errors, shown on the jobs page, and **Try again** there puts the
alert back in the outbox with fresh attempts. Every minute :func:`deliver_if_due` queues a
pass for any alert that is due with no job waiting (one written by an import, or whose job was
lost), so nothing stays in the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.alerts.channels import configured_channels
from saferstreets.alerts.models import Alert
from saferstreets.config import Settings
from saferstreets.db import get_engine, session_scope
from saferstreets.errors import AppError
from saferstreets.jobs.models import Job
from saferstreets.jobs.service import enqueue, job_kind
from saferstreets.models_common import utcnow
from saferstreets.progress import Progress

DELIVER = "alerts.deliver"
TITLE = "Delivering a danger-now alert"


def queue_delivery(
    *,
    session: Session,
    alert: Alert,
    settings: Settings,
    at: datetime | None = None,
    unless_running: bool = False,
) -> None:
    """Queue a delivery pass for ``alert`` (at ``at``), unless one is already waiting for it
    (or, with ``unless_running``, is running)."""
    busy = ("queued", "running") if unless_running else ("queued",)
    waiting = session.scalar(
        sa.select(Job.id).where(
            Job.kind == DELIVER,
            Job.status.in_(busy),
            Job.params["alert"].as_string() == alert.public_id,
        )
    )
    if waiting is None:
        enqueue(session=session, kind=DELIVER, params={"alert": alert.public_id}, user=None,
                title=TITLE, settings=settings, not_before=at)  # fmt: skip


@job_kind(DELIVER, title=TITLE)
def deliver(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """One delivery pass; then done (sent), a follow-up queued (retrying) or failed."""
    from saferstreets.alerts.service import deliver_due

    if not configured_channels(settings):
        raise AppError(
            "No alert channel is configured, so the alert waits in the outbox "
            "(set the alert_* settings: see docs/alerts.md), then try again."
        )
    public_id = str(params["alert"])
    _reopen_if_failed(engine, public_id)
    progress("sending on each channel")
    run = deliver_due(engine=engine, settings=settings)
    with session_scope(engine) as session:
        alert = session.scalar(sa.select(Alert).where(Alert.public_id == public_id))
        if alert is None:
            return {"status": "gone", "sent in this pass": run.sent}
        if alert.status == "pending":
            queue_delivery(session=session, alert=alert, settings=settings,
                           at=alert.next_attempt_at)  # fmt: skip
            retry_at = alert.next_attempt_at.isoformat(timespec="seconds")
            return {"status": "retrying", "attempts": alert.attempts, "next attempt": retry_at}
        if alert.status == "failed":
            raise AppError(
                f"The alert could not be delivered after {alert.attempts} attempts "
                f"({alert.last_error or 'no answer'}). Fix the channel, then try again."
            )
        return {"status": "sent", "attempts": alert.attempts}


def _reopen_if_failed(engine: Engine, public_id: str) -> None:
    """A job meets a failed alert only when a person asked to try again: fresh attempts."""
    with session_scope(engine) as session:
        session.execute(
            sa.update(Alert)
            .where(Alert.public_id == public_id, Alert.status == "failed")
            .values(status="pending", attempts=0, next_attempt_at=utcnow(), finished_at=None)
        )


def deliver_if_due(*, settings: Settings) -> int:
    """Queue a pass for each due alert with no job waiting (every minute); how many."""
    if not configured_channels(settings):
        return 0
    with session_scope(get_engine(settings)) as session:
        due = session.scalars(
            sa.select(Alert).where(Alert.status == "pending", Alert.next_attempt_at <= utcnow())
        ).all()
        for alert in due:
            queue_delivery(session=session, alert=alert, settings=settings, unless_running=True)
    return len(due)
