"""Plan solving as a background job (``plan.solve``): the web form enqueues, a worker solves."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.jobs.service import job_kind
from saferstreets.planning.params import PlanParams
from saferstreets.progress import Progress

SOLVE = "plan.solve"


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
