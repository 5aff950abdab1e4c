"""What bounds intake: one ``saferstreets serve`` worker under ``bench_load``'s reporters, profiled.

The demo county in PostgreSQL (as ``bench_load``), ``saferstreets serve --workers 1``, and
``CLIENTS`` reporters of :mod:`bench.load_clients` (GET the form, POST it, read the receipt) for
``SECONDS`` after a warm-up. py-spy samples the one worker meanwhile (``--gil``: the thread
holding the interpreter, so where its CPU goes); the tables give its samples by the package
whose code was running and by where they are *inside* (a function counts for every sample with
it on the stack), so the costs of a report can be read off: the ORM, the driver, the HTTP
server, templates, the area look-up.
The CPU seconds of the worker, of PostgreSQL and of the load generator say which of them is
the bound (``SAFERSTREETS_BENCH_INTAKE_WORKERS`` serves with more workers: the ceiling;
``SAFERSTREETS_BENCH_INTAKE_CLIENTS`` sends more reporters at once: a surge).
Peer: the same worker with the same clients, as ``bench_load``'s peer (plain uvicorn), would
measure the server, not the app; the figure to compare with is the issue's aim (200 reports/s,
POST p99 under 250 ms at 50 clients), stated beside the machine's load average.

To time another version's server with the same load generator (before and after a change),
run ``BENCH_SERVER_SRC=<checkout>/src PYTHONPATH=<checkout>/src:. python -m bench intake``: the
server and the in-process round-trip count then run that checkout's code.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import load_clients as lc
from bench.common import markdown_table
from bench.load_setup import ADMIN_URL, _drop_store, _make_store, _start, _stop, _workers

WARM = 6.0
PCT = (50, 95, 99)
INSIDE = {
    "store (psycopg: PostgreSQL round trips)": "psycopg/",
    "SQLAlchemy (ORM and core, psycopg excluded)": "sqlalchemy/",
    "Jinja2 templates (rendering)": "jinja2/",
    "form parsing (python-multipart)": "multipart/",
    "POST /report (reports/routes.report_submit)": "report_submit (saferstreets",
    "GET /report (reports/routes.report_form)": "report_form (saferstreets",
    "GET /report/thanks (reports/routes.report_thanks)": "report_thanks (saferstreets",
    "the request session's commit (web/deps.get_session)": "get_session (saferstreets",
    "create_report (reports/service)": "create_report (saferstreets",
    "triage (reports/triage)": "saferstreets/reports/triage",
    "submission keys (reports/submissions)": "saferstreets/reports/submissions",
    "point in polygon / H3 (areas/, h3, shapely)": "saferstreets/areas/",
    "rate-limit buckets (accounts/rate_limits)": "saferstreets/accounts/rate_limits",
    "CSRF check (web/security.check_csrf)": "check_csrf (saferstreets/web/security",
    "rate limit (web/security.rate_limit)": "rate_limit (saferstreets/web/security",
    "sessions and receipts (web/sessions)": "saferstreets/web/sessions",
    "argon2": "argon2",
    "HTTP protocol (uvicorn h11/httptools)": "uvicorn/protocols/http",
    "security headers (web/security, ASGI middleware)": "SecurityHeadersMiddleware",
    "the route's thread (anyio worker threads)": "WorkerThread.run",
}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_seconds() -> float:
    """CPU seconds of every PostgreSQL process on the machine (the server holding the bench's
    store, whose backends serve the workers' connections), summed from /proc."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                total += _cpu_seconds(int(entry.name))
        except OSError:  # a process that ended meanwhile
            continue
    return total


#: Workers to serve with (``SAFERSTREETS_BENCH_INTAKE_WORKERS``): 1 by default, so the profile
#: is of the one process doing all the work; more measure the machine's ceiling (the profile
#: then samples the first worker, and the server's CPU is summed over all of them).
WORKERS = int(os.environ.get("SAFERSTREETS_BENCH_INTAKE_WORKERS") or 1)
#: Reporters at once (``SAFERSTREETS_BENCH_INTAKE_CLIENTS``): the issue's 50 by default; a surge
#: of more than one worker's threads and store connections together (40 + 15) tries the worker's
#: hand-over of connections (``web.deps._settle``), which wedged it before 2026-12-03.
CLIENTS = int(os.environ.get("SAFERSTREETS_BENCH_INTAKE_CLIENTS") or 50)


def _sessions(url: str) -> int:
    """PostgreSQL connections opened to the store so far (``pg_stat_database.sessions``):
    a pool that opens and closes connections under load shows here, and the CPU of backends
    that have gone is missing from ``_postgres_cpu_seconds``."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            query = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            return int(conn.execute(sa.text(query)).scalar_one())
    finally:
        engine.dispose()


def _record(pid: int, seconds: float) -> tuple[subprocess.Popen, Path]:
    spy = Path(sys.executable).with_name("py-spy")
    out = Path(tempfile.mkdtemp()) / "raw.txt"
    # --gil: only the thread holding the interpreter, so the profile is where the worker's CPU
    # goes (a thread waiting on PostgreSQL, or for the interpreter, is not sampled)
    command = [str(spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "100",
               "-f", "raw", "-o", str(out), "--nonblocking", "--gil"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


def _package(frame: str) -> str:
    """The package (or standard-library module) of a py-spy frame, ``func (path:line)``."""
    path = frame.rpartition(" (")[2].rstrip(")").rsplit(":", 1)[0]
    first = path.split("/", 1)[0]
    return first.removesuffix(".py") if first else "(native)"


def _inside(raw: Path) -> tuple[list[list], list[list], list[list], int]:
    """Samples by what they are inside (inclusive), the busiest saferstreets functions, and
    samples by the package whose code was running (the top of the stack)."""
    inside: Counter = Counter()
    ours: Counter = Counter()
    running: Counter = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        running[_package(frames[-1])] += n
        joined = ";".join(frames)
        for label, needle in INSIDE.items():
            if needle in joined:
                inside[label] += n
        seen = {f.split(" (")[0] + " (" + f.split("saferstreets/")[-1].split(":")[0]
                for f in frames if "saferstreets/" in f}  # fmt: skip
        for name in seen:
            if "cli/" not in name and "serving.py" not in name:  # the process's own frames
                ours[name + ")"] += n
    rows = [[label, f"{inside[label] / total:.0%}"] for label in INSIDE if total]
    top = [[name, f"{n / total:.0%}"] for name, n in ours.most_common(12)]
    packages = [[name, f"{n / total:.0%}"] for name, n in running.most_common(12)]
    return rows, top, packages, total


async def _drive(base: str, stats: lc.Stats, points: list, clients: int, seconds: float) -> None:
    stop = asyncio.Event()
    deadline = time.monotonic() + WARM + seconds + 30
    tasks = [
        asyncio.create_task(lc.reporter(base, i, stats, points, stop, deadline))
        for i in range(clients)
    ]
    await asyncio.sleep(WARM)
    stats.phase = "measured"
    await asyncio.sleep(seconds)
    stats.phase = "after"
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


def run(*, quick: bool) -> str:
    clients, seconds = (10, 5.0) if quick else (CLIENTS, 20.0)
    url, admin = _make_store(ADMIN_URL)
    try:
        return _measure(url, clients, seconds)
    finally:
        _drop_store(url, admin)


PHASES = ("GET /report", "POST /report", "GET /report/thanks")
TRIPS = ("statements", "BEGIN", "COMMIT", "pool checkouts (each pinged)")


def in_process_client(url: str) -> Any:
    """A test client of the app as the benchmark serves it (the same store, no rate limit), in
    this process and not yet entered; its app is ``client.app``."""
    from fastapi.testclient import TestClient

    from saferstreets.config import Settings
    from saferstreets.web.app import create_app

    settings = Settings(env="test", database_url=url, data_dir=Path(tempfile.mkdtemp()),
                        secret_key="x" * 40, report_rate_limit=10**9)  # fmt: skip
    return TestClient(create_app(settings), client=("198.51.100.7", 5000))


def send_report(
    client: Any, marker: str, point: tuple[float, float], at: Callable[[str], None]
) -> tuple[Any, dict[str, str], Any]:
    """One report through ``client`` as a reporter sends it (the form, the POST, the receipt),
    calling ``at(phase)`` (one of ``PHASES``) before each request: the form's page, the fields
    sent and the receipt's page."""
    at(PHASES[0])
    form = client.get("/report")
    fields = lc._fields(form.text, marker, point)
    assert fields is not None, "the form has its CSRF token and one-time key"
    at(PHASES[1])
    assert client.post("/report", data=fields, follow_redirects=False).status_code == 303
    at(PHASES[2])
    thanks = client.get("/report/thanks")
    assert lc.RECEIPT.search(thanks.text), "the receipt page shows the receipt"
    return form, fields, thanks


def _round_trips(url: str, points: list, reports: int = 20) -> list[list[str]]:
    """Store round trips per report, by request, counted by SQLAlchemy's events while
    ``reports`` reports go through the app in this process (the same store and settings as the
    server): statements, transactions begun and committed, and pooled connections taken (the
    engine pings each one: ``pool_pre_ping``)."""
    from sqlalchemy import event

    client = in_process_client(url)
    counts: Counter = Counter()
    phase = [""]

    def sent(label: str) -> Callable[..., None]:
        def count(conn: Any, *_: Any) -> None:  # no BEGIN or COMMIT is sent in autocommit
            if (
                label == "statements"
                or conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT"
            ):
                counts.update([(phase[0], label)])

        return count

    def at(now: str) -> None:
        phase[0] = now

    events = {"before_cursor_execute": "statements", "begin": "BEGIN", "commit": "COMMIT"}
    for name, label in events.items():
        event.listen(client.app.state.engine, name, sent(label))
    event.listen(client.app.state.engine.pool, "checkout",
                 lambda *_: counts.update([(phase[0], TRIPS[3])]))  # fmt: skip
    with client:
        for n in range(reports + 2):
            if n == 2:  # the first two warm the caches (area index, rate-limit key)
                counts.clear()
            send_report(client, f"trips-{n}", points[n % len(points)], at)
    rows = [
        [what, *(f"{counts[(p, what)] / reports:g}" for p in PHASES),
         f"{sum(counts[(p, what)] for p in PHASES) / reports:g}"]
        for what in TRIPS
    ]  # fmt: skip
    total = sum(counts.values()) / reports
    return [*rows, ["round trips in all", "", "", "", f"{total:g}"]]


@dataclass
class Run:
    """One server under the reporters: what they saw and the CPU each party spent."""

    stats: lc.Stats
    seconds: float
    server_cpu: float
    store_cpu: float
    generator_cpu: float
    connections: int
    profile: Path | None = None

    def per_report(self, cpu: float) -> float:
        return cpu * 1000 / max(1, sum(self.stats.acked.values()))

    def rate(self) -> float:
        return self.stats.acked.get("measured", 0) / self.seconds

    def post(self) -> str:
        post = self.stats.post_ms.get("measured", [])
        return " / ".join(f"{lc.percentile(post, q):.0f}" for q in PCT)


def _load(url: str, points: list, clients: int, seconds: float, *, floor: bool = False) -> Run:
    """Serve (the app, or the floor), send the reporters, and profile the first worker."""
    server, base = _start(url, peer=False, workers=WORKERS, floor=floor)
    try:
        workers = _workers(server.pid) or [server.pid]  # one worker: serve itself
        stats = lc.Stats()
        spy: list = []

        async def measured() -> None:
            async def profile_later() -> None:
                await asyncio.sleep(WARM + 1)
                spy.append(_record(workers[0], seconds - 2))

            await asyncio.gather(_drive(base, stats, points, clients, seconds), profile_later())

        me, started = time.process_time(), sum(_cpu_seconds(w) for w in workers)
        store_started, sessions = _postgres_cpu_seconds(), _sessions(url)
        asyncio.run(measured())
        run = Run(stats=stats, seconds=seconds,
                  server_cpu=sum(_cpu_seconds(w) for w in workers) - started,
                  store_cpu=_postgres_cpu_seconds() - store_started,
                  generator_cpu=time.process_time() - me,
                  connections=_sessions(url) - sessions)  # fmt: skip
        process, run.profile = spy[0]
        process.wait(timeout=60)
        return run
    finally:
        _stop(server)


def _against_the_floor(app: Run, floor: Run) -> list[list[str]]:
    """The app and the one-layer floor side by side, with the ratio."""
    per = [(app.per_report(app.server_cpu), floor.per_report(floor.server_cpu)),
           (app.per_report(app.store_cpu), floor.per_report(floor.store_cpu))]  # fmt: skip
    return [
        ["reports acknowledged per second", f"{app.rate():.1f}", f"{floor.rate():.1f}",
         f"{app.rate() / max(floor.rate(), 1e-9):.2f}"],
        ["POST p50 / p95 / p99 ms", app.post(), floor.post(), ""],
        ["server CPU per report, ms", f"{per[0][0]:.1f}", f"{per[0][1]:.1f}",
         f"{per[0][0] / max(per[0][1], 1e-9):.1f}"],
        ["PostgreSQL CPU per report, ms", f"{per[1][0]:.1f}", f"{per[1][1]:.1f}",
         f"{per[1][0] / max(per[1][1], 1e-9):.1f}"],
    ]  # fmt: skip


def _measure(url: str, clients: int, seconds: float) -> str:
    from bench.bench_load import _points_and_ward

    points, _ = _points_and_ward(url)
    trips = _round_trips(url, points)
    load_before = os.getloadavg()
    run = _load(url, points, clients, seconds)
    load_during = os.getloadavg()
    floor = _load(url, points, clients, seconds, floor=True)
    stats, wall = run.stats, WARM + seconds
    answers = sorted(stats.statuses.get("measured", Counter()).items())
    rates = [
        ["reports acknowledged per second", f"{run.rate():.1f}"],
        ["POST p50 / p95 / p99 ms", run.post()],
        ["POST answers", ", ".join(f"{k}: {v}" for k, v in answers)],
        [f"CPU of the server's {WORKERS} worker(s) (share of one core)",
         f"{run.server_cpu / wall:.0%}"],
        ["CPU of PostgreSQL (share of one core)", f"{run.store_cpu / wall:.0%}"],
        ["CPU of the load generator (share of one core)", f"{run.generator_cpu / wall:.0%}"],
        ["server CPU per acknowledged report (GET form, POST, GET receipt), ms",
         f"{run.per_report(run.server_cpu):.1f}"],
        ["PostgreSQL CPU per acknowledged report, ms", f"{run.per_report(run.store_cpu):.1f}"],
        ["PostgreSQL connections opened during the run (warm-up and this count included)",
         f"{run.connections}"],
        ["load-generator CPU per acknowledged report, ms",
         f"{run.per_report(run.generator_cpu):.1f}"],
    ]  # fmt: skip
    raw = run.profile
    rows, top, packages, total = _inside(raw) if raw and raw.exists() else ([], [], [], 0)
    loads = "; ".join(
        f"{when}: {'/'.join(f'{x:.1f}' for x in load)}"
        for when, load in (("before", load_before), ("during", load_during))
    )
    return (
        "\n".join(
            [
                f"{clients} reporters of bench/load_clients.py for {seconds:.0f} s (after "
                f"{WARM:.0f} s of warm-up) against `saferstreets serve --workers {WORKERS}`, "
                "the demo county in PostgreSQL, on loopback. Machine load average "
                f"(1/5/15 min) {loads}.",
                "",
                markdown_table(["measure", "value"], rates),
                "",
                "The same reporters against the floor (`bench/intake_floor.py`: the same "
                "pages, validator and SQL statements through one ASGI layer and psycopg's "
                "pipeline; not a server of the product), same workers, right after:",
                "",
                markdown_table(
                    ["measure", "saferstreets", "floor", "ratio"], _against_the_floor(run, floor)
                ),
                "",
                "Store round trips per report (counted in-process by SQLAlchemy's events, 20 "
                "reports through the same app and store):",
                "",
                markdown_table(["round trip", *PHASES, "per report"], trips),
                "",
                f"py-spy `--gil`, {total:,} samples at 100 Hz of the worker thread holding the "
                "interpreter, so where its CPU goes (waiting on PostgreSQL is not sampled). By "
                "the package whose code was running:",
                "",
                markdown_table(["package (code running)", "share of samples"], packages),
                "",
                "By what the running code was inside (a sample counts for every row whose code "
                "is on its stack, so the rows overlap):",
                "",
                markdown_table(["inside", "share of samples"], rows),
                "",
                "The saferstreets functions most often on the worker's stack:",
                "",
                markdown_table(["function (file)", "share of samples"], top),
            ]
        )
        + "\n"
    )
