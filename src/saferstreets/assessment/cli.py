"""``saferstreets assess``: run every analysis on what the store holds."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from saferstreets.cli.support import console, open_store, spinner
from saferstreets.errors import AppError


def assess(
    resolution: Annotated[
        int | None,
        typer.Option(help="H3 resolution of the hot-spot cells (default: h3_resolution)."),
    ] = None,
    permutations: Annotated[int, typer.Option(help="Conditional permutations for Gi*.")] = 999,
    seed: Annotated[int, typer.Option(help="Seed of the permutations.")] = 1,
    inference: Annotated[
        str, typer.Option(help="p-values behind the hot-spot classes: analytic or permutation.")
    ] = "analytic",
    themes: Annotated[
        bool, typer.Option("--themes/--no-themes", help="Assign themes to free text first.")
    ] = True,
) -> None:
    """Assess: concerns, feeling safe, who, when, hot spots, fear vs crime, outcomes, waves."""
    from saferstreets.assessment.service import run_assessment
    from saferstreets.config import get_settings
    from saferstreets.db import session_scope
    from saferstreets.publishing.rendering import store_rendering

    if inference not in ("analytic", "permutation"):
        raise AppError(f"--inference must be analytic or permutation, not {inference!r}")
    if resolution is not None and not 5 <= resolution <= 12:
        raise AppError(f"--resolution must be between 5 and 12, not {resolution}")
    settings = get_settings()
    engine = open_store(settings)
    with spinner("Assessing") as progress:
        runs = run_assessment(
            engine=engine,
            settings=settings,
            progress=progress,
            resolution=resolution,
            permutations=permutations,
            seed=seed,
            inference=inference,
            assign_themes=themes,
        )
        progress("drawing the findings for the assessment page")
        with session_scope(engine) as session:
            store_rendering(session=session)
    for run in runs:
        console.print(f"[bold]{run.kind}[/bold]: {escape(run.summary or '')}", highlight=False)
    console.print(f"Stored {len(runs)} findings.")
