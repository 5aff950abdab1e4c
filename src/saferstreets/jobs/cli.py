"""``saferstreets worker`` runs the job queue's consumer; ``saferstreets jobs`` lists and sweeps."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from saferstreets.cli.support import console, open_store

app = typer.Typer(help="Background jobs: list them, queue again what a dead worker left.",
                  no_args_is_help=True)  # fmt: skip


def worker_command(
    threads: Annotated[
        int | None, typer.Option(help="Jobs run at once (default: job_worker_threads).")
    ] = None,
    periodic: Annotated[
        bool,
        typer.Option(
            "--periodic/--no-periodic",
            help="Also fire the scheduled jobs (keep on in exactly one worker per queue).",
        ),
    ] = True,
) -> None:
    """Run background jobs (plans, the assessment, PDFs, alerts, publication) until stopped."""
    from saferstreets.config import get_settings
    from saferstreets.jobs.worker import run_worker

    settings = get_settings()
    open_store(settings)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    console.print("saferstreets worker: running jobs (Ctrl+C finishes the running ones and stops)")
    run_worker(settings=settings, threads=threads, periodic=periodic)


@app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
) -> None:
    """The newest jobs: kind, status, progress, attempts and any error."""
    from rich.table import Table

    from saferstreets.db import session_scope
    from saferstreets.jobs.models import Job

    engine = open_store()
    table = Table("id", "kind", "status", "progress", "attempts", "error")
    with session_scope(engine) as session:
        for job in session.query(Job).order_by(Job.id.desc()).limit(limit):
            done = f" {job.progress_done}/{job.progress_total}" if job.progress_total else ""
            table.add_row(str(job.id), job.kind, job.status, f"{job.progress_what or ''}{done}",
                          f"{job.attempts}/{job.max_attempts}", job.error or "")  # fmt: skip
    console.print(table)


@app.command("sweep")
def sweep_command() -> None:
    """Queue again the jobs whose worker died, and send again those whose message was lost."""
    from saferstreets.config import get_settings
    from saferstreets.jobs.worker import sweep_and_send

    settings = get_settings()
    open_store(settings)
    ids = sweep_and_send(settings=settings)
    console.print(
        f"{len(ids)} job(s) sent again" + (f": {', '.join(map(str, ids))}" if ids else "")
    )
