"""Demo accounts: one per role, ward officers scoped to real wards of the demo county."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import User
from saferstreets.accounts.service import create_user
from saferstreets.actions.models import LocalIssue
from saferstreets.areas.models import Area


def create_demo_accounts(
    *, session: Session, files: dict[str, Any], password: str
) -> list[tuple[str, str]]:
    """Create (or keep) one account per role; return (username, role) pairs."""
    # The ward officer covers the three wards with the most open local issues (else the first
    # three), so her queue on the demo is not empty.
    busiest = session.execute(
        sa.select(LocalIssue.ward_code, sa.func.count())
        .where(LocalIssue.stage != "closed")
        .group_by(LocalIssue.ward_code)
        .order_by(sa.func.count().desc(), LocalIssue.ward_code)
        .limit(3)
    ).all()
    wards = [code for code, _ in busiest] or list(
        session.scalars(
            sa.select(Area.code).where(Area.kind == "ward").order_by(Area.code).limit(3)
        )
    )
    wanted = [
        ("admin", "admin", "Demo Administrator", [], None),
        ("analyst", "analyst", "Alex Analyst", [], None),
        ("superintendent", "supervisor", "Supt. Sam Shaw", [], None),
        ("wardofficer", "ward_officer", "PC Wendy Ward", wards, None),
        ("council", "partner", "Council Street Lighting", [], "council_lighting"),
    ]
    accounts = []
    for username, role, name, ward_codes, partner in wanted:
        if session.scalar(sa.select(User.id).where(User.username == username)) is None:
            create_user(
                session=session,
                username=username,
                password=password,
                role=role,
                display_name=name,
                wards=ward_codes,
                partner=partner,
            )
        accounts.append((username, role))
    return accounts
