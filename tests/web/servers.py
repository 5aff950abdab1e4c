"""Real ``saferstreets serve`` processes for tests: start, wait until they answer, stop; and the
server side of a live TCP connection, read from the worker process that accepted it."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from saferstreets.config import Settings

ROOT = Path(__file__).resolve().parents[2]
#: How long a server may take to answer after it is started. On the 2-core machine shared with
#: other test runs, the browser tests' 60 s ran out under load and failed tests that had nothing
#: wrong with them; a server with several workers starts slowest.
SERVER_START_SECONDS = 240.0


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


def wait_until_answering(
    process: subprocess.Popen[bytes],
    url: str,
    output: Callable[[], str],
    timeout: float = SERVER_START_SECONDS,
) -> None:
    """Poll ``url`` until it answers 200; fail with the server's own ``output`` (its last
    4,000 characters) if the process ends first, or if nothing answers within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(
                f"the server ended on start-up (exit code {process.returncode}):\n"
                + output()[-4000:]
            )
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the server did not answer {url} within {timeout:.0f} s:\n" + output()[-4000:]
            )
        time.sleep(0.2)


@contextmanager
def serving(settings: Settings, *, workers: int = 1, **env: str) -> Iterator[tuple[str, int]]:
    """``saferstreets serve`` on a free loopback port; yields (base URL, the serve process id).

    Its stderr goes to a file, not a pipe: a pipe nobody reads fills up and stalls the server."""
    port = free_port()
    command = [sys.executable, "-m", "saferstreets.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers)]  # fmt: skip
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command,
            env=server_env(settings, **env),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )

        def output() -> str:  # pread: the server shares the file's offset, so leave it be
            fd = stderr.fileno()
            return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answering(process, base + "/report", output)
            yield base, process.pid
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


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


def _tcp_sockets() -> Iterator[tuple[int, int, str, str]]:
    """Each IPv4 TCP socket of the machine: (local port, remote port, state, inode), the state as
    ``/proc/net/tcp`` gives it (``0A`` listening, ``01`` connected)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        yield int(local.split(":")[1], 16), int(remote.split(":")[1], 16), fields[3], fields[9]


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from ``remote_port``."""
    for local, remote, _, inode in _tcp_sockets():
        if local == local_port and remote == remote_port:
            return inode
    return None


def _server_sockets(port: int, state: str) -> list[str]:
    """Inodes of the sockets listening (``0A``) or connected (``01``) on loopback ``port``."""
    return [inode for local, _, now, inode in _tcp_sockets() if local == port and now == state]


def _open_files(pid: int) -> Iterator[tuple[int, str]]:
    """Each descriptor process ``pid`` has open, with what it points at (``socket:[inode]``)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            yield int(fd.name), os.readlink(fd)
        except OSError:  # closed meanwhile
            continue


def listeners(port: int) -> int:
    """How many sockets listen on ``port``."""
    return len(_server_sockets(port, "0A"))


def _holding(pid: int, inodes: list[str]) -> int:
    """How many of the sockets ``inodes`` process ``pid`` has open."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    return sum(target in wanted for _, target in _open_files(pid))


def web_workers(pid: int, port: int) -> list[int]:
    """The worker processes of server ``pid`` that serve ``port`` (its other children, such as
    the job worker, hold no socket listening there)."""
    listening = _server_sockets(port, "0A")
    return [child for child in children(pid) if _holding(child, listening)]


def connections_held(pids: list[int], port: int) -> dict[int, int]:
    """How many connections to ``port`` each process of ``pids`` holds (accepted sockets)."""
    accepted = _server_sockets(port, "01")
    return {pid: _holding(pid, accepted) for pid in pids}


def server_side_nodelay(pids: list[int], server_port: int, client_port: int) -> int:
    """TCP_NODELAY of the accepted socket, read in this process from a duplicate of the worker's
    descriptor (``pidfd_getfd``, Linux 5.6 and later)."""
    inode = _socket_inode(server_port, client_port)
    assert inode, "no server-side socket for this connection"
    libc = ctypes.CDLL(None, use_errno=True)
    for pid in pids:
        for fd, target in _open_files(pid):
            if target != f"socket:[{inode}]":
                continue
            pidfd = os.pidfd_open(pid)
            try:
                copy = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
                assert copy >= 0, f"pidfd_getfd failed: errno {ctypes.get_errno()}"
            finally:
                os.close(pidfd)
            with socket.socket(fileno=copy) as sock:
                return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    raise AssertionError("no worker holds the connection")
