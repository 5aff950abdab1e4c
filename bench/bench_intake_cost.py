"""What a report costs the server in instructions, not seconds: a measure co-tenants cannot move.

``bench_intake`` times the served app, and on a shared 2-core machine its figures move by a third
between runs of the same code (session 13 measured the same commit at 9.2 and 11.9 ms of CPU a
report ten minutes apart). This benchmark counts instead: valgrind's callgrind counts the
instructions the interpreter executes while reports go through the app in one process (the
form, the POST, the receipt; ``bench_intake.send_report``), and the same for the floor
(``bench/intake_floor.py``: the same pages, validator and statements through one ASGI layer and
psycopg's pipeline), the peer it is set against. PostgreSQL's own work is in another process and
is not counted; nor are uvicorn's protocol and the socket: requests go straight into each side's
ASGI callable (``Driver``), so no HTTP client's instructions are counted either (through
Starlette's test client the app's report cost 30.5 million, the client's share included).

Each side runs twice, with ``FEW`` and ``MANY`` reports; the instructions a report costs are the
difference divided by ``MANY - FEW``, so start-up (imports, building the app) cancels out. What
still varies is what depends on the clock (psycopg's and asyncio's waits, the area index's
once-a-second freshness check, under callgrind's fifty-fold slowdown): two runs of the same
commit gave 13.94 and 14.27 million instructions a report (2.4% apart, 2026-12-04), where timed
runs of one commit differ by a third.

``BENCH_SERVER_SRC=<checkout>/src`` counts another checkout's app (the floor stays this one's).
Needs valgrind; without it the benchmark says so and writes nothing.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

from bench.common import ROOT, markdown_table
from bench.load_clients import Answer, Browser
from bench.load_setup import ADMIN_URL, _drop_store, _make_store

FEW, MANY = 5, 45
QUICK_FEW, QUICK_MANY = 2, 6
SIDES = ("saferstreets", "floor")
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


class Driver(Browser):
    """A reporter's browser (its cookie jar) sending requests straight into an ASGI app on one
    event loop: no socket and no HTTP client, whose instructions would be counted with the
    app's. Synchronous, as ``bench_intake.send_report`` drives a test client."""

    def __init__(self, app: Any) -> None:
        super().__init__("http://127.0.0.1")
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        """The app's lifespan startup (the floor opens its connections there); its shutdown is
        never asked for: the process ends."""
        started, messages = asyncio.Event(), [{"type": "lifespan.startup"}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # no shutdown
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                started.set()

        self.lifespan = asyncio.ensure_future(self.app({"type": "lifespan"}, receive, send))
        await started.wait()

    def close(self) -> None:
        self.lifespan.cancel()
        self.loop.run_until_complete(asyncio.gather(self.lifespan, return_exceptions=True))
        self.loop.close()

    def get(self, path: str) -> Answer:  # type: ignore[override]
        return self.loop.run_until_complete(self._call("GET", path, b""))

    def post(self, path: str, data: dict[str, str], **_: Any) -> Answer:  # type: ignore[override]
        return self.loop.run_until_complete(self._call("POST", path, urlencode(data).encode()))

    async def _call(self, method: str, path: str, body: bytes) -> Answer:
        headers = [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())]
        if method == "POST":
            headers.append((b"content-type", b"application/x-www-form-urlencoded"))
        if self.cookies:
            headers.append(
                (b"cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()).encode())
            )
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "headers": headers,
                 "client": ("198.51.100.7", 5000), "server": ("127.0.0.1", 80)}  # fmt: skip
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        answer_headers: dict[str, str] = {}
        for name, value in start.get("headers", []):
            if name.lower() == b"set-cookie":
                self._keep(value.decode("latin-1"))
            answer_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        parts = [m.get("body", b"") for m in sent if m["type"] == "http.response.body"]
        return Answer(start["status"], answer_headers, b"".join(parts))


def _child(side: str, reports: int, url: str) -> None:
    """In the counted process: send ``reports`` reports through ``side`` in this process."""
    from bench import bench_intake
    from bench.bench_load import _points_and_ward

    points, _ = _points_and_ward(url)
    if side == "floor":
        from bench.intake_floor import Floor, capture

        app: Any = Floor(url, capture(url))
    else:
        app = bench_intake.in_process_client(url).app
    client = Driver(app)
    for n in range(reports):
        bench_intake.send_report(client, f"cost-{n}", points[n % len(points)], lambda _: None)
    client.close()


def _count(side: str, reports: int, url: str) -> int:
    """Instructions callgrind counted for one child process."""
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")
    if side == "saferstreets" and (other := os.environ.get("BENCH_SERVER_SRC")):
        env["PYTHONPATH"] = other + os.pathsep + env["PYTHONPATH"]
    with tempfile.TemporaryDirectory() as out:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.out",
                   sys.executable, "-m", "bench.bench_intake_cost", side, str(reports),
                   url]  # fmt: skip
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    found = COLLECTED.search(done.stderr)
    if done.returncode or not found:
        raise RuntimeError(f"{side} with {reports} reports failed: {done.stderr[-2000:]}")
    print(f"   {side}, {reports} reports: {int(found.group(1)):,} instructions", flush=True)
    return int(found.group(1))


def run(*, quick: bool) -> str:
    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind is not installed (apt-get install valgrind)")
    few, many = (QUICK_FEW, QUICK_MANY) if quick else (FEW, MANY)
    print("   making a demo store in PostgreSQL", flush=True)
    url, admin = _make_store(ADMIN_URL)
    try:
        print(f"   counting (callgrind runs about 50 times slower; {len(SIDES) * 2} runs)")
        runs = [(side, n) for side in SIDES for n in (few, many)]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            counts = dict(zip(runs, pool.map(lambda r: _count(r[0], r[1], url), runs), strict=True))
    finally:
        _drop_store(url, admin)
    per = {side: (counts[side, many] - counts[side, few]) / (many - few) / 1e6 for side in SIDES}
    start = {side: (counts[side, few] / 1e6 - few * per[side]) for side in SIDES}
    other = os.environ.get("BENCH_SERVER_SRC")
    rows = [
        ["instructions per report (GET form, POST, GET receipt), millions",
         f"{per['saferstreets']:.2f}", f"{per['floor']:.2f}",
         f"{per['saferstreets'] / per['floor']:.1f}"],
        ["start-up before the first report (imports, app, store), millions",
         f"{start['saferstreets']:,.0f}", f"{start['floor']:,.0f}", ""],
    ]  # fmt: skip
    return (
        f"Instructions counted by valgrind's callgrind (`PYTHONHASHSEED=0`) while {few} and then "
        f"{many} reports went through each side in one process, over a fresh demo county in "
        "PostgreSQL; per report = the difference / "
        f"{many - few}. The floor also builds the real app once at start-up, to capture its pages "
        "and statements."
        + (f" The app counted is {other}'s." if other else "")
        + "\n\n"
        + markdown_table(["measure", "saferstreets", "floor", "ratio"], rows)
    )


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3])
