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
    """Run every analysis on the store (as ``saferstreets assess``) and store the findings."""
    from saferstreets.assessment.service import run_assessment

    runs = run_assessment(
        engine=engine,
        settings=settings,
        progress=progress,
        assign_themes=bool(params.get("themes", True)),
    )
    return {"findings": len(runs)}
