"""The worker: huey's consumer running jobs from the store, with heartbeats and a sweep.

``saferstreets worker`` calls :func:`run_worker`; ``saferstreets serve`` starts it as a
supervised process (:mod:`saferstreets.jobs.supervise`). Each job runs :func:`run_job`: claim it
in the store, run its kind's handler while a heartbeat thread stamps the row, then record the
result or the failure. A worker killed mid-job leaves the row ``running`` with a heartbeat that
goes stale, and the next :func:`~saferstreets.jobs.service.sweep` queues it again.
"""

from __future__ import annotations

import inspect
import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager

from saferstreets.config import Settings
from saferstreets.db import get_engine
from saferstreets.errors import AppError
from saferstreets.jobs import service
from saferstreets.jobs.queue import get_queue, send_quietly
from saferstreets.models_common import utcnow

logger = logging.getLogger(__name__)

UNEXPECTED = (
    "The job stopped on an unexpected error (job {id}). Try it again; if it fails again, an "
    "administrator can find job {id} in the workers' log."
)


def worker_token() -> str:
    """An id for one run of one job on this worker: host, process and a random part."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@contextmanager
def heartbeat(*, settings: Settings, job_id: int, token: str) -> Iterator[None]:
    """Stamp the job's heartbeat every ``job_heartbeat_seconds`` while the block runs, even when
    the handler is busy in a long call that says nothing (a solver)."""
    engine = get_engine(settings)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(settings.job_heartbeat_seconds):
            try:
                if not service.beat(engine=engine, job_id=job_id, token=token):
                    return
            except Exception as exc:
                logger.warning("job %s: heartbeat failed (%s)", job_id, type(exc).__name__)

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def run_job(*, settings: Settings, job_id: int) -> None:
    """Claim and run the job ``job_id`` (nothing if another worker has it or it is not due)."""
    engine = get_engine(settings)
    token = worker_token()
    job = service.claim(engine=engine, job_id=job_id, token=token)
    if job is None:
        return
    try:
        kind = service.get_kind(job.kind)
    except AppError as exc:
        service.fail(engine=engine, job_id=job_id, token=token, error=exc.message)
        return
    progress = service.progress_into(engine=engine, job_id=job_id, token=token)
    try:
        with heartbeat(settings=settings, job_id=job_id, token=token), closing(progress):
            result = kind.run(
                engine=engine,
                settings=settings,
                params=job.params,
                progress=progress,
                **_job_id_if_wanted(kind, job_id),
            )
    except service.JobLost:
        logger.warning("job %s (%s): another worker took it over; stopped", job_id, job.kind)
        return
    except AppError as exc:
        _failed(settings, job_id, token, exc.message)
        return
    except Exception as exc:
        logger.error(
            "job %s (%s) failed: %s\n%s",
            job_id,
            job.kind,
            type(exc).__name__,  # the type and frames only: a message may quote a report
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        _failed(settings, job_id, token, UNEXPECTED.format(id=job_id))
        return
    service.finish(engine=engine, job_id=job_id, token=token, result=result)


def _job_id_if_wanted(kind: service.JobKind, job_id: int) -> dict[str, int]:
    """``job_id=`` for a handler that takes it (one that keeps a file with ``save_file``)."""
    return {"job_id": job_id} if "job_id" in inspect.signature(kind.run).parameters else {}


def _failed(settings: Settings, job_id: int, token: str, error: str) -> None:
    engine = get_engine(settings)
    due = service.fail(engine=engine, job_id=job_id, token=token, error=error)
    if due is not None:
        delay = (due - utcnow()).total_seconds()
        send_quietly(settings, job_id, delay=max(delay, 0.0))


def sweep_and_send(*, settings: Settings) -> list[int]:
    """Run :func:`~saferstreets.jobs.service.sweep` and send again what it found."""
    ids = service.sweep(engine=get_engine(settings), settings=settings)
    for job_id in ids:
        send_quietly(settings, job_id)
    return ids


def run_worker(*, settings: Settings, threads: int | None = None, periodic: bool = True) -> None:
    """Run huey's consumer until SIGINT (finish running jobs) or SIGTERM (stop at once).

    It sweeps once at start, so jobs left by a worker that died are run again. Started by
    ``serve``'s supervisor, it stops when that server has gone.
    """
    from saferstreets.jobs.supervise import follow_parent

    follow_parent()
    service.load_kinds()
    huey = get_queue(settings)
    found = sweep_and_send(settings=settings)
    if found:
        logger.warning("worker: %d job(s) left behind sent again", len(found))
    consumer = huey.create_consumer(
        workers=threads or settings.job_worker_threads,
        worker_type="thread",
        periodic=periodic,
        check_worker_health=True,
        initial_delay=0.1,
        max_delay=1.0,
    )
    consumer.run()
