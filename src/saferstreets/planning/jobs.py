"""Plan solving as a background job (``plan.solve``): the web form enqueues, a worker solves."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.jobs.service import job_kind, save_file
from saferstreets.planning.params import PlanParams
from saferstreets.progress import Progress

SOLVE = "plan.solve"
BRIEFING_PDF = "plan.briefing_pdf"


@job_kind(SOLVE, title="Solving a plan", result_url="/staff/plans/{plan_id}")
def solve_plan(
    *, engine: Engine, settings: Settings, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Make and store the plan ``params["name"]`` from ``params["params"]`` (PlanParams)."""
    from saferstreets.planning.service import make_plan

    plan = make_plan(
        engine=engine,
        name=params["name"],
        params=PlanParams.model_validate(params["params"]),
        settings=settings,
        progress=progress,
    )
    return {"plan_id": plan.id, "name": plan.name, "coverage": plan.coverage}


@job_kind(BRIEFING_PDF, title="Making a team's briefing (PDF)")
def briefing_pdf(
    *,
    engine: Engine,
    settings: Settings,
    params: dict[str, Any],
    progress: Progress,
    job_id: int,
) -> dict[str, Any]:
    """The one-page briefing of ``params["team_id"]`` in ``params["plan_id"]``, for download."""
    from saferstreets.basemap.service import archive_path
    from saferstreets.planning.briefing import briefing_html, briefing_pdf_of

    plan_id, team_id = int(params["plan_id"]), int(params["team_id"])
    progress("reading the plan")
    with session_scope(engine) as session:
        html = briefing_html(
            session=session,
            plan_id=plan_id,
            team_id=team_id,
            for_pdf=True,
            basemap=archive_path(settings=settings),
        )
    progress("laying out the PDF")
    pdf = briefing_pdf_of(html)
    save_file(
        engine=engine,
        job_id=job_id,
        filename=f"plan-{plan_id}-team-{team_id}.pdf",
        media_type="application/pdf",
        content=pdf,
        detail={"object_kind": "plan", "object_id": str(plan_id), "team": team_id},
    )
    return {"plan_id": plan_id, "team_id": team_id, "size_kb": round(len(pdf) / 1024)}
