"""Periodic jobs, in one table: what runs on a schedule, and when (huey crontabs, UTC).

Each entry is either the sweep (run inside the scheduler: it only reads and updates job rows)
or a job kind, enqueued as a :class:`~saferstreets.jobs.models.Job` (so its progress, result and
failure show on the jobs page like any other) unless one of that kind is already waiting.
To schedule more work, register its kind (see ``docs/architecture.md``, "How to add a job") and
add one line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from saferstreets.config import Settings
from saferstreets.db import get_engine


@dataclass(frozen=True)
class Periodic:
    """``name`` is a job kind, or ``"jobs.sweep"``; ``crontab`` as huey's ``crontab(...)``."""

    name: str
    crontab: dict[str, str] = field(default_factory=lambda: {"minute": "*"})


#: what runs on a schedule; every worker started with periodic tasks on fires these
PERIODIC: tuple[Periodic, ...] = (Periodic("jobs.sweep", {"minute": "*"}),)


def run_periodic(*, settings: Settings, name: str) -> None:
    """Run the periodic entry ``name``: the sweep itself, or enqueue its job kind once."""
    from saferstreets.jobs import service, worker

    if name == "jobs.sweep":
        worker.sweep_and_send(settings=settings)
        return
    service.enqueue_once(engine=get_engine(settings), kind=name, settings=settings)
