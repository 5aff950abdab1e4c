"""A worker process kept alive beside ``saferstreets serve`` (the embedded default's one command).

The supervisor starts ``python -m saferstreets.cli worker`` with the server's environment and
starts it again if it dies (waiting 1 s, doubling up to 30 s while it keeps dying at once). On
stop it asks the worker to finish its running jobs (SIGINT), then ends it (SIGTERM, SIGKILL).
A job cut short is run again by the next worker's sweep.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

logger = logging.getLogger(__name__)

WORKER_ARGV = [sys.executable, "-m", "saferstreets.cli", "worker"]


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
            self.process = subprocess.Popen(self.argv)  # noqa: S603 - our own fixed command
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
