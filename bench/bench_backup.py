"""Backup and restore of the demo store: ``export-all``/``restore`` beside each engine's own tool.

The demo county (seed 7) is built in SQLite; then, each timed:
saferstreets ``export-all`` from SQLite beside SQLite's online backup API (``Connection.backup``);
``restore`` into an empty PostgreSQL database beside ``pg_restore`` of a ``pg_dump -Fc`` of the
same data; ``export-all`` from PostgreSQL beside ``pg_dump -Fc``; ``restore`` into SQLite. The
peers copy one engine to the same engine only; ours crosses engines. Nothing lost is checked:
every table's row count and SHA-256 in the first and last backups' manifests are equal (except
``audit_event``, which gains the backup and restore events). Needs the local PostgreSQL server
(``SAFERSTREETS_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import markdown_table, timed

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _pg_url() -> str:
    url = os.environ.get("SAFERSTREETS_TEST_POSTGRES_URL", ADMIN)
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _database(admin: sa.Engine, name: str) -> str:
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return sa.engine.make_url(_pg_url()).set(database=name).render_as_string(hide_password=False)


def _manifest(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        return dict(json.loads(zf.read("manifest.json"))["tables"])


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def run(*, quick: bool) -> str:
    from rich.console import Console

    from saferstreets.backup.service import export_all, restore
    from saferstreets.config import Settings
    from saferstreets.db import dispose_engines, make_engine
    from saferstreets.demo.pipeline import run_demo
    from saferstreets.migrate import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    settings = Settings(env="test", data_dir=tmp / "var", secret_key="x" * 40)
    _, used = run_demo(settings=settings, seed=7, out=None, console=Console(quiet=True))
    dispose_engines()
    source_db = Path(sa.engine.make_url(used.sqlalchemy_url).database or "")
    sqlite_engine = make_engine(used.sqlalchemy_url)
    admin = sa.create_engine(_pg_url(), isolation_level="AUTOCOMMIT")
    names = [f"bench_backup_{uuid.uuid4().hex[:8]}_{i}" for i in range(2)]
    try:
        ours_out, summary = timed(lambda: export_all(engine=sqlite_engine, path=tmp / "one.zip"))
        print(f"   export-all from SQLite: {ours_out:.1f} s", flush=True)

        def sqlite_backup() -> None:
            with sqlite3.connect(source_db) as src, sqlite3.connect(tmp / "copy.db") as dst:
                src.backup(dst)

        peer_out, _ = timed(sqlite_backup)
        pg_url = _database(admin, names[0])
        pg = make_engine(pg_url)
        upgrade(pg)
        ours_in, _ = timed(lambda: restore(engine=pg, path=tmp / "one.zip"))
        print(f"   restore into PostgreSQL: {ours_in:.1f} s", flush=True)
        plain = sa.engine.make_url(pg_url).set(drivername="postgresql").render_as_string(False)
        peer_dump, _ = timed(lambda: _run(["pg_dump", "-Fc", "-f", str(tmp / "pg.dump"), plain]))
        ours_pg_out, _ = timed(lambda: export_all(engine=pg, path=tmp / "two.zip"))
        other = sa.engine.make_url(_database(admin, names[1])).set(drivername="postgresql")
        peer_restore, _ = timed(
            lambda: _run(["pg_restore", "-d", other.render_as_string(False), str(tmp / "pg.dump")])
        )
        last = make_engine(f"sqlite:///{tmp / 'last.db'}")
        upgrade(last)
        ours_sqlite_in, _ = timed(lambda: restore(engine=last, path=tmp / "two.zip"))
        export_all(engine=last, path=tmp / "three.zip")
        first, third = _manifest(tmp / "one.zip"), _manifest(tmp / "three.zip")
        differ = sorted(t for t in first if first[t]["sha256"] != third[t]["sha256"])
        pg.dispose()
        last.dispose()
    finally:
        sqlite_engine.dispose()
        dispose_engines()
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    size = (tmp / "one.zip").stat().st_size / 1e6
    rows = [
        ["back up from SQLite", "export-all (zip of JSON Lines)", ours_out, size,
         "sqlite3 Connection.backup", peer_out, (tmp / "copy.db").stat().st_size / 1e6,
         ours_out / peer_out],
        ["back up from PostgreSQL", "export-all", ours_pg_out,
         (tmp / "two.zip").stat().st_size / 1e6,
         "pg_dump -Fc", peer_dump, (tmp / "pg.dump").stat().st_size / 1e6, ours_pg_out / peer_dump],
        ["restore into PostgreSQL", "restore", ours_in, size, "pg_restore", peer_restore,
         (tmp / "pg.dump").stat().st_size / 1e6, ours_in / peer_restore],
        ["restore into SQLite", "restore", ours_sqlite_in, size, "-", "-", "-", "-"],
    ]  # fmt: skip
    lost = [t for t in differ if t != "audit_event"]
    table = markdown_table(
        ["step", "saferstreets", "seconds", "MB", "peer", "peer seconds", "peer MB",
         "time vs peer"],
        rows,
    )  # fmt: skip
    return (
        f"{table}\n\nThe demo store: {summary.total:,} rows in {len(summary.rows)} tables. "
        f"SQLite -> PostgreSQL -> SQLite: tables whose rows differ after the round trip: "
        f"{', '.join(lost) or 'none'} (audit_event gains the backup and restore events: "
        f"{first['audit_event']['rows']:,} -> {third['audit_event']['rows']:,} rows). The peers "
        "copy one engine to the same engine and are binary; export-all crosses engines and can "
        "be read without a database.\n"
    )
