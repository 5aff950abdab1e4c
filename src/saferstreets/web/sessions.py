"""Session cookies: names, the clock, and the cookies a request queues for its response.

The sessions themselves live in the store (``accounts.sessions``); a cookie holds only a random
token. Routes and dependencies queue cookies with ``set_cookie``/``forget_cookie`` (a dependency
such as ``get_current_user`` has no response to write to); the one response-headers middleware
(``web.security.SecurityHeadersMiddleware``) adds them to whatever response goes out, error pages
included. Every cookie is HttpOnly and SameSite=Lax; in production it is also Secure and its
name has the ``__Host-`` prefix, so no other host or sub-domain can set or read it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from saferstreets.config import Settings

SESSION = "ss_session"  # a staff session's token
RECEIPT = "ss_receipt"  # the one-time token under which a receipt code waits to be shown
CSRF = "ss_csrf"  # a random value the CSRF token of a visitor without a session is bound to


def cookie_name(settings: Settings, base: str) -> str:
    return f"__Host-{base}" if settings.env == "production" else base


def read_cookie(request: Request, base: str) -> str | None:
    return request.cookies.get(cookie_name(request.app.state.settings, base)) or None


def now(request: Request) -> datetime:
    """The app's clock (naive UTC; tests inject their own through ``create_app(clock=)``)."""
    value: datetime = request.app.state.clock()
    return value


def _pending(request: Request) -> dict[str, str]:
    pending: dict[str, str] | None = getattr(request.state, "set_cookies", None)
    if pending is None:
        pending = request.state.set_cookies = {}
    return pending


def set_cookie(request: Request, base: str, value: str) -> None:
    """Queue a session cookie (gone when the browser closes) for this request's response."""
    settings: Settings = request.app.state.settings
    holder = Response()
    holder.set_cookie(
        cookie_name(settings, base),
        value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.env == "production",
    )
    _pending(request)[base] = holder.headers["set-cookie"]


def forget_cookie(request: Request, base: str) -> None:
    """Queue the removal of a cookie."""
    settings: Settings = request.app.state.settings
    holder = Response()
    holder.delete_cookie(
        cookie_name(settings, base),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.env == "production",
    )
    _pending(request)[base] = holder.headers["set-cookie"]


def queued_cookies(state: dict[str, Any]) -> list[str]:
    """The ``Set-Cookie`` values a request queued (``state``: its ASGI scope's state), which
    ``web.security.SecurityHeadersMiddleware`` adds to whatever response goes out."""
    return list((state.get("set_cookies") or {}).values())


def keep_receipt(request: Request, *, session: Session, code: str, urgent: bool) -> None:
    """Keep a receipt code for one showing: sealed in the store, a one-time token in a cookie.

    The sealed code is written in ``session``'s transaction, which the caller commits before it
    answers (the report form commits it with the report itself): the browser's next request
    (the thank-you page) must find the code.
    """
    from saferstreets.accounts.sessions import seal_receipt

    token = seal_receipt(session=session, settings=request.app.state.settings,
                         now=now(request), code=code, urgent=urgent)  # fmt: skip
    set_cookie(request, RECEIPT, token)


def take_receipt(request: Request, *, session: Session) -> tuple[str | None, bool]:
    """The receipt code kept for this visitor and its urgent flag, forgotten as they are read
    (one DELETE, committed as it runs, before the page that shows them is sent). The session's
    connection goes back to the pool here, on the route's thread, so the request's session has
    nothing left to settle on a thread of its own (``web.deps.get_session``)."""
    from saferstreets.accounts.sessions import take_receipt as take
    from saferstreets.db import autocommit

    token = read_cookie(request, RECEIPT)
    if token is None:
        return None, False
    forget_cookie(request, RECEIPT)
    autocommit(session)  # no BEGIN or COMMIT round trip for the one statement
    taken = take(session=session, now=now(request), token=token)
    session.commit()  # sends nothing (autocommit): gives the connection back
    return taken
