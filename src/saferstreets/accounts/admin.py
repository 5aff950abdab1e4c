"""What an admin does to accounts (``/staff/users``): create, change, deactivate, sign out.

Every change is written to the audit trail as ``object_kind="user"`` with the account's id, the
admin as who, and what changed (never a password). No change may leave the store without an
active admin: the last one cannot be deactivated or given another role.

A new account gets no password anyone knows: the admin gives its user a one-time link
(:mod:`saferstreets.accounts.resets`) with which she sets her own.
"""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import ROLES, User
from saferstreets.accounts.service import (
    audit,
    create_user,
    partner_problem,
    set_active,
    unknown_wards,
)
from saferstreets.accounts.sessions import end_user_sessions
from saferstreets.errors import NotFound, ValidationFailed

LAST_ADMIN = "This is the only active admin account: make another admin first."


def get_account(*, session: Session, user_id: int) -> User:
    """The account with this id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such account.")
    return user


def list_accounts(*, session: Session) -> list[User]:
    """Every account: active ones first, then by username."""
    return list(session.scalars(sa.select(User).order_by(User.active.desc(), User.username)))


def active_admins(*, session: Session) -> int:
    """How many active admin accounts there are."""
    query = sa.select(sa.func.count()).where(User.role == "admin", User.active.is_(True))
    return int(session.scalar(query) or 0)


def _is_last_admin(session: Session, user: User) -> bool:
    return user.role == "admin" and user.active and active_admins(session=session) <= 1


def scope_errors(
    *, session: Session, role: str, wards: list[str], partner: str | None
) -> dict[str, str]:
    """Field errors for a role and its scope: a ward officer needs wards, a partner a partner."""
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = f"must be one of {', '.join(ROLES)}"
    elif role == "ward_officer" and not wards:
        errors["wards"] = "a ward officer needs at least one ward"
    elif role == "partner" and not partner:
        errors["partner"] = "a partner account needs its partner"
    if wards and (unknown := unknown_wards(session=session, wards=wards)):
        errors["wards"] = f"not imported wards: {', '.join(unknown)}"
    if partner and (problem := partner_problem(partner)):
        errors["partner"] = problem
    return errors


def _scoped(role: str, wards: list[str], partner: str | None) -> tuple[list[str], str | None]:
    """Only a ward officer keeps wards and only a partner keeps a partner."""
    return (list(wards) if role == "ward_officer" else []), (partner if role == "partner" else None)


def create_account(
    *,
    session: Session,
    actor: User,
    username: str,
    display_name: str,
    role: str,
    wards: list[str],
    partner: str | None,
) -> User:
    """Create an account with no usable password (give its user a reset link); audited."""
    username = username.strip()
    errors = scope_errors(session=session, role=role, wards=wards, partner=partner)
    if errors:
        raise ValidationFailed("The account cannot be created.", field_errors=errors)
    wards, partner = _scoped(role, wards, partner)
    user = create_user(
        session=session,
        username=username,
        password=secrets.token_urlsafe(32),  # nobody knows it; the user sets her own
        role=role,
        display_name=display_name.strip() or username,
        wards=wards,
        partner=partner,
    )
    audit(
        session=session,
        user=actor,
        action="create",
        object_kind="user",
        object_id=user.id,
        detail={"username": username, "role": role, "wards": wards, "partner": partner},
    )
    return user


def update_account(
    *,
    session: Session,
    actor: User,
    user: User,
    display_name: str,
    role: str,
    wards: list[str],
    partner: str | None,
) -> dict[str, Any]:
    """Change an account's name, role and scope; returns what changed (audited if anything)."""
    errors = scope_errors(session=session, role=role, wards=wards, partner=partner)
    if role != "admin" and _is_last_admin(session, user):
        errors["role"] = LAST_ADMIN
    if not display_name.strip() or len(display_name) > 200:
        errors["display_name"] = "must be 1 to 200 characters"
    if errors:
        raise ValidationFailed("The account was not changed.", field_errors=errors)
    wards, partner = _scoped(role, wards, partner)
    new = {"display_name": display_name.strip(), "role": role, "wards": wards, "partner": partner}
    changes = {
        name: {"from": getattr(user, name), "to": value}
        for name, value in new.items()
        if getattr(user, name) != value
    }
    for name in changes:
        setattr(user, name, new[name])
    if "role" in changes or "wards" in changes or "partner" in changes:
        end_user_sessions(session=session, user_id=user.id)  # what she may see has changed
    if changes:
        audit(
            session=session,
            user=actor,
            action="update",
            object_kind="user",
            object_id=user.id,
            detail=changes,
        )
    return changes


def set_account_active(*, session: Session, actor: User, user: User, active: bool) -> None:
    """Deactivate (ending every session) or reactivate an account; audited."""
    if not active and _is_last_admin(session, user):
        raise ValidationFailed(LAST_ADMIN, field_errors={"active": LAST_ADMIN})
    if user.active == active:
        return
    set_active(session=session, user=user, active=active)
    audit(
        session=session,
        user=actor,
        action="activate" if active else "deactivate",
        object_kind="user",
        object_id=user.id,
    )


def sign_out_everywhere(*, session: Session, actor: User, user: User) -> int:
    """End every session of an account at once; returns how many ended (audited)."""
    ended = end_user_sessions(session=session, user_id=user.id)
    audit(
        session=session,
        user=actor,
        action="sign_out_everywhere",
        object_kind="user",
        object_id=user.id,
        detail={"sessions": ended},
    )
    return ended
