"""``saferstreets retention``: remove the words and exact points past their retention period."""

from __future__ import annotations

from typing import Annotated

import typer

from saferstreets.cli.support import console, open_store

app = typer.Typer(
    help="Retention: remove reporters' words and exact points once past their period.",
    no_args_is_help=True,
)


@app.command("apply")
def apply_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; change nothing.")
    ] = False,
) -> None:
    """Generalise reports and survey responses older than the retention periods (audited)."""
    from saferstreets.config import get_settings
    from saferstreets.db import committing, session_scope
    from saferstreets.models_common import utcnow
    from saferstreets.retention.service import apply_retention

    settings = get_settings()
    with session_scope(open_store(settings)) as session:
        result = apply_retention(session=session, settings=settings, now=utcnow(),
                                 dry_run=dry_run, settle=committing(session))  # fmt: skip
    verb = "Would remove" if dry_run else "Removed"
    console.print(
        f"{verb}, from {result.reports:,} reports received before "
        f"{result.report_cutoff:%Y-%m-%d %H:00}: {result.report_free_texts:,} free texts, "
        f"{result.report_place_texts:,} typed places, {result.report_points:,} exact points",
        highlight=False,
    )
    console.print(
        f"{verb}, from {result.survey_responses:,} survey responses answered before "
        f"{result.survey_cutoff:%Y-%m-%d}: {result.survey_free_texts:,} free texts, "
        f"{result.survey_raw_rows:,} raw rows, {result.survey_points:,} exact points, "
        f"{result.survey_postcodes:,} postcodes cut to their sector",
        highlight=False,
    )
    if result.survey_uploads:
        console.print(
            f"{verb} {result.survey_uploads:,} survey exports uploaded over a day ago and never "
            "imported (they hold the respondents' IP addresses, emails, names)",
            highlight=False,
        )
    if result.reports_held:
        console.print(
            f"Kept as they are: {result.reports_held:,} urgent reports still waiting for a "
            "safeguarding review (the queue loses nothing; review them first)",
            highlight=False,
        )
    if dry_run:
        console.print("Dry run: nothing was changed.")
