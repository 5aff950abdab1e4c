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


SERVER_STAND_IN = """
import sys, time
from saferstreets.jobs.supervise import WorkerSupervisor
supervisor = WorkerSupervisor(sys.argv[1:]).start()
while supervisor.process is None:
    time.sleep(0.05)
print(supervisor.process.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = f"/proc/{pid}/status"
    if os.path.exists(status):  # a zombie has exited; it waits only to be reaped
        with open(status) as handle:
            return "zombie" not in handle.read()
    return True


def test_a_worker_whose_server_was_killed_stops(engine, worker_env) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_STAND_IN, *PRELOADED],
        stdout=subprocess.PIPE,
        env={**os.environ},
    )
    try:
        assert server.stdout is not None
        worker_pid = int(server.stdout.readline())
        _run_one(engine, worker_env)  # the worker is up and running jobs
        server.send_signal(signal.SIGKILL)  # no chance to stop its worker
        server.wait(timeout=10)
        deadline = time.monotonic() + 30
        while _alive(worker_pid):
            assert time.monotonic() < deadline, "the orphaned worker kept running"
            time.sleep(0.2)
    finally:
        if server.poll() is None:
            server.kill()
