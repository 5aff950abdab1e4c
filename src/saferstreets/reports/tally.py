"""Reports counted once per change, not once per request (``report_tally``).

The workspace's whole-force and district or ward views are sums over some thousands of tally rows
instead of ``GROUP BY`` scans of every report (bench/results/workspace.md). A tally row is
(ward, district, kind, code) -> reports, for the kinds in :data:`KINDS`.

The tally holds the reports marked ``tallied``. A new report is not: the public form and every
import write no tally row (the tally's writers are serialised, see below, and one more upsert per
report halved intake: bench/results/intake.md), and the workspace counts the not-yet-tallied
reports live (:func:`untallied`, a partial index). :func:`fold` adds them and marks them, in one
transaction, every minute (:func:`fold_pending`, a periodic job) and at the end of a report import.
A report committed out of id order is simply folded by a later pass: nothing keys on ids.

Kept exact for tallied reports by the writers, in the same transaction as their change:

- a writer that changes the counted columns of existing reports wraps the change in
  :func:`recounted` (their counts taken away before, added back after:
  ``areas.service.assign_points``, ``themes.inforce.refresh_themes``);
- a writer that deletes reports calls :func:`uncount` before (``retention.erase_report``);
- a bulk load that writes rows by hand (the benchmarks) calls :func:`rebuild`.

Retention removes a report's words and point but not what is counted (``had_text`` stays true,
the cell and areas stay), so it does not touch the tally. Every write also adds one to the row of
kind ``changes``, which the workspace cache reads as its data stamp; that row is written first,
so on PostgreSQL its row lock serialises the tally's writers (no lost update, no deadlock, and a
writer reads the reports it counts only once no other writer can change them).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from saferstreets.config import Settings
from saferstreets.db import get_engine, session_scope
from saferstreets.reports.models import Report, ReportTally

KINDS = ("reports", "texts", "reason", "theme", "when", "month", "cell")
CHANGES = ("", "", "changes", "")  # the key of the change counter
_CHUNK = 900  # ids per statement: within SQLite's limit on bound parameters
_STREAM = 50_000  # reports read per statement by :func:`rebuild`, folded per transaction

Key = tuple[str, str, str, str]
_COLUMNS = (
    Report.ward_code,
    Report.district_code,
    Report.occurred_on,
    Report.occurred_hour,
    Report.h3_cell,
    Report.reasons,
    Report.themes,
    Report.had_text,
)


def contributions(rows: Iterable[Any]) -> Counter[Key]:
    """What each report adds to the tally, from rows of :data:`_COLUMNS`.

    A report counts once under ``reports``; once per distinct reason ticked; when it has (or
    had) words, once under ``texts`` and once per theme in force; when dated, once under its
    month and, with an hour, under ``weekday-hour`` (Monday 0); once under its stored H3 cell.
    """
    out: Counter[Key] = Counter()
    for ward, district, day, hour, cell, reasons, themes, had_text in rows:
        w, d = ward or "", district or ""
        out[(w, d, "reports", "")] += 1
        for code in set(reasons or ()):
            out[(w, d, "reason", str(code))] += 1
        if had_text:
            out[(w, d, "texts", "")] += 1
            for code in set(themes or ()):
                out[(w, d, "theme", str(code))] += 1
        if day is not None:
            out[(w, d, "month", day.replace(day=1).isoformat())] += 1
            if hour is not None:
                out[(w, d, "when", f"{day.weekday()}-{int(hour)}")] += 1
        if cell:
            out[(w, d, "cell", str(cell))] += 1
    return out


def untallied() -> sa.ColumnElement[bool]:
    """The reports the tally does not hold yet (``ix_report_untallied`` answers it)."""
    return Report.tallied == sa.false()


def untallied_ids() -> sa.ColumnElement[bool]:
    """The same reports, for a query that groups them: by id, from the partial index. Given
    ``tallied = 0`` and a grouping by day and hour, SQLite (3.40, no statistics) reads every
    report through ``ix_report_workspace``, for its order, and checks each row for the mark
    (1.8 s of the whole-force page at 1,000,000 reports, bench/results/workspace.md, 3
    December 2026); the ids come from ``ix_report_untallied`` and each is read by its key."""
    return Report.id.in_(sa.select(Report.id).where(untallied()))


def _rows_of(executor: Any, ids: Sequence[int]) -> Iterator[Any]:
    """The counted columns of those of these reports that the tally holds."""
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        yield from executor.execute(
            sa.select(*_COLUMNS).where(Report.id.in_(chunk), Report.tallied == sa.true())
        )


def _upsert(executor: Any, counts: Counter[Key], sign: int) -> None:
    """Add ``sign`` times ``counts`` to the tally rows (created at need)."""
    rows = [
        {"ward_code": w, "district_code": d, "kind": k, "code": c, "n": sign * n}
        for (w, d, k, c), n in sorted(counts.items())
        if n
    ]
    if not rows:
        return
    dialect = postgresql if _dialect(executor) == "postgresql" else sqlite
    insert = dialect.insert(ReportTally.__table__)
    statement = insert.on_conflict_do_update(
        index_elements=["ward_code", "district_code", "kind", "code"],
        set_={"n": ReportTally.__table__.c.n + insert.excluded.n},
    )
    executor.execute(statement, rows)


def _dialect(executor: Any) -> str:
    bind = executor.get_bind() if hasattr(executor, "get_bind") else executor
    return str(bind.dialect.name)


def changed(executor: Any) -> None:
    """One more change counted (first in every write: PostgreSQL's row lock orders writers);
    a writer of what the workspace counts beside reports (survey texts' themes) calls it too."""
    _upsert(executor, Counter({CHANGES: 1}), 1)


def count(executor: Any, ids: Sequence[int]) -> None:
    """Add these tallied reports (as stored now) to the tally."""
    changed(executor)
    _upsert(executor, contributions(_rows_of(executor, ids)), 1)


def uncount(executor: Any, ids: Sequence[int]) -> None:
    """Take these tallied reports (as stored now) away from the tally; empty rows go."""
    changed(executor)
    _upsert(executor, contributions(_rows_of(executor, ids)), -1)
    t = ReportTally
    executor.execute(sa.delete(t).where(t.n == 0, t.kind != CHANGES[2]))


@contextlib.contextmanager
def recounted(executor: Any, ids: Sequence[int]) -> Iterator[None]:
    """Around a change of these reports' counted columns: counted out before, in after."""
    uncount(executor, ids)
    yield
    count(executor, ids)


def fold(executor: Any, *, limit: int = _STREAM) -> int:
    """Add up to ``limit`` reports the tally does not hold yet (oldest first) and mark them
    tallied, in the caller's transaction; return how many."""
    changed(executor)  # first: no other tally writer changes these reports until commit
    rows = executor.execute(
        sa.select(Report.id, *_COLUMNS).where(untallied()).order_by(Report.id).limit(limit)
    ).all()
    _upsert(executor, contributions(r[1:] for r in rows), 1)
    ids = [int(r[0]) for r in rows]
    for start in range(0, len(ids), _CHUNK):
        _mark(executor, Report.id.in_(ids[start : start + _CHUNK]))
    return len(ids)


def _mark(executor: Any, where: sa.ColumnElement[bool]) -> None:
    """Mark these reports as held by the tally (no ORM objects are brought up to date)."""
    statement = sa.update(Report).where(where).values(tallied=True)
    executor.execute(statement.execution_options(synchronize_session=False))


def fold_pending(*, settings: Settings) -> int:
    """Fold every report not yet tallied, :data:`_STREAM` a transaction (the periodic job
    ``reports.tally``); a quiet minute writes nothing. Return how many were folded."""
    engine = get_engine(settings)
    folded = 0
    while True:
        with session_scope(engine) as session:
            if pending(session)[0] == 0:
                return folded
        with session_scope(engine) as session:
            done = fold(session)
        folded += done
        if done < _STREAM:
            return folded


def pending(executor: Any) -> tuple[int, int | None]:
    """How many reports wait to be folded, and the newest of their ids (part of the data
    stamp: a new report changes it before any tally row does)."""
    count, newest = executor.execute(
        sa.select(sa.func.count(), sa.func.max(Report.id)).where(untallied())
    ).one()
    return int(count), (int(newest) if newest is not None else None)


def rebuild(executor: Any) -> int:
    """Count every report again from scratch and mark them all tallied (after a bulk load that
    bypassed the writers, or to repair); return the reports counted."""
    changed(executor)
    t = ReportTally
    executor.execute(sa.delete(t).where(t.kind != CHANGES[2]))
    _mark(executor, untallied())
    total: Counter[Key] = Counter()
    last, counted = 0, 0
    while True:
        rows = executor.execute(
            sa.select(Report.id, *_COLUMNS)
            .where(Report.id > last)
            .order_by(Report.id)
            .limit(_STREAM)
        ).all()
        if not rows:
            break
        total.update(contributions(r[1:] for r in rows))
        last, counted = int(rows[-1][0]), counted + len(rows)
    _upsert(executor, total, 1)
    return counted


def changes(executor: Any) -> int:
    """How many counted writes the tally has seen (a data stamp that never scans reports)."""
    t = ReportTally
    where = (t.ward_code == "", t.district_code == "", t.kind == CHANGES[2], t.code == "")
    return int(executor.scalar(sa.select(t.n).where(*where)) or 0)
