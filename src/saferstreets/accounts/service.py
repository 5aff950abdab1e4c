"""Accounts: create users, check passwords (argon2), and write the audit trail."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from saferstreets.accounts.models import ROLES, AuditEvent, User
from saferstreets.errors import ValidationFailed

_hasher = PasswordHasher()


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


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None (same time either way)."""
    user = session.scalar(sa.select(User).where(User.username == username))
    candidate = user.password_hash if user else _DUMMY_HASH
    try:
        _hasher.verify(candidate, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    return user


def audit(
    *,
    session: Session,
    user: User | None,
    action: str,
    object_kind: str,
    object_id: Any = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record who viewed or changed a sensitive record."""
    session.add(
        AuditEvent(
            user_id=user.id if user else None,
            action=action,
            object_kind=object_kind,
            object_id=None if object_id is None else str(object_id),
            detail=detail,
        )
    )


_DUMMY_HASH = _hasher.hash("not-a-real-password-used-for-timing")
