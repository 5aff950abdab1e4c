"""Recorded crime: import police.uk files into the store, and ask what became of a crime.

``import_crime`` takes files, folders and zips (a police.uk download unzipped or not), reads each
CSV with :mod:`saferstreets.crime.policeuk` (on a second thread, ahead of storing), and stores each
file in short transactions (so that a report posted meanwhile never waits long for SQLite's write
lock) under an import run that is marked ``ok`` only at the end: a file that fails half-way has
its rows deleted again and can be imported again. Rows are keyed (``row_key``) so that importing
the same rows again, from the same file or an overlapping download, stores nothing twice. SQLite
is filled with ``executemany``; PostgreSQL with ``COPY``, straight into the table in a bulk load,
else into a temporary table and one ``INSERT ... ON CONFLICT DO NOTHING``. A bulk load on
PostgreSQL (many rows into a table holding few) builds the table's secondary indexes after the
rows are in.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from saferstreets.areas.lsoa_lookup import fill_crime_lsoa21
from saferstreets.areas.models import Area, LsoaLookup
from saferstreets.config import Settings, get_settings
from saferstreets.crime.models import Crime, Outcome, StopSearch
from saferstreets.crime.offences import outcome_group
from saferstreets.crime.policeuk import (
    KIND_LABELS,
    KIND_TABLES,
    NAME_PATTERNS,
    POLICE_UK_NAME,
    STREET,
    ParsedFile,
    crime_key,
    detect_kind,
    parse_header,
    read_file,
)
from saferstreets.db import (
    Base,
    claim,
    committing,
    drop_secondary_indexes,
    ensure_indexes,
    in_short_transactions,
    is_postgres,
    let_writers_in,
    refresh_statistics,
    session_scope,
)
from saferstreets.errors import AppError, InputFileError
from saferstreets.ingest.archives import ZIP_ERRORS, check_member, unsafe_name
from saferstreets.ingest.models import ImportRun
from saferstreets.ingest.service import (
    MAX_PROBLEMS_SHOWN,
    ImportSteps,
    ImportSummary,
    already_imported,
    finish_run,
    quarantine,
    record_failure,
    settled,
    start_run,
    to_utf8,
)
from saferstreets.models_common import LEVEL_COLUMNS, utcnow
from saferstreets.progress import Progress

SQLITE_CACHE_KIB = 262_144  # 256 MiB of page cache: a national year's key index stays in memory
# Rows handed to the store at once (one executemany or COPY); transactions hold as many of these
# as ``db.WRITE_HOLD_S`` allows, so a long import never keeps SQLite's write lock for long.
CHUNK_ROWS = {"sqlite": 2_000, "postgresql": 20_000}
CRIME_KINDS = tuple(KIND_TABLES)
# An import bringing this many rows or more into a table holding fewer is a bulk load.
BULK_MIN_ROWS = 50_000
BYTES_PER_ROW = 230  # police.uk street and outcome rows average 228 and 231 bytes (Herts 2021)
CRIME_TABLES = tuple(KIND_TABLES.values())
PREFETCH = 2  # files read and checked ahead of the one being stored (bounds the memory held)
# The point's H3 cell and areas, stored with the row when the import computes them.
LOCATED_COLUMNS = ("h3_cell", *LEVEL_COLUMNS.values())


@dataclass(frozen=True)
class Member:
    """One CSV to import: a file on disk, or a member of a zip."""

    source: str  # what messages and the quarantine call it: the path, or zip path + '!' + member
    path: Path
    member: str | None = None
    size: int = 0  # bytes (uncompressed), to estimate how many rows an import brings

    def read(self) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        try:
            with zipfile.ZipFile(self.path) as archive:
                check_member(archive.getinfo(self.member), self.source)  # a bomb is not read
                return archive.read(self.member)
        except ZIP_ERRORS as exc:
            raise InputFileError(
                self.source, f"cannot be unpacked: {exc}", hint="download the zip again"
            ) from None


# --------------------------------------------------------------------------- finding the files


def _looks_police_uk(name: str) -> bool:
    return bool(POLICE_UK_NAME.search(name))


def collect_members(paths: Sequence[Path]) -> tuple[list[Member], list[ImportSummary]]:
    """Every CSV under ``paths`` (files, folders, zips), and what was passed over and why.

    A CSV named on the command line is always read (so a wrong file gets a clear message). In
    folders and zips, files that are not CSV are passed over and listed; so are CSVs whose header
    is not police.uk's, unless their name says they are one (then they fail with the reason).
    """
    members: list[Member] = []
    ignored: list[ImportSummary] = []

    def ignore(source: str, why: str) -> None:
        ignored.append(ImportSummary(kind="crime", source=source, status="ignored", message=why))

    def add_zip(path: Path) -> None:
        try:
            archive = zipfile.ZipFile(path)
        except ZIP_ERRORS as exc:
            raise InputFileError(
                path,
                "is not a readable zip file",
                hint="download it again; the file may be incomplete",
            ) from exc
        with archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                name = info.filename
                if info.is_dir():
                    continue
                source = f"{path}!{name}"
                base = name.rsplit("/", 1)[-1]
                if unsafe_name(name):
                    ignore(source, "a name that leads outside the archive: not read")
                elif name.startswith("__MACOSX/") or base.startswith("._"):
                    ignore(source, "macOS metadata, not data")
                elif not base.lower().endswith(".csv"):
                    ignore(source, "not a CSV file")
                elif _looks_police_uk(base) or _header_is_police_uk(archive, name):
                    members.append(
                        Member(source=source, path=path, member=name, size=info.file_size)
                    )
                else:
                    ignore(
                        source,
                        "a CSV, but not a police.uk street, outcomes or stop-and-search file",
                    )

    def add_folder(folder: Path) -> None:
        for item in sorted(folder.rglob("*")):
            if item.is_dir() or item.name.startswith("."):
                continue
            lower = item.name.lower()
            if lower.endswith(".zip"):
                add_zip(item)
            elif not lower.endswith(".csv"):
                ignore(str(item), "not a CSV or zip file")
            elif _looks_police_uk(item.name) or _file_header_is_police_uk(item):
                members.append(Member(source=str(item), path=item, size=item.stat().st_size))
            else:
                ignore(
                    str(item), "a CSV, but not a police.uk street, outcomes or stop-and-search file"
                )

    for path in paths:
        path = Path(path)
        if not path.exists():
            raise InputFileError(path, "does not exist", hint="check the path and try again")
        if path.is_dir():
            add_folder(path)
        elif path.suffix.lower() == ".zip" or (
            zipfile.is_zipfile(path) and path.suffix.lower() != ".csv"
        ):
            add_zip(path)
        else:
            members.append(Member(source=str(path), path=path, size=path.stat().st_size))
    return members, ignored


def _first_line(data: bytes) -> str:
    line = data.split(b"\n", 1)[0][:4096]
    try:
        return to_utf8(line, "")[0].decode("utf-8", errors="replace")
    except AppError:
        return ""


def _header_is_police_uk(archive: zipfile.ZipFile, name: str) -> bool:
    try:
        with archive.open(name) as handle:
            head = handle.read(4096)
    except ZIP_ERRORS:
        return False  # cannot be unpacked: passed over as not police.uk, and listed
    return detect_kind(parse_header(_first_line(head)), name) is not None


def _file_header_is_police_uk(path: Path) -> bool:
    with path.open("rb") as handle:
        return detect_kind(parse_header(_first_line(handle.read(4096))), path.name) is not None


# --------------------------------------------------------------------------- storing


_COLUMNS: dict[str, tuple[str, ...]] = {
    "crime": (
        "row_key", "crime_id", "month", "reported_by", "falls_within", "longitude", "latitude",
        "location", "source_lsoa_code", "source_lsoa_name", "crime_type", "last_outcome",
        "context", "crime_id_shared", "crime_id_occurrence", "import_run_id",
    ),
    "crime_outcome": (
        "row_key", "crime_id", "crime_key", "month", "reported_by", "falls_within", "longitude",
        "latitude", "location", "source_lsoa_code", "source_lsoa_name", "outcome_type",
        "import_run_id",
    ),
    "stop_search": (
        "row_key", "force", "type", "occurred_at", "part_of_policing_operation",
        "policing_operation", "latitude", "longitude", "gender", "age_range",
        "self_defined_ethnicity", "officer_defined_ethnicity", "legislation", "object_of_search",
        "outcome", "outcome_linked_to_object", "removal_of_outer_clothing", "import_run_id",
    ),
}  # fmt: skip


def store_rows(
    *,
    session: Session,
    table: str,
    frame: pl.DataFrame,
    run_id: int,
    steps: ImportSteps,
    bulk: bool = False,
) -> int:
    """Insert the rows whose ``row_key`` the table does not hold yet; return how many went in.

    ``bulk`` (a load into a table that held little before it): on PostgreSQL the rows are first
    copied straight into the table, and only if one of their keys is there already are they
    copied to a temporary table and inserted from it, skipping those keys.
    """
    if frame.height == 0:
        return 0
    columns = tuple(_COLUMNS[table]) + tuple(c for c in LOCATED_COLUMNS if c in frame.columns)
    frame = (
        frame.with_columns(pl.lit(run_id, pl.Int64).alias("import_run_id"))
        .select(columns)
        .sort("row_key")  # B-tree inserts in key order: about twice as fast on SQLite
    )
    if is_postgres(session):
        stored = _store_postgres(
            session=session, table=table, frame=frame, columns=columns, direct=bulk
        )
        steps.rows_done(frame.height)
        return stored
    return _store_sqlite(session=session, table=table, frame=frame, columns=columns, steps=steps)


def _store_sqlite(
    *,
    session: Session,
    table: str,
    frame: pl.DataFrame,
    columns: Sequence[str],
    steps: ImportSteps,
) -> int:
    raw = cast("sqlite3.Connection", session.connection().connection.dbapi_connection)
    cursor = raw.cursor()
    try:
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # page cache for index inserts
        # Table and column names come from _COLUMNS, never from input.
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join('?' * len(columns))}) "
            "ON CONFLICT (row_key) DO NOTHING"
        )
        cursor.executemany(sql, zip(*(c.to_list() for c in frame.get_columns()), strict=True))
        stored = max(cursor.rowcount, 0)
        steps.rows_done(frame.height)
        return stored
    finally:
        cursor.close()


def _store_postgres(
    *, session: Session, table: str, frame: pl.DataFrame, columns: Sequence[str], direct: bool
) -> int:
    import psycopg

    raw = cast(psycopg.Connection, session.connection().connection.dbapi_connection)
    names = ", ".join(columns)
    # Keys (bytes) as bytea's hex input form; everything else as polars writes it.
    binary = [c for c, dtype in frame.schema.items() if dtype == pl.Binary]
    as_text = frame.with_columns(
        pl.concat_str([pl.lit("\\x"), pl.col(c).bin.encode("hex")]).alias(c) for c in binary
    )
    payload = as_text.write_csv(include_header=False, null_value="").encode("utf-8")

    def copy_into(cursor: psycopg.Cursor[Any], target: str) -> None:
        # Table and column names come from _COLUMNS, never from input.
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN (FORMAT csv)") as copy:
            view = memoryview(payload)
            for start in range(0, len(payload), 1 << 20):
                copy.write(view[start : start + (1 << 20)])

    with raw.cursor() as cursor:
        if direct:
            cursor.execute("SAVEPOINT ss_direct_copy")
            try:
                copy_into(cursor, table)
            except psycopg.errors.UniqueViolation:  # some rows are held: skip them, below
                cursor.execute("ROLLBACK TO SAVEPOINT ss_direct_copy")
            else:
                cursor.execute("RELEASE SAVEPOINT ss_direct_copy")
                return frame.height
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS _ss_load_{table} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {names} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE _ss_load_{table}")
        copy_into(cursor, f"_ss_load_{table}")
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM _ss_load_{table} "  # noqa: S608
            "ON CONFLICT (row_key) DO NOTHING"
        )
        stored = cursor.rowcount
        cursor.execute(f"DROP TABLE _ss_load_{table}")
    return max(stored, 0)


# --------------------------------------------------------------------------- import


def import_crime(
    *,
    engine: Engine,
    paths: Sequence[Path],
    progress: Progress | None = None,
    recheck: bool = False,
    assign_areas: bool = True,
    settings: Settings | None = None,
) -> list[ImportSummary]:
    """Import police.uk street, outcomes and stop-and-search CSVs (files, folders or zips).

    One summary per file, in order, plus one per file passed over (status ``ignored``). Each file
    is all or nothing, though it is written in short transactions (see :func:`_import_file`), so
    that a report posted meanwhile is stored at once. A file whose exact bytes were imported
    before is skipped unless ``recheck``; either way no row is stored twice.

    Files are read, checked and located on a second thread, a few files ahead of the one being
    stored, so that parsing and the store's writing overlap. With ``assign_areas`` every row is
    stored with its H3 cell and its area at each imported level (computed before the insert, each
    distinct map point once), instead of being updated afterwards. Points are located at
    ``settings.h3_resolution`` (the process's settings when none are given).
    """
    resolution = (settings or get_settings()).h3_resolution
    members, ignored = collect_members(paths)
    steps = ImportSteps(progress)
    steps.begin(files=len(members))
    summaries: list[ImportSummary] = list(ignored)
    reader = _Reader(
        known=frozenset() if recheck else _imported_shas(engine),
        recheck=recheck,
        locate=_locator(engine, resolution) if assign_areas else None,
    )
    bulk = frozenset(_bulk_tables(engine, members))
    drop_secondary_indexes(engine, bulk)
    stream = _prepare_ahead(members, reader)
    try:
        for prepared in stream:
            steps.file_started(prepared.member.source)
            summary = _import_file(
                engine=engine, prepared=prepared, reader=reader, steps=steps, bulk=bulk
            )
            steps.file_done(summary)
            summaries.append(summary)
    finally:
        stream.close()
        # Builds what a bulk load dropped (also what an interrupted earlier load left out).
        ensure_indexes(engine, CRIME_TABLES)
    if assign_areas and any(s.rows_stored for s in summaries):
        located: dict[str, int] = {}
        for s in summaries:
            if s.kind in KIND_TABLES and s.details.get("located"):
                table = KIND_TABLES[s.kind]
                located[table] = located.get(table, 0) + s.details["located"]
        note = assign_crime_areas(engine=engine, already=located, resolution=resolution)
        summaries.append(
            ImportSummary(kind="areas", source="areas", status="ignored", message=note)
        )
    written: Counter[str] = Counter()
    for s in summaries:
        if s.kind in KIND_TABLES:
            written[KIND_TABLES[s.kind]] += s.rows_stored
    refresh_statistics(engine, written)
    return summaries


@dataclass
class _Prepared:
    """One file as the reading thread hands it over: parsed, or why it cannot be imported."""

    member: Member
    sha: str | None = None
    kind: str | None = None
    parsed: ParsedFile | None = None  # None: not read (imported before), or ``message`` says why
    message: str | None = None  # why the file cannot be imported at all


@dataclass(frozen=True)
class _Reader:
    """Reads, checks and locates files; safe to run on a thread (it never touches the store)."""

    known: frozenset[str]  # sha256 of files already imported: not parsed again
    recheck: bool
    locate: Callable[[pl.DataFrame], pl.DataFrame] | None

    def prepare(self, member: Member) -> _Prepared:
        prepared = _Prepared(member=member)
        try:
            data = member.read()
            prepared.sha = hashlib.sha256(data).hexdigest()
            prepared.kind = detect_kind(parse_header(_first_line(data)), member.source)
            if prepared.kind and not self.recheck and prepared.sha in self.known:
                return prepared  # the store confirms it was imported; nothing to parse
            prepared.parsed = self.parse(data, member.source, prepared.kind)
        except (AppError, OSError, zipfile.BadZipFile) as exc:
            prepared.message = _failure_message(member.source, exc)
        return prepared

    def parse(self, data: bytes, source: str, kind: str | None) -> ParsedFile:
        parsed = read_file(data, source, kind=kind)
        if self.locate is not None and "latitude" in parsed.frame.columns:
            parsed.frame = self.locate(parsed.frame)
        return parsed


def _prepare_ahead(members: Sequence[Member], reader: _Reader) -> Generator[_Prepared, None, None]:
    """``reader.prepare`` of each member, in order, computed ``PREFETCH`` files ahead."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="saferstreets-read") as pool:
        queue: deque[Future[_Prepared]] = deque()
        upcoming = iter(members)
        try:
            for member in itertools.islice(upcoming, PREFETCH):
                queue.append(pool.submit(reader.prepare, member))
            while queue:
                prepared = queue.popleft().result()
                following = next(upcoming, None)
                if following is not None:
                    queue.append(pool.submit(reader.prepare, following))
                yield prepared
        finally:
            for future in queue:
                future.cancel()


def _bulk_tables(engine: Engine, members: Sequence[Member]) -> list[str]:
    """The tables this import loads in bulk, on PostgreSQL: it brings at least ``BULK_MIN_ROWS``
    rows (estimated from the files' sizes) and more than the table holds. Their secondary
    indexes are dropped for the load and built again at the end, which is cheaper than keeping
    them up row by row.
    """
    if not is_postgres(engine):
        return []  # on SQLite building an index holds the store's write lock for seconds
    incoming: dict[str, int] = {}
    for member in members:
        kind = next(
            (k for k, pattern in NAME_PATTERNS.items() if pattern.search(member.source)), STREET
        )
        incoming[KIND_TABLES[kind]] = (
            incoming.get(KIND_TABLES[kind], 0) + member.size // BYTES_PER_ROW
        )
    bulk = []
    with engine.connect() as conn:
        for table, rows in incoming.items():
            if rows < BULK_MIN_ROWS:
                continue
            column = Base.metadata.tables[table].c.id
            held = conn.scalar(sa.select(sa.func.max(column))) or 0  # the primary key's index
            if rows > held:
                bulk.append(table)
    return bulk


def _imported_shas(engine: Engine) -> frozenset[str]:
    """The sha256 of every police.uk file imported successfully before."""
    with session_scope(engine) as session:
        return frozenset(
            session.scalars(
                sa.select(ImportRun.sha256).where(
                    ImportRun.kind.in_(CRIME_KINDS),
                    ImportRun.status == "ok",
                    ImportRun.sha256.is_not(None),
                )
            )
        )


def _locator(engine: Engine, resolution: int) -> Callable[[pl.DataFrame], pl.DataFrame] | None:
    """A function giving a frame of points its ``Located`` columns (H3 cells at ``resolution``)
    from the store's areas, or None when the store has no areas."""
    from saferstreets.areas.service import AreaIndex, point_columns

    with session_scope(engine) as session:
        if not session.scalar(sa.select(sa.func.count()).select_from(Area)):
            # No boundaries yet: rows stay unassigned (no H3 cell either), so that the first
            # boundary import or the next crime import assigns them as it does every other row.
            return None
        index = AreaIndex.from_session(session, levels=list(LEVEL_COLUMNS))

    def locate(frame: pl.DataFrame) -> pl.DataFrame:
        columns = point_columns(
            frame["latitude"].to_numpy(), frame["longitude"].to_numpy(),
            index=index, resolution=resolution,
        )  # fmt: skip
        return frame.hstack(
            [pl.Series(name, values.tolist(), dtype=pl.String) for name, values in columns.items()]
        )

    return locate


def _import_file(
    *,
    engine: Engine,
    prepared: _Prepared,
    reader: _Reader,
    steps: ImportSteps,
    bulk: frozenset[str] = frozenset(),
) -> ImportSummary:
    """One file: stored whole, skipped, or failed with nothing of it kept.

    The file's run is opened (``running``) and committed first; its rows, which carry the run's
    id, are then written in short transactions (``db.in_short_transactions``); its quarantine and
    its counts are committed last, with the run marked ``ok``. A file that fails on the way has
    its rows deleted again and its run marked failed; one whose import was cut short (a worker
    killed) is cleared the same way by the next import of the same file (:func:`_clear_cut_short`).
    """
    member = prepared.member
    summary = ImportSummary(kind="crime", source=member.source)
    message = prepared.message
    run_id: int | None = None
    table: str | None = None
    if message is None:
        try:
            if _skipped(engine, prepared, reader, summary):
                return summary
            parsed = prepared.parsed
            if parsed is None:  # the reader took it for imported; the store says otherwise
                parsed = reader.parse(member.read(), member.source, prepared.kind)
            summary.kind, table = parsed.kind, parsed.table
            assert prepared.sha is not None
            with claim(engine, f"import {parsed.kind} {prepared.sha}") as ours:
                if not ours:  # another import of these same bytes is writing now
                    _being_imported(summary)
                    return summary
                _clear_cut_short(engine, kind=parsed.kind, sha=prepared.sha)
                with session_scope(engine) as session:
                    run_id = start_run(
                        session=session,
                        kind=parsed.kind,
                        source=parsed.source,
                        sha256=prepared.sha,
                    ).id
                _store_parsed(
                    engine=engine, parsed=parsed, run_id=run_id, summary=summary, steps=steps,
                    bulk=parsed.table in bulk,
                )  # fmt: skip
            return summary
        except (AppError, OSError, zipfile.BadZipFile, sa.exc.SQLAlchemyError) as exc:
            message = _failure_message(member.source, exc)
    summary.status = "failed"
    summary.message = message
    summary.rows_stored = summary.rows_duplicate = summary.rows_quarantined = 0
    kind_for_run = summary.kind if summary.kind in CRIME_KINDS else "crime"
    summary.run_id = _record_failed_file(
        engine, run_id=run_id, table=table, kind=kind_for_run, source=member.source,
        sha=prepared.sha, message=message,
    )  # fmt: skip
    return summary


def _being_imported(summary: ImportSummary) -> None:
    """Fill ``summary`` for a file whose same bytes another import is storing at this moment."""
    summary.status = "skipped"
    summary.rows_read = summary.rows_stored = summary.rows_duplicate = 0
    summary.message = (
        "the same file is being imported now by another import; nothing was read again "
        "(its rows count once that import finishes)"
    )


def _skipped(engine: Engine, prepared: _Prepared, reader: _Reader, summary: ImportSummary) -> bool:
    """Fill ``summary`` as skipped and say so if the store holds this file's bytes already."""
    if not (prepared.kind and prepared.sha and not reader.recheck):
        return False
    with session_scope(engine) as session:
        previous = already_imported(session=session, kind=prepared.kind, sha256=prepared.sha)
        if previous is None:
            return False
        summary.kind = previous.kind
        summary.status = "skipped"
        summary.rows_read = previous.rows_read
        summary.rows_duplicate = previous.rows_read - previous.rows_quarantined
        summary.message = (
            f"the same file was imported on {previous.finished_at:%Y-%m-%d %H:%M} "
            f"(run {previous.id}); nothing read again"
        )
    return True


def _store_parsed(
    *,
    engine: Engine,
    parsed: ParsedFile,
    run_id: int,
    summary: ImportSummary,
    steps: ImportSteps,
    bulk: bool = False,
) -> None:
    summary.rows_read = parsed.rows_read
    size = CHUNK_ROWS.get(engine.dialect.name, CHUNK_ROWS["postgresql"])
    frame = parsed.frame.sort("row_key")  # chunks in key order: B-tree inserts stay local
    chunks = (frame.slice(start, size) for start in range(0, frame.height, size))

    def write(session: Session, chunk: pl.DataFrame) -> int:
        return store_rows(
            session=session, table=parsed.table, frame=chunk, run_id=run_id, steps=steps,
            bulk=bulk,
        )  # fmt: skip

    stored = sum(in_short_transactions(engine, chunks, write))
    summary.rows_stored = stored
    summary.rows_duplicate = parsed.frame.height - stored
    summary.rows_quarantined = len(parsed.problems)
    summary.problems = parsed.problems[:MAX_PROBLEMS_SHOWN]
    summary.notes = list(parsed.notes)
    summary.details = dict(parsed.details)
    if "h3_cell" in parsed.frame.columns:  # located as read: rows stored with their areas
        summary.details["located"] = min(int(parsed.frame["h3_cell"].is_not_null().sum()), stored)
    bits = []
    if parsed.details.get("no_location"):
        bits.append(f"{parsed.details['no_location']:,} without location")
    if parsed.details.get("no_crime_id"):
        bits.append(f"{parsed.details['no_crime_id']:,} without Crime ID")
    summary.message = "; ".join(bits) or None
    with session_scope(engine) as session:
        if parsed.kind == STREET and stored and session.scalar(sa.select(LsoaLookup.id).limit(1)):
            # police.uk's 2011 LSOA, in 2021; in batches, before the run counts
            fill_crime_lsoa21(session=session, run_id=run_id, settle=committing(session))
    with session_scope(engine) as session:
        run = session.get_one(ImportRun, run_id)
        quarantine(
            session=session, run=run, kind=parsed.kind, problems=parsed.problems, skip_known=True
        )
        finish_run(session=session, run=run, summary=summary)


def _delete_run_rows(engine: Engine, table: str, run_ids: Sequence[int]) -> int:
    """Delete the rows these import runs stored, in short transactions; how many."""
    column = Base.metadata.tables[table].c
    size = CHUNK_ROWS.get(engine.dialect.name, CHUNK_ROWS["postgresql"])
    deleted = 0
    while True:
        with session_scope(engine) as session:
            held = sa.select(column.id).where(column.import_run_id.in_(run_ids)).limit(size)
            ids = session.scalars(held).all()
            if ids:
                session.execute(sa.delete(Base.metadata.tables[table]).where(column.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < size:
            return deleted
        let_writers_in(engine)


def _clear_cut_short(engine: Engine, *, kind: str, sha: str) -> None:
    """Undo an earlier import of this same file that never finished (its worker was killed):
    its rows are deleted and its run marked failed, so they are stored again, under this run."""
    with session_scope(engine) as session:
        runs = list(
            session.scalars(
                sa.select(ImportRun.id).where(
                    ImportRun.kind == kind, ImportRun.sha256 == sha, ImportRun.status == "running"
                )
            )
        )
    if not runs:
        return
    _delete_run_rows(engine, KIND_TABLES[kind], runs)
    with session_scope(engine) as session:
        session.execute(
            sa.update(ImportRun)
            .where(ImportRun.id.in_(runs))
            .values(status="failed", finished_at=utcnow(),
                    message="cut short before it finished; its rows were removed")
        )  # fmt: skip


def _record_failed_file(
    engine: Engine,
    *,
    run_id: int | None,
    table: str | None,
    kind: str,
    source: str,
    sha: str | None,
    message: str,
) -> int | None:
    """Record a file that failed, with none of its rows kept; the run's id (None if the store
    cannot be reached: then the next import of the file clears what it left)."""
    try:
        if run_id is not None and table is not None:
            _delete_run_rows(engine, table, [run_id])
            with session_scope(engine) as session:
                run = session.get_one(ImportRun, run_id)
                run.status, run.message, run.finished_at = "failed", message, utcnow()
            return run_id
        with session_scope(engine) as session:
            return record_failure(
                session=session, kind=kind, source=source, sha256=sha, message=message
            ).id
    except sa.exc.SQLAlchemyError:
        return run_id


def _failure_message(source: str, exc: Exception) -> str:
    """What the summary says of a file that could not be imported (nothing of it is kept)."""
    if isinstance(exc, AppError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    if isinstance(exc, sa.exc.SQLAlchemyError):
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return f"{source}: the store refused the rows ({first}); nothing was stored"
    return f"{source}: cannot be read: {exc}"


def assign_crime_areas(
    *, engine: Engine, already: dict[str, int] | None = None, resolution: int | None = None
) -> str:
    """Give crime, outcome and stop-and-search points still without areas their areas; say what
    was done. ``already`` counts, per table, the rows stored with their areas by the import;
    ``resolution`` is the H3 resolution (the process's setting when None)."""
    from saferstreets.areas import service as areas_service

    with session_scope(engine) as session:
        has_areas = session.scalar(sa.select(sa.func.count()).select_from(Area)) or 0
    if not has_areas:
        return (
            "points not assigned to areas yet: no boundaries are imported "
            "(import boundaries and points are assigned then)"
        )
    try:
        assigned = areas_service.assign_points(
            engine=engine,
            tables=[Crime.__tablename__, Outcome.__tablename__, StopSearch.__tablename__],
            only_missing=True,
            h3_resolution=resolution,
        )
    except (AppError, sa.exc.SQLAlchemyError) as exc:
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return (
            f"the rows are stored, but giving points their areas failed ({first}); "
            "run: saferstreets areas assign"
        )
    done = {t: n + (already or {}).get(t, 0) for t, n in assigned.items()}
    return "points given their areas: " + ", ".join(f"{t} {n:,}" for t, n in done.items())


# --------------------------------------------------------------------------- questions


@dataclass(frozen=True)
class HistoryEvent:
    """One step in a crime's life: recorded (from the street file) or an outcome."""

    month: date
    event: str  # recorded | outcome
    description: str  # the crime type, or the outcome type
    group: str | None  # the outcome's group (offences.OUTCOME_GROUPS), None for 'recorded'
    location: str | None
    source_run_id: int | None


CRIME_COUNTING = ("rows", "distinct_ids")


def counted(how: str) -> sa.ColumnElement[bool]:
    """Which crime rows a count takes: ``rows`` every row, as police.uk counts them (the
    default), or ``distinct_ids`` one row per Crime ID (the first of rows sharing one; a row
    without an ID, anti-social behaviour, always counts). Rows of a file still being imported
    never count (:func:`~saferstreets.ingest.service.settled`)."""
    if how == "distinct_ids":
        return sa.and_(Crime.crime_id_occurrence == 0, settled(Crime))
    return settled(Crime)


def crime_history(*, session: Session, crime_id: str) -> list[HistoryEvent]:
    """A crime's recorded row (if held) then its outcomes in month order."""
    events: list[HistoryEvent] = []
    key = crime_key(crime_id)
    crime = session.scalar(sa.select(Crime).where(Crime.row_key == key, Crime.crime_id == crime_id))
    if crime is not None:
        events.append(
            HistoryEvent(
                month=crime.month,
                event="recorded",
                description=crime.crime_type,
                group=None,
                location=crime.location,
                source_run_id=crime.import_run_id,
            )
        )
    outcomes = session.scalars(
        sa.select(Outcome)
        .where(Outcome.crime_key == key, Outcome.crime_id == crime_id)
        .order_by(Outcome.month, Outcome.id)
    )
    for o in outcomes:
        events.append(
            HistoryEvent(
                month=o.month,
                event="outcome",
                description=o.outcome_type,
                group=outcome_group(o.outcome_type),
                location=o.location,
                source_run_id=o.import_run_id,
            )
        )
    return events


@dataclass(frozen=True)
class OutcomeCount:
    crime_type: str
    outcome_type: str
    group: str
    count: int


def outcomes_by_crime_type(
    *,
    session: Session,
    crime_types: Sequence[str] | None = None,
    month_from: date | None = None,
    month_to: date | None = None,
) -> list[OutcomeCount]:
    """Outcome events counted by their crime's type (outcomes joined to crimes on Crime ID).

    The months filter the crime's month (when it was recorded). Outcomes whose crime is not held
    (recorded before the first month imported) are left out: import the earlier street files.
    """
    query = (
        sa.select(Crime.crime_type, Outcome.outcome_type, sa.func.count())
        .join(Crime, Crime.row_key == Outcome.crime_key)  # the Crime ID's key, both indexed
        .where(settled(Outcome), settled(Crime))
        .group_by(Crime.crime_type, Outcome.outcome_type)
        .order_by(Crime.crime_type, sa.func.count().desc(), Outcome.outcome_type)
    )
    if crime_types:
        query = query.where(Crime.crime_type.in_(list(crime_types)))
    if month_from:
        query = query.where(Crime.month >= month_from)
    if month_to:
        query = query.where(Crime.month <= month_to)
    return [
        OutcomeCount(crime_type=c, outcome_type=o, group=outcome_group(o), count=int(n))
        for c, o, n in session.execute(query).all()
    ]


def iter_summaries_by_kind(
    summaries: Sequence[ImportSummary],
) -> Iterator[tuple[str, list[ImportSummary]]]:
    """Summaries grouped by kind label (street, outcomes, stop-and-search), in that order."""
    for kind, label in KIND_LABELS.items():
        group = [s for s in summaries if s.kind == kind]
        if group:
            yield label, group


def crime_counts(*, session: Session) -> dict[str, Any]:
    """Crimes, outcomes and stop-and-search rows held, with how many lack a location or Crime ID."""

    def count(query: Any) -> int:
        return int(session.scalar(query) or 0)

    return {
        "crimes": count(sa.select(sa.func.count()).select_from(Crime)),
        "crimes_without_location": count(
            sa.select(sa.func.count()).select_from(Crime).where(Crime.latitude.is_(None))
        ),
        "crimes_without_crime_id": count(
            sa.select(sa.func.count()).select_from(Crime).where(Crime.crime_id.is_(None))
        ),
        "outcomes": count(sa.select(sa.func.count()).select_from(Outcome)),
        "stop_and_search": count(sa.select(sa.func.count()).select_from(StopSearch)),
    }
