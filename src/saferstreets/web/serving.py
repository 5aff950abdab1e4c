"""Running the app under uvicorn, one process or several, with TCP_NODELAY on every connection
and, with several, the connections spread over the workers.

With ``--workers N`` uvicorn binds the listening socket itself (``Config.bind_socket``) without
naming the protocol, so the socket reports ``proto == 0``; accepted connections inherit that, and
asyncio turns TCP_NODELAY on only for sockets that say ``IPPROTO_TCP``. Nagle's algorithm then
holds back the end of each keep-alive response until the client's delayed ACK, about 40 ms on
Linux (uvicorn issue 3149). ``tcp_listener`` re-wraps the bound socket's descriptor with
``IPPROTO_TCP`` before the workers receive it; one process needs nothing (asyncio builds its
listener from ``getaddrinfo``, which names the protocol).

With several workers on Linux, each worker serves a listening socket of its own, all bound to the
same address with ``SO_REUSEPORT`` (``listener_group``), so the kernel hands each new connection
to one of them by a hash of its addresses. Workers sharing one socket race for it, and asyncio
accepts every connection waiting at each wake-up: a burst of keep-alive connections lands on
whichever worker woke first and stays there. Under ``python -m bench intake`` (two workers, 50
reporters, 2026-12-05) one worker held 49 of the 50 connections and the other one. The sockets
are bound and held by the supervisor (``Balanced``), so a connection that arrives while a killed
worker is being replaced waits in that worker's queue for its replacement instead of being reset.
Elsewhere (``SO_REUSEPORT`` balances only on Linux) the workers share one socket, as uvicorn's.

Each worker builds its app with ``served_app``: the app, the caches its first reports would fill
(the area index, the public form's templates), then ``gc.freeze()``. The hundreds of thousands of
objects a worker holds from start-up (modules, the ORM's mappings, the area index) are then out of
the collector's sight: without it, each full collection walked them all and held the worker, every
request in it, for up to 315 ms (measured under ``python -m bench intake``, 2026-12-04), and
those pauses were the slowest reports' wait (docs/operating.md).
"""

from __future__ import annotations

import gc
import logging
import socket
import sys
from typing import Any

from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

logger = logging.getLogger("uvicorn.error")

APP = "saferstreets.web.serving:served_app"
#: How long a worker started by SIGHUP may take to build, warm and serve its app before the
#: restart is given up (the old worker serves meanwhile). uvicorn waits its healthcheck timeout,
#: 5 s; two workers took 6.9 s to replace in turn on a quiet 2-core machine and 7.6 s beside two
#: busy loops (2026-12-05), so 5 s a worker leaves little room on a slower or busier one.
READY_SECONDS = 120.0
WARM_TEMPLATES = ("public/report.html", "public/report_thanks.html", "error.html")


def served_app() -> Any:
    """The app as ``saferstreets serve`` runs it in each worker (uvicorn's factory): built,
    warmed, and what it holds so far frozen out of the garbage collector's full collections."""
    from saferstreets.web.app import create_app

    app = create_app()
    warm(app)
    gc.collect()  # what start-up left over goes now, not frozen for the worker's life
    gc.freeze()
    return app


def warm(app: Any) -> None:
    """Fill the caches a worker's first reports would otherwise fill while she waits."""
    from saferstreets.areas.lookup import cached_area_index
    from saferstreets.web.deps import templates

    with app.state.sessionmaker() as session:
        cached_area_index(session=session)
    for name in WARM_TEMPLATES:
        templates.get_template(name)


def server_config(*, host: str, port: int, workers: int) -> Any:
    import uvicorn

    return uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # access logs would record client addresses
        log_level="warning",
    )


def tcp_listener(sock: socket.socket) -> socket.socket:
    """``sock`` (bound, by uvicorn) as a socket that says it speaks TCP (same descriptor)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    fixed.set_inheritable(True)
    return fixed


def balances() -> bool:
    """Whether the kernel spreads connections over an ``SO_REUSEPORT`` group (Linux 3.9+)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listener_group(host: str, port: int, size: int) -> list[socket.socket]:
    """``size`` TCP sockets bound to ``host``:``port`` with ``SO_REUSEPORT`` (not yet listening:
    each starts to when its worker serves it). Port 0: all share the port the first was given."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    group: list[socket.socket] = []
    try:
        for _ in range(size):
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            group.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
    except OSError:
        for sock in group:
            sock.close()
        raise
    return group


class Balanced(Multiprocess):
    """uvicorn's supervisor with worker ``slot`` serving ``sockets[slot]`` (a ``listener_group``)
    alone, and a worker that dies replaced on the same socket (uvicorn's own hands every worker
    every socket)."""

    def spawn(self, slot: int) -> Process:
        process = Process(self.config, [self.sockets[slot]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self.spawn(slot) for slot in range(len(self.sockets))]

    def keep_subprocess_alive(self) -> None:
        for slot, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung, or already dead
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # the app cannot start: it would loop
                logger.error("Worker [%s] failed to start; stopping.", process.pid)
                self.should_exit.set()
                return
            logger.info("Worker [%s] died; starting another on its socket.", process.pid)
            self.processes[slot] = self.spawn(slot)

    def restart_all(self) -> None:
        """SIGHUP: each worker replaced in turn, the new one ready before the old one stops."""
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self.spawn(slot)
            if not new.wait_until_ready(READY_SECONDS, self.should_exit):
                new.kill()
                new.join()
                if not self.should_exit.is_set():
                    logger.error("Worker [%s] was not ready in time; restart stopped.", new.pid)
                return
            old.terminate()
            old.join()
            self.processes[slot] = new

    def handle_ttin(self) -> None:
        """SIGTTIN: one worker more, on a socket of its own joining the group."""
        host, port = self.sockets[0].getsockname()[:2]
        self.sockets.extend(listener_group(host, port, 1))
        self.processes.append(self.spawn(len(self.sockets) - 1))
        logger.info("Received SIGTTIN; %d workers.", len(self.processes))

    def handle_ttou(self) -> None:
        """SIGTTOU: one worker fewer; its socket leaves the group as the worker stops listening
        (the supervisor lets go of it first, so it does not linger with nobody accepting)."""
        if len(self.processes) <= 1:
            logger.info("Received SIGTTOU; already one worker.")
            return
        self.sockets.pop().close()
        process = self.processes.pop()
        process.terminate()
        process.join()
        logger.info("Received SIGTTOU; %d workers.", len(self.processes))


def run(*, host: str, port: int, workers: int = 1) -> None:
    """Serve until stopped: in this process, or in ``workers`` worker processes."""
    import uvicorn

    config = server_config(host=host, port=port, workers=workers)
    if workers <= 1:
        config.load_app()
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            raise SystemExit(3)  # as uvicorn.run: the app did not start (the log says why)
        return
    if balances():
        sockets = listener_group(host, port, workers)
        supervisor: Multiprocess = Balanced(config, sockets=sockets)
    else:
        sockets = [tcp_listener(config.bind_socket())]
        supervisor = Multiprocess(config, sockets=sockets)
    try:
        supervisor.run()
    finally:
        for sock in sockets:
            sock.close()
