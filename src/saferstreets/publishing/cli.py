"""``saferstreets report`` (the chief officer's assessment report) and ``saferstreets publish``
(a batch of public "you said, we did" figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(soft_wrap=True)


def report(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write it: a .pdf or .html file.")
    ] = Path("saferstreets-assessment.pdf"),
) -> None:
    """Write the assessment report (every stored finding with charts and maps) as PDF or HTML."""
    from saferstreets.cli import open_store
    from saferstreets.config import get_settings
    from saferstreets.db import session_scope
    from saferstreets.errors import AppError
    from saferstreets.publishing.report import write_report

    if out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise AppError(
            f"{out}: the report is written as .pdf or .html", hint="e.g. --out assessment.pdf"
        )
    if not out.parent.exists():
        raise AppError(f"{out.parent} does not exist", hint="choose a folder that exists")
    with console.status("Building the report…"), session_scope(open_store()) as session:
        write_report(session=session, settings=get_settings(), out=out)
    console.print(f"Wrote the report to {out}")


def publish(
    if_due: Annotated[
        bool,
        typer.Option(
            "--if-due",
            help="Publish only if no batch has been published since today's publish_hour "
            "(for a timer that runs every hour).",
        ),
    ] = False,
) -> None:
    """Publish a batch of public figures: the only way public counts, themes and maps move."""
    from datetime import UTC, datetime

    from saferstreets.cli import open_store
    from saferstreets.config import get_settings
    from saferstreets.db import session_scope
    from saferstreets.publishing.batch import is_due
    from saferstreets.publishing.batch import publish as publish_batch

    settings = get_settings()
    now = datetime.now(UTC).replace(tzinfo=None)
    with session_scope(open_store()) as session:
        if if_due and not is_due(session=session, settings=settings, now=now):
            console.print(f"Not due: a batch was published since {settings.publish_hour:02d}:00.")
            return
        with console.status("Publishing public figures…"):
            batch = publish_batch(session=session, settings=settings, now=now)
        console.print(
            f"Published batch {batch.id}: {batch.units_moved} wards or remainders moved "
            f"(at least {batch.min_new_reports} changed reports each), "
            f"{batch.figures_shown:,} figures shown, {batch.figures_hidden:,} suppressed."
        )


def register(*, app: typer.Typer, import_app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("publish")(publish)
