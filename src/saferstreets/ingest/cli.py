"""``saferstreets quarantine ...``: the rows imports could not keep; Rich progress for imports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from saferstreets.cli.support import console, open_store
from saferstreets.ingest.records import short_source
from saferstreets.ingest.service import (
    QUARANTINE_COLUMNS,
    ImportSummary,
    count_quarantined,
    get_quarantined,
    quarantine_csv,
    quarantine_json,
    quarantine_record,
    quarantined_rows,
    set_quarantine_status,
    total,
)

app = typer.Typer(
    help="Rows imports could not keep: list, show, export, resolve or discard them.",
    no_args_is_help=True,
)

KindOpt = Annotated[str | None, typer.Option("--kind", help="Only this kind (e.g. crime_street).")]
StatusOpt = Annotated[
    str | None, typer.Option("--status", help="open, fixed or discarded (default: every status).")
]
SourceOpt = Annotated[
    str | None, typer.Option("--source", help="Only sources containing this text.")
]


@app.command("list")
def list_rows(
    kind: KindOpt = None,
    status: StatusOpt = "open",
    source: SourceOpt = None,
    limit: Annotated[int, typer.Option(help="Show at most this many rows.")] = 50,
) -> None:
    """List quarantined rows (open ones unless --status says otherwise)."""
    from saferstreets.db import session_scope

    status = None if status == "all" else status
    with session_scope(open_store()) as session:
        rows = quarantined_rows(
            session=session, kind=kind, status=status, source=source, limit=limit
        )
        matching = count_quarantined(session=session, kind=kind, status=status, source=source)
        if not rows:
            console.print("No quarantined rows match.")
            return
        table = Table(title=f"Quarantined rows ({len(rows):,} of {matching:,} shown)")
        for col in ("id", "kind", "source", "row", "field", "reason", "status"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(
                str(r.id),
                r.kind,
                escape(short_source(r.source)),
                str(r.row_number or ""),
                escape(r.field or ""),
                escape(r.reason),
                r.status,
            )
    console.print(table)
    if matching > len(rows):
        console.print(
            f"{matching - len(rows):,} more: use --limit, or export them all with "
            "saferstreets quarantine export"
        )


@app.command("show")
def show(row_id: Annotated[int, typer.Argument(help="The quarantined row's id.")]) -> None:
    """Show one quarantined row in full: where it came from, why, and its values."""
    from saferstreets.db import session_scope

    with session_scope(open_store()) as session:
        record = quarantine_record(get_quarantined(session=session, row_id=row_id))
    for key in (c for c in QUARANTINE_COLUMNS if c != "raw"):  # the values follow, one a line
        value = escape(str(record[key]))
        console.print(f"[bold]{key.replace('_', ' ')}:[/bold] {value}", highlight=False)
    console.print("[bold]values:[/bold]")
    for key, value in (record["raw"] or {}).items():
        console.print(f"  {key}: {value}", highlight=False, markup=False)


@app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    kind: KindOpt = None,
    status: StatusOpt = None,
    source: SourceOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write here (default: print).")] = None,
) -> None:
    """Export quarantined rows as CSV (safe to open in a spreadsheet) or JSON."""
    from saferstreets.db import session_scope
    from saferstreets.errors import ValidationFailed

    if fmt not in ("csv", "json"):
        raise ValidationFailed(
            f"Unknown export format '{fmt}'", hint="use --format csv or --format json"
        )
    with session_scope(open_store()) as session:
        rows = quarantined_rows(session=session, kind=kind, status=status, source=source)
        text = quarantine_csv(rows) if fmt == "csv" else quarantine_json(rows)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote {len(rows):,} quarantined rows to {out}")
    else:
        typer.echo(text, nl=False)


@app.command("discard")
def discard(ids: Annotated[list[int], typer.Argument(help="Ids of the rows to discard.")]) -> None:
    """Mark rows discarded: they will not be imported (they stay listed for the record)."""
    _set_status(ids, "discarded")


@app.command("resolve")
def resolve(
    ids: Annotated[list[int], typer.Argument(help="Ids of the rows that are settled.")],
    as_status: Annotated[
        str, typer.Option("--as", help="fixed (default), discarded or open.")
    ] = "fixed",
) -> None:
    """Mark rows fixed (corrected at source and imported again), or discarded, or open again."""
    _set_status(ids, as_status)


def _set_status(ids: Sequence[int], status: str) -> None:
    from saferstreets.db import session_scope

    with session_scope(open_store()) as session:
        rows = set_quarantine_status(session=session, row_ids=ids, status=status)
    console.print(
        f"Marked {len(rows):,} quarantined row(s) {status}: " + ", ".join(str(r.id) for r in rows)
    )


# --------------------------------------------------------------------------- import output


def print_summaries(console: Console, summaries: Sequence[ImportSummary], *, title: str) -> None:
    """What each file gave (read, stored, already held, quarantined), the total, and problems."""
    files = [s for s in summaries if s.status != "ignored" and s.kind != "areas"]
    table = Table(title=title)
    for col in ("file", "kind", "read", "stored", "already held", "quarantined", "status"):
        table.add_column(
            col,
            justify="right" if col in ("read", "stored", "already held", "quarantined") else "left",
            overflow="fold",
        )
    for s in files:
        table.add_row(
            escape(short_source(s.source)),
            s.kind.removeprefix("crime_"),
            f"{s.rows_read:,}",
            f"{s.rows_stored:,}",
            f"{s.rows_duplicate:,}",
            f"{s.rows_quarantined:,}",
            s.status,
        )
    t = total(files)
    table.add_row(
        "[bold]total[/bold]",
        f"{len(files)} files",
        f"{t.rows_read:,}",
        f"{t.rows_stored:,}",
        f"{t.rows_duplicate:,}",
        f"{t.rows_quarantined:,}",
        t.status if files else "",
    )
    console.print(table)
    kept: dict[str, Any] = {}
    for s in files:
        for key, value in s.details.items():
            if isinstance(value, int):
                kept[key] = kept.get(key, 0) + value
    if kept.get("no_location") or kept.get("no_crime_id"):
        console.print(
            f"Kept and counted: {kept.get('no_location', 0):,} rows without a location, "
            f"{kept.get('no_crime_id', 0):,} without a Crime ID (anti-social behaviour).",
            highlight=False,
        )
    if kept.get("rows_sharing_a_crime_id"):
        console.print(
            f"Kept, counted and flagged: {kept['rows_sharing_a_crime_id']:,} rows that share "
            f"{kept.get('shared_crime_ids', 0):,} Crime IDs with another row (as police.uk "
            "publishes them; crime_counting = distinct_ids counts each ID once).",
            highlight=False,
        )
    for s in summaries:
        if s.kind == "areas":
            console.print(f"[yellow]note[/yellow] {escape(s.message or '')}", highlight=False)
        elif s.status == "ignored":
            console.print(f"[yellow]passed over[/yellow] {escape(s.line())}", highlight=False)
        elif s.status == "failed":
            console.print(f"[red]failed[/red] {escape(s.line())}", highlight=False)
        for note in s.notes:
            where = escape(f"{short_source(s.source)}: {note}")
            console.print(f"[yellow]note[/yellow] {where}", highlight=False)
        for p in s.problems:
            console.print(Text.assemble(("quarantined ", "magenta"), str(p)), highlight=False)
        if s.rows_quarantined > len(s.problems):
            console.print(
                f"  … and {s.rows_quarantined - len(s.problems):,} more from this file "
                "(saferstreets quarantine list)"
            )
