"""``saferstreets import reports`` and ``saferstreets reports``: thin wrappers over the service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def register(*, app: typer.Typer, import_app: typer.Typer) -> None:
    """Add the reports commands to the main app."""
    reports_app = typer.Typer(help="Public reports: the safeguarding queue.", no_args_is_help=True)
    app.add_typer(reports_app, name="reports")

    @import_app.command("reports")
    def import_reports_command(
        path: Annotated[Path, typer.Argument(help="A JSON Lines file, one report per line.")],
        source: Annotated[str, typer.Option(help="Where the reports came from (kept).")] = "import",
    ) -> None:
        """Import reports from another channel (JSON Lines with the report form's fields)."""
        from rich.progress import Progress

        from saferstreets.cli import console, open_store
        from saferstreets.reports.service import import_reports

        engine = open_store()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Importing reports", total=None)

            def notify(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            summary = import_reports(engine=engine, path=path, source=source[:16], progress=notify)
        console.print(summary.line(), highlight=False)
        for problem in summary.problems:
            console.print(f"  {problem}", highlight=False)

    @reports_app.command("safeguarding")
    def safeguarding_command() -> None:
        """Say how many urgent reports wait for review (read them on /staff/safeguarding)."""
        from saferstreets.cli import console, open_store
        from saferstreets.db import session_scope
        from saferstreets.reports.safeguarding import count_safeguarding

        with session_scope(open_store()) as session:
            waiting = count_safeguarding(session=session)
        console.print(
            f"{waiting:,} urgent report{'s' if waiting != 1 else ''} waiting for review"
            + (" on /staff/safeguarding" if waiting else "")
        )

    _: Any = (import_reports_command, safeguarding_command)
