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
import signal
import subprocess
import threading
import time
from collections import Counter
from typing import Any

import sqlalchemy as sa

from bench import load_clients as lc
from bench.common import markdown_table
from bench.load_setup import (
    ADMIN_URL,
    LOGS,
    WORKERS,
    PrivatePostgres,
    _busiest,
    _drop_store,
    _make_store,
    _profile,
    _start,
    _stop,
    _workers,
)

WARM = 8.0  # seconds of load before measuring: each worker compiles its templates, fills its pool


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
        """Restart the bench's own PostgreSQL (the one the server uses), never the shared one."""
        assert self.pg is not None, "no private PostgreSQL: the shared one is not restarted"
        started = time.monotonic()
        self.pg.restart()
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
