"""Dependencies routes declare in their signatures: store session, settings, user, role checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from saferstreets.accounts.models import User
from saferstreets.config import Settings
from saferstreets.errors import AppError, PermissionDenied

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=WEB_DIR / "templates")


def _vendor_available(name: str) -> bool:
    return (STATIC_DIR / "vendor" / name).exists()


def _basemap(settings: Settings) -> Any:
    from saferstreets.basemap.service import basemap_source

    return basemap_source(settings=settings)


templates.env.globals["vendor_available"] = _vendor_available
templates.env.globals["basemap_source"] = _basemap


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A store session for this request: committed if the route succeeds, rolled back otherwise.

    It is declared with ``scope="function"`` (below), so the commit runs when the route returns
    and before its answer is sent: a redirect saying "saved" is never sent for a change whose
    commit then fails (the failure reaches the error handler instead).

    The session is made on the event loop (it opens no connection until it is first used), and
    its commit, rollback and close go to a settling thread (not the routes' pool: see
    ``SETTLING_THREADS``) only while it holds a transaction (then they wait on the store). A
    route that committed its own work, such as the report form's, costs no thread hop here (a
    sync dependency took two: one in, one out)."""
    session = request.app.state.sessionmaker()
    settlers = request.app.state.settlers
    try:
        yield session
        await _settle(session, session.commit, settlers)
    except BaseException:
        await _settle(session, session.rollback, settlers)
        raise
    finally:
        await _settle(session, session.close, settlers)


#: Threads that settle sessions (commit, rollback, close), apart from the routes' threads. Each
#: settling gives a pooled connection back; had it to wait for one of the routes' threads, a burst
#: of requests larger than those threads and the pool's connections together would wedge the
#: worker (every route thread waiting for a connection, every connection waiting for a thread)
#: until the pool's timeout answered them all with a 503 (tests/web/test_settle_threads.py).
#: No more sessions than the pool has connections hold one at once, so a few dozen is plenty.
#: Each app has its own (``app.state.settlers``, made by ``settling_threads``).
SETTLING_THREADS = 64


def settling_threads() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(SETTLING_THREADS)


async def _settle(
    session: Session, step: Callable[[], None], settlers: anyio.CapacityLimiter
) -> None:
    """``step`` (commit, rollback or close): on a settling thread if it talks to the store, and
    shielded, so that a cancelled request still gives its connection back."""
    if not session.in_transaction():
        step()  # no connection held: nothing to send
        return
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(step, limiter=settlers)


async def get_app_settings(request: Request) -> Settings:
    """The app's settings (``async``: read on the event loop, no thread hop)."""
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


class LoginRequired(AppError):
    status = 401
    title = "Please sign in"


def get_current_user(request: Request, session: SessionDep) -> User:
    """The signed-in staff user, or a 401 that the error handler turns into the sign-in page.

    The session is looked up in the store by its cookie's token; an expired, ended or forged
    one finds nothing (and its cookie is removed).
    """
    from saferstreets.accounts.sessions import load_session
    from saferstreets.web import sessions as cookies

    token = cookies.read_cookie(request, cookies.SESSION)
    record = (
        load_session(
            session=session,
            settings=request.app.state.settings,
            now=cookies.now(request),
            token=token,
        )
        if token
        else None
    )
    user = session.get(User, record.user_id) if record and record.user_id else None
    if user is None or not user.active:
        if token:
            cookies.forget_cookie(request, cookies.SESSION)
        raise LoginRequired("Please sign in to see staff pages.")
    # Give the connection back before the route waits for a thread of its own: held across
    # that wait, a burst of staff pages wedged a worker (tests/web/test_settle_threads.py).
    # The session's touch of ``last_seen_at`` is committed here; the route's own writes are
    # committed when it returns, as always. (Objects are not expired on commit.)
    session.commit()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: str) -> Callable[..., Any]:
    """A dependency that lets through only users with one of ``roles`` (admin always passes)."""

    def check(user: CurrentUser) -> User:
        if user.role != "admin" and user.role not in roles:
            raise PermissionDenied("Your role cannot see or change this.")
        return user

    return check


def error_responses(**described: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses an operation can answer, e.g.
    ``error_responses(**{"404": "No such area"})``, with the one error body of
    ``web/app.py:error_response`` ({"error": {"title", "message", "fields"}})."""
    body = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["title", "message"],
        "properties": {"title": {"type": "string"}, "message": {"type": "string"},
                       "fields": {"type": "object", "additionalProperties": {"type": "string"}}},
    }}}  # fmt: skip
    return {int(code): {"description": text, "content": {"application/json": {"schema": body}}}
            for code, text in described.items()}  # fmt: skip
