"""Danger-now alerts through a transactional outbox.

Steps, FixMyStreet's "save first, send later":

1. **enqueue** (``enqueue_for_report``), called by report intake inside the report's own
   transaction: the alert row is committed with the report or not at all, so no urgent report
   is saved without its alert, and no alert leaves for a report that was rolled back.
2. **claim** (``claim_due``): a worker takes due rows with one atomic ``UPDATE ... WHERE``
   that sets a lease (``claimed_until``) and its own ``claim_token`` (on PostgreSQL the
   candidate rows are also picked ``FOR UPDATE SKIP LOCKED``). Several workers, processes or
   servers never hold the same row at once.
3. **send** (``deliver_due``), outside any transaction: each configured channel not yet
   ``sent`` for the alert is tried once.
4. **record**: the outcome is written only while the lease is still the worker's. A failure is
   retried after ``alert_retry_seconds`` x 2^(attempt-1), up to ``alert_max_attempts``; then
   the alert is ``failed`` and shows on the safeguarding queue and in ``saferstreets status``.

Delivery is at least once: a worker that dies between sending and recording leaves a lease
that runs out, and the alert goes again with the same alert id, by which a receiver can drop
the repeat. The passes run as background jobs (``alerts/jobs.py``: one queued with the report,
follow-ups at each retry's time, a check every minute); ``saferstreets alerts deliver [--loop]``
runs them by hand.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.alerts.channels import AlertMessage, Channel, DeliveryError, configured_channels
from saferstreets.alerts.models import Alert
from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.models_common import utcnow

log = logging.getLogger("saferstreets.alerts")

# Triage's reasons that mean someone may be at risk now: these page a person at once. The
# others (a weapon or an assault described, a named person, a child) wait in the safeguarding
# queue, which keeps them until reviewed; see docs/alerts.md for why.
ALERT_REASONS = ("danger now", "asks for help", "threat to life", "risk to herself", "abduction")
# A report that came in longer ago than this (an import of old reports) pages no one.
FRESH_FOR = timedelta(hours=24)
LEASE = timedelta(minutes=2)  # longer than a send can take (two channels x timeout)
OVERDUE_AFTER = timedelta(minutes=5)  # pending longer than this: no channel or no worker
QUEUE_PATH = "/staff/safeguarding"


# --- 1. enqueue ------------------------------------------------------------------------------


def alert_reasons(urgent_reason: str | None) -> list[str]:
    """The alerting reasons among triage's ``"; "``-joined reasons, in ``ALERT_REASONS`` order."""
    found = {part.strip() for part in (urgent_reason or "").split(";")}
    return [reason for reason in ALERT_REASONS if reason in found]


def enqueue_for_report(
    *, session: Session, report: Any, now: datetime | None = None, settings: Settings | None = None
) -> Alert | None:
    """Add the report's alert to the outbox (same transaction) if it is danger now and fresh,
    and, with ``settings`` whose channels are configured, queue the job that delivers it
    (``alerts/jobs.py``; without, the minute's check queues it)."""
    alerting = alert_reasons(report.urgent_reason) if report.urgent else []
    if not alerting or report.received_hour < (now or utcnow()) - FRESH_FOR:
        return None
    alert = Alert(
        report_public_id=report.public_id,
        urgency=alerting[0],
        reasons=report.urgent_reason,
        ward_code=report.ward_code,
        district_code=report.district_code,
        received_hour=report.received_hour,
        created_at=now or utcnow(),
        next_attempt_at=now or utcnow(),
        deliveries={},
    )
    session.add(alert)
    session.flush()
    if settings is not None and configured_channels(settings):
        from saferstreets.alerts.jobs import queue_delivery

        queue_delivery(session=session, alert=alert, settings=settings)
    return alert


# --- 2. claim --------------------------------------------------------------------------------


def claim_due(*, session: Session, now: datetime, limit: int = 20) -> list[Alert]:
    """Atomically take up to ``limit`` due alerts for this worker (a lease of ``LEASE``)."""
    free = sa.or_(Alert.claimed_until.is_(None), Alert.claimed_until < now)
    due = sa.and_(Alert.status == "pending", Alert.next_attempt_at <= now, free)
    candidates = (
        sa.select(Alert.id)
        .where(due)
        .order_by(Alert.next_attempt_at, Alert.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer at a time
    )
    token = uuid.uuid4().hex
    session.execute(
        sa.update(Alert)
        .where(Alert.id.in_(candidates.scalar_subquery()), due)
        .values(claimed_until=now + LEASE, claim_token=token)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return list(session.scalars(sa.select(Alert).where(Alert.claim_token == token)))


# --- 3. send ---------------------------------------------------------------------------------


def message_for(*, session: Session, alert: Alert, settings: Settings) -> AlertMessage:
    """What the alert says: urgency, area names, the hour, a link; nothing of the report."""
    from saferstreets.areas.models import Area

    codes = [c for c in (alert.ward_code, alert.district_code) if c]
    names = dict(session.execute(sa.select(Area.code, Area.name).where(Area.code.in_(codes))).all())
    return AlertMessage(
        alert_id=alert.public_id,
        urgency=alert.urgency,
        reasons=[r.strip() for r in (alert.reasons or "").split(";") if r.strip()],
        ward=names.get(alert.ward_code or "") or alert.ward_code,
        district=names.get(alert.district_code or "") or alert.district_code,
        received_hour=alert.received_hour.isoformat(timespec="minutes"),
        link=queue_link(settings=settings, report_public_id=alert.report_public_id),
    )


def queue_link(*, settings: Settings, report_public_id: str) -> str:
    """The report's entry on the safeguarding queue, on the address staff use."""
    base = settings.public_base_url.rstrip("/")
    return f"{base}{QUEUE_PATH}?report={report_public_id}#report-{report_public_id}"


def _send_pending(
    alert: Alert, message: AlertMessage, channels: list[Channel], now: datetime
) -> dict[str, Any]:
    """Try each channel not yet sent; return the new ``deliveries`` map."""
    deliveries = dict(alert.deliveries or {})
    for channel in channels:
        if deliveries.get(channel.name, {}).get("status") == "sent":
            continue
        try:
            channel.send(message)
        except DeliveryError as exc:
            deliveries[channel.name] = {
                "status": "failed",
                "at": now.isoformat(),
                "error": str(exc),
            }
            log.warning("alert %s not delivered by %s: %s", alert.public_id, channel.name, exc)
        else:
            deliveries[channel.name] = {"status": "sent", "at": now.isoformat(), "error": None}
    return deliveries


# --- 4. record -------------------------------------------------------------------------------


def retry_delay(*, settings: Settings, attempt: int) -> timedelta:
    """Exponential backoff: the base delay doubled at each attempt after the first."""
    return timedelta(seconds=settings.alert_retry_seconds * 2 ** max(attempt - 1, 0))


def _record(
    *, session: Session, alert: Alert, deliveries: dict[str, Any], settings: Settings,
    channels: list[Channel], now: datetime,
) -> str:  # fmt: skip
    """Write the outcome if the lease is still ours; return the alert's new status."""
    mine = session.scalar(
        sa.select(Alert)
        .where(Alert.id == alert.id, Alert.claim_token == alert.claim_token)
        .with_for_update()
    )
    if mine is None:  # the lease ran out and another worker took it: its outcome stands
        return "lost"
    mine.attempts += 1
    mine.deliveries = deliveries
    mine.claimed_until = None
    mine.claim_token = None
    errors = [d["error"] for name, d in deliveries.items() if d["status"] != "sent" and d["error"]]
    if all(deliveries.get(c.name, {}).get("status") == "sent" for c in channels):
        mine.status, mine.finished_at, mine.last_error = "sent", now, None
    elif mine.attempts >= settings.alert_max_attempts:
        mine.status, mine.finished_at = "failed", now
        mine.last_error = "; ".join(errors)[:300]
        log.error("alert %s failed after %d attempts", mine.public_id, mine.attempts)
    else:
        mine.last_error = "; ".join(errors)[:300]
        mine.next_attempt_at = now + retry_delay(settings=settings, attempt=mine.attempts)
    session.commit()
    return mine.status


@dataclass
class DeliveryRun:
    """What one pass of the worker did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    channels: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not self.channels:
            return "No alert channel is configured (see docs/alerts.md); nothing was sent."
        return (
            f"Alerts: {self.sent} sent, {self.retrying} to retry, {self.failed} failed "
            f"(channels: {', '.join(self.channels)})"
        )


def deliver_due(
    *, engine: Engine, settings: Settings, now: Any = None, channels: list[Channel] | None = None
) -> DeliveryRun:
    """One pass: claim due alerts, send each on its channels, record the outcomes.

    ``now`` is a datetime or a callable returning one (tests inject a clock).
    """
    chosen = configured_channels(settings) if channels is None else channels
    run = DeliveryRun(channels=[c.name for c in chosen])
    if not chosen:
        return run
    clock = now if callable(now) else (lambda: now or utcnow())
    with session_scope(engine) as session:
        claimed = claim_due(session=session, now=clock())
        for alert in claimed:
            message = message_for(session=session, alert=alert, settings=settings)
            session.commit()  # no transaction stays open while a channel talks to the network
            deliveries = _send_pending(alert, message, chosen, clock())
            outcome = _record(
                session=session, alert=alert, deliveries=deliveries, settings=settings,
                channels=chosen, now=clock(),
            )  # fmt: skip
            run.sent += outcome == "sent"
            run.retrying += outcome == "pending"
            run.failed += outcome == "failed"
    return run


# --- what staff see --------------------------------------------------------------------------


def alert_trouble(
    *, session: Session, now: datetime | None = None, limit: int = 20
) -> dict[str, Any]:
    """Failed alerts and alerts waiting too long, for the queue's banner and for status."""
    now = now or utcnow()
    overdue_since = now - OVERDUE_AFTER
    counts = dict(
        session.execute(sa.select(Alert.status, sa.func.count()).group_by(Alert.status)).all()
    )
    overdue = int(
        session.scalar(
            sa.select(sa.func.count(Alert.id)).where(
                Alert.status == "pending", Alert.created_at < overdue_since
            )
        )
        or 0
    )
    failed = session.scalars(
        sa.select(Alert)
        .where(Alert.status == "failed")
        .order_by(Alert.finished_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    return {
        "pending": int(counts.get("pending", 0)),
        "sent": int(counts.get("sent", 0)),
        "failed": int(counts.get("failed", 0)),
        "overdue": overdue,
        "failed_alerts": [
            {
                "alert_id": a.public_id,
                "report_id": a.report_public_id,
                "urgency": a.urgency,
                "received_hour": a.received_hour.isoformat(timespec="minutes"),
                "attempts": a.attempts,
                "error": a.last_error,
                "link": f"{QUEUE_PATH}?report={a.report_public_id}#report-{a.report_public_id}",
            }
            for a in failed
        ],
    }


def retry_failed(*, session: Session, now: datetime | None = None) -> int:
    """Put every failed alert back in the outbox with fresh attempts (after fixing a channel)."""
    result: Any = session.execute(
        sa.update(Alert)
        .where(Alert.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=now or utcnow(), finished_at=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(result.rowcount or 0)
