"""Back up the whole store to one file, and restore it, on SQLite or PostgreSQL alike.

``export_all`` writes every table of ``Base.metadata`` (the format: :mod:`.format`);
``restore`` checks the whole file first (manifest, schema revision, each table's row count and
SHA-256), then loads it in one transaction, so a bad file changes nothing. Both are audited.
Batch services: they take ``engine=`` and open their own transactions.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine

from saferstreets import __version__
from saferstreets.backup.format import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    column_kinds,
    decode_row,
    encode_row,
    member_name,
)
from saferstreets.errors import AppError, InputFileError, StoreError
from saferstreets.ingest.archives import ZIP_ERRORS
from saferstreets.models_common import utcnow
from saferstreets.progress import Progress, silent

__all__ = ["BackupSummary", "export_all", "restore", "store_tables"]

_BATCH = 2000  # rows per INSERT (executemany) when restoring
MAX_MANIFEST_BYTES = 1_000_000


@dataclass
class BackupSummary:
    """What a backup holds or a restore loaded: the schema revision and rows per table."""

    schema_revision: str
    created_at: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def store_tables() -> list[sa.Table]:
    """Every table of the store, parents before children (the order rows are restored in)."""
    import saferstreets.all_models  # noqa: F401 - every table in Base.metadata
    from saferstreets.db import Base

    return list(Base.metadata.sorted_tables)


def _order(table: sa.Table) -> list[sa.Column[Any]]:
    return list(table.primary_key.columns) or list(table.columns)


def export_all(*, engine: Engine, path: Path, progress: Progress | None = None) -> BackupSummary:
    """Write the whole store to ``path`` (a zip; see :mod:`saferstreets.backup.format`)."""
    from saferstreets.accounts.service import audit
    from saferstreets.db import session_scope
    from saferstreets.migrate import current_revision

    notify = progress or silent
    revision = current_revision(engine)
    if revision is None:
        raise StoreError("The store is empty (never migrated): there is nothing to back up")
    with session_scope(engine) as session:  # audited first, so the backup holds its own event
        audit(
            session=session,
            user=None,
            action="backup",
            object_kind="store",
            detail={"file": path.name},
        )
    summary = BackupSummary(schema_revision=revision, created_at=utcnow().isoformat())
    tables_info: dict[str, Any] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    tables = store_tables()
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        with engine.connect() as conn, conn.begin():  # one snapshot on PostgreSQL
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            for done, table in enumerate(tables, 1):
                tables_info[table.name] = _write_table(zf, conn, table)
                summary.rows[table.name] = tables_info[table.name]["rows"]
                notify("Backing up tables", done, len(tables))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "schema_revision": revision,
            "created_at": summary.created_at,
            "saferstreets_version": __version__,
            "tables": tables_info,
        }
        zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
    partial.replace(path)
    return summary


def _write_table(zf: zipfile.ZipFile, conn: Connection, table: sa.Table) -> dict[str, Any]:
    kinds = column_kinds(table)
    digest = hashlib.sha256()
    rows = 0
    result = conn.execution_options(yield_per=5000).execute(
        sa.select(table).order_by(*_order(table))
    )
    with zf.open(member_name(table.name), "w", force_zip64=True) as member:
        for row in result.mappings():
            line = (encode_row(kinds, dict(row)) + "\n").encode("utf-8")
            digest.update(line)
            member.write(line)
            rows += 1
    return {"rows": rows, "sha256": digest.hexdigest(), "columns": kinds}


# --- restore ---------------------------------------------------------------------------------


def restore(
    *,
    engine: Engine,
    path: Path,
    replace: bool = False,
    progress: Progress | None = None,
) -> BackupSummary:
    """Load a backup into this store, in one transaction; audited.

    Refuses (changing nothing) a file that is not a saferstreets backup, one whose schema
    revision differs from the store's, one whose tables or counts do not match its manifest,
    and a store that holds any row unless ``replace`` (which empties it first).
    """
    from saferstreets.accounts.service import audit
    from saferstreets.areas.lookup import forget as forget_area_index
    from saferstreets.db import session_factory
    from saferstreets.migrate import current_revision

    notify = progress or silent
    with _open_zip(path) as zf:
        manifest = _read_manifest(zf, path)
        revision = current_revision(engine)
        if manifest["schema_revision"] != revision:
            raise InputFileError(
                path,
                f"was made from a store at schema revision {manifest['schema_revision']}; "
                f"this store is at {revision or 'none (never migrated)'}",
                hint="restore it with the saferstreets version that made it, into a store "
                "that version created, then run: saferstreets db upgrade",
            )
        tables = _check_tables(zf, path, manifest)
        summary = BackupSummary(
            schema_revision=manifest["schema_revision"], created_at=manifest["created_at"]
        )
        with engine.begin() as conn:
            held = _rows_held(conn, tables)
            if held and not replace:
                raise AppError(
                    f"The store already holds {held:,} rows: restoring would mix two stores",
                    hint="restore into an empty store (saferstreets db upgrade on a new "
                    "database), or add --replace to delete everything in this one first",
                )
            if held:
                _empty(conn, tables)
            for done, table in enumerate(tables, 1):
                summary.rows[table.name] = _load_table(zf, path, conn, table, manifest)
                notify("Restoring tables", done, len(tables))
            _reset_sequences(conn, tables)
            with session_factory(engine)(bind=conn) as session:
                audit(
                    session=session,
                    user=None,
                    action="restore",
                    object_kind="store",
                    detail={
                        "file": path.name,
                        "backup_created_at": manifest["created_at"],
                        "schema_revision": revision,
                        "rows": summary.total,
                        "replaced_rows": held,
                    },
                )
                session.flush()
    forget_area_index()  # the store's areas are the backup's now
    return summary


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise InputFileError(path, "does not exist or is not a file", hint="check the path")
    try:
        return zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise InputFileError(path, f"is not a backup zip file ({exc})") from None


def _read_manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        raise InputFileError(path, f"has no {MANIFEST}: it is not a saferstreets backup") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise InputFileError(path, f"{MANIFEST} is too large to be a backup's manifest")
    try:
        manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except (*ZIP_ERRORS, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"{MANIFEST} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputFileError(path, f"{MANIFEST} does not describe a saferstreets backup")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InputFileError(
            path,
            f"is backup format {manifest.get('format_version')!r}; this version reads "
            f"format {FORMAT_VERSION}",
        )
    if not isinstance(manifest.get("tables"), dict):
        raise InputFileError(path, f"{MANIFEST} lists no tables")
    return manifest


def _check_tables(zf: zipfile.ZipFile, path: Path, manifest: dict[str, Any]) -> list[sa.Table]:
    """The store's tables, once the backup's tables, columns, counts and hashes all match."""
    tables = store_tables()
    listed = manifest["tables"]
    names = {t.name for t in tables}
    if set(listed) != names:
        extra = sorted(set(listed) - names) or sorted(names - set(listed))
        raise InputFileError(path, f"its tables differ from this store's (for example {extra[0]})")
    expected = {member_name(n) for n in names} | {MANIFEST}
    members = set(zf.namelist())
    if members != expected:
        odd = sorted(members ^ expected)[0]
        raise InputFileError(path, f"holds an unexpected or missing member {odd!r}")
    for table in tables:
        info = listed[table.name]
        if not isinstance(info, dict) or info.get("columns") != column_kinds(table):
            raise InputFileError(path, f"table {table.name}: its columns differ from this store's")
        digest = hashlib.sha256()
        lines = 0
        try:
            with zf.open(member_name(table.name)) as member:
                for line in member:
                    digest.update(line)
                    lines += 1
        except ZIP_ERRORS as exc:
            raise InputFileError(path, f"table {table.name} cannot be unpacked: {exc}") from None
        if lines != info.get("rows") or digest.hexdigest() != info.get("sha256"):
            raise InputFileError(
                path,
                f"table {table.name}: {lines:,} rows do not match the manifest's "
                f"{info.get('rows')!r} rows and checksum: the file is damaged",
            )
    return tables


def _rows_held(conn: Connection, tables: list[sa.Table]) -> int:
    return sum(int(conn.scalar(sa.select(sa.func.count()).select_from(t)) or 0) for t in tables)


def _empty(conn: Connection, tables: list[sa.Table]) -> None:
    if conn.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        return
    for table in reversed(tables):
        conn.execute(sa.delete(table))


def _writable(table: sa.Table) -> sa.Table:
    """The table with its JSON columns writing None as SQL NULL (as the backup holds it), less
    its generated columns (the store computes them again: ``had_text``)."""
    columns = []
    for c in table.columns:
        if c.computed is not None:
            continue
        ty: Any = c.type
        if isinstance(ty, sa.JSON):
            ty = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
        columns.append(sa.Column(c.name, ty, primary_key=c.primary_key, autoincrement=False))
    return sa.Table(table.name, sa.MetaData(), *columns)


def _load_table(
    zf: zipfile.ZipFile, path: Path, conn: Connection, table: sa.Table, manifest: dict[str, Any]
) -> int:
    kinds = column_kinds(table)
    target = _writable(table)
    generated = [c.name for c in table.columns if c.computed is not None]
    batch: list[dict[str, Any]] = []
    count = 0
    with zf.open(member_name(table.name)) as member:
        for number, line in enumerate(io.TextIOWrapper(member, encoding="utf-8"), 1):
            try:
                row = decode_row(kinds, line)
            except ValueError as exc:
                raise InputFileError(
                    path, f"table {table.name}, row {number}: {exc}", hint="the file is damaged"
                ) from None
            for name in generated:
                row.pop(name, None)
            batch.append(row)
            if len(batch) >= _BATCH:
                conn.execute(sa.insert(target), batch)
                count += len(batch)
                batch = []
    if batch:
        conn.execute(sa.insert(target), batch)
        count += len(batch)
    return count


def _reset_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    """On PostgreSQL, move each id sequence past the restored ids (SQLite needs nothing)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sa.Integer):
                continue
            seq = conn.scalar(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": table.name, "c": column.name},
            )
            if seq:
                highest = sa.select(sa.func.max(column)).scalar_subquery()
                conn.execute(
                    sa.select(sa.func.setval(seq, sa.func.coalesce(highest, 0) + 1, False))
                )
