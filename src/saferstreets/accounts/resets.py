"""One-time links with which a user sets her own password (after an admin makes one).

The link carries a random 256-bit token; the store keeps only its SHA-256, so neither a copy of
the database nor the audit trail can be turned into a working link. A link works once, for
``password_reset_hours`` after it is made, and only while it is the account's newest: making a
new one ends the older ones, and so does using one. Setting the password ends every session
of the account. No password is ever shown to anyone, the admin included.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import PasswordReset, User
from saferstreets.accounts.service import audit, change_password
from saferstreets.errors import NotFound, ValidationFailed

GONE = "This link has expired or has already been used. Ask an administrator for a new one."
MIN_LENGTH = 10


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _end_open_links(session: Session, user_id: int, now: datetime) -> None:
    session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )


def issue_reset(*, session: Session, actor: User, user: User, now: datetime, hours: float) -> str:
    """Make a one-time link for ``user`` (ending her older ones); returns its token (audited)."""
    _end_open_links(session, user.id, now)
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=hours)
    session.add(
        PasswordReset(
            token_hash=_hash(token),
            user_id=user.id,
            created_by=actor.id,
            created_at=now,
            expires_at=expires,
        )
    )
    audit(
        session=session,
        user=actor,
        action="password_link",
        object_kind="user",
        object_id=user.id,
        detail={"expires_at": expires.isoformat(timespec="minutes")},
        at=now,
    )
    session.flush()
    return token


def find_reset(*, session: Session, token: str, now: datetime) -> tuple[PasswordReset, User]:
    """The live link behind ``token`` and its account, or NotFound (used, expired, unknown)."""
    if not token or len(token) > 128:
        raise NotFound(GONE)
    reset = session.get(PasswordReset, _hash(token))
    user = session.get(User, reset.user_id) if reset else None
    if reset is None or user is None or reset.used_at is not None or now >= reset.expires_at:
        raise NotFound(GONE)
    if not user.active:
        raise NotFound(GONE)
    return reset, user


def password_errors(password: str, confirm: str) -> dict[str, str]:
    """Field errors for a new password and its repetition."""
    if len(password) < MIN_LENGTH:
        return {"password": f"must be at least {MIN_LENGTH} characters"}
    if password != confirm:
        return {"confirm": "does not match the password"}
    return {}


def use_reset(*, session: Session, token: str, password: str, confirm: str, now: datetime) -> User:
    """Set the password through a live link, once; ends the account's sessions (audited)."""
    reset, user = find_reset(session=session, token=token, now=now)
    if errors := password_errors(password, confirm):
        raise ValidationFailed("The password was not set.", field_errors=errors)
    change_password(session=session, user=user, password=password)
    _end_open_links(session, user.id, now)
    reset.used_at = now
    audit(
        session=session,
        user=user,
        action="password_set",
        object_kind="user",
        object_id=user.id,
        at=now,
    )
    return user
