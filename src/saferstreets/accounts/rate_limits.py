"""Public rate limits, counted in the store so that every worker and every server sees one count.

A limit is ``limit`` requests per ``window`` seconds per client, as a sliding window. A client is
known only by an HMAC of its address (``web.security.client_key``) under a random key for the
current hour (``RateLimitKey``), which every process reads from the store and which is deleted
once it is two hours old; the address itself is never written. A client's count follows it
across one key change (its previous hour's bucket is counted too), then nothing links a bucket
to an address any more.

Each hit is one short transaction: an upsert takes the client's bucket row (a row lock on
PostgreSQL, the write lock on SQLite), so two servers counting the same client at once queue
behind each other and a limit of 10 lets exactly 10 through.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from saferstreets.accounts.models import RateBucket, RateLimitKey
from saferstreets.accounts.sessions import PurgeGate
from saferstreets.models_common import core_table

ROTATE_SECONDS = 3600
_keys: dict[tuple[str, int], bytes] = {}  # this process's copy of the keys, by store and hour
_keys_lock = threading.Lock()
PURGE = PurgeGate()
BUCKETS = core_table(RateBucket)
EARLIER = BUCKETS.alias("earlier")  # the previous hour's bucket, read beside this one


def _epoch_key(*, session: Session, epoch: int, past: bool = False) -> bytes | None:
    """The store's key for hour ``epoch`` (kept in memory once read), or None if there is none.

    With ``past`` (an hour that is over) a missing key is remembered as missing too: no process
    makes a key for an hour that has passed, so it is not looked for again on every request.
    """
    store = str(session.get_bind().engine.url)
    with _keys_lock:
        if (store, epoch) in _keys:
            return _keys[(store, epoch)] or None
    found = session.scalar(sa.select(RateLimitKey.key).where(RateLimitKey.epoch == epoch))
    if found is None and not past:
        return None
    with _keys_lock:
        for old in [k for k in _keys if k[1] < epoch - 1]:
            del _keys[old]
        _keys[(store, epoch)] = key = bytes.fromhex(found) if found is not None else b""
    return key or None


def _current_key(*, session: Session, epoch: int) -> bytes:
    """The key for this hour, made by whichever process needs it first (the others read it)."""
    key = _epoch_key(session=session, epoch=epoch)
    if key is not None:
        return key
    insert = _insert_for(_dialect(session))(RateLimitKey).values(
        epoch=epoch, key=secrets.token_hex(32)
    )
    session.execute(insert.on_conflict_do_nothing(index_elements=["epoch"]))
    session.execute(sa.delete(RateLimitKey).where(RateLimitKey.epoch < epoch - 1))
    key = _epoch_key(session=session, epoch=epoch)
    assert key is not None
    return key


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _insert_for(dialect: str):
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def bucket_key(key: bytes, name: str, client: str) -> str:
    digest = hmac.new(key, client.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]
    return f"{name[:40]}:{digest}"


def hit(
    *, session: Session, name: str, client: str, limit: int, window: float, now: datetime
) -> float | None:
    """Count one request from ``client`` against limit ``name``; None if it may go ahead, else
    the seconds until it may. A refused request is not counted. The caller commits."""
    moment = now.replace(tzinfo=UTC).timestamp() if now.tzinfo is None else now.timestamp()
    epoch = int(moment // ROTATE_SECONDS)
    mine = bucket_key(_current_key(session=session, epoch=epoch), name, client)
    previous_key = _epoch_key(session=session, epoch=epoch - 1, past=True)
    earlier = bucket_key(previous_key, name, client) if previous_key else None
    stamps, previous = _take_and_count(session, mine, earlier, moment, now)
    held = [float(s) for s in stamps[:-1]]  # the last is this request's, just counted
    recent = [s for s in held if moment - s < window]
    before = [float(s) for s in previous or [] if moment - float(s) < window]
    if len(recent) + len(before) >= limit:
        _set_stamps(session, mine, recent)  # refused: not counted after all
        oldest = min(recent + before)
        return max(1.0, window - (moment - oldest))
    if len(recent) < len(held):  # some have left the window: keep the bucket small
        _set_stamps(session, mine, [*recent, moment])
    if PURGE.due():
        stale = now - timedelta(seconds=max(window, ROTATE_SECONDS) * 2)
        session.execute(sa.delete(BUCKETS).where(BUCKETS.c.updated_at < stale))
    return None


def _take_and_count(
    session: Session, mine: str, earlier: str | None, moment: float, now: datetime
) -> tuple[list[Any], list[Any] | None]:
    """Take the client's bucket and count this request in it, in one statement: the bucket's
    times (this one last) and the previous hour's bucket's. From here to the commit, this
    client's other requests wait on the bucket's row (a row lock; SQLite's write lock)."""
    statement = _upsert(_dialect(session), with_earlier=earlier is not None)
    values = {"key": mine, "stamps": [moment], "updated_at": now, "earlier": earlier}
    stamps, previous = session.execute(statement, values).one()
    return list(stamps or [moment]), previous


@functools.cache
def _upsert(dialect: str, *, with_earlier: bool) -> Any:
    """The bucket's upsert for ``dialect`` (built once, its values passed as parameters: built on
    every request it cost 557 against 170 us of CPU, in one process on the demo store in
    PostgreSQL, 2026-12-05): insert the key with this request's time,
    or append the time to the bucket's; return the times and, ``with_earlier``, the previous
    hour's bucket's (a scalar subquery of an alias: not the upserted row)."""
    take = _insert_for(dialect)(BUCKETS)
    one = take.excluded.stamps
    appended = (
        BUCKETS.c.stamps.op("||")(one)  # jsonb arrays concatenate
        if dialect == "postgresql"
        else sa.func.json_insert(BUCKETS.c.stamps, "$[#]", sa.func.json_extract(one, "$[0]"))
    )
    earlier = (
        sa.select(EARLIER.c.stamps)
        .where(EARLIER.c.key == sa.bindparam("earlier"))
        .scalar_subquery()
        if with_earlier
        else sa.null()
    )
    counted = {"stamps": appended, "updated_at": take.excluded.updated_at}
    return take.on_conflict_do_update(index_elements=["key"], set_=counted).returning(
        BUCKETS.c.stamps, earlier
    )


def _set_stamps(session: Session, key: str, stamps: list[float]) -> None:
    session.execute(sa.update(BUCKETS).where(BUCKETS.c.key == key).values(stamps=stamps))
