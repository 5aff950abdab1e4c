"""``saferstreets import crime PATH...`` and ``saferstreets crime history CRIME_ID``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from saferstreets.cli.support import console, open_store, rich_import_progress

app = typer.Typer(
    help="Recorded crime from police.uk: what became of a crime.", no_args_is_help=True
)


def import_crime_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="police.uk CSV files, folders, or download zips (any force, any months)."
        ),
    ],
    recheck: Annotated[
        bool,
        typer.Option(
            "--recheck", help="Read files again even if their exact bytes were imported before."
        ),
    ] = False,
    areas: Annotated[
        bool, typer.Option("--areas/--no-areas", help="Assign new points to areas afterwards.")
    ] = True,
) -> None:
    """Import police.uk street, outcomes and stop-and-search CSVs; bad rows go to quarantine."""
    from saferstreets.config import get_settings
    from saferstreets.crime.service import import_crime
    from saferstreets.ingest.cli import print_summaries

    settings = get_settings()
    engine = open_store(settings)
    with rich_import_progress(console) as progress:
        summaries = import_crime(
            engine=engine,
            paths=paths,
            progress=progress,
            recheck=recheck,
            assign_areas=areas,
            settings=settings,
        )
    print_summaries(console, summaries, title="police.uk import")
    if any(s.status == "failed" for s in summaries):
        raise typer.Exit(1)


@app.command("history")
def history(
    crime_id: Annotated[str, typer.Argument(help="The police.uk Crime ID (64 hex characters).")],
) -> None:
    """Show what became of one crime: when it was recorded, and each outcome since."""
    from saferstreets.crime.service import crime_history
    from saferstreets.db import session_scope
    from saferstreets.errors import NotFound

    with session_scope(open_store()) as session:
        events = crime_history(session=session, crime_id=crime_id.strip())
    if not events:
        raise NotFound(
            f"No crime or outcome with Crime ID {crime_id} is held",
            hint="import the police.uk street and outcomes files that hold it",
        )
    table = Table(title=f"Crime {crime_id[:12]}…")
    for col in ("month", "event", "what", "outcome group", "location"):
        table.add_column(col)
    for e in events:
        table.add_row(
            f"{e.month:%Y-%m}",
            e.event,
            e.description,
            (e.group or "").replace("_", " "),
            e.location or "",
        )
    console.print(table)
