"""Retention as a scheduled background job (``retention.apply``): once a day the worker runs
what ``saferstreets retention apply`` runs, so words and exact points are not kept longer than
the retention periods even if nobody remembers to run the command."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.db import committing, session_scope
from saferstreets.jobs.service import job_kind
from saferstreets.models_common import utcnow
from saferstreets.progress import Progress

APPLY = "retention.apply"


@job_kind(APPLY, title="Applying the retention periods")
def apply(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Generalise what is older than the retention periods; the result holds counts only.

    It commits after each chunk of records and leaves SQLite's write lock free a moment, so a
    report posted meanwhile is stored at once; its steps show on the job's page as it goes.
    """
    from saferstreets.retention.service import apply_retention

    with session_scope(engine) as session:
        result = apply_retention(session=session, settings=settings, now=utcnow(),
                                 progress=progress, settle=committing(session))  # fmt: skip
        return result.as_detail()
