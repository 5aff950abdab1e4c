"""The queue under the jobs: huey, on a SQLite file by default or on Redis for several servers.

The queue carries only a job's id; its state lives in the store (:class:`~.models.Job`). Two
huey tasks are registered: ``run_job`` (run one job) and the periodic ones of
:data:`saferstreets.jobs.periodic.PERIODIC` (the sweep, scheduled publication, ...).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab

from saferstreets.config import Settings, get_settings

logger = logging.getLogger(__name__)

_queues: dict[str, Huey] = {}
_runners: dict[int, Any] = {}  # id(huey) -> its run_job task
_lock = threading.Lock()


def queue_address(settings: Settings) -> str:
    """Where the queue lives: the Redis URL, or the SQLite file beside the store's data."""
    if settings.job_queue_url:
        return settings.job_queue_url
    return str((settings.data_dir / "jobs-queue.db").resolve())


def get_queue(settings: Settings | None = None) -> Huey:
    """The huey instance for ``settings`` (one per address in this process), tasks registered."""
    settings = settings or get_settings()
    address = queue_address(settings)
    with _lock:
        if address not in _queues:
            _queues[address] = _build(settings, address)
        return _queues[address]


def _build(settings: Settings, address: str) -> Huey:
    huey: Huey
    if settings.job_queue_url:
        huey = RedisHuey("saferstreets", url=address, results=False, utc=True)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey("saferstreets", filename=address, results=False, utc=True, timeout=30)

    @huey.task(name="run_job")
    def run_job(job_id: int) -> None:
        from saferstreets.jobs.worker import run_job as run

        run(settings=settings, job_id=job_id)

    _runners[id(huey)] = run_job

    from saferstreets.jobs.periodic import PERIODIC

    for periodic in PERIODIC:
        huey.periodic_task(crontab(**periodic.crontab), name=periodic.name)(
            _periodic_runner(settings, periodic.name)
        )
    return huey


def _periodic_runner(settings: Settings, name: str) -> Any:
    def run() -> None:
        from saferstreets.jobs.periodic import run_periodic

        run_periodic(settings=settings, name=name)

    return run


def send(settings: Settings | None, job_id: int, delay: float | None = None) -> None:
    """Put ``job_id`` on the queue (due after ``delay`` seconds)."""
    huey = get_queue(settings)
    run_job = _runners[id(huey)]
    if delay and delay > 0:
        run_job.schedule(args=(job_id,), delay=delay)
    else:
        run_job(job_id)


def send_quietly(settings: Settings | None, job_id: int, delay: float | None = None) -> None:
    """:func:`send`, logging (without the job's params) instead of raising when the queue is
    out of reach: the store holds the job, and the sweep sends it again."""
    try:
        send(settings, job_id, delay)
    except Exception as exc:
        logger.warning("job %s: could not reach the queue (%s); the sweep will send it", job_id,
                       type(exc).__name__)  # fmt: skip
