"""Periodic jobs, in one table: what runs on a schedule, and when (huey crontabs, UTC).

An entry either names a job kind, enqueued as a :class:`~saferstreets.jobs.models.Job` (so its
progress, result and failure show on the jobs page like any other) unless one of that kind is
already waiting; or names a ``call``, a light check run by the scheduler itself that enqueues
work only when there is some (so that a quiet minute leaves no job row behind). To schedule
more work, register its kind (``docs/architecture.md``, "How to add a job") and add one line.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from saferstreets.config import Settings
from saferstreets.db import get_engine

EVERY_MINUTE = {"minute": "*"}


@dataclass(frozen=True)
class Periodic:
    """``name`` is a job kind (or, with ``call``, just a name); ``crontab`` as huey's
    ``crontab(...)``; ``call`` is ``"module:function"`` taking ``settings=``."""

    name: str
    crontab: dict[str, str] = field(default_factory=lambda: dict(EVERY_MINUTE))
    call: str | None = None


#: what runs on a schedule; every worker started with periodic tasks on fires these
PERIODIC: tuple[Periodic, ...] = (
    # jobs whose worker died go back on the queue; lost messages are sent again
    Periodic("jobs.sweep", EVERY_MINUTE, call="saferstreets.jobs.worker:sweep_and_send"),
    # danger-now alerts due for a retry, or written without a job (an import), are delivered
    Periodic("alerts.due", EVERY_MINUTE, call="saferstreets.alerts.jobs:deliver_if_due"),
    # the day's batch of public figures, from publish_hour (as `saferstreets publish --if-due`)
    Periodic("publishing.due", {"minute": "2"}, call="saferstreets.publishing.jobs:publish_if_due"),
    # reports sent since the last pass are added to the workspace's tally (counted live till then)
    Periodic("reports.tally", EVERY_MINUTE, call="saferstreets.reports.tally:fold_pending"),
    # words and exact points older than the retention periods are removed (counts kept)
    Periodic("retention.apply", {"hour": "3", "minute": "17"}),
)


def run_periodic(*, settings: Settings, name: str) -> None:
    """Run the periodic entry ``name``: its call, or enqueue its job kind once."""
    from saferstreets.jobs import service

    entry = next(p for p in PERIODIC if p.name == name)
    if entry.call:
        module, function = entry.call.split(":")
        getattr(importlib.import_module(module), function)(settings=settings)
        return
    service.enqueue_once(engine=get_engine(settings), kind=name, settings=settings)
