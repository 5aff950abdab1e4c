"""``saferstreets import survey``: import an export as a wave, or suggest a mapping for it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saferstreets.cli.support import console, open_store, rich_progress

app = typer.Typer(help="Manage imported survey waves.", no_args_is_help=True)


@app.command("scrub")
def scrub_cmd() -> None:
    """Remove personal columns and contact details from survey rows already stored."""
    from saferstreets.db import session_scope
    from saferstreets.surveys.scrub import scrub_store

    with session_scope(open_store()) as session:
        summary = scrub_store(session=session)
    for line in summary.lines():
        console.print(line, highlight=False, markup=False)


@app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the survey waves: period, responses, answers dated outside the period."""
    import json

    from saferstreets.db import session_scope
    from saferstreets.surveys.waves import list_waves

    with session_scope(open_store()) as session:
        waves = list_waves(session=session)
    if as_json:
        print(json.dumps([w.as_dict() for w in waves], indent=2))
        return
    if not waves:
        console.print("No survey waves yet.", highlight=False, markup=False)
    for w in waves:
        console.print(_wave_line(w), highlight=False, markup=False)


@app.command("show")
def show_cmd(
    wave: Annotated[str, typer.Argument(help="The wave's name (or id).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one wave: period, source, responses, the dates answered and its import runs."""
    import json

    from saferstreets.db import session_scope
    from saferstreets.surveys.waves import show_wave

    with session_scope(open_store()) as session:
        info = show_wave(session=session, wave=wave)
    if as_json:
        print(json.dumps(info.as_dict(), indent=2))
        return
    console.print(_wave_line(info), highlight=False, markup=False)
    console.print(f"  source: {info.source or '-'}", highlight=False, markup=False)
    console.print(
        f"  answered: {info.first_answer or '-'} to {info.last_answer or '-'}",
        highlight=False,
        markup=False,
    )
    console.print(
        f"  import runs: {', '.join(map(str, info.runs)) or '-'}", highlight=False, markup=False
    )


@app.command("delete")
def delete_cmd(
    wave: Annotated[str, typer.Argument(help="The wave's name (or id).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
) -> None:
    """Delete a wave, its responses, their themes and its quarantined rows (undoes an import)."""
    from saferstreets.db import session_scope
    from saferstreets.surveys.waves import delete_wave, show_wave

    engine = open_store()
    with session_scope(engine) as session:
        info = show_wave(session=session, wave=wave)
    if not yes and not typer.confirm(
        f"Delete wave '{info.name}' and its {info.responses:,} responses?"
    ):
        raise typer.Exit(1)
    with session_scope(engine) as session:
        info = delete_wave(session=session, wave=wave)
    console.print(
        f"Deleted wave '{info.name}' and its {info.responses:,} responses.",
        highlight=False,
        markup=False,
    )


def import_survey_command(
    path: Annotated[Path, typer.Argument(help="The survey export: CSV or XLSX.")],
    mapping: Annotated[
        Path | None, typer.Option(help="The mapping TOML that says which column means what.")
    ] = None,
    suggest_mapping: Annotated[
        bool,
        typer.Option(
            "--suggest-mapping",
            help="Write a mapping to start from, read from the headers and answers.",
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where --suggest-mapping writes (default: the export's name + .mapping.toml)."
        ),
    ] = None,
    wave: Annotated[
        str | None,
        typer.Option(help="The wave's name (default: the name in the mapping's wave table)."),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(help="The XLSX sheet to read (default: the one that fits the mapping)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="With --suggest-mapping: overwrite --out.")
    ] = False,
    min_progress: Annotated[
        float | None,
        typer.Option(
            help="Skip responses whose progress (Qualtrics' Progress, 0-100) is below this."
        ),
    ] = None,
    again: Annotated[
        bool,
        typer.Option("--again", help="Import a file already imported into another wave, again."),
    ] = False,
) -> None:
    """Import a survey export (SmartSurvey, MS Forms, SurveyMonkey, Qualtrics) as a wave."""
    from saferstreets.errors import AppError

    if suggest_mapping:
        from saferstreets.surveys.service import suggest_mapping as suggest

        target = out or path.with_name(path.name + ".mapping.toml")
        if target.exists() and not force:
            raise AppError(
                f"{target} already exists",
                hint="give --out elsewhere, or --force to replace it",
            )
        text = suggest(path, sheet=sheet)
        target.write_text(text, encoding="utf-8")
        checks = text.count("# check")
        console.print(
            f"Wrote a suggested mapping to {target} ({checks} line(s) marked '# check').",
            highlight=False,
            markup=False,
        )
        console.print(
            f"Check it, then: saferstreets import survey {path} --mapping {target}",
            highlight=False,
            markup=False,
        )
        return
    if mapping is None:
        raise AppError(
            "Say how to read the export",
            hint="give --mapping FILE, or --suggest-mapping to write one",
        )

    from saferstreets.surveys.service import import_survey

    engine = open_store()
    with rich_progress(console, transient=True) as progress:
        summary = import_survey(
            engine=engine,
            path=path,
            mapping=mapping,
            wave_name=wave,
            progress=progress,
            sheet=sheet,
            min_progress=min_progress,
            again=again,
        )
    console.print(summary.line(), highlight=False, markup=False)
    for problem in summary.problems:
        console.print(f"  quarantined: {problem}", highlight=False, markup=False)
    shown = len(summary.problems)
    total = summary.rows_quarantined + getattr(summary, "fields_quarantined", 0)
    if total > shown:
        console.print(
            f"  … and {total - shown:,} more in the quarantine", highlight=False, markup=False
        )


def _wave_line(w: object) -> str:
    from saferstreets.surveys.waves import WaveInfo

    assert isinstance(w, WaveInfo)
    period = f"{w.period_start or '…'} to {w.period_end or '…'}"
    outside = f", {w.outside_period:,} dated outside it" if w.outside_period else ""
    return f"{w.id}  {w.name}: {w.responses:,} responses; period {period}{outside}"
