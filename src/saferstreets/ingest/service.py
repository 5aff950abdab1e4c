"""The machinery every import shares that needs the store: runs and quarantine.

``Problem``, ``ImportSummary``, progress and decoding are pure and live in
:mod:`saferstreets.ingest.records` (imported here too, so both paths work).

An importer opens a run per file, stores the good rows, hands the bad ones to ``quarantine`` with
the file, row and field, and closes the run with its counts. One transaction per file: a file
that fails half-way leaves the store as it was (the run is then recorded as failed, on its own).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.errors import NotFound, ValidationFailed
from saferstreets.exports import safe_cell
from saferstreets.ingest.models import ImportRun, QuarantinedRow
from saferstreets.ingest.records import (  # re-exported: importers read them from here too
    MAX_PROBLEMS_SHOWN as MAX_PROBLEMS_SHOWN,
)
from saferstreets.ingest.records import (
    ImportSteps as ImportSteps,
)
from saferstreets.ingest.records import (
    ImportSummary as ImportSummary,
)
from saferstreets.ingest.records import (
    Problem as Problem,
)
from saferstreets.ingest.records import (
    decode_text as decode_text,
)
from saferstreets.ingest.records import (
    display_path as display_path,
)
from saferstreets.ingest.records import (
    sha256_bytes as sha256_bytes,
)
from saferstreets.ingest.records import (
    to_utf8 as to_utf8,
)
from saferstreets.ingest.records import (
    total as total,
)
from saferstreets.models_common import utcnow


def start_run(*, session: Session, kind: str, source: str, sha256: str | None) -> ImportRun:
    run = ImportRun(kind=kind, source=source, sha256=sha256, status="running")
    session.add(run)
    session.flush()
    return run


def settled(model: Any) -> sa.ColumnElement[bool]:
    """Rows of ``model`` that an import still writing does not hold: a long file is stored in
    short transactions under a ``running`` run, and its rows count only once the run is marked
    ``ok`` (a file that fails or is cut short has them deleted again). Rows from no import
    (generated, or stored before runs were kept) always count."""
    running = sa.select(ImportRun.id).where(ImportRun.status == "running")
    column = model.import_run_id
    return sa.or_(column.is_(None), column.not_in(running))


def running_imports(*, session: Session) -> int:
    """How many imports are writing now (a data stamp's part: a run's end changes what counts)."""
    return int(
        session.scalar(
            sa.select(sa.func.count()).select_from(ImportRun).where(ImportRun.status == "running")
        )
        or 0
    )


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
