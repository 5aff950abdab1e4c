"""What the assessment page keeps between requests: its workspace counts, charts and the stored
findings drawn as sections.

Where it lives: in each worker process, a bounded least-recently-used map (``MAX_ENTRIES``
values). Workers do not share it, but each is always correct, because every key holds what the
value depends on:

- the **assessment stamp** (the id of the newest ``analysis_run``): the stored findings and their
  charts change only when ``saferstreets assess`` stores a new run;
- the **data stamp** (:func:`data_stamp`: the report tally's count of changes, the newest
  report id, the newest id and the row count of survey responses and recorded crime, the
  newest import run and the imports still writing): a new, deleted, placed or re-themed
  record changes the key;
- the **filter** (its canonical text).

Invalidation is by key: a new run or new data gives new keys, and the old values age out of the
map. Reading the stamps costs a few index look-ups per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.assessment.models import AnalysisRun
from saferstreets.crime.models import Crime
from saferstreets.ingest.models import ImportRun
from saferstreets.ingest.service import running_imports
from saferstreets.reports import tally
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse

MAX_ENTRIES = 256
T = TypeVar("T")

_lock = threading.Lock()
_values: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_counts = {"hits": 0, "misses": 0}


def assessment_stamp(*, session: Session) -> int:
    """The newest assessment run's id (0 before the first run)."""
    return int(session.scalar(sa.select(sa.func.max(AnalysisRun.id))) or 0)


def data_stamp(*, session: Session) -> tuple[Any, ...]:
    """What changes whenever the records the workspace counts change: the report tally's count
    of changes (every write of tallied reports and of texts' themes counts one, see
    ``reports.tally``), how many reports wait to be tallied and the newest of them (a new
    report, whatever its id, changes the first), and the newest report id; the newest id and the
    row count of survey responses and crime; the newest import run and how many imports are
    still writing. None of it reads the report or theme tables' rows (the reports waiting to be
    tallied are read through their small partial index): PostgreSQL answers ``count(*)`` by
    scanning, which took 0.25-0.43 s at 1,000,000 reports."""
    parts: list[Any] = [tally.changes(session), *tally.pending(session)]
    parts.append(session.scalar(sa.select(sa.func.max(Report.id))))
    for model in (SurveyResponse, Crime):
        # two statements, not one: SQLite counts a whole table from its b-tree's page headers
        # only for a bare count(*)
        parts.append(session.scalar(sa.select(sa.func.max(model.id))))
        parts.append(session.scalar(sa.select(sa.func.count()).select_from(model)))
    parts.append(session.scalar(sa.select(sa.func.max(ImportRun.id))))
    parts.append(running_imports(session=session))  # a run's end makes its rows count
    return tuple(str(p) for p in parts)


def remember(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """The value kept under ``key``, computed (once) and kept if absent."""
    with _lock:
        if key in _values:
            _values.move_to_end(key)
            _counts["hits"] += 1
            return _values[key]
        _counts["misses"] += 1
    value = compute()  # outside the lock: two workers' threads may both compute; both are right
    with _lock:
        _values[key] = value
        _values.move_to_end(key)
        while len(_values) > MAX_ENTRIES:
            _values.popitem(last=False)
    return value


def clear() -> None:
    """Forget every value (tests, and ``bench`` between cold and warm runs)."""
    with _lock:
        _values.clear()
        _counts.update(hits=0, misses=0)


def stats() -> dict[str, int]:
    """Hits, misses and values held, for tests and the bench."""
    with _lock:
        return {**_counts, "entries": len(_values)}
