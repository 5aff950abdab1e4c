"""The ``saferstreets`` command: the top-level commands, and each domain's ``typer.Typer()``
wired in one place (:func:`_wire`). Domain command modules import :mod:`saferstreets.cli.support`,
never this module."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from saferstreets.accounts import cli as accounts_cli
from saferstreets.alerts import cli as alerts_cli
from saferstreets.areas import cli as areas_cli
from saferstreets.assessment import cli as assessment_cli
from saferstreets.backup import cli as backup_cli
from saferstreets.cli.support import console, open_store, print_app_error
from saferstreets.config import get_settings
from saferstreets.crime import cli as crime_cli
from saferstreets.errors import AppError
from saferstreets.ingest import cli as ingest_cli
from saferstreets.jobs import cli as jobs_cli
from saferstreets.places import cli as places_cli
from saferstreets.planning import cli as planning_cli
from saferstreets.publishing import cli as publishing_cli
from saferstreets.reports import cli as reports_cli
from saferstreets.retention import cli as retention_cli
from saferstreets.surveys import cli as surveys_cli
from saferstreets.themes import cli as themes_cli


class _AppErrorGroup(TyperGroup):
    """The top-level group: any AppError from any command ends as one message and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        from saferstreets.log_privacy import install_log_redaction

        install_log_redaction()
        try:
            return super().invoke(ctx)
        except AppError as exc:
            print_app_error(exc)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="saferstreets",
    cls=_AppErrorGroup,
    help=(
        "Hear where and why women and girls feel unsafe, assess it, act on it, show what was done."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Create and upgrade the store.", no_args_is_help=True)
import_app = typer.Typer(
    help="Import crime files, boundaries and survey exports.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the store, or bring it up to date with this version."""
    from saferstreets.db import get_engine
    from saferstreets.migrate import upgrade

    settings = get_settings()
    engine = get_engine(settings)
    before, after = upgrade(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"The store at {where} is up to date (revision {after}).")
    else:
        console.print(f"Upgraded the store at {where} from {before or 'empty'} to {after}.")


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Say what the store holds: records by kind, areas by level, quarantine, last imports."""
    from saferstreets.db import session_scope
    from saferstreets.status import store_status

    engine = open_store()
    with session_scope(engine) as session:
        info = store_status(session=session)
    if as_json:
        typer.echo(json.dumps(info, indent=2, default=str))
        return
    table = Table(title="What the store holds")
    table.add_column("records")
    table.add_column("count", justify="right")
    for key, value in info["counts"].items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    for level, value in info["areas"].items():
        table.add_row(f"areas: {level}", f"{value:,}")
    table.add_row("quarantined rows (open)", f"{info['quarantined_open']:,}")
    console.print(table)
    _print_lsoa_vintages(info["lsoa_vintages"])
    if info["last_imports"]:
        imports = Table(title="Last import of each kind")
        for col in ("kind", "source", "finished", "stored", "quarantined", "status"):
            imports.add_column(col)
        for kind, run in info["last_imports"].items():
            imports.add_row(
                kind,
                escape(str(run["source"])),
                str(run["finished_at"] or ""),
                f"{run['rows_stored']:,}",
                f"{run['rows_quarantined']:,}",
                run["status"],
            )
        console.print(imports)
    else:
        console.print("Nothing has been imported yet.")
    _print_alerts(info["alerts"])


def _print_lsoa_vintages(v: dict[str, Any]) -> None:
    """How police.uk's 2011 LSOA codes stand against 2021 (by the ONS lookup held)."""
    if not v["crimes_with_lsoa"]:
        return
    if not v["lookup_rows"]:
        console.print(
            f"LSOA codes: {v['crimes_with_lsoa']:,} crimes carry police.uk's 2011 LSOA code; no "
            "2011 to 2021 lookup is held (saferstreets import lsoa-lookup FILE)."
        )
        return
    console.print(
        f"LSOA codes: of {v['crimes_with_lsoa']:,} crimes with police.uk's 2011 LSOA code, "
        f"{v['lsoa_differs_2021']:,} differ from their 2021 code, {v['lsoa_same_2021']:,} are "
        f"the same, {v['lsoa_split_2021']:,} were split over several 2021 LSOAs and "
        f"{v['lsoa_not_in_lookup']:,} are not in the lookup."
    )


def _print_alerts(alerts: dict[str, Any]) -> None:
    """The alert outbox in one line, and every failed alert (delivered to no one, or not all)."""
    console.print(
        f"Danger-now alerts: {alerts['sent']:,} sent, {alerts['pending']:,} pending "
        f"({alerts['overdue']:,} overdue), {alerts['failed']:,} failed",
        highlight=False,
    )
    if alerts["overdue"]:
        console.print(
            "[bold red]Alerts are waiting too long:[/bold red] check that an alert channel is "
            "configured and a worker runs (docs/alerts.md)"
        )
    for failed in alerts["failed_alerts"]:
        console.print(
            f"[bold red]Alert failed[/bold red] {failed['alert_id']} ({failed['urgency']}, "
            f"received {failed['received_hour']}) after {failed['attempts']} attempts: "
            f"{failed['error']}; the report: {failed['link']}",
            highlight=False,
        )


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise AppError(
                f"Port {port} on {host} is already in use",
                hint="stop what is using it or choose another: "
                f"saferstreets serve --port {port + 1}",
            ) from exc


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    job_worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Also run a supervised job worker (--no-worker where workers run separately).",
        ),
    ] = True,
) -> None:
    """Serve the web app (public pages and staff pages)."""
    from saferstreets.web import serving

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    from saferstreets.web.app import refuse_development_secret

    refuse_development_secret(settings, host)
    os.environ["SAFERSTREETS_HOST"] = host  # the app's factory checks the address it serves on
    get_settings.cache_clear()
    open_store(settings)
    check_port_free(host, port)
    console.print(
        f"saferstreets is serving on [bold]http://{host}:{port}/[/bold] (Ctrl+C stops it)"
    )
    supervisor = _start_job_worker() if job_worker else None
    try:
        serving.run(host=host, port=port, workers=workers)  # TCP_NODELAY kept with workers > 1
    finally:
        if supervisor is not None:
            supervisor.stop()


def _start_job_worker() -> Any:
    """The supervised job worker beside the server (see saferstreets/jobs/supervise.py)."""
    from saferstreets.jobs.supervise import WorkerSupervisor

    console.print("A job worker runs beside it (plans, PDFs, alerts; --no-worker turns it off)")
    return WorkerSupervisor().start()


@app.command("demo")
def demo(
    seed: Annotated[int, typer.Option(help="Seed for the synthetic county.")] = 2021,
    out: Annotated[Path | None, typer.Option(help="Folder for the generated files.")] = None,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the app after.")
    ] = True,
) -> None:
    """Generate the synthetic demo county, run the whole pipeline on it, and serve the app."""
    from saferstreets.demo.pipeline import run_demo

    settings = get_settings()
    if serve_after:
        check_port_free(settings.host, settings.port)
    accounts, used = run_demo(settings=settings, seed=seed, out=out, console=console)
    console.print()
    console.print(f"The demo store is at {used.sqlalchemy_url}")
    console.print("[bold]Demo accounts[/bold] (password for each: [bold]demo-password[/bold])")
    for username, role in accounts:
        console.print(f"  {username:<16} {role}")
    if serve_after:
        os.environ["SAFERSTREETS_DATABASE_URL"] = used.sqlalchemy_url
        os.environ["SAFERSTREETS_FORCE_NAME"] = used.force_name
        get_settings.cache_clear()
        serve(host=None, port=None, workers=1, job_worker=True)


def _wire() -> None:
    """Each domain's command group, and the domains' ``import`` commands, in one place."""
    app.add_typer(ingest_cli.app, name="quarantine")
    import_app.command("boundaries")(areas_cli.import_boundaries_command)
    import_app.command("lsoa-lookup")(areas_cli.import_lsoa_lookup_command)
    app.add_typer(areas_cli.app, name="areas")
    import_app.command("crime")(crime_cli.import_crime_command)
    app.add_typer(crime_cli.app, name="crime")
    import_app.command("survey")(surveys_cli.import_survey_command)
    app.add_typer(surveys_cli.app, name="surveys")
    import_app.command("places")(places_cli.import_places_command)
    app.add_typer(places_cli.app, name="places")
    import_app.command("reports")(reports_cli.import_reports_command)
    app.add_typer(reports_cli.app, name="reports")
    app.add_typer(themes_cli.app, name="themes")
    app.command("assess")(assessment_cli.assess)
    app.add_typer(planning_cli.app, name="plan")
    app.command("report")(publishing_cli.report)
    app.command("publish")(publishing_cli.publish)
    app.add_typer(accounts_cli.app, name="users")
    app.add_typer(alerts_cli.app, name="alerts")
    app.add_typer(retention_cli.app, name="retention")
    app.command("export-all")(backup_cli.export_all_command)
    app.command("restore")(backup_cli.restore_command)
    app.command("worker")(jobs_cli.worker_command)
    app.add_typer(jobs_cli.app, name="jobs")


_wire()


def main() -> None:
    """Entry point of the ``saferstreets`` command."""
    app()


if __name__ == "__main__":
    main()
