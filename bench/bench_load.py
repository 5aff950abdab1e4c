"""Intake under load and faults: the demo county in PostgreSQL, ``saferstreets serve --workers 4``.

Loopback only, bounded in time. ``CLIENTS`` reporters send reports (GET the form, POST it, read
the receipt) while staff read the overview and safeguarding queue and open local issues.

1. **Steady load**: reports/s and POST latency (p50/p95/p99) of acknowledged reports.
2. **Faults, under the same load**: ``kill -9`` of one worker (uvicorn starts another), then a
   lock on ``report`` held longer than a submission waits (``reports.routes.LOCK_WAIT``), then a
   restart of PostgreSQL. The bench runs its own PostgreSQL server (``initdb`` in a temporary
   folder, on a free port), so the restart disturbs no one else; without ``initdb`` it uses
   ``SAFERSTREETS_TEST_POSTGRES_URL`` and skips the restart.
3. **The count check**: every acknowledged report is in the store exactly once (none lost, none
   twice, none stored without her being told), and every acknowledged staff write is there.
4. **The peer**: the same steady load on the same app run by plain ``uvicorn --workers 4`` (what
   the FastAPI docs suggest), which loses TCP_NODELAY (uvicorn issue 3149).
5. ``_purge_expired`` on the intake path: receipts sealed by 8 threads, with the DELETE of expired
   rows on every call (as before) and at most once a minute (``PurgeGate``).

With py-spy installed, a 10 s profile of one worker during steady load says what bounds it.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench import load_clients as lc
from bench.common import ROOT, markdown_table

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


WORKERS = 4
LOGS: dict[int, Path] = {}  # server process id -> its stderr
WARM = 8.0  # seconds of load before measuring: each worker compiles its templates, fills its pool


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

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
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
    return env


def _start(url: str, *, peer: bool) -> tuple[subprocess.Popen, str]:
    """The server, and its base URL; its error log is ``process.args``' companion, ``LOGS``."""
    port = _free_port()
    if peer:  # plain uvicorn, as the FastAPI docs run it
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
            str(WORKERS),
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
            str(WORKERS),
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


def _points_and_ward(url: str) -> tuple[list[tuple[float, float]], str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        points = [
            (float(a), float(b))
            for a, b in conn.execute(
                sa.text(
                    "SELECT latitude, longitude FROM report WHERE latitude IS NOT NULL LIMIT 500"
                )
            )
        ]
        ward = conn.execute(sa.text("SELECT code FROM area WHERE kind = 'ward' LIMIT 1")).scalar()
    engine.dispose()
    return points, str(ward)


class Faults:
    """What happens to the server during the fault phase, each logged with its time."""

    def __init__(self, url: str, server: subprocess.Popen, pg: PrivatePostgres | None) -> None:
        self.url = url
        self.server = server
        self.pg = pg
        self.log: list[str] = []
        self.holder: threading.Thread | None = None

    def kill_a_worker(self) -> None:
        workers = _workers(self.server.pid)
        if workers:
            os.kill(workers[0], signal.SIGKILL)
            self.log.append(f"kill -9 of worker {workers[0]} (of {len(workers)})")

    def hold_lock(self, seconds: float) -> threading.Thread:
        def hold() -> None:
            engine = sa.create_engine(self.url.replace("postgresql://", "postgresql+psycopg://", 1))
            try:
                with engine.connect() as conn:
                    asked = time.monotonic()
                    conn.execute(sa.text("LOCK TABLE report IN ACCESS EXCLUSIVE MODE"))
                    waited = time.monotonic() - asked
                    time.sleep(seconds)
                    conn.rollback()
                self.log.append(
                    f"ACCESS EXCLUSIVE lock on report held {seconds:.0f} s "
                    f"(granted after {waited:.1f} s)"
                )
            except sa.exc.SQLAlchemyError as exc:
                self.log.append(f"the lock on report failed: {type(exc).__name__}")
            finally:
                engine.dispose()

        self.holder = threading.Thread(target=hold)
        self.holder.start()
        return self.holder

    def restart_postgres(self) -> None:
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        started = time.monotonic()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            check=True,
            capture_output=True,
        )
        self.log.append(f"PostgreSQL restarted ({time.monotonic() - started:.1f} s)")


async def _drive(
    base: str,
    stats: lc.Stats,
    points: list,
    ward: str,
    clients: int,
    plan: list[tuple[float, str, Any]],
    total: float,
) -> None:
    """Run the clients for ``total`` seconds; ``plan``: (second, phase name, action or None)."""
    stop = asyncio.Event()
    deadline = time.monotonic() + total + 60  # in-flight reports may finish after the stop
    tasks = [
        asyncio.create_task(lc.reporter(base, i, stats, points, stop, deadline))
        for i in range(clients)
    ]
    tasks += [
        asyncio.create_task(lc.staff(base, i, stats, ward, stop, deadline, writes=i == 0))
        for i in range(3)
    ]
    started = time.monotonic()
    for at, phase, action in plan:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        stats.phase = phase
        if action is not None:
            await asyncio.to_thread(action)
    await asyncio.sleep(max(0.0, started + total - time.monotonic()))
    stop.set()
    for failed in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(failed, BaseException):
            stats.client_failures.append(repr(failed)[:200])


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


def _count_check(url: str, stats: lc.Stats) -> dict[str, int]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        texts = conn.execute(sa.text("SELECT free_text FROM report WHERE free_text LIKE 'bench-%'"))
        stored = Counter(str(t).split()[0] for (t,) in texts)
        titles = Counter(
            str(t)
            for (t,) in conn.execute(
                sa.text("SELECT title FROM local_issue WHERE title LIKE 'bench-issue-%'")
            )
        )
    engine.dispose()
    acked = Counter(stats.acked_markers)
    return {
        "reports acknowledged": len(acked),
        "acknowledged twice (same marker)": sum(1 for n in acked.values() if n > 1),
        "reports stored": sum(stored.values()),
        "acknowledged but not stored (lost)": len(set(acked) - set(stored)),
        "stored more than once": sum(1 for n in stored.values() if n > 1),
        "stored but never acknowledged": len(set(stored) - set(acked)),
        "staff issues acknowledged": len(stats.issues_acked),
        "acknowledged issues not stored": len(set(stats.issues_acked) - set(titles)),
    }


def _latency_rows(stats: lc.Stats, who: str, phases: list[str], seconds: dict[str, float]) -> list:
    rows = []
    for phase in phases:
        ms = stats.post_ms.get(phase, [])
        statuses = stats.statuses.get(phase, Counter())
        rate = stats.acked.get(phase, 0) / seconds[phase] if seconds.get(phase) else float("nan")
        rows.append(
            [
                who,
                phase,
                rate,
                lc.percentile(ms, 50),
                lc.percentile(ms, 95),
                lc.percentile(ms, 99),
                ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())),
            ]
        )
    return rows


def _purge_cost(url: str, calls: int) -> list[list[Any]]:
    """Receipts sealed by 8 threads: the expired-row DELETE on every call vs once a minute."""
    from datetime import datetime, timedelta

    from saferstreets.accounts import sessions
    from saferstreets.config import Settings
    from saferstreets.db import make_engine, session_factory

    engine = make_engine(url, pool_size=8)
    settings = Settings(env="test", database_url=url, secret_key="x" * 40)
    rows = []
    for label, every in (
        ("DELETE on every call (before)", 0.0),
        ("at most once a minute (now)", 60.0),
    ):
        sessions.PURGE.every, sessions.PURGE._last = every, -float("inf")
        clock = iter(range(10**9))
        lock = threading.Lock()
        base = datetime(2030, 1, 1)

        def work(n: int, clock: Any = clock, lock: Any = lock, base: datetime = base) -> None:
            maker = session_factory(engine)
            for _ in range(n):
                with lock:
                    tick = next(clock)  # 1 s per call: rows keep expiring, as they do in service
                with maker() as session:
                    sessions.seal_receipt(
                        session=session,
                        settings=settings,
                        code="ABCD-EFGH",
                        now=base + timedelta(seconds=tick),
                        urgent=False,
                    )
                    session.commit()

        threads = [threading.Thread(target=work, args=(calls // 8,)) for _ in range(8)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        took = time.perf_counter() - started
        rows.append(
            [label, calls // 8 * 8, (calls // 8 * 8) / took, took / (calls // 8 * 8) * 8000]
        )
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM web_session"))
    sessions.PURGE.every = 60.0
    engine.dispose()
    return rows


def run(*, quick: bool) -> str:
    clients = 10 if quick else 50
    steady = 5.0 if quick else 20.0
    load_before = os.getloadavg()
    pg: PrivatePostgres | None
    try:
        pg = PrivatePostgres()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"   no private PostgreSQL ({exc!r}): the shared server, and no restart")
        pg = None
    try:
        try:
            url, admin = _make_store(pg.url if pg else ADMIN_URL)
        except sa.exc.OperationalError as exc:
            return f"PostgreSQL did not answer ({type(exc).__name__}): nothing measured.\n"
        try:
            return _measure(url, clients, steady, quick, pg, load_before)
        finally:
            _drop_store(url, admin)
    finally:
        if pg is not None:
            pg.stop()


def _measure(
    url: str,
    clients: int,
    steady: float,
    quick: bool,
    pg: PrivatePostgres | None,
    load_before: tuple[float, float, float],
) -> str:
    points, ward = _points_and_ward(url)
    server, base = _start(url, peer=False)
    stats = lc.Stats()
    profile: list = []
    try:
        faults = Faults(url, server, pg)
        sample_s = 3 if quick else 10
        profiler = threading.Thread(
            target=lambda: profile.extend(_profile(_busiest(_workers(server.pid)), sample_s))
        )
        lock_s = 8.0
        plan: list[tuple[float, str, Any]] = [
            (0, "warm-up", None),
            (WARM, "steady", profiler.start),
            (WARM + steady, "faults", faults.kill_a_worker),
            (WARM + steady + 5, "faults", lambda: faults.hold_lock(lock_s)),
        ]
        total = WARM + steady + 5 + lock_s + 7
        if pg is not None:
            plan.append((total, "faults", faults.restart_postgres))
            total += 10
        plan.append((total, "recovered", None))
        total += 5
        asyncio.run(_drive(base, stats, points, ward, clients, plan, total))
        profiler.join()
        load_during = os.getloadavg()
    finally:
        _stop(server)
    counts = _count_check(url, stats)
    log_text = LOGS[server.pid].read_text(errors="replace")
    pattern = r"did not answer \((\w+)\)|unavailable on [A-Z]+ \S+: (\w+)"
    stats.unsaved_causes = Counter(a or b for a, b in re.findall(pattern, log_text))
    seconds = {"steady": steady, "faults": total - 5 - WARM - steady, "recovered": 5.0}
    rows = _latency_rows(stats, "saferstreets serve", ["steady", "faults", "recovered"], seconds)
    peer_stats = lc.Stats()
    peer, peer_base = _start(url, peer=True)
    try:
        asyncio.run(
            _drive(
                peer_base,
                peer_stats,
                points,
                ward,
                clients,
                [(0, "warm-up", None), (WARM, "steady", None)],
                WARM + steady,
            )
        )
    finally:
        _stop(peer)
    rows += _latency_rows(peer_stats, "peer: uvicorn --workers 4", ["steady"], seconds)
    purge = _purge_cost(url, 400 if quick else 2400)
    return _table(
        rows, counts, stats, faults.log, profile, purge, clients, (load_before, load_during)
    )


def _table(
    rows: list,
    counts: dict[str, int],
    stats: lc.Stats,
    log: list[str],
    profile: list,
    purge: list,
    clients: int,
    loads: tuple,
) -> str:
    ours = next((r for r in rows if r[0] == "saferstreets serve" and r[1] == "steady"), None)
    peer = next((r for r in rows if r[0].startswith("peer")), None)
    ratio = ours[2] / peer[2] if ours and peer and peer[2] else float("nan")
    p99_ratio = ours[5] / peer[5] if ours and peer and peer[5] else float("nan")
    parts = [
        f"{clients} reporters and 3 staff (one opening local issues) on loopback; "
        f"{WORKERS} workers; PostgreSQL on the same machine. Machine load average "
        f"(1/5/15 min) before: {'/'.join(f'{x:.1f}' for x in loads[0])}; during: "
        f"{'/'.join(f'{x:.1f}' for x in loads[1])} (the load generator shares the cores).",
        "",
        markdown_table(
            [
                "server",
                "phase",
                "reports/s",
                "POST p50 ms",
                "POST p95 ms",
                "POST p99 ms",
                "POST answers",
            ],
            rows,
        ),
        "",
        f"Steady reports/s, saferstreets / peer: **{ratio:.2f}**; POST p99, saferstreets / "
        f"peer: **{p99_ratio:.2f}** (below 1 is better).",
        "",
        "Faults: " + "; ".join(log) + ".",
        f"503 pages that gave her words and key back: {stats.unsaved_kept_words}; that did "
        f"not: {stats.unsaved_lost_words}. Connections reset: {stats.transport_errors}. "
        f"Reports acknowledged after being sent more than once (same key, one report): "
        f"{stats.resent_same_receipt}. Load-generator tasks that failed: "
        f"{len(stats.client_failures)} {stats.client_failures[:3]}. Why the server answered 503 "
        f"(its log: error types only): {dict(stats.unsaved_causes)} (TimeoutError: no pooled "
        "connection within 10 s; OperationalError: a lock or statement timeout, or the restart).",
        "",
        "Count check (every acknowledged report stored exactly once):",
        "",
        markdown_table(["check", "count"], list(counts.items())),
        "",
        "Staff pages: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(stats.staff_statuses.items()))
        + f"; GET p50 {lc.percentile(stats.staff_ms, 50):.0f} ms, "
        f"p99 {lc.percentile(stats.staff_ms, 99):.0f} ms.",
        "",
        "`_purge_expired` on the intake path (receipts sealed by 8 threads):",
        "",
        markdown_table(
            ["purge of expired rows", "receipts", "receipts/s", "ms per receipt per thread"], purge
        ),
    ]
    if profile:
        parts += [
            "",
            "Profile of one worker during steady load (py-spy, share of samples):",
            "",
            markdown_table(["where", "share"], [[k, f"{v:.0%}"] for k, v in profile]),
        ]
    return "\n".join(parts) + "\n"
