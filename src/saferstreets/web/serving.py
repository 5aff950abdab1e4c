"""Running the app under uvicorn, one process or several, with TCP_NODELAY on every connection.

With ``--workers N`` uvicorn binds the listening socket itself (``Config.bind_socket``) without
naming the protocol, so the socket reports ``proto == 0``; accepted connections inherit that, and
asyncio turns TCP_NODELAY on only for sockets that say ``IPPROTO_TCP``. Nagle's algorithm then
holds back the end of each keep-alive response until the client's delayed ACK, about 40 ms on
Linux (uvicorn issue 3149). ``tcp_listener`` re-wraps the bound socket's descriptor with
``IPPROTO_TCP`` before the workers receive it; one process needs nothing (asyncio builds its
listener from ``getaddrinfo``, which names the protocol).

Each worker builds its app with ``served_app``: the app, the caches its first reports would fill
(the area index, the public form's templates), then ``gc.freeze()``. The hundreds of thousands of
objects a worker holds from start-up (modules, the ORM's mappings, the area index) are then out of
the collector's sight: without it, each full collection walked them all and held the worker, every
request in it, for up to 315 ms (measured under ``python -m bench intake``, 2026-12-04), and
those pauses were the slowest reports' wait (docs/operating.md).
"""

from __future__ import annotations

import gc
import socket
from typing import Any

APP = "saferstreets.web.serving:served_app"
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


def run(*, host: str, port: int, workers: int = 1) -> None:
    """Serve until stopped: in this process, or in ``workers`` worker processes."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = server_config(host=host, port=port, workers=workers)
    if workers <= 1:
        config.load_app()
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            raise SystemExit(3)  # as uvicorn.run: the app did not start (the log says why)
        return
    sock = tcp_listener(config.bind_socket())
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
