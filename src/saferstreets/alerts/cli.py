"""``saferstreets alerts``: deliver the alert outbox from a worker process; retry failed alerts."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from saferstreets.cli.support import console, open_store

app = typer.Typer(
    help="Danger-now alerts: deliver the outbox, retry failed ones.", no_args_is_help=True
)


@app.command("deliver")
def deliver_command(
    loop: Annotated[
        bool, typer.Option("--loop", help="Keep delivering every alert_poll_seconds.")
    ] = False,
) -> None:
    """Send due alerts by email and webhook (once, or as a worker with --loop)."""
    from saferstreets.alerts.channels import configured_channels
    from saferstreets.alerts.service import deliver_due
    from saferstreets.config import get_settings
    from saferstreets.errors import AppError

    settings = get_settings()
    engine = open_store(settings)
    if not configured_channels(settings):
        raise AppError(
            "No alert channel is configured, so no alert can be sent",
            hint="set SAFERSTREETS_ALERT_SMTP_HOST and SAFERSTREETS_ALERT_EMAIL_TO, or "
            "SAFERSTREETS_ALERT_WEBHOOK_URL and SAFERSTREETS_ALERT_WEBHOOK_SECRET "
            "(see docs/alerts.md)",
        )
    while True:
        run = deliver_due(engine=engine, settings=settings)
        if not loop:
            console.print(run.line(), highlight=False)
            return
        if run.sent or run.retrying or run.failed:
            console.print(run.line(), highlight=False)
        time.sleep(settings.alert_poll_seconds)


@app.command("retry")
def retry_command() -> None:
    """Put failed alerts back in the outbox (after fixing a channel); the worker resends."""
    from saferstreets.alerts.service import retry_failed
    from saferstreets.db import session_scope

    with session_scope(open_store()) as session:
        n = retry_failed(session=session)
    console.print(f"{n} failed alert{'s' if n != 1 else ''} put back in the outbox")
