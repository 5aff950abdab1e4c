"""Engine and session factory. SQLite in the data directory by default; PostgreSQL by URL."""

from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from saferstreets.config import Settings, get_settings
from saferstreets.errors import StoreError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every table; constraint names are stable across backends."""

    metadata = sa.MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


#: How long a SQLite writer waits for another writer's lock before giving up (``busy_timeout``).
#: Writers queue in the busy handler; a write lock held longer than this (a long import) gives
#: the 503 page that keeps the form, never "database is locked" (see ``STORE_TROUBLE``).
SQLITE_BUSY_MS = 10_000
#: PostgreSQL: a new connection that does not answer within this many seconds is a failure
#: (the server restarting or gone), and a request waits at most this long for a pooled one.
CONNECT_TIMEOUT_S = 5
POOL_TIMEOUT_S = 10
#: PostgreSQL connections a process keeps open, and the most it holds at once: all kept, none
#: opened for a moment and closed. SQLAlchemy's default (5 kept, 10 more made and closed as
#: needed) opened a new backend every second to fourth report under 50 reporters, each a fork
#: and cold caches to PostgreSQL: two workers acknowledged 72-86 reports/s against 106-107 with
#: the pool kept (bench/results/intake.md, session 11). Allow ``max_connections`` for workers
#: x this.
POOL_SIZE = 15


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; for SQLite, create the folder and set sane pragmas.

    Statement parameters are never shown (``hide_parameters``): a failed INSERT would otherwise
    put a report's words and point into the exception and so into a log (see ``log_privacy``).
    """
    kwargs.setdefault("hide_parameters", True)
    try:
        sa_url = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            f"The database URL {url!r} is not valid",
            hint="set SAFERSTREETS_DATABASE_URL to e.g. postgresql://user@host/db, "
            "or leave it unset",
        ) from exc
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            folder = Path(sa_url.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"Cannot create the data folder {folder}: {exc.strerror}",
                    hint="set SAFERSTREETS_DATA_DIR to a writable folder",
                ) from exc
        engine = sa.create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if sa_url.get_backend_name() != "postgresql":
        raise StoreError(
            f"Unsupported database {sa_url.get_backend_name()!r}",
            hint="use SQLite (the default) or PostgreSQL",
        )
    kwargs.setdefault("pool_timeout", POOL_TIMEOUT_S)
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", 0)
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S, **kwargs.pop("connect_args", {})}
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


_engines: dict[str, Engine] = {}


def _engine_for(url: str) -> Engine:
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def dispose_engines() -> None:
    """Close every cached engine's connections (tests, and before forking workers)."""
    for engine in list(_engines.values()):
        engine.dispose()
    _engines.clear()


def get_engine(settings: Settings | None = None) -> Engine:
    """The shared engine for the settings' database URL."""
    return _engine_for((settings or get_settings()).sqlalchemy_url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def autocommit(session: Session) -> None:
    """Let ``session``'s statements each commit as they run, with no BEGIN or COMMIT round trip:
    for a request whose one statement is its whole write (the connection's usual isolation level
    comes back when it returns to the pool). Call it before the session's first statement."""
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def is_postgres(bind: Engine | sa.Connection | Session) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "postgresql"


# -- claims on a piece of work ------------------------------------------------------------------
# Two imports of one file at once would undo each other: each clears what an earlier import of
# the same file left "running" (a worker killed half-way). A claim tells a live import from a
# dead one without clocks: it is held by the process doing the work and ends with it, however it
# ends. PostgreSQL: a session advisory lock on a connection of its own (several servers share
# it). SQLite (one machine holds the store): a POSIX lock on one byte of a ``.claims`` file
# beside the store, at an offset named by the claim; the kernel drops it when the process dies.
# POSIX locks belong to the process, so claims within one process are kept in ``_held`` too, and
# the file is opened once per process and never closed (closing any handle would drop them all).

_held: set[tuple[str, int]] = set()
_held_lock = threading.Lock()
_claim_files: dict[str, Any] = {}


def _claim_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:7], "big")  # a byte offset


@contextmanager
def claim(engine: Engine, name: str) -> Iterator[bool]:
    """Hold an exclusive claim on ``name`` for the block; yields False if another live process
    (or another thread of this one) holds it, and the block should not do the work."""
    key = _claim_key(name)
    if is_postgres(engine):
        with engine.connect() as conn:
            held = bool(conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            conn.commit()  # a session-level lock outlives its transaction: none is left open
            try:
                yield held
            finally:
                if held:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    database = engine.url.database or ":memory:"
    with _held_lock:
        mine = (database, key) not in _held and _lock_byte(database, key)
        if mine:
            _held.add((database, key))
    try:
        yield mine
    finally:
        if mine:
            with _held_lock:
                _held.discard((database, key))
                _unlock_byte(database, key)


def _lock_byte(database: str, key: int) -> bool:
    if database == ":memory:":
        return True  # a store no other process can open
    handle = _claim_files.get(database)
    if handle is None:  # opened once and kept open for the process's life (see above)
        handle = _claim_files[database] = Path(f"{database}.claims").open("a")  # noqa: SIM115
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, key)
    except OSError:  # held by another process (EAGAIN or EACCES)
        return False
    return True


def _unlock_byte(database: str, key: int) -> None:
    if database != ":memory:":
        fcntl.lockf(_claim_files[database], fcntl.LOCK_UN, 1, key)


# -- long writes beside the public form -----------------------------------------------------------
# SQLite has one write lock for the whole store. A batch job (an import, retention, assigning
# points to areas) that kept it for seconds would make a report posted meanwhile wait
# ``SQLITE_BUSY_MS`` and then answer 503. So batch work writes in short transactions: it commits
# once it has held the lock ``WRITE_HOLD_S`` and then leaves the lock free for ``WRITE_GAP_S``.
# A waiting writer polls the lock in SQLite's busy handler, whose sleeps in its first 130 ms are
# 1 to 25 ms: shorter than the gap, so it takes the lock at the first gap, within a hold.
# PostgreSQL locks rows, not the store: there the transactions are only kept to a bounded size.

#: How long a batch job's transaction may write before it commits, by backend (seconds).
WRITE_HOLD_S = {"sqlite": 0.1, "postgresql": 2.0}
#: How long a batch job leaves SQLite's write lock free between its transactions (seconds).
WRITE_GAP_S = 0.03

T = TypeVar("T")
R = TypeVar("R")


def let_writers_in(bind: Engine | sa.Connection | Session) -> None:
    """Between two of a batch job's transactions: on SQLite, leave the write lock free a moment."""
    if not is_postgres(bind):
        time.sleep(WRITE_GAP_S)


def committing(session: Session) -> Callable[[], None]:
    """A step between chunks of a batch service's work in ``session``: commit what it has done,
    then let other writers in (``let_writers_in``)."""

    def settle() -> None:
        session.commit()
        let_writers_in(session)

    return settle


def in_short_transactions(
    engine: Engine, items: Iterable[T], write: Callable[[Session, T], R]
) -> list[R]:
    """``write(session, item)`` for each item, committed every ``WRITE_HOLD_S`` of writing.

    What was committed stays if a later item fails (the error is raised after a rollback of the
    open transaction): a caller that must be all or nothing undoes its own work (see
    ``crime.service``, whose rows carry their import run's id).
    """
    hold = WRITE_HOLD_S.get(engine.dialect.name, WRITE_HOLD_S["postgresql"])
    results: list[R] = []
    session: Session | None = None
    opened = 0.0
    try:
        for item in items:
            if session is None:
                session, opened = session_factory(engine)(), time.monotonic()
            results.append(write(session, item))
            if time.monotonic() - opened >= hold:
                session.commit()
                session.close()
                session = None
                let_writers_in(engine)
        if session is not None:
            session.commit()
    except BaseException:
        if session is not None:
            with suppress(Exception):
                session.rollback()
        raise
    finally:
        if session is not None:
            session.close()
    return results


# -- indexes around bulk loads ------------------------------------------------------------------
# Maintaining a secondary index row by row costs more than building it once from sorted data:
# on PostgreSQL inserting 108k police.uk rows took 2.7 s with the crime table's indexes and 1.3 s
# with only its keys. A bulk load into a (nearly) empty table therefore drops the secondary
# indexes first and builds them again at the end. Unique indexes (the import's idempotency) and
# primary keys are never dropped. Should a load be interrupted before the rebuild, the next import
# or ``saferstreets db upgrade`` builds whatever is missing (``ensure_indexes``).


def secondary_indexes(table: str) -> list[sa.Index]:
    """The table's non-unique indexes, as the models declare them."""
    return sorted(
        (ix for ix in Base.metadata.tables[table].indexes if not ix.unique),
        key=lambda ix: str(ix.name),
    )


def drop_secondary_indexes(engine: Engine, tables: Iterable[str]) -> list[str]:
    """Drop the tables' secondary indexes before a bulk load; return their names."""
    dropped: list[str] = []
    with engine.begin() as conn:
        for table in tables:
            for index in secondary_indexes(table):
                index.drop(conn, checkfirst=True)
                dropped.append(str(index.name))
    return dropped


def ensure_indexes(engine: Engine, tables: Iterable[str] | None = None) -> list[str]:
    """Build every declared secondary index that is missing; return the names built."""
    chosen = list(Base.metadata.tables) if tables is None else list(tables)
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        missing = [
            index
            for table in chosen
            if inspector.has_table(table)
            for names in [{ix["name"] for ix in inspector.get_indexes(table)}]
            for index in secondary_indexes(table)
            if index.name not in names
        ]
        if missing and conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        for index in missing:
            index.create(conn)
    return [str(index.name) for index in missing]


#: Rows a load must have written to a table before its planner statistics and visibility map
#: are brought up to date at once, rather than when autovacuum next gets to it.
REFRESH_AFTER_ROWS = 10_000


def refresh_statistics(engine: Engine, written: Mapping[str, int]) -> list[str]:
    """PostgreSQL: ``VACUUM (ANALYZE)`` every table a load wrote at least
    :data:`REFRESH_AFTER_ROWS` rows to; return their names. Until autovacuum reaches a freshly
    bulk-loaded table its visibility map is empty, so an index-only scan reads the table too,
    and the planner's row estimates are those of the table before the load (the workspace's
    age-and-reason filter at 1,000,000 reports: 3.10 s before, 0.55 s after; see
    bench/results/workspace.md). SQLite keeps no such state: nothing to do."""
    if engine.dialect.name != "postgresql":
        return []
    chosen = sorted(
        t for t, n in written.items() if n >= REFRESH_AFTER_ROWS and t in Base.metadata.tables
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in chosen:  # names from the models, never from input
            conn.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
    return chosen


# -- a store that is restarting, locked or slow ------------------------------------------------

#: What a store in trouble raises: a lost or refused connection, a lock or statement timeout,
#: SQLite's "database is locked", or no pooled connection free in time. Routes that must keep
#: what was typed catch these; the app's error handler turns any other into a 503 page.
STORE_TROUBLE: tuple[type[Exception], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
)

# PostgreSQL SQLSTATEs worth one more try at once: the connection failed or the server is
# shutting down or starting (a restart), a serialization failure or a deadlock. A lock timeout
# (55P03) is not: it has already waited, and waiting again would only double the wait.
_PG_RETRY = {
    *("08000", "08001", "08003", "08004", "08006"),  # connection failures
    *("57P01", "57P02", "57P03"),  # shutting down, crashed, starting up
    *("40001", "40P01"),  # serialization failure, deadlock
}


def worth_retrying(exc: BaseException) -> bool:
    """True for a failure that another try, at once, may not meet (see ``with_retries``)."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return False
    if getattr(exc.orig, "sqlstate", None) in _PG_RETRY:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database table is locked" in text


def with_retries(
    work: Callable[[], T],
    *,
    session: Session | None = None,
    attempts: int = 3,
    budget_s: float = 3.0,
    pause_s: float = 0.1,
) -> T:
    """Run ``work`` (one whole transaction) again, up to ``attempts`` times, while it fails in a
    way ``worth_retrying`` and less than ``budget_s`` has passed; roll ``session`` back between
    tries. Bounded both ways, so a store that stays down gives its error within about
    ``budget_s`` plus one try, for the caller's 503."""
    started = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except STORE_TROUBLE as exc:
            if session is not None:
                with suppress(*STORE_TROUBLE):
                    session.rollback()
            spent = time.monotonic() - started
            if attempt == attempts or spent >= budget_s or not worth_retrying(exc):
                raise
            time.sleep(pause_s * attempt)
    raise AssertionError("unreachable")  # pragma: no cover
