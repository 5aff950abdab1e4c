"""The machinery every import shares: runs, problems, quarantine, and reading text honestly.

An importer opens a run per file, stores the good rows, hands the bad ones to ``quarantine`` with
the file, row and field, and closes the run with its counts. One transaction per file: a file
that fails half-way leaves the store as it was (the run is then recorded as failed, on its own).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.errors import InputFileError, NotFound, ValidationFailed
from saferstreets.exports import safe_cell
from saferstreets.ingest.models import ImportRun, QuarantinedRow
from saferstreets.models_common import utcnow


@dataclass
class Problem:
    """Why one row (or one field of it) could not be kept."""

    source: str
    row_number: int | None
    field: str | None
    reason: str
    raw: dict[str, Any] | None = None

    def __str__(self) -> str:
        where = self.source
        if self.row_number is not None:
            where += f", row {self.row_number}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.reason}"


@dataclass
class ImportSummary:
    """What one import did with one file."""

    kind: str
    source: str
    rows_read: int = 0
    rows_stored: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    status: str = "ok"  # ok, failed, skipped (same file already imported), ignored (not ours)
    message: str | None = None
    problems: list[Problem] = field(default_factory=list)  # the first few, for the console
    run_id: int | None = None
    notes: list[str] = field(default_factory=list)  # said about the file; no row lost by these
    details: dict[str, Any] = field(default_factory=dict)  # kind-specific counts, kept on the run

    def line(self) -> str:
        """One line for the console."""
        if self.status == "failed":
            return f"{self.source}: FAILED, nothing stored: {self.message}"
        if self.status == "ignored":
            return f"{self.source}: ignored ({self.message})"
        parts = [f"{self.rows_read:,} read", f"{self.rows_stored:,} stored"]
        if self.rows_duplicate:
            parts.append(f"{self.rows_duplicate:,} already held")
        if self.rows_quarantined:
            parts.append(f"{self.rows_quarantined:,} quarantined")
        text = f"{self.source}: " + ", ".join(parts)
        if self.message:
            text += f" ({self.message})"
        return text


MAX_PROBLEMS_SHOWN = 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_utf8(data: bytes, source: str) -> tuple[bytes, list[str]]:
    """A text file's bytes as UTF-8 without BOM, and notes on what was done to get there.

    UTF-8 (with or without BOM) passes through untouched. Otherwise each line that is not valid
    UTF-8 is read as Windows-1252 (what Excel saves as "CSV" in the UK), so a file that mixes the
    two keeps its UTF-8 lines intact; the note names the first such line. Binary files are refused.
    """
    if b"\x00" in data[:8192]:
        raise InputFileError(
            source,
            "is not a text file (it looks binary)",
            hint="give a CSV file, or an XLSX where one is accepted",
        )
    notes: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        notes.append("UTF-8 with a byte-order mark (read as UTF-8)")
    try:
        data.decode("utf-8")
        return data, notes
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    fixed: list[bytes] = []
    first: int | None = None
    count = 0
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
            fixed.append(line)
        except UnicodeDecodeError:
            count += 1
            first = first or number
            fixed.append(line.decode("cp1252", errors="replace").encode("utf-8"))
    notes.append(f"not UTF-8: {count:,} line(s) read as Windows-1252 (first at row {first})")
    return b"\n".join(fixed), notes


def decode_text(data: bytes, source: str) -> str:
    """Decode a text file: UTF-8 (BOM or not), else Windows-1252 line by line; refuse binary."""
    return to_utf8(data, source)[0].decode("utf-8")


def start_run(*, session: Session, kind: str, source: str, sha256: str | None) -> ImportRun:
    run = ImportRun(kind=kind, source=source, sha256=sha256, status="running")
    session.add(run)
    session.flush()
    return run


def already_imported(*, session: Session, kind: str, sha256: str) -> ImportRun | None:
    """The last successful run of this kind over a file with these exact bytes, if any."""
    return session.scalar(
        sa.select(ImportRun)
        .where(ImportRun.kind == kind, ImportRun.sha256 == sha256, ImportRun.status == "ok")
        .order_by(ImportRun.id.desc())
        .limit(1)
    )


def quarantine(
    *,
    session: Session,
    run: ImportRun | None,
    kind: str,
    problems: Iterable[Problem],
    skip_known: bool = False,
) -> int:
    """Store problems as quarantined rows; return how many.

    With ``skip_known``, a problem already quarantined (same source, row, field and reason, in any
    status) is not stored again, so reading a file a second time does not double its quarantine.
    """
    problems = list(problems)
    if skip_known and problems:
        sources = {p.source for p in problems}
        known = set(
            session.execute(
                sa.select(
                    QuarantinedRow.source,
                    QuarantinedRow.row_number,
                    QuarantinedRow.field,
                    QuarantinedRow.reason,
                ).where(QuarantinedRow.source.in_(sources))
            ).all()
        )
        problems = [p for p in problems if (p.source, p.row_number, p.field, p.reason) not in known]
    rows = [
        {
            "import_run_id": run.id if run else None,
            "kind": kind,
            "source": p.source,
            "row_number": p.row_number,
            "field": p.field,
            "reason": p.reason,
            "raw": p.raw,
            "status": "open",
            "created_at": utcnow(),
        }
        for p in problems
    ]
    if rows:
        session.execute(sa.insert(QuarantinedRow), rows)
    return len(rows)


def finish_run(*, session: Session, run: ImportRun, summary: ImportSummary) -> None:
    run.status = summary.status
    run.finished_at = utcnow()
    run.rows_read = summary.rows_read
    run.rows_stored = summary.rows_stored
    run.rows_duplicate = summary.rows_duplicate
    run.rows_quarantined = summary.rows_quarantined
    run.message = summary.message
    details = dict(summary.details)
    if summary.notes:
        details["notes"] = list(summary.notes)
    run.details = details or None
    summary.run_id = run.id


def record_failure(
    *, session: Session, kind: str, source: str, sha256: str | None, message: str
) -> ImportRun:
    """Record a file that could not be imported at all (in its own transaction, after rollback)."""
    run = ImportRun(
        kind=kind,
        source=source,
        sha256=sha256,
        status="failed",
        message=message,
        finished_at=utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def display_path(path: Path | str) -> str:
    return str(path)


def total(summaries: Sequence[ImportSummary], *, kind: str = "total") -> ImportSummary:
    """The sum of several summaries (files that failed count as read 0, stored 0)."""
    out = ImportSummary(kind=kind, source="total")
    for s in summaries:
        out.rows_read += s.rows_read
        out.rows_stored += s.rows_stored
        out.rows_duplicate += s.rows_duplicate
        out.rows_quarantined += s.rows_quarantined
    failed = sum(1 for s in summaries if s.status == "failed")
    if failed:
        out.status = "failed"
        out.message = f"{failed} file(s) failed"
    return out


class ImportProgress(Protocol):
    """What an import tells whoever shows its progress (the CLI uses Rich; None is silent)."""

    def begin(self, *, files: int) -> None: ...

    def file_started(self, source: str) -> None: ...

    def rows_done(self, rows: int) -> None: ...

    def file_done(self, summary: ImportSummary) -> None: ...


# --------------------------------------------------------------------------- quarantine

QUARANTINE_STATUSES = ("open", "fixed", "discarded")
QUARANTINE_COLUMNS = (
    "id",
    "kind",
    "source",
    "row_number",
    "field",
    "reason",
    "status",
    "created_at",
    "import_run_id",
    "raw",
)


def quarantined_rows(
    *,
    session: Session,
    kind: str | None = None,
    status: str | None = None,
    source: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[QuarantinedRow]:
    """Quarantined rows, oldest first, filtered by kind, status and a part of the source name."""
    if status is not None and status not in QUARANTINE_STATUSES:
        raise ValidationFailed(
            f"Unknown quarantine status '{status}'",
            field_errors={"status": f"must be one of {', '.join(QUARANTINE_STATUSES)}"},
        )
    query = sa.select(QuarantinedRow).order_by(QuarantinedRow.id)
    query = _quarantine_filters(query, kind=kind, status=status, source=source)
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return list(session.scalars(query))


def count_quarantined(
    *,
    session: Session,
    kind: str | None = None,
    status: str | None = None,
    source: str | None = None,
) -> int:
    """How many quarantined rows match the filters."""
    query = sa.select(sa.func.count()).select_from(QuarantinedRow)
    query = _quarantine_filters(query, kind=kind, status=status, source=source)
    return int(session.scalar(query) or 0)


def quarantine_kinds(*, session: Session) -> list[str]:
    """The kinds that have quarantined rows (for filter menus)."""
    query = sa.select(QuarantinedRow.kind).distinct().order_by(QuarantinedRow.kind)
    return list(session.scalars(query))


def _quarantine_filters(
    query: Any, *, kind: str | None, status: str | None, source: str | None
) -> Any:
    if kind:
        query = query.where(QuarantinedRow.kind == kind)
    if status:
        query = query.where(QuarantinedRow.status == status)
    if source:
        escaped = source.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(QuarantinedRow.source.like(f"%{escaped}%", escape="\\"))
    return query


def get_quarantined(*, session: Session, row_id: int) -> QuarantinedRow:
    """One quarantined row, or NotFound."""
    row = session.get(QuarantinedRow, row_id)
    if row is None:
        raise NotFound(
            f"There is no quarantined row {row_id}",
            hint="list them with: saferstreets quarantine list",
        )
    return row


def set_quarantine_status(
    *, session: Session, row_ids: Sequence[int], status: str
) -> list[QuarantinedRow]:
    """Mark quarantined rows fixed, discarded or open again; every id must exist."""
    if status not in QUARANTINE_STATUSES:
        raise ValidationFailed(
            f"Unknown quarantine status '{status}'",
            field_errors={"status": f"must be one of {', '.join(QUARANTINE_STATUSES)}"},
        )
    ids = sorted(set(row_ids))
    rows = list(session.scalars(sa.select(QuarantinedRow).where(QuarantinedRow.id.in_(ids))))
    missing = sorted(set(ids) - {r.id for r in rows})
    if missing:
        raise NotFound(
            "There is no quarantined row " + ", ".join(str(m) for m in missing),
            hint="nothing was changed; list them with: saferstreets quarantine list",
        )
    for row in rows:
        row.status = status
    session.flush()
    return rows


def quarantine_record(row: QuarantinedRow) -> dict[str, Any]:
    """A quarantined row as plain values (for JSON and CSV)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "source": row.source,
        "row_number": row.row_number,
        "field": row.field,
        "reason": row.reason,
        "status": row.status,
        "created_at": row.created_at.isoformat(timespec="seconds") if row.created_at else None,
        "import_run_id": row.import_run_id,
        "raw": row.raw,
    }


def quarantine_csv(rows: Iterable[QuarantinedRow]) -> str:
    """Quarantined rows as CSV text, safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(QUARANTINE_COLUMNS)
    for row in rows:
        record = quarantine_record(row)
        record["raw"] = json.dumps(record["raw"], ensure_ascii=False) if record["raw"] else ""
        writer.writerow([safe_cell(record[c]) for c in QUARANTINE_COLUMNS])
    return buffer.getvalue()


def quarantine_json(rows: Iterable[QuarantinedRow]) -> str:
    """Quarantined rows as a JSON array."""
    return json.dumps([quarantine_record(r) for r in rows], ensure_ascii=False, indent=1)
