"""Sign-in throttling, counted in the store so that every worker and server sees the same counts.

Failures are counted per account (the username typed) and per client (its address), each as
an HMAC under a key derived from the secret key, so neither a username nor an address is kept.
Over the last ``signin_window_minutes``, with ``f`` = ``signin_free_failures`` and ``L`` =
``signin_lockout_failures``:

- fewer than ``f`` failures: no wait;
- ``n`` failures, ``f <= n < L``: the next attempt waits ``2 ** (n - f + 1)`` seconds after the
  last failure (2, 4, 8, 16, 32 s with the defaults);
- ``L`` or more: locked, every attempt refused until ``signin_lockout_minutes`` after the last
  failure; the lock is audited (``signin_lockout``) and shown to admins on the staff overview.

A refused attempt is answered before any password is hashed and does not count as a failure,
so a flood cannot extend a lock; a lock ends on its own, and ``saferstreets users unlock`` ends
it at once. A successful sign-in clears the account's count (not the client's).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import AuditEvent, SigninFailure, User
from saferstreets.config import Settings


def _digest(settings: Settings, kind: str, value: str) -> str:
    key = hmac.new(settings.secret_key.encode(), b"signin-throttle", hashlib.sha256).digest()
    return f"{kind}:" + hmac.new(key, value.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def account_key(settings: Settings, username: str) -> str:
    """The throttle key of the account named by ``username`` (case and spaces ignored)."""
    return _digest(settings, "a", username.strip().casefold())


def client_key(settings: Settings, address: str) -> str:
    """The throttle key of a client address (never stored itself)."""
    return _digest(settings, "c", address)


def delay_after(failures: int, settings: Settings) -> timedelta:
    """How long after the last failure the next attempt must wait, for ``failures`` failures."""
    if failures < settings.signin_free_failures:
        return timedelta(0)
    if failures >= settings.signin_lockout_failures:
        return timedelta(minutes=settings.signin_lockout_minutes)
    return timedelta(seconds=2 ** (failures - settings.signin_free_failures + 1))


def _counts(
    *, session: Session, settings: Settings, now: datetime, keys: list[str]
) -> dict[str, tuple[int, datetime]]:
    since = now - timedelta(minutes=settings.signin_window_minutes)
    rows = session.execute(
        sa.select(SigninFailure.key, sa.func.count(), sa.func.max(SigninFailure.at))
        .where(SigninFailure.key.in_(keys), SigninFailure.at > since)
        .group_by(SigninFailure.key)
    )
    return {key: (int(n), last) for key, n, last in rows}


def wait_seconds(*, session: Session, settings: Settings, now: datetime, keys: list[str]) -> float:
    """Seconds before another attempt under ``keys`` may be checked (0: check it now)."""
    wait = 0.0
    for n, last in _counts(session=session, settings=settings, now=now, keys=keys).values():
        remaining = (last + delay_after(n, settings) - now).total_seconds()
        wait = max(wait, remaining)
    return wait


def record_failure(
    *, session: Session, settings: Settings, now: datetime, keys: list[str]
) -> list[str]:
    """Count one failure under each key; returns the keys this failure has just locked."""
    since = now - timedelta(minutes=settings.signin_window_minutes)
    session.execute(sa.delete(SigninFailure).where(SigninFailure.at <= since))
    session.add_all([SigninFailure(key=key, at=now) for key in keys])
    session.flush()
    counts = _counts(session=session, settings=settings, now=now, keys=keys)
    return [k for k, (n, _) in counts.items() if n == settings.signin_lockout_failures]


def clear_failures(*, session: Session, key: str) -> None:
    """Forget the failures counted under ``key`` (a successful sign-in, or an admin's unlock)."""
    session.execute(sa.delete(SigninFailure).where(SigninFailure.key == key))


def recent_lockouts(*, session: Session, now: datetime, hours: int = 24) -> list[dict]:
    """Locks of the last ``hours``, newest first, for the admin's notice."""
    rows = session.execute(
        sa.select(AuditEvent.at, AuditEvent.detail, User.username)
        .outerjoin(User, sa.cast(User.id, sa.String) == AuditEvent.object_id)
        .where(AuditEvent.action == "signin_lockout", AuditEvent.at > now - timedelta(hours=hours))
        .order_by(AuditEvent.at.desc())
        .limit(50)
    )
    return [
        {"at": at, "username": username, "scope": (detail or {}).get("scope", "account")}
        for at, detail, username in rows
    ]
