"""The machinery every import shares: runs, problems, quarantine, and reading text honestly.

An importer opens a run per file, stores the good rows, hands the bad ones to ``quarantine`` with
the file, row and field, and closes the run with its counts. One transaction per file: a file
that fails half-way leaves the store as it was (the run is then recorded as failed, on its own).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.errors import InputFileError
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
    status: str = "ok"  # ok, failed, skipped (same file already imported)
    message: str | None = None
    problems: list[Problem] = field(default_factory=list)  # the first few, for the console
    run_id: int | None = None

    def line(self) -> str:
        """One line for the console."""
        if self.status == "failed":
            return f"{self.source}: FAILED, nothing stored: {self.message}"
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


def decode_text(data: bytes, source: str) -> str:
    """Decode a text file: UTF-8 (with or without BOM), else Windows-1252; refuse binary files."""
    if b"\x00" in data[:8192]:
        raise InputFileError(source, "is not a text file (it looks binary)",
                             hint="give a CSV file, or an XLSX where one is accepted")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


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


def quarantine(*, session: Session, run: ImportRun | None, kind: str, problems: Iterable[Problem]) -> int:
    """Store problems as quarantined rows; return how many."""
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
    summary.run_id = run.id


def record_failure(*, session: Session, kind: str, source: str, sha256: str | None, message: str) -> ImportRun:
    """Record a file that could not be imported at all (in its own transaction, after rollback)."""
    run = ImportRun(kind=kind, source=source, sha256=sha256, status="failed", message=message,
                    finished_at=utcnow())
    session.add(run)
    session.flush()
    return run


def display_path(path: Path | str) -> str:
    return str(path)
