"""A worker process kept alive beside ``saferstreets serve`` (the embedded default's one command).

The supervisor starts ``python -m saferstreets.cli worker`` with the server's environment and
starts it again if it dies (waiting 1 s, doubling up to 30 s while it keeps dying at once). On
stop it asks the worker to finish its running jobs (SIGINT), then ends it (SIGTERM, SIGKILL).
A job cut short is run again by the next worker's sweep.

If the server itself dies without stopping it (``kill -9``, a crash), the worker notices that its
parent has gone (:func:`follow_parent`, from ``PARENT_ENV``) and stops the same way, so no
orphaned worker keeps running jobs against a store nobody serves.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

logger = logging.getLogger(__name__)

WORKER_ARGV = [sys.executable, "-m", "saferstreets.cli", "worker"]
#: set by the supervisor in the worker's environment: the process id of the server it serves
PARENT_ENV = "SAFERSTREETS_WORKER_PARENT_PID"


def follow_parent(*, poll_seconds: float = 1.0, grace_seconds: float = 30.0) -> bool:
    """In a supervised worker: when the server that started it is gone, stop this process as
    the supervisor would (SIGINT: finish the running jobs; SIGTERM after ``grace_seconds``).
    Returns whether it is watching (only under a supervisor)."""
    wanted = os.environ.get(PARENT_ENV, "")
    if not wanted.isdigit():
        return False
    parent = int(wanted)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        logger.warning("the server that started this worker has gone; stopping")
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(grace_seconds)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    return True


class WorkerSupervisor:
    """Keep one worker process running until :meth:`stop`."""

    def __init__(self, argv: list[str] | None = None, *, grace_seconds: float = 10.0) -> None:
        self.argv = argv or WORKER_ARGV
        self.grace_seconds = grace_seconds
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> WorkerSupervisor:
        """Start the worker and the thread that restarts it."""
        self._thread.start()
        return self

    def _watch(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            started = time.monotonic()
            env = {**os.environ, PARENT_ENV: str(os.getpid())}
            self.process = subprocess.Popen(self.argv, env=env)  # noqa: S603 - our own command
            self.starts += 1
            code = self.process.wait()
            if self._stop.is_set():
                return
            delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
            logger.warning("the job worker stopped (exit %s); starting it again", code)
            self._stop.wait(delay)

    def stop(self) -> None:
        """Stop restarting; let the worker finish its jobs for a grace period, then end it."""
        self._stop.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, self.grace_seconds), (signal.SIGTERM, 5.0)):
            process.send_signal(sig)
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
        process.kill()
        process.wait()
