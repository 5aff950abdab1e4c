"""``saferstreets export-all`` and ``saferstreets restore``: the whole store to a file and back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from saferstreets.cli.support import console, open_store, single_bar


def export_all_command(
    path: Annotated[Path, typer.Argument(help="The backup file to write (a .zip).")],
) -> None:
    """Back up the whole store to one file: a zip of JSON Lines, one per table (audited)."""
    from saferstreets.backup.service import export_all

    engine = open_store()
    started = time.perf_counter()
    with single_bar("Backing up") as progress:
        summary = export_all(engine=engine, path=path, progress=progress)
    size = path.stat().st_size
    console.print(
        f"Backed up {summary.total:,} rows of {len(summary.rows)} tables (schema revision "
        f"{summary.schema_revision}) to {path}: {size / 1e6:,.1f} MB in "
        f"{time.perf_counter() - started:,.1f} s",
        highlight=False,
    )


def restore_command(
    path: Annotated[Path, typer.Argument(help="A backup made by saferstreets export-all.")],
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Delete everything in this store first (not undoable)."),
    ] = False,
) -> None:
    """Restore a backup into this store (empty unless --replace), all or nothing (audited)."""
    from saferstreets.backup.service import restore

    engine = open_store()
    with single_bar("Restoring") as progress:
        summary = restore(engine=engine, path=path, replace=replace, progress=progress)
    console.print(
        f"Restored {summary.total:,} rows of {len(summary.rows)} tables from {path} "
        f"(backed up {summary.created_at[:16].replace('T', ' ')} UTC)",
        highlight=False,
    )
