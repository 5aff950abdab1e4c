"""``saferstreets report``: the chief officer's assessment report as PDF or HTML."""

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


def register(*, app: typer.Typer, import_app: typer.Typer) -> None:
    app.command("report")(report)
