"""``saferstreets import reports`` and ``saferstreets reports``: thin wrappers over the service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saferstreets.cli.support import console, open_store, single_bar

app = typer.Typer(help="Public reports: the safeguarding queue.", no_args_is_help=True)


def import_reports_command(
    path: Annotated[Path, typer.Argument(help="A JSON Lines file, one report per line.")],
    source: Annotated[str, typer.Option(help="Where the reports came from (kept).")] = "import",
) -> None:
    """Import reports from another channel (JSON Lines with the report form's fields)."""
    from saferstreets.config import get_settings
    from saferstreets.reports.service import import_reports

    settings = get_settings()
    engine = open_store(settings)
    with single_bar("Importing reports") as progress:
        summary = import_reports(
            engine=engine, path=path, source=source[:16], progress=progress, settings=settings
        )
    console.print(summary.line(), highlight=False)
    for problem in summary.problems:
        console.print(f"  {problem}", highlight=False, markup=False)


@app.command("safeguarding")
def safeguarding_command() -> None:
    """Say how many urgent reports wait for review (read them on /staff/safeguarding)."""
    from saferstreets.db import session_scope
    from saferstreets.reports.safeguarding import count_safeguarding

    with session_scope(open_store()) as session:
        waiting = count_safeguarding(session=session)
    console.print(
        f"{waiting:,} urgent report{'s' if waiting != 1 else ''} waiting for review"
        + (" on /staff/safeguarding" if waiting else "")
    )
