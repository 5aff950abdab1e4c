"""One-time submission keys: the same report form sent twice stores one report.

Each report form carries a random key (``new_key``) in a hidden field. When a report is stored,
a ``SubmissionKey`` row is written in the same transaction, with the key's SHA-256 as its primary
key and the receipt code sealed under the key. A second sending of the same form (a browser's
retry, a double tap, a retry after the answer was lost) then finds the row and shows the same
receipt; two sendings at once race for the one primary key, and the store lets exactly one win
(the other waits for it, then finds its row). Without the key from her page, the row shows
nothing: the store holds no receipt code in the clear and no link to the report.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.sessions import PurgeGate, seal_code, token_hash, unseal_code
from saferstreets.models_common import core_table
from saferstreets.reports.models import SubmissionKey

FIELD = "submission_key"
KEEP_FOR = timedelta(hours=24)  # a form left open, or sent again from the back button, that long
_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,64}")
PURGE = PurgeGate()
KEYS = core_table(SubmissionKey)  # Core statements: no ORM objects to track
#: Built once, its values passed as parameters: a statement built on each report cost about 0.15
#: ms more of CPU (SQLAlchemy derives the statement's cache key and bound values anew), in one
#: process on the demo store in PostgreSQL, 2026-12-05.
_RECORD = sa.insert(KEYS)


def new_key() -> str:
    """A fresh key for a new form."""
    return secrets.token_urlsafe(24)


def usable(key: object) -> str | None:
    """The key as sent, if it looks like one of ours (anything else: no key, no de-duplication)."""
    return key if isinstance(key, str) and _SHAPE.fullmatch(key) else None


def stored_receipt(*, session: Session, key: str) -> tuple[str, bool] | None:
    """The receipt code and urgent flag of the report stored under ``key``, or None. (A row past
    ``expires_at`` that is not yet purged still answers: only her page's key unseals it.)"""
    row = session.execute(
        sa.select(KEYS.c.receipt, KEYS.c.urgent).where(KEYS.c.id_hash == token_hash(key))
    ).first()
    if row is None or not row.receipt:
        return None
    return unseal_code(key, row.receipt), bool(row.urgent)


def record(*, session: Session, key: str, now: datetime, code: str, urgent: bool) -> None:
    """Write ``key``'s row, with the receipt sealed under it, in the report's transaction (sent,
    not committed). A second sending of the same form at the same moment stops here: its INSERT
    waits for this transaction and then fails on the primary key (``sa.exc.IntegrityError``),
    which rolls its report back; the caller then shows this one's receipt."""
    if PURGE.due():
        session.execute(sa.delete(KEYS).where(KEYS.c.expires_at <= now))
    session.execute(
        _RECORD,
        {
            "id_hash": token_hash(key),
            "created_at": now,
            "expires_at": now + KEEP_FOR,
            "receipt": seal_code(key, code),
            "urgent": bool(urgent),
        },
    )
