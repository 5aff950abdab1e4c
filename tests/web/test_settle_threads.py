"""A request's store session is committed and closed on threads of its own, never behind routes.

A route that reads the store holds a pooled connection until its session is settled (committed
and closed) after it returns; the settling runs in a thread. Were it to take a thread from the
routes' pool, a burst of requests larger than the routes' threads plus the store's connections
would wedge the worker: every route thread waiting for a connection, every connection waiting
for a thread to give it back, until the pool's timeout answered them all with an error.
"""

from __future__ import annotations

import asyncio
import time

import anyio.to_thread
import httpx

from saferstreets.config import Settings
from saferstreets.db import make_engine, session_factory
from saferstreets.web.app import create_app

POOL_TIMEOUT_S = 4
ROUTE_THREADS = 2
REQUESTS = 8  # more than the route threads and the connections together


def test_a_burst_larger_than_the_threads_and_connections_is_answered(settings: Settings) -> None:
    app = create_app(settings)
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0,
                         pool_timeout=POOL_TIMEOUT_S)  # fmt: skip
    app.state.engine, app.state.sessionmaker = engine, session_factory(engine)

    async def burst() -> tuple[list[int], float]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = ROUTE_THREADS
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            started = time.monotonic()
            answers = await asyncio.gather(*(client.get("/healthz") for _ in range(REQUESTS)))
            return [a.status_code for a in answers], time.monotonic() - started

    try:
        statuses, seconds = asyncio.run(burst())
    finally:
        engine.dispose()
    assert statuses == [200] * REQUESTS
    assert seconds < POOL_TIMEOUT_S  # no request waited out the pool for a connection
