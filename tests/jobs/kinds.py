"""Job kinds for the tests only (imported by the test process and preloaded by test workers)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.errors import AppError
from saferstreets.jobs.service import job_kind
from saferstreets.progress import Progress

#: words that stand for a report's free text: they must never reach a job's error or a log
SECRET_WORDS = "he followed me past the bus station on Elm Road"


@job_kind("test.steps", title="Counting steps", result_url="/staff/jobs?steps={steps}")
def steps(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """``params["steps"]`` steps of ``params["seconds"]`` each, told as progress."""
    total = int(params["steps"])
    for done in range(total):
        progress("counting", done, total)
        time.sleep(float(params.get("seconds", 0.0)))
    progress("counting", total, total)
    return {"steps": total}


@job_kind("test.flaky", title="Failing at first", max_attempts=3, retry_seconds=0.2)
def flaky(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Fails with a user's message until ``params["marker"]`` file has ``params["fail"]`` lines."""
    from pathlib import Path

    marker = Path(params["marker"])
    tries = len(marker.read_text().splitlines()) if marker.exists() else 0
    with marker.open("a") as f:
        f.write("try\n")
    if tries < int(params["fail"]):
        raise AppError(f"The channel did not answer (try {tries + 1})")
    return {"tries": tries + 1}


@job_kind("test.crash", title="Crashing")
def crash(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """An unexpected error whose message quotes a report's words."""
    raise ValueError(f"could not parse {SECRET_WORDS!r}")
