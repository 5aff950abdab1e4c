"""The assessment as a background job (``assessment.run``), started from the staff pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.jobs.service import job_kind
from saferstreets.progress import Progress

RUN = "assessment.run"


@job_kind(RUN, title="Running the assessment", result_url="/staff/assessment")
def run(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Run every analysis on the store (as ``saferstreets assess``), store the findings, and
    draw them once for the assessment page (``publishing.rendering``)."""
    from saferstreets.assessment.service import run_assessment
    from saferstreets.db import session_scope
    from saferstreets.publishing.rendering import store_rendering

    runs = run_assessment(
        engine=engine,
        settings=settings,
        progress=progress,
        assign_themes=bool(params.get("themes", True)),
    )
    progress("drawing the findings for the assessment page")
    with session_scope(engine) as session:
        store_rendering(session=session)
    return {"findings": len(runs)}
