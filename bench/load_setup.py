"""What ``bench_load`` runs against: its own PostgreSQL server, a fresh store with the demo
county, ``saferstreets serve`` (or the peer, plain uvicorn), and py-spy's profile of a worker."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.common import ROOT

WORKERS = 4
LOGS: dict[int, Path] = {}  # server process id -> its stderr


ADMIN_URL = os.environ.get(
    "SAFERSTREETS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
).replace("postgresql://", "postgresql+psycopg://", 1)


class PrivatePostgres:
    """A PostgreSQL server of the bench's own (initdb in a temporary folder, a free port), so
    that restarting it under load disturbs nobody else's tests. None where no initdb is found."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            raise FileNotFoundError("no initdb")
        self.bin = found[-1].parent
        self.home = Path(tempfile.mkdtemp(prefix="bench-load-pg-"))
        self.data = self.home / "data"
        self.port = _free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            subprocess.run(["chown", "postgres", str(self.home)], check=True)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._ctl("start")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.as_postgres, str(self.bin / tool), *args]
        subprocess.run(command, check=True, capture_output=True, cwd=self.home)

    def _ctl(self, action: str) -> None:
        options = (
            f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-m",
            "fast",
            "-w",
            "-l",
            str(self.home / "log"),
            action,
        )

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.home, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make_store(admin_url: str) -> tuple[str, Any]:
    """A fresh PostgreSQL database with the demo county's areas, reports and accounts."""
    from rich.console import Console

    from saferstreets.config import Settings
    from saferstreets.db import make_engine
    from saferstreets.demo import pipeline

    # pinged: its connection must survive bench_load's restart of the server, to drop the store
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    name = f"saferstreets_bench_load_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    out = Path(tempfile.mkdtemp(prefix="bench-load-"))
    settings = Settings(env="test", database_url=url, data_dir=out, secret_key="x" * 40)
    engine = make_engine(url)
    ctx = pipeline.DemoContext(
        settings=settings, seed=2021, out=out, engine=engine, console=Console(quiet=True)
    )
    for title, stage in pipeline.STAGES:
        if title.split()[0] in ("Generating", "Preparing", "Importing", "Receiving", "Creating"):
            if "crime" in title or "survey" in title or "places" in title:
                continue
            print(f"   {title}: {stage(ctx)}", flush=True)
    return url, admin


def _drop_store(url: str, admin: Any) -> None:
    name = sa.engine.make_url(url).database
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SAFERSTREETS_DATABASE_URL=url,
        SAFERSTREETS_ENV="test",
        SAFERSTREETS_SECRET_KEY=secrets.token_urlsafe(40),
        SAFERSTREETS_ALERT_WORKER="false",
        SAFERSTREETS_REPORT_RATE_LIMIT="1000000000",
        SAFERSTREETS_LOOKUP_RATE_LIMIT="1000000000",
        PYTHONPATH=str(ROOT / "src") + os.pathsep + str(ROOT),
    )
    if other := os.environ.get("BENCH_SERVER_SRC"):  # another checkout's server, same clients
        env["PYTHONPATH"] = other + os.pathsep + env["PYTHONPATH"]
    return env


def _start(
    url: str, *, peer: bool, workers: int = WORKERS, floor: bool = False
) -> tuple[subprocess.Popen, str]:
    """The server, and its base URL; its error log is ``process.args``' companion, ``LOGS``.
    ``floor``: bench_intake's one-layer server (``bench/intake_floor.py``), not the app."""
    port = _free_port()
    if floor:
        command = [sys.executable, "-m", "bench.intake_floor", str(port), str(workers), url]
    elif peer:  # plain uvicorn, as the FastAPI docs run it
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "saferstreets.web.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "saferstreets.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
    errors = tempfile.NamedTemporaryFile(prefix="bench-load-", suffix=".log", delete=False)  # noqa: SIM115 - the server writes to it until stopped
    process = subprocess.Popen(
        command,
        env=_env(url),
        stdout=subprocess.DEVNULL,
        stderr=errors,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    LOGS[process.pid] = Path(errors.name)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(base + "/report", timeout=2).status_code == 200:
                time.sleep(2)  # every worker up
                return process, base
        except httpx.HTTPError:
            time.sleep(0.3)
    if process.poll() is None:
        _stop(process)
    tail = Path(errors.name).read_text(errors="replace")[-1500:]
    raise RuntimeError(f"the server did not start: {tail}")


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _workers(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and "spawn_main" in (
                entry / "cmdline"
            ).read_text(errors="replace"):
                found.append(int(entry.name))
    return sorted(found)


def _busiest(pids: list[int]) -> int:
    """The worker that used the most CPU over the last second (the one worth profiling)."""

    def cpu(pid: int) -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    before = {pid: cpu(pid) for pid in pids}
    time.sleep(1)
    return max(pids, key=lambda pid: cpu(pid) - before[pid])


def _profile(pid: int, seconds: int) -> list[tuple[str, float]]:
    """Where one worker spends its time: py-spy's samples by leaf function (share of samples)."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return []
    out = Path(tempfile.mkdtemp()) / "raw.txt"
    subprocess.run(
        [
            str(spy),
            "record",
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-r",
            "50",
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        capture_output=True,
    )
    if not out.exists():
        return []
    by_leaf: Counter = Counter()
    by_area: Counter = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        by_leaf[re.sub(r"\s*\(.*", "", frames[-1])] += int(count)
        by_area[_area(frames)] += int(count)
    areas = [(f"area: {k}", v / total) for k, v in by_area.most_common(8)]
    return areas + [(f"leaf: {k}", v / total) for k, v in by_leaf.most_common(8)]


def _area(frames: list[str]) -> str:
    joined = ";".join(frames)
    for label, needle in (
        ("waiting for work (idle)", "select (selectors.py"),
        ("PostgreSQL round trips", "psycopg"),
        ("Jinja2 templates", "jinja2"),
        ("SQLAlchemy ORM/core", "sqlalchemy"),
        ("triage / location", "saferstreets/reports"),
        ("form parsing", "multipart"),
        ("HTTP (h11/httptools)", "protocols/http"),
    ):
        if needle in joined:
            return label
    return "other"
