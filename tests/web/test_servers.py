"""The test helper that waits for a started server: a server that dies on start-up fails the test
with its own words, not a bare timeout."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from tests.web.servers import free_port, wait_until_answering


def test_a_server_that_dies_on_start_up_fails_with_its_own_output(tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; sys.stderr.write('no such store: x.db'); sys.exit(3)",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started = time.monotonic()
    with pytest.raises(AssertionError) as failed:
        wait_until_answering(
            process, f"http://127.0.0.1:{free_port()}/healthz", log.read_text, timeout=60
        )
    assert "exit code 3" in str(failed.value) and "no such store: x.db" in str(failed.value)
    assert time.monotonic() - started < 30  # it did not wait out the timeout


def test_a_server_that_never_answers_fails_at_the_timeout_with_its_output() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(AssertionError, match=r"did not answer .* within 1 s:\nits output"):
            wait_until_answering(
                process, f"http://127.0.0.1:{free_port()}/healthz", lambda: "its output", timeout=1
            )
    finally:
        process.kill()
        process.wait()
