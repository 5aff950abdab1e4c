"""Reading the audit trail: search by who, what, record and date, a page at a time or all.

``who`` matches a username or display name (part of it, any case); ``who="(nobody)"`` finds
the events no account did (failed sign-ins and locks, which keep no username). ``record`` is an
``object_id`` (exact) and ``kind`` its ``object_kind``. Dates are inclusive, in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import AuditEvent, User
from saferstreets.errors import ValidationFailed

NOBODY = "(nobody)"
PER_PAGE = 50
CSV_HEADER = ("at_utc", "who", "action", "record_kind", "record_id", "detail")


@dataclass(frozen=True)
class AuditQuery:
    """What to look for; every part optional."""

    who: str = ""
    action: str = ""
    kind: str = ""
    record: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(cls, **given: str | None) -> AuditQuery:
        """From a form's text (dates as YYYY-MM-DD); bad dates raise ValidationFailed."""
        errors: dict[str, str] = {}
        dates: dict[str, date | None] = {}
        for name in ("since", "until"):
            text = (given.get(name) or "").strip()
            try:
                dates[name] = date.fromisoformat(text) if text else None
            except ValueError:
                errors[name] = f"'{text[:20]}' is not a date (YYYY-MM-DD)"
        if not errors and dates["since"] and dates["until"] and dates["since"] > dates["until"]:
            errors["until"] = "is before the first date"
        words = {k: (given.get(k) or "").strip()[:100] for k in ("who", "action", "kind", "record")}
        if errors:
            raise ValidationFailed("The search cannot be run.", field_errors=errors)
        return cls(**words, since=dates["since"], until=dates["until"])

    def params(self) -> dict[str, str]:
        """The query as address parameters (for the next page and the CSV link)."""
        values = {
            "who": self.who,
            "action": self.action,
            "kind": self.kind,
            "record": self.record,
            "since": self.since,
            "until": self.until,
        }
        return {k: str(v) for k, v in values.items() if v}


@dataclass
class AuditPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    actions: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


def _where(query: AuditQuery) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if query.who == NOBODY:
        where.append(AuditEvent.user_id.is_(None))
    elif query.who:
        who = query.who.lower()
        users = sa.select(User.id).where(
            sa.or_(
                sa.func.lower(User.username).contains(who, autoescape=True),
                sa.func.lower(User.display_name).contains(who, autoescape=True),
            )
        )
        where.append(AuditEvent.user_id.in_(users))
    if query.action:
        where.append(AuditEvent.action == query.action)
    if query.kind:
        where.append(AuditEvent.object_kind == query.kind)
    if query.record:
        where.append(AuditEvent.object_id == query.record)
    if query.since:
        where.append(AuditEvent.at >= datetime.combine(query.since, datetime.min.time()))
    if query.until:
        end = datetime.combine(query.until + timedelta(days=1), datetime.min.time())
        where.append(AuditEvent.at < end)
    return where


def _select(query: AuditQuery) -> sa.Select[AuditEvent, str]:
    select = (
        sa.select(AuditEvent, User.username)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(*_where(query))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    return select


def _row(event: AuditEvent, username: str | None) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at,
        "who": username or NOBODY,
        "action": event.action,
        "kind": event.object_kind,
        "record": event.object_id or "",
        "detail": event.detail or {},
    }


def search_audit(
    *, session: Session, query: AuditQuery, page: int = 1, per_page: int = PER_PAGE
) -> AuditPage:
    """One page of the matching events, newest first, with the total and the choices."""
    total = int(session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(*_where(query))) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    result = session.execute(_select(query).limit(per_page).offset((page - 1) * per_page))
    rows = [_row(event, username) for event, username in result]
    actions = sorted(session.scalars(sa.select(AuditEvent.action).distinct()))
    kinds = sorted(session.scalars(sa.select(AuditEvent.object_kind).distinct()))
    return AuditPage(rows, total, page, pages, actions, kinds)


def audit_csv_rows(*, session: Session, query: AuditQuery) -> Iterator[list[Any]]:
    """Every matching event as a CSV row (``CSV_HEADER``), newest first."""
    import json

    for event, username in session.execute(_select(query).execution_options(yield_per=2000)):
        row = _row(event, username)
        yield [
            row["at"].isoformat(sep=" ", timespec="seconds"),
            row["who"],
            row["action"],
            row["kind"],
            row["record"],
            json.dumps(row["detail"], sort_keys=True, default=str) if row["detail"] else "",
        ]
