"""``saferstreets demo``: generate the synthetic county, then run every pipeline stage on it.

Each stage is a function ``(ctx) -> str`` that returns one line for the console. The stages call
the same services a user's real files go through; the demo has no shortcuts into the store.
Domains add their stage to ``STAGES`` in the order the loop runs: hear, assess, act, show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.db import get_engine, session_scope
from saferstreets.errors import AppError
from saferstreets.migrate import upgrade

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed to the console for the demo accounts


@dataclass
class DemoContext:
    settings: Settings
    seed: int
    out: Path
    engine: Engine
    console: Console
    files: dict[str, Any] = field(default_factory=dict)  # what the generator wrote
    accounts: list[tuple[str, str]] = field(default_factory=list)


def stage_generate(ctx: DemoContext) -> str:
    from saferstreets.demo.generator import generate_county

    def say(what: str, done: int | None = None, total: int | None = None) -> None:
        ctx.console.print(f"  [dim]{what}[/dim]")

    ctx.files = generate_county(out=ctx.out, seed=ctx.seed, progress=say)
    return f"generated the demo county into {ctx.out}"


def stage_store(ctx: DemoContext) -> str:
    _before, after = upgrade(ctx.engine)
    return f"store at revision {after}"


def stage_boundaries(ctx: DemoContext) -> str:
    from saferstreets.areas.service import assign_points, import_boundaries

    done = []
    for key, level in (
        ("force", "force"),
        ("districts", "district"),
        ("wards", "ward"),
        ("lsoas", "lsoa"),
        ("town_centres", "town_centre"),
    ):
        if key in ctx.files:
            summary = import_boundaries(
                engine=ctx.engine,
                path=ctx.files[key],
                level=level,
                assign=False,
                settings=ctx.settings,
            )
            done.append(f"{summary.rows_stored} {level.replace('_', ' ')}")
    if done:
        assign_points(engine=ctx.engine, settings=ctx.settings)
    return ", ".join(done) if done else "no boundary files in the demo county"


def stage_places(ctx: DemoContext) -> str:
    from saferstreets.demo.gazetteer import GAZETTEER_FILE
    from saferstreets.places.service import count_places, import_places

    paths = [
        p for p in (Path(ctx.files.get("places", "")), ctx.out / GAZETTEER_FILE) if p.is_file()
    ]
    if not paths:
        return "no gazetteer files in the demo county"
    import_places(engine=ctx.engine, paths=paths, h3_resolution=ctx.settings.h3_resolution)
    with session_scope(ctx.engine) as session:
        kinds = count_places(session=session)
    return ", ".join(f"{n:,} {kind}" for kind, n in sorted(kinds.items())) + " places"


def stage_crime(ctx: DemoContext) -> str:
    from saferstreets.crime.service import import_crime
    from saferstreets.ingest.service import total

    if "crime" not in ctx.files:
        return "no police.uk files in the demo county"
    summaries = import_crime(
        engine=ctx.engine, paths=[Path(ctx.files["crime"])], settings=ctx.settings
    )
    files = [s for s in summaries if s.kind.startswith("crime_")]
    t = total(files)
    return (
        f"{len(files)} police.uk files: {t.rows_stored:,} rows stored, "
        f"{t.rows_quarantined:,} quarantined"
    )


def stage_surveys(ctx: DemoContext) -> str:
    from saferstreets.surveys.service import import_survey

    waves = ctx.files.get("surveys") or []
    if not waves:
        return "no survey waves in the demo county"
    done = []
    for wave in waves:
        summary = import_survey(
            engine=ctx.engine,
            path=Path(wave["path"]),
            mapping=Path(wave["mapping"]),
            wave_name=wave.get("wave"),
        )
        name = wave.get("wave") or Path(wave["path"]).stem
        done.append(f"{summary.rows_stored:,} responses in '{name}'")
    return "; ".join(done)


def stage_accounts(ctx: DemoContext) -> str:
    from saferstreets.demo.accounts import create_demo_accounts

    with session_scope(ctx.engine) as session:
        ctx.accounts = create_demo_accounts(
            session=session, files=ctx.files, password=DEMO_PASSWORD
        )
    return f"{len(ctx.accounts)} demo accounts"


def stage_reports(ctx: DemoContext) -> str:
    from saferstreets.reports.service import import_reports

    if "reports" not in ctx.files:
        return "no reports in the demo county"
    summary = import_reports(engine=ctx.engine, path=ctx.files["reports"], source="demo")
    return summary.line()


def stage_assess(ctx: DemoContext) -> str:
    from saferstreets.assessment.service import run_assessment

    runs = run_assessment(engine=ctx.engine, settings=ctx.settings, seed=ctx.seed)
    return f"{len(runs)} findings stored"


def stage_planning(ctx: DemoContext) -> str:
    from saferstreets.planning.params import PlanParams
    from saferstreets.planning.service import make_plan

    plan = make_plan(
        engine=ctx.engine,
        name="Default: 19 teams, 500 officers",
        params=PlanParams(),
        settings=ctx.settings,
    )
    gap = f", proven gap {100 * plan.gap:.2f}%" if plan.gap is not None else ""
    return f"{plan.name!r} covers {100 * (plan.coverage or 0):.1f}% of weighted demand{gap}"


def stage_local_issues(ctx: DemoContext) -> str:
    from datetime import date

    from saferstreets.demo.local_issues import seed_local_issues

    with session_scope(ctx.engine) as session:
        created = seed_local_issues(session=session, seed=ctx.seed, today=date.today())
    return f"{created} local issues opened from clusters of reports and worked through SARA"


def stage_publish(ctx: DemoContext) -> str:
    from datetime import UTC, datetime

    from saferstreets.publishing.batch import publish

    with session_scope(ctx.engine) as session:
        batch = publish(
            session=session, settings=ctx.settings, now=datetime.now(UTC).replace(tzinfo=None)
        )
        return f"{batch.figures_shown:,} public figures shown, {batch.figures_hidden:,} suppressed"


Stage = Callable[[DemoContext], str]

# hear, assess, act, show: each domain inserts its stage where it belongs in the loop.
STAGES: list[tuple[str, Stage]] = [
    ("Generating the synthetic county", stage_generate),
    ("Preparing the store", stage_store),
    ("Importing boundaries", stage_boundaries),
    ("Importing places", stage_places),
    ("Importing police.uk crime", stage_crime),
    ("Importing survey waves", stage_surveys),
    ("Receiving public reports", stage_reports),
    ("Assessing", stage_assess),
    ("Planning deployments", stage_planning),
    ("Working local issues", stage_local_issues),
    ("Publishing public figures", stage_publish),
    ("Creating demo accounts", stage_accounts),
]


def demo_settings(settings: Settings, out: Path) -> Settings:
    """The settings the demo runs with: its own fresh SQLite store unless a database URL is set,
    and the demo county's street map unless a basemap is configured."""
    if settings.basemap_path is None:
        from saferstreets.demo.streets import BASEMAP_FILE

        settings = settings.model_copy(update={"basemap_path": (out / BASEMAP_FILE).resolve()})
    if settings.database_url:
        return settings
    db = out / "demo.db"
    for leftover in (db, db.with_name("demo.db-wal"), db.with_name("demo.db-shm")):
        leftover.unlink(missing_ok=True)
    return settings.model_copy(update={"database_url": f"sqlite:///{db.resolve()}"})


def _require_empty(engine: Engine) -> None:
    from saferstreets.migrate import current_revision
    from saferstreets.status import store_status

    if current_revision(engine) is None:
        return
    with session_scope(engine) as session:
        counts = store_status(session=session)["counts"]
    if any(counts.values()):
        raise AppError(
            "The demo needs an empty store, and the one at SAFERSTREETS_DATABASE_URL holds data",
            hint="unset SAFERSTREETS_DATABASE_URL to run the demo in its own SQLite store, "
            "or point it at an empty database",
        )


def run_demo(
    *, settings: Settings, seed: int, out: Path | None, console: Console
) -> tuple[list[tuple[str, str]], Settings]:
    """Run every stage in order; return the demo accounts (username, role) and the settings."""
    out = out or settings.data_dir / "demo"
    out.mkdir(parents=True, exist_ok=True)
    settings = demo_settings(settings, out)
    engine = get_engine(settings)
    _require_empty(engine)
    ctx = DemoContext(settings=settings, seed=seed, out=out, engine=engine, console=console)
    for title, stage in STAGES:
        with console.status(f"{title}…"):
            line = stage(ctx)
        console.print(f"[green]✓[/green] {title}: {line}")
    from saferstreets.areas.service import force_name

    with session_scope(engine) as session:  # the stored force's name, as the report shows it
        settings = settings.model_copy(
            update={"force_name": force_name(session=session, settings=settings)}
        )
    return ctx.accounts, settings
