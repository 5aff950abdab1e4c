"""Accounts: create users, check passwords (argon2), and write the audit trail."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from saferstreets.accounts.models import ROLES, AuditEvent, User
from saferstreets.errors import AppError, ValidationFailed

_hasher = PasswordHasher()


class SigninBusy(AppError):
    status = 503
    title = "Sign-in is busy"


_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _hash_slots(concurrency: int) -> threading.BoundedSemaphore:
    """The process-wide limit on password checks running at once (each Argon2 check takes
    64 MiB, so this bounds the memory a flood of sign-ins can use)."""
    with _slots_lock:
        return _slots.setdefault(concurrency, threading.BoundedSemaphore(concurrency))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    wards: list[str] | None = None,
    partner: str | None = None,
) -> User:
    """Create a user; the role must be one of ROLES and the username free."""
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = f"must be one of {', '.join(ROLES)}"
    if not username or len(username) > 64:
        errors["username"] = "must be 1 to 64 characters"
    elif session.scalar(sa.select(User.id).where(User.username == username)):
        errors["username"] = "is already taken"
    if len(password) < 10:
        errors["password"] = "must be at least 10 characters"  # noqa: S105 - a message
    if wards and (unknown := unknown_wards(session=session, wards=wards)):
        errors["wards"] = f"not imported wards: {', '.join(unknown)}"
    if partner is not None and (problem := partner_problem(partner)):
        errors["partner"] = problem
    if errors:
        raise ValidationFailed("The account cannot be created.", field_errors=errors)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        wards=list(wards or []),
        partner=partner,
    )
    session.add(user)
    session.flush()
    return user


def unknown_wards(*, session: Session, wards: list[str]) -> list[str]:
    """The codes in ``wards`` that are not imported wards."""
    from saferstreets.areas.models import Area

    known = set(
        session.scalars(sa.select(Area.code).where(Area.kind == "ward", Area.code.in_(wards)))
    )
    return [w for w in wards if w not in known]


def partner_problem(partner: str) -> str | None:
    """Why ``partner`` is not a partner code, or None."""
    from saferstreets.actions.partners import BY_CODE

    if partner not in BY_CODE:
        return f"must be one of {', '.join(BY_CODE)}"
    return None


def set_wards(*, session: Session, user: User, wards: list[str]) -> None:
    """Change the wards a ward officer works (every code must be an imported ward)."""
    if unknown := unknown_wards(session=session, wards=wards):
        raise ValidationFailed(
            "Those wards are not imported.", field_errors={"wards": ", ".join(unknown)}
        )
    user.wards = list(wards)


def check_password(
    *,
    session: Session,
    username: str,
    password: str,
    concurrency: int = 2,
    wait: float = 5.0,
    admit: Callable[[], bool] | None = None,
) -> tuple[User | None, str]:
    """The active user with this username and password, or None and why (same time either way).

    At most ``concurrency`` checks run at once in this process; one that waits longer than
    ``wait`` seconds for its turn is refused (``SigninBusy``) rather than queued for ever, and
    one whose ``admit()`` is false once its turn comes is not checked (reason ``throttled``).
    Commit or close ``session`` first if it holds a connection: waiting here should not.
    """
    slots = _hash_slots(concurrency)
    if not slots.acquire(timeout=wait):
        raise SigninBusy("Too many people are signing in at once. Please try again in a minute.")
    try:
        if admit is not None and not admit():
            return None, "throttled"
        user = session.scalar(sa.select(User).where(User.username == username))
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None, "unknown_account" if user is None else "wrong_password"
    finally:
        slots.release()
    if user is None or not user.active:
        return None, "inactive"
    return user, "ok"


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None (same time either way)."""
    return check_password(session=session, username=username, password=password)[0]


def change_password(*, session: Session, user: User, password: str) -> int:
    """Set a new password and end every session of the account; returns how many ended."""
    from saferstreets.accounts.sessions import end_user_sessions

    if len(password) < 10:
        raise ValidationFailed("The password must be at least 10 characters.")
    user.password_hash = hash_password(password)
    return end_user_sessions(session=session, user_id=user.id)


def set_active(*, session: Session, user: User, active: bool) -> None:
    """Let an account sign in, or stop it (ending its sessions at once)."""
    from saferstreets.accounts.sessions import end_user_sessions

    user.active = active
    if not active:
        end_user_sessions(session=session, user_id=user.id)


def audit(
    *,
    session: Session,
    user: User | None,
    action: str,
    object_kind: str,
    object_id: Any = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Record who viewed or changed a sensitive record (``at``: now unless given)."""
    event = AuditEvent(
        **({"at": at} if at is not None else {}),
        user_id=user.id if user else None,
        action=action,
        object_kind=object_kind,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    session.add(event)
    return event


_DUMMY_HASH = _hasher.hash("not-a-real-password-used-for-timing")
