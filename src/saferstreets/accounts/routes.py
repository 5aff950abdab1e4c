"""Staff sign-in and sign-out: throttled, audited, with the session kept in the store."""

from __future__ import annotations

import math
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from saferstreets.accounts import sessions, throttle
from saferstreets.accounts.models import User
from saferstreets.accounts.service import audit, check_password
from saferstreets.config import Settings
from saferstreets.web import sessions as cookies
from saferstreets.web.deps import SessionDep, SettingsDep, templates
from saferstreets.web.security import check_csrf, client_address, csrf_token

router = APIRouter()

NO_MATCH = "That username and password do not match an active account."


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/staff") and "//" not in target and "\\" not in target:
        return target
    return "/staff"


def _login_page(
    request: Request, next: str | None, error: str | None, status: int, notice: str | None = None
) -> Response:
    return templates.TemplateResponse(
        request,
        "login.html",
        {"csrf": csrf_token(request), "next": _safe_next(next), "error": error, "notice": notice},
        status_code=status,
    )


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str | None = None, reset: str | None = None) -> Response:
    notice = "Your password is set. Sign in with it." if reset else None
    return _login_page(request, next, None, 200, notice)


def _refused(request: Request, next: str, wait: float) -> Response:
    minutes = max(1, math.ceil(wait / 60))
    text = (
        f"{math.ceil(wait)} seconds"
        if wait < 60
        else f"{minutes} minute{'s' if minutes != 1 else ''}"
    )
    response = _login_page(
        request,
        next,
        f"Too many failed sign-ins for this account or from this connection. Please wait "
        f"{text} and try again. If you have forgotten your password, ask an administrator.",
        429,
    )
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def _throttled(request: Request, session: Session, next: str, seconds: float) -> Response:
    audit(session=session, user=None, action="signin_failed", object_kind="user",
          detail={"reason": "throttled"}, at=cookies.now(request))  # fmt: skip
    return _refused(request, next, max(seconds, 1.0))


def _failed(
    request: Request, *, session: Session, settings: Settings, keys: list[str],
    user: User | None, reason: str,
) -> None:  # fmt: skip
    """Count and audit one failure (never the password, never the address)."""
    now = cookies.now(request)
    locked = throttle.record_failure(session=session, settings=settings, now=now, keys=keys)
    audit(session=session, user=None, action="signin_failed", object_kind="user",
          object_id=user.id if user else None, detail={"reason": reason}, at=now)  # fmt: skip
    for key in locked:
        scope = "account" if key.startswith("a:") else "client"
        audit(
            session=session,
            user=None,
            action="signin_lockout",
            object_kind="user",
            object_id=user.id if user and scope == "account" else None,
            detail={"scope": scope, "minutes": settings.signin_lockout_minutes},
            at=now,
        )


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
    next: Annotated[str, Form()] = "/staff",
) -> Response:
    check_csrf(request, csrf_token_field)
    now = cookies.now(request)
    keys = [
        throttle.account_key(settings, username),
        throttle.client_key(settings, client_address(request)),
    ]

    def wait() -> float:
        return throttle.wait_seconds(
            session=session, settings=settings, now=cookies.now(request), keys=keys
        )

    if (seconds := wait()) > 0:  # refused before any password is hashed, and not counted again
        return _throttled(request, session, next, seconds)
    session.commit()  # give the connection back while waiting for a turn to check the password
    user, reason = check_password(
        session=session,
        username=username,
        password=password,
        concurrency=settings.signin_hash_concurrency,
        admit=lambda: wait() <= 0,  # failures may have come in while it waited
    )
    if reason == "throttled":
        return _throttled(request, session, next, wait())
    if user is None:
        known_user = session.scalar(sa.select(User).where(User.username == username))
        _failed(request, session=session, settings=settings, keys=keys, user=known_user,
                reason=reason)  # fmt: skip
        session.commit()  # counted before the answer goes, so the next attempt sees it
        return _login_page(request, next, NO_MATCH, 401)
    throttle.clear_failures(session=session, key=keys[0])
    sessions.end_session(session=session, token=cookies.read_cookie(request, cookies.SESSION))
    token = sessions.start_session(session=session, settings=settings, now=now, user_id=user.id)
    cookies.set_cookie(request, cookies.SESSION, token)
    audit(session=session, user=user, action="login", object_kind="user", object_id=user.id)
    session.commit()  # before the redirect: the next request must find the session
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(
    request: Request,
    session: SessionDep,
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    check_csrf(request, csrf_token_field)
    sessions.end_session(session=session, token=cookies.read_cookie(request, cookies.SESSION))
    session.commit()  # ended before the response goes, not after
    cookies.forget_cookie(request, cookies.SESSION)
    return RedirectResponse("/", status_code=303)
