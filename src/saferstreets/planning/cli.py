"""``saferstreets plan``: make a deployment plan ("what if"); list, show, compare, export plans."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.table import Table

from saferstreets.cli.support import console, open_store, spinner
from saferstreets.errors import PlanningError
from saferstreets.planning.params import (
    DEFAULT_WEIGHTS_TEXT,
    DEFAULTS,
    PlanParams,
    parse_weights,
)

#: what to type, by the setting a planning error names (the errors themselves carry no CLI advice)
CLI_HINTS = {
    "radius": "for example --radius 800",
    "method": "use --method mclp, or a coarser H3 resolution",
    "busy_min_records": (
        "import town centres with saferstreets import boundaries --kind town_centre"
    ),
    "force_in": "candidate bases are town centre codes and busy H3 cells: "
    "saferstreets plan candidates lists them",
    "force_out": "candidate bases are town centre codes and busy H3 cells: "
    "saferstreets plan candidates lists them",
}


def _help(field: str) -> str:
    return PlanParams.model_fields[field].description or field


@contextmanager
def cli_hints() -> Iterator[None]:
    """Give a planning error the CLI's advice for the first setting it names."""
    try:
        yield
    except PlanningError as exc:
        for field in exc.field_errors:
            if field in CLI_HINTS:
                exc.hint = CLI_HINTS[field]
                break
        raise


app = typer.Typer(
    help="Place and size town-centre teams, spread ward officers, plan patrols.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback(invoke_without_command=True)
def make(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Name to store the plan under.")] = None,
    teams: Annotated[int, typer.Option(help=_help("teams"))] = DEFAULTS.teams,
    officers: Annotated[int, typer.Option(help=_help("officers"))] = DEFAULTS.officers,
    radius: Annotated[float, typer.Option(help=_help("radius"))] = DEFAULTS.radius,
    ward_officers: Annotated[
        int, typer.Option(help=_help("ward_officers"))
    ] = DEFAULTS.ward_officers,
    ward_min: Annotated[int, typer.Option(help=_help("ward_min"))] = DEFAULTS.ward_min,
    min_team: Annotated[int, typer.Option(help=_help("min_team"))] = DEFAULTS.min_team,
    max_team: Annotated[int, typer.Option(help=_help("max_team"))] = DEFAULTS.max_team,
    force_in: Annotated[list[str] | None, typer.Option(help="A base that must be used.")] = None,
    force_out: Annotated[list[str] | None, typer.Option(help="A base that must not.")] = None,
    weights: Annotated[str, typer.Option(help="Demand weights.")] = DEFAULT_WEIGHTS_TEXT,
    method: Annotated[str, typer.Option(help=_help("method"))] = DEFAULTS.method,
    apportionment: Annotated[
        str, typer.Option(help=_help("apportionment"))
    ] = DEFAULTS.apportionment,
    time_limit: Annotated[float, typer.Option(help=_help("time_limit"))] = DEFAULTS.time_limit,
    phases: Annotated[int, typer.Option(help=_help("phases"))] = DEFAULTS.phases,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--start",
            formats=["%Y-%m-%d"],
            help="The day the first phase starts (YYYY-MM-DD; default: the first of next month).",
        ),
    ] = None,
    phase_weeks: Annotated[int, typer.Option(help=_help("phase_weeks"))] = DEFAULTS.phase_weeks,
    max_visits: Annotated[
        int, typer.Option(help=_help("max_visits_per_hotspot"))
    ] = DEFAULTS.max_visits_per_hotspot,
    visits_per_hour: Annotated[
        int, typer.Option(help=_help("visits_per_hour"))
    ] = DEFAULTS.visits_per_hour,
    seed: Annotated[int, typer.Option(help=_help("patrol_seed"))] = DEFAULTS.patrol_seed,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make a plan: ``saferstreets plan --name NAME --teams 19 --officers 500 --radius 800``."""
    if ctx.invoked_subcommand is not None:
        return
    from saferstreets.config import get_settings
    from saferstreets.planning.service import make_plan, plan_detail

    if not name:
        raise PlanningError(
            "Give the plan a name",
            field_errors={"name": "--name NAME"},
            hint='for example: saferstreets plan --name "19 teams" --teams 19',
        )
    if method not in ("mclp", "pmedian"):
        raise PlanningError(
            f"Unknown method {method!r}", field_errors={"method": "mclp or pmedian"}
        )
    if apportionment not in ("webster", "hamilton"):
        raise PlanningError(
            f"Unknown apportionment {apportionment!r}",
            field_errors={"apportionment": "webster or hamilton"},
        )
    settings = get_settings()
    with cli_hints():
        params = PlanParams(
            teams=teams,
            officers=officers,
            radius=radius,
            ward_officers=ward_officers,
            ward_min=ward_min,
            min_team=min_team,
            max_team=max_team,
            force_in=force_in or [],
            force_out=force_out or [],
            weights=parse_weights(weights),
            method=cast(Any, method),
            apportionment=cast(Any, apportionment),
            time_limit=time_limit,
            phases=phases,
            phase_weeks=phase_weeks,
            max_visits_per_hotspot=max_visits,
            visits_per_hour=visits_per_hour,
            patrol_seed=seed,
        )
        if start:
            params.rollout_start = start.date()
    engine = open_store(settings)
    with spinner("", first="reading the store", disable=as_json) as progress, cli_hints():
        plan = make_plan(
            engine=engine, name=name, params=params, settings=settings, progress=progress
        )
    from saferstreets.db import session_scope

    with session_scope(engine) as session:
        detail = plan_detail(session=session, plan_id=plan.id)
    if as_json:
        typer.echo(json.dumps(detail, indent=2, default=str))
        return
    _print_plan(console, detail)


@app.command("list")
def list_cmd() -> None:
    """List stored plans."""
    from saferstreets.db import session_scope
    from saferstreets.planning.service import list_plans

    with session_scope(open_store()) as session:
        plans = list_plans(session=session)
        table = Table(title="Stored plans")
        for col in ("id", "name", "teams", "coverage", "gap", "status", "made"):
            table.add_column(col)
        for p in plans:
            table.add_row(
                str(p.id),
                p.name,
                str(p.params.get("teams")),
                f"{100 * (p.coverage or 0):.1f}%",
                _pct(p.gap),
                p.status,
                p.created_at.strftime("%Y-%m-%d %H:%M"),
            )
    console.print(table if plans else "No plans yet: saferstreets plan --name NAME")


@app.command("show")
def show_cmd(
    plan: Annotated[str, typer.Argument(help="Plan id or name.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a plan: teams, rollout, ward officers."""
    from saferstreets.db import session_scope
    from saferstreets.planning.service import find_plan, plan_detail

    with session_scope(open_store()) as session:
        detail = plan_detail(session=session, plan_id=find_plan(session=session, ref=plan).id)
    if as_json:
        typer.echo(json.dumps(detail, indent=2, default=str))
    else:
        _print_plan(console, detail)


@app.command("compare")
def compare_cmd(
    plans: Annotated[list[str], typer.Argument(help="Two or more plan ids or names.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Compare plans side by side."""
    from saferstreets.db import session_scope
    from saferstreets.planning.service import compare_plans, find_plan

    with session_scope(open_store()) as session:
        ids = [find_plan(session=session, ref=p).id for p in plans]
        cmp = compare_plans(session=session, ids=ids)
    if as_json:
        typer.echo(json.dumps(cmp, indent=2, default=str))
        return
    table = Table(title="Plans side by side")
    table.add_column("")
    for p in cmp["plans"]:
        table.add_column(p["name"])
    rows: list[tuple[str, str, Any]] = [
        ("coverage of a common demand measure", "common_coverage", lambda v: f"{100 * v:.1f}%")
    ]
    if cmp["comparable"]:
        rows.append(("coverage (own weights)", "coverage", lambda v: f"{100 * v:.1f}%"))
    for label, key, fmt in (
        *rows,
        ("proven gap", "gap", _pct),
        ("status", "status", str),
        ("teams", "teams", str),
        ("officers", "officers", str),
        ("ward officers", "ward_officers", str),
        ("solve seconds", "solve_seconds", lambda v: f"{v:.1f}"),
    ):
        table.add_row(label, *[fmt(p[key]) if p[key] is not None else "" for p in cmp["plans"]])
    for key, values in cmp["differing_params"].items():
        table.add_row(f"setting: {key}", *[str(v) for v in values])
    console.print(table)
    if not cmp["comparable"]:
        console.print(
            "These plans weigh demand differently, so each is measured on one common demand: "
            f"{cmp['common_weights_words']}."
        )
    bases = Table(title="Bases (officers in each plan)")
    bases.add_column("base")
    for p in cmp["plans"]:
        bases.add_column(p["name"], justify="right")
    for code, row in cmp["bases"].items():
        bases.add_row(
            f"{row['name']} ({code})", *["" if o is None else str(o) for o in row["officers"]]
        )
    console.print(bases)


@app.command("export")
def export_cmd(
    plan: Annotated[str, typer.Argument(help="Plan id or name.")],
    out: Annotated[Path, typer.Option(help="Folder to write into.")] = Path("."),
    pdf: Annotated[bool, typer.Option(help="Also write a one-page PDF briefing per team.")] = False,
) -> None:
    """Write the patrol plan and team/ward tables as CSV (and team briefings as PDF)."""
    from saferstreets.db import session_scope
    from saferstreets.planning.service import find_plan, patrols_csv, teams_csv

    out.mkdir(parents=True, exist_ok=True)
    with session_scope(open_store()) as session:
        p = find_plan(session=session, ref=plan)
        (out / f"plan-{p.id}-patrols.csv").write_text(patrols_csv(session=session, plan_id=p.id))
        (out / f"plan-{p.id}-teams-wards.csv").write_text(teams_csv(session=session, plan_id=p.id))
        written = 2
        if pdf:
            from saferstreets.basemap.service import archive_path
            from saferstreets.config import get_settings
            from saferstreets.planning.briefing import briefing_pdf, plan_teams

            basemap = archive_path(settings=get_settings())
            for team_id in plan_teams(session=session, plan_id=p.id):
                (out / f"plan-{p.id}-team-{team_id}.pdf").write_bytes(
                    briefing_pdf(session=session, plan_id=p.id, team_id=team_id, basemap=basemap)
                )
                written += 1
    console.print(f"Wrote {written} files to {out}")


@app.command("candidates")
def candidates_cmd() -> None:
    """List candidate bases (town centres, busy cells): the codes for --force-in/--force-out."""
    from saferstreets.config import get_settings
    from saferstreets.db import session_scope
    from saferstreets.planning.service import candidate_list

    settings = get_settings()
    with session_scope(open_store(settings)) as session:
        rows = candidate_list(session=session, settings=settings)
    table = Table(title=f"{len(rows)} candidate bases")
    for col in ("code", "name", "kind"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["code"], r["name"], r["kind"])
    console.print(table)


def _pct(v: Any) -> str:
    return "" if v is None else f"{100 * v:.2f}%"


def _print_plan(console: Any, d: dict) -> None:
    from saferstreets.planning.service import STATUS_TEXT

    s = d["solver"]
    console.print(
        f"[bold]{d['name']}[/bold]: {len(d['teams'])} teams cover "
        f"[bold]{100 * d['coverage']:.1f}%[/bold] of weighted demand within "
        f"{d['params']['radius']:g} m; {STATUS_TEXT.get(d['status'], d['status'])}, "
        f"proven gap {_pct(d['gap'])}, "
        f"{d['solve_seconds']:.1f} s."
    )
    teams = Table(title="Teams")
    for col in ("team", "base", "officers", "covers", "phase", "starts"):
        teams.add_column(col)
    for t in d["teams"]:
        teams.add_row(
            t["name"],
            t["base_code"],
            str(t["officers"]),
            f"{100 * (t['covered_share'] or 0):.1f}%",
            str(t["phase"]),
            t["phase_start"] or "",
        )
    console.print(teams)
    roll = Table(title="Rollout")
    for col in ("phase", "starts", "teams", "cumulative coverage"):
        roll.add_column(col)
    for ph in d["summary"].get("rollout", []):
        roll.add_row(
            str(ph["phase"]),
            ph["start"],
            str(ph["teams"]),
            f"{100 * ph['cumulative_coverage']:.1f}%",
        )
    console.print(roll)
    if d["wards"]:
        wards = Table(title="Ward officers (largest first)")
        for col in ("ward", "officers", "why"):
            wards.add_column(col)
        for wd in d["wards"][:15]:
            wards.add_row(wd["name"], str(wd["officers"]), wd["reason"])
        console.print(wards)
        if len(d["wards"]) > 15:
            console.print(
                f"… and {len(d['wards']) - 15} more wards (saferstreets plan show --json)"
            )
    if s.get("stages"):
        st = Table(title="How the optimiser got there")
        for col in ("stage", "demand rows", "candidates", "objective", "bound", "gap", "s"):
            st.add_column(col)
        for row in s["stages"]:
            st.add_row(
                row["name"],
                f"{row['demand_rows']:,}",
                f"{row['candidates']:,}",
                "" if row["objective"] is None else f"{row['objective']:.4f}",
                "" if row["bound"] is None else f"{row['bound']:.4f}",
                _pct(row["gap"]),
                f"{row['seconds']:.2f}",
            )
        console.print(st)
