"""Engine and session factory. SQLite in the data directory by default; PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


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
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


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


def is_postgres(bind: Engine | sa.Connection | Session) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "postgresql"


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
