"""Jobs: the registry of kinds, enqueueing, claiming, finishing, retrying and sweeping.

A *kind* is a named handler that a domain registers with :func:`job_kind` (for example
``planning/jobs.py`` registers ``plan.solve``). :func:`enqueue` writes a ``queued`` :class:`Job`
in the caller's transaction and puts its id on the queue once that transaction commits. A worker
(:mod:`saferstreets.jobs.worker`) :func:`claim`\\ s it, runs the handler and calls
:func:`finish` or :func:`fail`. :func:`sweep` puts back on the queue what a dead worker or a lost
message left behind. Every function here works on the store alone; the queue is reached through
:mod:`saferstreets.jobs.queue`.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.accounts.service import audit
from saferstreets.config import Settings
from saferstreets.db import STORE_TROUBLE, session_scope
from saferstreets.errors import AppError, NotFound, PermissionDenied
from saferstreets.jobs.models import Job, JobFile
from saferstreets.models_common import utcnow

logger = logging.getLogger(__name__)

#: each module that registers job kinds; imported by :func:`load_kinds` (web app and worker)
KIND_MODULES = [
    "saferstreets.planning.jobs",
    "saferstreets.assessment.jobs",
    "saferstreets.publishing.jobs",
    "saferstreets.alerts.jobs",
    "saferstreets.retention.jobs",
    "saferstreets.ingest.jobs",
]

#: a job whose worker died is run again this many extra times before it is marked failed
DEATHS_ALLOWED = 2

Handler = Callable[..., dict[str, Any] | None]


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its handler and how it is retried.

    ``run(*, engine, settings, params, progress)`` does the work (a batch service: it opens its
    own short transactions) and returns a small summary for the page (ids, counts), or raises an
    :class:`AppError` whose message the user sees. ``result_url`` is a format string filled
    from that summary (``"/staff/plans/{plan_id}"``), the page the job's page leads to.
    """

    name: str
    title: str
    run: Handler
    max_attempts: int = 1
    retry_seconds: float = 30.0
    result_url: str | None = None

    def url_for(self, result: dict[str, Any] | None) -> str | None:
        """The page of the job's result, once it has one."""
        if not self.result_url or not result:
            return None
        try:
            return self.result_url.format(**result)
        except (KeyError, IndexError, ValueError):
            return None


KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    title: str,
    max_attempts: int = 1,
    retry_seconds: float = 30.0,
    result_url: str | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of jobs of kind ``name``."""

    def register(run: Handler) -> Handler:
        KINDS[name] = JobKind(name, title, run, max_attempts, retry_seconds, result_url)
        return run

    return register


def load_kinds() -> dict[str, JobKind]:
    """Import every module of :data:`KIND_MODULES` (each registers its kinds) and return them."""
    for module in KIND_MODULES:
        importlib.import_module(module)
    return KINDS


def get_kind(name: str) -> JobKind:
    """The registered kind ``name``."""
    if name not in KINDS:
        load_kinds()
    try:
        return KINDS[name]
    except KeyError:
        raise AppError(f"There is no kind of job called {name!r}", status=400) from None


# --------------------------------------------------------------------------------------------
# Enqueueing
# --------------------------------------------------------------------------------------------


def enqueue(
    *,
    session: Session,
    kind: str,
    params: dict[str, Any],
    user: Any | None,
    title: str | None = None,
    settings: Settings | None = None,
    not_before: datetime | None = None,
) -> Job:
    """Record a queued job in ``session`` and send it to the queue once the session commits.

    ``params`` must be JSON (ids, settings; never a report's words). ``user`` is who asked
    (None for a scheduled job). The job is sent only after the commit, so a worker never looks
    for a job the store does not hold yet; if the queue cannot be reached then, :func:`sweep`
    sends it later. ``not_before`` (naive UTC) holds the job until then.
    """
    job_type = get_kind(kind)
    now = utcnow()
    due = max(now, not_before) if not_before else now
    job = Job(
        kind=kind,
        title=(title or job_type.title)[:200],
        params=params,
        requested_by=getattr(user, "id", None),
        status="queued",
        max_attempts=job_type.max_attempts,
        created_at=now,
        next_attempt_at=due,
        sent_at=now,
    )
    session.add(job)
    session.flush()
    if user is not None:
        audit(session=session, user=user, action="enqueue", object_kind="job", object_id=job.id,
              detail={"kind": kind})  # fmt: skip
    _send_after_commit(session, job.id, settings, (due - now).total_seconds())
    return job


def _send_after_commit(
    session: Session, job_id: int, settings: Settings | None, delay: float = 0.0
) -> None:
    def send(_session: Session) -> None:
        from saferstreets.jobs.queue import send_quietly

        send_quietly(settings, job_id, delay=delay)

    sa.event.listen(session, "after_commit", send, once=True)


def enqueue_once(
    *,
    engine: Engine,
    kind: str,
    params: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> int | None:
    """Enqueue a scheduled job of ``kind`` unless one is already queued or running (its id)."""
    with session_scope(engine) as session:
        waiting = session.scalar(
            sa.select(Job.id).where(Job.kind == kind, Job.status.in_(("queued", "running")))
        )
        if waiting is not None:
            return None
        job = enqueue(session=session, kind=kind, params=params or {}, user=None, settings=settings)
        return job.id


# --------------------------------------------------------------------------------------------
# A worker's side: claim, progress, heartbeat, finish, fail
# --------------------------------------------------------------------------------------------


def claim(*, engine: Engine, job_id: int, token: str, now: datetime | None = None) -> Job | None:
    """Make the job ``running`` for the worker ``token`` if it is queued and due; else None.

    One atomic UPDATE, so of two workers handed the same id (a message sent twice) one wins.
    """
    now = now or utcnow()
    with session_scope(engine) as session:
        result: Any = session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.status == "queued", Job.next_attempt_at <= now)
            .values(
                status="running",
                worker=token,
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                progress_what=None,
                progress_done=None,
                progress_total=None,
                error=None,
            )
            .execution_options(synchronize_session=False)
        )
        claimed = result.rowcount
        if claimed != 1:
            return None
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def beat(
    *,
    engine: Engine,
    job_id: int,
    token: str,
    what: str | None = None,
    done: int | None = None,
    total: int | None = None,
) -> bool:
    """Stamp the heartbeat (and the progress, if ``what``) of a job this worker holds.

    False if the worker no longer holds it (it was thought dead and handed to another).
    """
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if what is not None:
        values |= {"progress_what": what[:200], "progress_done": done, "progress_total": total}
    with session_scope(engine) as session:
        result: Any = session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.worker == token, Job.status == "running")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        held = result.rowcount
    return held == 1


def finish(*, engine: Engine, job_id: int, token: str, result: dict[str, Any] | None) -> bool:
    """Mark the job done with its summary (False if this worker no longer held it)."""
    with session_scope(engine) as session:
        update: Any = session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.worker == token, Job.status == "running")
            .values(status="done", result=result or {}, finished_at=utcnow(), error=None)
            .execution_options(synchronize_session=False)
        )
        held = update.rowcount
    return held == 1


def fail(*, engine: Engine, job_id: int, token: str, error: str) -> datetime | None:
    """Record a failed attempt: queued again after a backoff while attempts remain, else failed.

    Returns when the next attempt is due, or None if the job has failed for good (or was no
    longer this worker's).
    """
    with session_scope(engine) as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.worker != token or job.status != "running":
            return None
        job.error = error[:500]
        job.worker = None
        if job.attempts < job.max_attempts:
            delay = get_kind(job.kind).retry_seconds * 2 ** (job.attempts - 1)
            job.status = "queued"
            job.next_attempt_at = utcnow() + timedelta(seconds=delay)
            job.sent_at = utcnow()
            return job.next_attempt_at
        job.status = "failed"
        job.finished_at = utcnow()
        return None


# --------------------------------------------------------------------------------------------
# Sweeping: what a dead worker or a lost message left behind
# --------------------------------------------------------------------------------------------


def sweep(*, engine: Engine, settings: Settings, now: datetime | None = None) -> list[int]:
    """Queue again each job a dead worker held; return the ids of queued jobs to send again.

    A ``running`` job whose heartbeat is older than ``job_stale_seconds`` goes back to
    ``queued`` (or to ``failed`` once its workers have died :data:`DEATHS_ALLOWED` times more
    than it may be attempted). A ``queued`` job that is due and was last sent longer ago than
    that is sent again: its message was lost (a queue restarted, a send failed). Sending twice is
    harmless: only one :func:`claim` wins. Files jobs made longer than ``job_file_hours`` ago
    are deleted.
    """
    now = now or utcnow()
    stale = now - timedelta(seconds=settings.job_stale_seconds)
    with session_scope(engine) as session:
        dead = session.scalars(
            sa.select(Job).where(Job.status == "running", Job.heartbeat_at < stale)
        ).all()
        for job in dead:
            job.worker = None
            if job.attempts >= job.max_attempts + DEATHS_ALLOWED:
                job.status = "failed"
                job.finished_at = now
                job.error = (
                    f"The worker running this job stopped {job.attempts} times; retry it, or ask "
                    "an administrator to look at the workers' log."
                )
            else:
                job.status = "queued"
                job.next_attempt_at = now
                job.sent_at = None
                logger.warning("job %s (%s): its worker stopped; queued again", job.id, job.kind)
        session.flush()
        lost = session.scalars(
            sa.select(Job.id).where(
                Job.status == "queued",
                Job.next_attempt_at <= now,
                sa.or_(Job.sent_at.is_(None), Job.sent_at < stale),
            )
        ).all()
        if lost:
            session.execute(sa.update(Job).where(Job.id.in_(lost)).values(sent_at=now))
        expired = now - timedelta(hours=settings.job_file_hours)
        session.execute(sa.delete(JobFile).where(JobFile.created_at < expired))
    return list(lost)


# --------------------------------------------------------------------------------------------
# What the pages read and do
# --------------------------------------------------------------------------------------------


def _may_see(user: Any, job: Job) -> bool:
    return user.role == "admin" or (job.requested_by is not None and job.requested_by == user.id)


def list_jobs(*, session: Session, user: Any, limit: int = 100) -> list[Job]:
    """The jobs ``user`` may see, newest first: their own, or every job for an admin."""
    if user.role == "partner":
        raise PermissionDenied("Your role cannot see or change this.")
    query = sa.select(Job).order_by(Job.id.desc()).limit(limit)
    if user.role != "admin":
        query = query.where(Job.requested_by == user.id)
    return list(session.scalars(query))


def get_job(*, session: Session, job_id: int, user: Any) -> Job:
    """The job ``job_id`` if ``user`` may see it (another's is "not found", like a missing one)."""
    if user.role == "partner":
        raise PermissionDenied("Your role cannot see or change this.")
    job = session.get(Job, job_id)
    if job is None or not _may_see(user, job):
        raise NotFound("There is no such job.")
    return job


def retry(*, session: Session, job_id: int, user: Any, settings: Settings | None = None) -> Job:
    """Queue a failed job again (its attempts start over); refused unless it failed."""
    job = get_job(session=session, job_id=job_id, user=user)
    if job.status != "failed":
        raise AppError("Only a job that failed can be tried again.", status=409)
    job.status = "queued"
    job.max_attempts = job.attempts + get_kind(job.kind).max_attempts
    job.next_attempt_at = job.sent_at = utcnow()
    job.finished_at = None
    session.flush()
    _send_after_commit(session, job.id, settings)
    return job


def save_file(
    *,
    engine: Engine,
    job_id: int,
    filename: str,
    media_type: str,
    content: bytes,
    detail: dict[str, Any] | None = None,
) -> None:
    """Keep a file the job ``job_id`` made (replacing one it made before, on a re-run)."""
    with session_scope(engine) as session:
        session.execute(sa.delete(JobFile).where(JobFile.job_id == job_id))
        session.add(JobFile(job_id=job_id, filename=filename[:200], media_type=media_type,
                            content=content, detail=detail or {}))  # fmt: skip


def get_file(*, session: Session, job_id: int, user: Any) -> JobFile:
    """The file of a job ``user`` may see; "not found" if it made none or it has expired."""
    job = get_job(session=session, job_id=job_id, user=user)
    found = session.scalar(sa.select(JobFile).where(JobFile.job_id == job.id))
    if found is None or job.status != "done":
        raise NotFound(
            "This job has no file to download: it is not finished, or its file has expired "
            "(ask for it again)."
        )
    return found


# result keys whose plain words are not enough: (label, how the value reads)
RESULT_LABELS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "size_kb": ("Size", lambda v: f"{v:,} KB"),
    "coverage": ("Demand covered", lambda v: f"{v:.1%}"),
    "findings": ("Findings drawn", lambda v: f"{v:,}"),
    "quotes": ("Quotes in the report", lambda v: f"{v:,}"),
    "kind": ("What was imported", str),
    "dry_run": ("Trial run (nothing removed)", lambda v: "yes" if v else "no"),
}


def result_rows(result: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A finished job's result as the page lists it: labelled in words, numbers with
    thousands separators, ids as "#12"; lists and tables are left to the result's own page
    (an import's files, say) and its JSON twin."""
    rows = []
    for key, value in (result or {}).items():
        if isinstance(value, list | dict) or value is None or key == "upload":
            continue
        if key in RESULT_LABELS:
            label, shown = RESULT_LABELS[key]
            rows.append((label, shown(value)))
            continue
        words = key.removesuffix("_id").replace("_", " ")
        label = words[:1].upper() + words[1:]
        if isinstance(value, bool):
            rows.append((label, "yes" if value else "no"))
        elif key.endswith("_id") or key == "batch":
            rows.append((label, f"#{value}"))
        elif isinstance(value, int | float):
            rows.append((label, f"{value:,}"))
        else:
            rows.append(
                (label, str(value).replace("T", " ") if key.endswith("cutoff") else str(value))
            )
    return rows


def describe(job: Job, *, has_file: bool = False) -> dict[str, Any]:
    """The job as its page and its JSON twin show it."""
    kind = KINDS.get(job.kind)
    return {
        "id": job.id,
        "kind": job.kind,
        "title": job.title,
        "status": job.status,
        "progress": {
            "what": job.progress_what,
            "done": job.progress_done,
            "total": job.progress_total,
        },
        "result": job.result,
        "result_shown": result_rows(job.result) if job.status == "done" else [],
        "result_url": kind.url_for(job.result) if kind and job.status == "done" else None,
        "download_url": f"/staff/jobs/{job.id}/download" if has_file else None,
        "error": job.error,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "created_at": job.created_at.isoformat(timespec="seconds"),
        "started_at": job.started_at.isoformat(timespec="seconds") if job.started_at else None,
        "finished_at": job.finished_at.isoformat(timespec="seconds") if job.finished_at else None,
        "next_attempt_at": job.next_attempt_at.isoformat(timespec="seconds"),
    }


def describe_all(*, session: Session, jobs: list[Job]) -> list[dict[str, Any]]:
    """:func:`describe` for each job, with a download link where a finished job left a file."""
    ids = [j.id for j in jobs]
    filed = set(session.scalars(sa.select(JobFile.job_id).where(JobFile.job_id.in_(ids))))
    return [describe(j, has_file=j.id in filed and j.status == "done") for j in jobs]


def progress_into(*, engine: Engine, job_id: int, token: str, every: float = 0.5) -> JobProgress:
    """A :class:`Progress` that writes into the job's row: a new step at once, counted work at
    most every ``every`` seconds. It raises :class:`JobLost` once the worker no longer holds
    the job, so a worker thought dead stops instead of storing a second result. Close it when
    the job ends."""
    return JobProgress(engine, job_id, token, every)


class JobProgress:
    """The job's progress, written by a thread of its own.

    A call only notes the newest step (it never waits for the store), so a job that tells its
    progress from inside its own transaction (an import storing rows) does not wait for the
    write lock it holds itself, nor for another writer's. The thread writes the newest step it
    finds, skipping any it did not reach in time; :meth:`close` writes the last one.
    """

    def __init__(self, engine: Engine, job_id: int, token: str, every: float) -> None:
        self.engine, self.job_id, self.token, self.every = engine, job_id, token, every
        self.last = 0.0
        self.what: str | None = None
        self.lost = False
        self._pending: tuple[str, int | None, int | None] | None = None
        self._lock = threading.Lock()
        self._told = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._write, name=f"progress-{job_id}", daemon=True)
        self._thread.start()

    def __call__(self, what: str, done: int | None = None, total: int | None = None) -> None:
        if self.lost:
            raise JobLost(self.job_id)
        clock = time.monotonic()
        if what == self.what and clock - self.last < self.every and done != total:
            return
        self.last, self.what = clock, what
        with self._lock:
            self._pending = (what, done, total)
        self._told.set()

    def _write(self) -> None:
        while True:
            self._told.wait()
            self._told.clear()
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is not None:
                self._beat(*pending)
            if self._closed:
                return

    def _beat(self, what: str, done: int | None, total: int | None) -> None:
        try:
            held = beat(engine=self.engine, job_id=self.job_id, token=self.token, what=what,
                        done=done, total=total)  # fmt: skip
        except STORE_TROUBLE as exc:  # the next step, or the heartbeat, writes again
            logger.warning("job %s: progress not written (%s)", self.job_id, type(exc).__name__)
            return
        if not held:
            self.lost = True

    def close(self, timeout: float = 10.0) -> None:
        """Write the last step told, then stop the thread."""
        self._closed = True
        self._told.set()
        self._thread.join(timeout=timeout)


class JobLost(Exception):
    """This worker no longer holds the job (it was thought dead): stop, and store nothing."""
