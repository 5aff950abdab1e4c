"""Server-side sessions: the cookie holds a random token, the store holds only its SHA-256.

A staff session ends at whichever comes first: ``session_idle_minutes`` without a request,
``session_lifetime_hours`` after sign-in, signing out, a password change, deactivation, or an
admin's "sign out everywhere" (each deletes the rows, so an old cookie finds nothing).

An anonymous session has no user; it exists only to show a reporter her receipt code once after
the redirect from the form. The code is sealed (XOR with an HMAC-SHA256 keystream) under the
cookie's token, which the store never holds, so neither the cookie nor the store can show it on
its own; the row is deleted when the code is shown and lasts ``RECEIPT_SECONDS`` at most.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import WebSession
from saferstreets.config import Settings
from saferstreets.models_common import core_table

RECEIPT_SECONDS = 600
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute


def token_hash(token: str) -> str:
    """The stored key for a cookie token."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class PurgeGate:
    """Lets a housekeeping DELETE run at most once per ``every`` seconds in this process.

    Run on every new session or receipt, the DELETE of expired rows put a write (and, on
    PostgreSQL, row locks on the same expired rows) into every submission: concurrent
    submissions then queued behind each other's DELETE until the first committed (see
    ``bench/bench_load.py``). Expired rows are never read as live (``load_session`` and
    ``take_receipt`` check the time), so removing them a minute late costs nothing.
    """

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._last = -float("inf")
        self._lock = threading.Lock()

    def due(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.every:
                return False
            self._last = now
            return True


PURGE = PurgeGate()
SESSIONS = core_table(WebSession)  # for the receipt's Core statements
# The receipt's two statements, built once with their values as parameters: one built on every
# report cost about 0.15 ms more of CPU (SQLAlchemy derives its cache key and values anew).
_KEEP = sa.insert(SESSIONS)
_TAKE = (
    sa.delete(SESSIONS)
    .where(SESSIONS.c.id_hash == sa.bindparam("token_hash"), SESSIONS.c.user_id.is_(None))
    .returning(SESSIONS.c.data, SESSIONS.c.expires_at)
)


def _purge_expired(*, session: Session, now: datetime) -> None:
    if PURGE.due():
        session.execute(sa.delete(WebSession).where(WebSession.expires_at <= now))


def start_session(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    user_id: int | None,
    lifetime: timedelta | None = None,
    data: dict[str, Any] | None = None,
) -> str:
    """Store a new session and return its cookie token (the only place the token exists)."""
    _purge_expired(session=session, now=now)
    token = secrets.token_urlsafe(32)
    lifetime = lifetime or timedelta(hours=settings.session_lifetime_hours)
    session.add(
        WebSession(
            id_hash=token_hash(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            data=data,
        )
    )
    session.flush()
    return token


def load_session(
    *, session: Session, settings: Settings, now: datetime, token: str | None
) -> WebSession | None:
    """The live session for ``token``, or None (an expired one is deleted on the way)."""
    if not token or len(token) > 128:
        return None
    record = session.get(WebSession, token_hash(token))
    if record is None:
        return None
    idle = timedelta(minutes=settings.session_idle_minutes)
    if now >= record.expires_at or now - record.last_seen_at >= idle:
        session.delete(record)
        session.flush()
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
    return record


def end_session(*, session: Session, token: str | None) -> None:
    """Delete the session behind ``token`` (signing out)."""
    if token:
        session.execute(sa.delete(WebSession).where(WebSession.id_hash == token_hash(token)))


def end_user_sessions(*, session: Session, user_id: int) -> int:
    """Delete every session of one account ("sign out everywhere"); returns how many ended."""
    result = session.execute(sa.delete(WebSession).where(WebSession.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def end_all_sessions(*, session: Session) -> int:
    """Delete every staff session (after a suspected compromise); returns how many ended."""
    result = session.execute(sa.delete(WebSession).where(WebSession.user_id.is_not(None)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- the receipt code, shown once ------------------------------------------------------------


def _pad(token: str, length: int) -> bytes:
    return hmac.new(token.encode(), b"receipt-code", hashlib.sha256).digest()[:length]


def seal_code(token: str, code: str) -> str:
    """``code`` (ASCII, at most 32 characters) sealed under ``token``, as hex."""
    raw = code.encode("ascii")
    if len(raw) > 32:
        raise ValueError("a receipt code is at most 32 characters")
    return bytes(a ^ b for a, b in zip(raw, _pad(token, len(raw)), strict=True)).hex()


def unseal_code(token: str, sealed_hex: str) -> str:
    """The code ``seal_code`` sealed under ``token``."""
    sealed = bytes.fromhex(sealed_hex)
    code = bytes(a ^ b for a, b in zip(sealed, _pad(token, len(sealed)), strict=True))
    return code.decode("ascii", "replace")


def seal_receipt(*, session: Session, settings: Settings, now: datetime, code: str,
                 urgent: bool) -> str:  # fmt: skip
    """Keep ``code`` for one showing, in ``session``'s transaction (the caller commits); returns
    the token for the one-time cookie."""
    token = secrets.token_urlsafe(32)
    sealed = seal_code(token, code)
    _purge_expired(session=session, now=now)
    session.execute(  # Core: no ORM object to track, no ORM bulk path
        _KEEP,
        {
            "id_hash": token_hash(token),
            "user_id": None,
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + timedelta(seconds=RECEIPT_SECONDS),
            "data": {"receipt": sealed, "urgent": bool(urgent)},
        },
    )
    return token


def take_receipt(*, session: Session, now: datetime, token: str | None) -> tuple[str | None, bool]:
    """The receipt code and urgent flag kept under ``token``, deleted as read (None if gone)."""
    if not token or len(token) > 128:
        return None, False
    # read and deleted in one round trip, in Core
    taken = session.execute(_TAKE, {"token_hash": token_hash(token)}).first()
    if taken is None:
        return None, False
    data, expires_at = taken[0] or {}, taken[1]
    if now >= expires_at or "receipt" not in data:
        return None, False
    return unseal_code(token, str(data["receipt"])), bool(data.get("urgent"))
