"""The places bench's PostgreSQL store: the cached SQLite store's places and word index copied
into a database of their own (``saferstreets_bench_<seed, size and schema>``), built once and
reused like the SQLite store, so saferstreets' search and reverse lookup are timed on the
production store on the same names.

Used when ``SAFERSTREETS_BENCH_POSTGRES_URL`` (else ``SAFERSTREETS_TEST_POSTGRES_URL``) names a
server; the database is made there with ``CREATE DATABASE``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

MARK = "bench_built"  # a table holding when the copy finished: present only once it has


def server_url() -> str | None:
    return os.environ.get("SAFERSTREETS_BENCH_POSTGRES_URL") or os.environ.get(
        "SAFERSTREETS_TEST_POSTGRES_URL"
    )


def postgres_store(store: Path) -> tuple[sa.Engine, dict[str, Any]] | None:
    """An engine on the PostgreSQL copy of ``store`` (made if missing) and how it was built;
    None when no server is configured or it does not answer."""
    from saferstreets.db import make_engine

    url = server_url()
    if not url:
        return None
    stem = store.stem.removeprefix("places-").replace("-", "_")
    name = f"saferstreets_bench_{stem}_{_schema_tag()}"
    assert len(name) <= 63, name  # PostgreSQL would cut a longer name short
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            query = sa.text("SELECT 1 FROM pg_database WHERE datname = :n")
            exists = conn.scalar(query, {"n": name})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        print(f"   PostgreSQL does not answer ({str(exc.orig).splitlines()[0]}): skipped")
        return None
    finally:
        admin.dispose()
    target = sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(target)
    with engine.connect() as conn:
        built = conn.execute(
            sa.text(f"SELECT seconds, load_average FROM {MARK}")
            if sa.inspect(conn).has_table(MARK)
            else sa.text("SELECT NULL WHERE false")
        ).first()
    if built is not None:
        print(f"   reusing the PostgreSQL copy {name}", flush=True)
        return engine, {"copy_s": built[0], "load_average": built[1], "reused": True}
    started = time.perf_counter()
    _copy(store, engine)
    seconds = time.perf_counter() - started
    load = os.getloadavg()[0]
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {MARK} (seconds float, load_average float)"))
        conn.execute(sa.text(f"INSERT INTO {MARK} VALUES (:s, :l)"), {"s": seconds, "l": load})
    print(f"   copied into PostgreSQL {name}: {seconds:.0f} s", flush=True)
    return engine, {"copy_s": seconds, "load_average": load, "reused": False}


def _schema_tag() -> str:
    """A digest of the gazetteer's tables as PostgreSQL makes them (its indexes can differ from
    SQLite's): a copy made for another schema is not reused."""
    import hashlib

    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    from saferstreets.places.models import Place, PlaceWord

    ddl = []
    for table in (Place.__table__, PlaceWord.__table__):
        ddl.append(str(CreateTable(table).compile(dialect=postgresql.dialect())))  # type: ignore[arg-type]
        ddl += sorted(
            str(CreateIndex(i).compile(dialect=postgresql.dialect()))
            for i in table.indexes  # type: ignore[attr-defined]
        )
    return hashlib.sha256("\n".join(ddl).encode()).hexdigest()[:6]


def _copy(store: Path, engine: sa.Engine) -> None:
    """Every table made; the places and words copied (COPY) before their indexes are made."""
    from saferstreets.all_models import Base
    from saferstreets.places.models import Place, PlaceWord

    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    tables = [Place.__table__, PlaceWord.__table__]
    with engine.begin() as conn:
        for table in tables:
            for index in table.indexes:  # type: ignore[attr-defined]
                index.drop(conn)
    source = sqlite3.connect(store)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table in tables:
            columns = [c.name for c in table.columns]  # type: ignore[attr-defined]
            rows = source.execute(f"SELECT {', '.join(columns)} FROM {table.name}")  # type: ignore[attr-defined]
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
        source.close()
    with engine.begin() as conn:
        conn.execute(sa.text("SET maintenance_work_mem = '512MB'"))
        for table in tables:
            for index in table.indexes:  # type: ignore[attr-defined]
                index.create(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE place"))
        conn.execute(sa.text("VACUUM ANALYZE place_word"))


def warm(engine: sa.Engine) -> None:
    """Read the places, words and their indexes into memory (``pg_prewarm``), as for SQLite."""
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        relations = conn.scalars(
            sa.text(
                "SELECT c.relname FROM pg_class c WHERE c.relname IN ('place', 'place_word') "
                "OR c.oid IN (SELECT indexrelid FROM pg_index i JOIN pg_class t "
                "ON t.oid = i.indrelid WHERE t.relname IN ('place', 'place_word'))"
            )
        ).all()
        for relation in relations:
            conn.execute(sa.text("SELECT pg_prewarm(:r, 'read')"), {"r": relation})
