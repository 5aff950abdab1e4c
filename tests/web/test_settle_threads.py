"""A request's store session is committed and closed on threads of its own, never behind routes.

A route that reads the store holds a pooled connection until its session is settled (committed
and closed) after it returns; the settling runs in a thread. Were it to take a thread from the
routes' pool, a burst of requests larger than the routes' threads plus the store's connections
would wedge the worker: every route thread waiting for a connection, every connection waiting
for a thread to give it back, until the pool's timeout answered them all with an error.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import httpx
import sqlalchemy as sa
from fastapi.routing import APIRoute

from saferstreets.config import Settings
from saferstreets.db import make_engine, session_factory
from saferstreets.web.app import create_app
from saferstreets.web.deps import get_session

T = TypeVar("T")
POOL_TIMEOUT_S = 4
ROUTE_THREADS = 2
REQUESTS = 8  # more than the route threads and the connections together


def _run(burst: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``burst()`` on an event loop of its own, in a thread of its own (a browser test earlier
    in the suite may leave a loop marked running in this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(burst())).result()


def _small_pool(app: Any, settings: Settings) -> sa.Engine:
    """Give ``app`` a store pool of one connection that waits ``POOL_TIMEOUT_S`` at most."""
    engine = make_engine(str(settings.database_url), pool_size=1, max_overflow=0,
                         pool_timeout=POOL_TIMEOUT_S)  # fmt: skip
    app.state.engine, app.state.sessionmaker = engine, session_factory(engine)
    return engine


def _burst(
    app: Any, engine: sa.Engine, path: str, first: Callable[[httpx.AsyncClient], Any] | None = None
) -> tuple[list[int], float]:
    """``REQUESTS`` GETs of ``path`` at once with ``ROUTE_THREADS`` route threads (after
    ``first(client)``, e.g. signing in): their statuses and the seconds they took together."""

    async def burst() -> tuple[list[int], float]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            if first is not None:
                await first(client)
            anyio.to_thread.current_default_thread_limiter().total_tokens = ROUTE_THREADS
            started = time.monotonic()
            answers = await asyncio.gather(*(client.get(path) for _ in range(REQUESTS)))
            return [a.status_code for a in answers], time.monotonic() - started

    try:
        return _run(burst)
    finally:
        engine.dispose()


def test_a_burst_larger_than_the_threads_and_connections_is_answered(settings: Settings) -> None:
    app = create_app(settings)
    statuses, seconds = _burst(app, _small_pool(app, settings), "/healthz")
    assert statuses == [200] * REQUESTS
    assert seconds < POOL_TIMEOUT_S  # no request waited out the pool for a connection


def _routes(app: Any) -> Iterator[APIRoute]:
    for route in app.routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's wrapper of a router
        if included is not None:
            yield from (r for r in included.routes if isinstance(r, APIRoute))


def _reads_the_store(dependant: Any) -> bool:
    return dependant.call is get_session or any(_reads_the_store(d) for d in dependant.dependencies)


def test_no_route_that_holds_a_connection_has_its_answer_checked_in_the_routes_pool(
    tmp_path: Path,
) -> None:
    """FastAPI checks a plain ``def`` route's returned value against its response model in the
    routes' thread pool, before the route's session is settled: under a burst that check waits
    for a thread while its connection is held, the wedge above by another way. Such routes say
    ``response_model=None`` (their dicts are encoded on the event loop) or return a response."""
    settings = Settings(env="test", database_url=f"sqlite:///{tmp_path / 'store.db'}",
                        data_dir=tmp_path, secret_key="x" * 40)  # fmt: skip
    routes = list(_routes(create_app(settings, check_store=False)))
    checked = [
        route.path
        for route in routes
        if not inspect.iscoroutinefunction(route.endpoint)
        and route.response_field is not None
        and _reads_the_store(route.dependant)
    ]
    assert len(routes) > 50  # every domain's routes were found, not only the app's own
    assert checked == []


def test_a_burst_of_staff_pages_larger_than_the_threads_and_connections_is_answered(
    settings: Settings,
) -> None:
    """A staff page finds its user (a thread and a connection), then runs its route (another
    thread): the connection is given back in between, or a burst of staff pages holds every
    connection while waiting for a thread, and every thread while waiting for a connection."""
    from saferstreets.accounts.service import create_user
    from saferstreets.db import session_scope

    app = create_app(settings)
    engine = _small_pool(app, settings)
    with session_scope(engine) as session:
        create_user(session=session, username="sup", password="a long password",
                    role="supervisor")  # fmt: skip

    async def sign_in(client: httpx.AsyncClient) -> None:
        page = (await client.get("/login")).text
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        signed_in = await client.post("/login", data={
            "username": "sup", "password": "a long password", "csrf_token": csrf})  # fmt: skip
        assert signed_in.status_code == 303

    statuses, seconds = _burst(app, engine, "/staff", first=sign_in)
    assert statuses == [303] * REQUESTS  # each to the supervisor's own landing page
    assert seconds < POOL_TIMEOUT_S
