"""Retention as a scheduled background job (``retention.apply``): once a day the worker runs
what ``saferstreets retention apply`` runs, so words and exact points are not kept longer than
the retention periods even if nobody remembers to run the command."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.jobs.service import job_kind
from saferstreets.models_common import utcnow
from saferstreets.progress import Progress

APPLY = "retention.apply"


@job_kind(APPLY, title="Applying the retention periods")
def apply(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Generalise what is older than the retention periods; the result holds counts only.

    The service's own steps are not written to the job's row as it goes: it holds the store's
    write lock until it commits, and on SQLite a progress write from the job would wait for it
    and fail. It takes seconds (1.9 s on the demo county), so the page shows the one step.
    """
    from saferstreets.retention.service import apply_retention

    progress("removing words and exact points older than the retention periods")
    with session_scope(engine) as session:
        result = apply_retention(session=session, settings=settings, now=utcnow())
        return result.as_detail()
