"""``saferstreets serve`` keeps a job worker beside the app: it restarts one that dies."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from tests.conftest import ROOT, JobWorker

from saferstreets.db import session_scope
from saferstreets.jobs import service
from saferstreets.jobs.supervise import WorkerSupervisor

PRELOADED = [
    sys.executable,
    "-c",
    "import tests.jobs.kinds; from saferstreets.cli.main import main; main()",
    "worker",
]


@pytest.fixture
def worker_env(app_env, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    return app_env


def _run_one(engine, settings) -> None:  # type: ignore[no-untyped-def]
    import tests.jobs.kinds  # noqa: F401 - registers test.steps here too

    with session_scope(engine) as session:
        job_id = service.enqueue(
            session=session, kind="test.steps", params={"steps": 2}, user=None, settings=settings
        ).id
    row = JobWorker(settings).wait_for(job_id, timeout=60)
    assert row["status"] == "done" and row["result"] == {"steps": 2}


def test_the_supervised_worker_runs_jobs_and_is_restarted_when_it_dies(engine, worker_env) -> None:  # type: ignore[no-untyped-def]
    supervisor = WorkerSupervisor(PRELOADED, grace_seconds=5).start()
    try:
        _run_one(engine, worker_env)
        first = supervisor.process
        assert first is not None and supervisor.starts == 1
        first.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 30
        while supervisor.starts < 2:
            assert time.monotonic() < deadline, "the worker was not started again"
            time.sleep(0.1)
        assert supervisor.process is not first
        _run_one(engine, worker_env)  # the new worker runs jobs
    finally:
        supervisor.stop()
    assert supervisor.process is not None and supervisor.process.poll() is not None
    time.sleep(1.5)
    assert supervisor.starts == 2  # stopped means stopped: not started again


def test_serve_has_a_no_worker_switch() -> None:
    from typer.testing import CliRunner

    from saferstreets.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert "--no-worker" in result.output
