"""``saferstreets users``: staff and partner accounts."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from saferstreets.accounts.models import ROLES, User
from saferstreets.accounts.service import change_password, create_user, set_active
from saferstreets.cli.support import open_store
from saferstreets.errors import NotFound, ValidationFailed

console = Console(soft_wrap=True)
app = typer.Typer(help="Staff and partner accounts.", no_args_is_help=True)


def _password(value: str | None) -> str:
    return value or typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command("create")
def create(
    username: str,
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    wards: Annotated[str, typer.Option(help="Ward codes, comma-separated (ward officers).")] = "",
    partner: Annotated[str | None, typer.Option(help="Partner code (partner accounts).")] = None,
    password: Annotated[str | None, typer.Option(help="Asked for when not given.")] = None,
) -> None:
    """Create an account."""
    from saferstreets.db import session_scope

    engine = open_store()
    ward_codes = [w.strip() for w in wards.split(",") if w.strip()]
    if role == "ward_officer" and not ward_codes:
        raise ValidationFailed(
            "A ward officer needs at least one ward.", hint="--wards E05000001,E05000002"
        )
    if role == "partner" and not partner:
        raise ValidationFailed(
            "A partner account needs a partner code.", hint="--partner council_lighting"
        )
    with session_scope(engine) as session:
        create_user(
            session=session,
            username=username,
            password=_password(password),
            role=role,
            display_name=name,
            wards=ward_codes,
            partner=partner,
        )
    console.print(f"Created {role.replace('_', ' ')} account {username}.")


@app.command("list")
def list_users() -> None:
    """List accounts with their roles and scopes."""
    from saferstreets.db import session_scope

    with session_scope(open_store()) as session:
        users = session.scalars(sa.select(User).order_by(User.username)).all()
        table = Table(title="Accounts")
        for col in ("username", "name", "role", "scope", "active"):
            table.add_column(col)
        for u in users:
            scope = ", ".join(u.wards or []) or (u.partner or "")
            table.add_row(u.username, u.display_name, u.role, scope, "yes" if u.active else "no")
    console.print(table)


@app.command("set-password")
def set_password(
    username: str,
    password: Annotated[
        str | None, typer.Option(help="The new password; asked for when not given.")
    ] = None,
) -> None:
    """Set a new password for an account."""
    from saferstreets.db import session_scope

    with session_scope(open_store()) as session:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"There is no account {username!r}.")
        ended = change_password(session=session, user=user, password=_password(password))
    console.print(f"Password changed for {username}; {_sessions(ended)} ended.")


def _sessions(n: int) -> str:
    return f"{n} session{'s' if n != 1 else ''}"


def _set_active(username: str, active: bool) -> None:
    from saferstreets.db import session_scope

    with session_scope(open_store()) as session:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"There is no account {username!r}.")
        set_active(session=session, user=user, active=active)


@app.command("deactivate")
def deactivate(username: str) -> None:
    """Stop an account from signing in and end its sessions (its history stays)."""
    _set_active(username, False)
    console.print(f"{username} can no longer sign in.")


@app.command("activate")
def activate(username: str) -> None:
    """Let a deactivated account sign in again."""
    _set_active(username, True)
    console.print(f"{username} can sign in again.")


@app.command("set-wards")
def set_wards_command(
    username: str,
    wards: Annotated[str, typer.Argument(help="Ward codes, comma-separated.")],
) -> None:
    """Change the wards a ward officer works."""
    from saferstreets.accounts.service import set_wards
    from saferstreets.db import session_scope

    codes = [w.strip() for w in wards.split(",") if w.strip()]
    with session_scope(open_store()) as session:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"There is no account {username!r}.")
        if user.role != "ward_officer":
            raise ValidationFailed(
                f"{username} is a {user.role.replace('_', ' ')}, not a ward officer."
            )
        set_wards(session=session, user=user, wards=codes)
    console.print(f"{username} now works {', '.join(codes)}.")


@app.command("sign-out")
def sign_out(
    username: Annotated[str | None, typer.Argument(help="The account to sign out.")] = None,
    everyone: Annotated[
        bool, typer.Option("--everyone", help="Sign out every account instead.")
    ] = False,
) -> None:
    """Sign an account out everywhere at once (or every account, with --everyone)."""
    from saferstreets.accounts.sessions import end_all_sessions, end_user_sessions
    from saferstreets.db import session_scope

    if (username is None) == (not everyone):
        raise ValidationFailed(
            "Name one account, or give --everyone.", hint="saferstreets users sign-out ann"
        )
    with session_scope(open_store()) as session:
        if everyone:
            ended = end_all_sessions(session=session)
            console.print(f"Every account is signed out; {_sessions(ended)} ended.")
            return
        user = _user(session, username or "")
        ended = end_user_sessions(session=session, user_id=user.id)
    console.print(f"{username} is signed out everywhere; {_sessions(ended)} ended.")


@app.command("unlock")
def unlock(username: str) -> None:
    """Lift a sign-in lock on an account now (after failed sign-ins; see the lockout policy)."""
    from saferstreets.accounts.throttle import account_key, clear_failures
    from saferstreets.config import get_settings
    from saferstreets.db import session_scope

    with session_scope(open_store()) as session:
        _user(session, username)
        clear_failures(session=session, key=account_key(get_settings(), username))
    console.print(f"{username} can sign in again now.")


def _user(session: sa.orm.Session, username: str) -> User:
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"There is no account {username!r}.")
    return user
