"""Real ``saferstreets serve`` processes for tests: start, wait until they answer, stop; and the
server side of a live TCP connection, read from the worker process that accepted it."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from saferstreets.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SAFERSTREETS_DATABASE_URL=settings.database_url or "",
        SAFERSTREETS_DATA_DIR=str(settings.data_dir),
        SAFERSTREETS_ENV="test",
        SAFERSTREETS_SECRET_KEY=settings.secret_key,
        SAFERSTREETS_ALERT_WORKER="false",
        PYTHONPATH=str(ROOT / "src"),
    )
    env.update(extra)
    return env


@contextmanager
def serving(settings: Settings, *, workers: int = 1, **env: str) -> Iterator[tuple[str, int]]:
    """``saferstreets serve`` on a free loopback port; yields (base URL, the serve process id)."""
    port = free_port()
    command = [sys.executable, "-m", "saferstreets.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers)]  # fmt: skip
    process = subprocess.Popen(
        command,
        env=server_env(settings, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # a loaded machine starts workers slowly
        while True:
            if process.poll() is not None:
                raise AssertionError(f"serve ended: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(base + "/report", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield base, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stderr:
            process.stderr.close()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from ``remote_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if (
            int(local.split(":")[1], 16) == local_port
            and int(remote.split(":")[1], 16) == remote_port
        ):
            return fields[9]
    return None


def server_side_nodelay(pids: list[int], server_port: int, client_port: int) -> int:
    """TCP_NODELAY of the accepted socket, read in this process from a duplicate of the worker's
    descriptor (``pidfd_getfd``, Linux 5.6 and later)."""
    inode = _socket_inode(server_port, client_port)
    assert inode, "no server-side socket for this connection"
    libc = ctypes.CDLL(None, use_errno=True)
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target != f"socket:[{inode}]":
                continue
            pidfd = os.pidfd_open(pid)
            try:
                copy = libc.syscall(438, pidfd, int(fd.name), 0)  # pidfd_getfd
                assert copy >= 0, f"pidfd_getfd failed: errno {ctypes.get_errno()}"
            finally:
                os.close(pidfd)
            with socket.socket(fileno=copy) as sock:
                return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    raise AssertionError("no worker holds the connection")
