"""A flood of wrong sign-ins against a real server: what it does to the server's memory.

Serves a fresh store with ``saferstreets serve`` (one worker) and sends ``--attempts`` wrong
passwords, ``--concurrency`` at a time. ``--spread`` gives each attempt its own username and
client address (``X-Forwarded-For``, which uvicorn trusts from loopback), so that the per-account
and per-client throttles do not refuse them before hashing and only the bound on Argon2 checks
running at once is left. Prints the statuses and the server's resident memory before and at
its peak (``VmHWM``). Run from a checkout, with its ``src`` on ``PYTHONPATH``:

    python bench/signin_flood.py --attempts 200 --concurrency 40 --spread
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

PASSWORD = "flood-test-password"  # a throwaway account's


def _cli(env: dict[str, str], *args: str) -> None:
    code = "from saferstreets.cli import main; main()"
    subprocess.run([sys.executable, "-c", code, *args], env=env, check=True,
                   capture_output=True)  # fmt: skip


def _memory_mb(pid: int, field: str) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def _attempt(base: str, i: int, spread: bool) -> int:
    headers = (
        {"X-Forwarded-For": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"} if spread else {}
    )
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        username = f"nobody{i}" if spread else "admin"
        form = {"username": username, "password": f"wrong {i}",
                "csrf_token": token.group(1) if token else ""}  # fmt: skip
        response = client.post("/login", data=form)
        return response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--spread", action="store_true")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SAFERSTREETS_DATA_DIR": tmp, "SAFERSTREETS_ENV": "development",
               "SAFERSTREETS_PORT": str(args.port)}  # fmt: skip
        env.pop("SAFERSTREETS_DATABASE_URL", None)
        _cli(env, "db", "upgrade")
        _cli(env, "users", "create", "admin", "--role", "admin", "--password", PASSWORD)
        code = "from saferstreets.cli import main; main()"
        server = subprocess.Popen([sys.executable, "-c", code, "serve"], env=env)
        base = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            httpx.get(base + "/login")
            before = _memory_mb(server.pid, "VmRSS")
            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                statuses = list(pool.map(lambda i: _attempt(base, i, args.spread),
                                         range(args.attempts)))  # fmt: skip
            elapsed = time.perf_counter() - started
            peak = _memory_mb(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(10)
    counts = dict(sorted(collections.Counter(statuses).items()))
    print(f"{args.attempts} attempts, {args.concurrency} at a time, spread={args.spread}: "
          f"{elapsed:.1f} s; statuses {counts}; server RSS before {before:.0f} MB, "
          f"peak {peak:.0f} MB (+{peak - before:.0f} MB)")  # fmt: skip


if __name__ == "__main__":
    main()
