"""``saferstreets assess`` end to end: the demo county, and the demo county with many reports.

1. The demo county is generated and stored through the demo pipeline's own stages (boundaries,
   police.uk crime, survey waves, public reports through the import path), then
   ``assessment.service.run_assessment`` runs end to end (themes assigned) on SQLite and, when the
   local server answers, on PostgreSQL.
2. The same county with 1,000,000 generated reports (20,000 in ``--quick``; see
   ``bench/assess_data.py``) bulk loaded and placed by ``areas.service.assign_points``. Themes
   for their free text come from the zero-shot model, scored once per distinct text (the drawn
   reports repeat the generator's texts, so this is set-up, not a measured speed); the
   assessment then runs with ``assign_themes=False`` and each stage is timed from its progress
   messages. Theme throughput is measured on 20,000 of the texts and the 1M figure extrapolated.
3. Peers on the same store in the same run: pandas for the heaviest tabulations (reasons ranked
   with explode/value_counts; the weekday x hour crosstab), each including its read from the
   store, and esda ``G_Local`` (999 permutations) on the report cells with the same weights.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from bench.assess_data import Built, build_demo_store, load_reports
from bench.common import markdown_table, peak_rss_mb, timed
from saferstreets.config import Settings
from saferstreets.db import get_engine, session_scope

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# One database per run: engineers share the server, and a fixed name let one run's
# DROP DATABASE ... WITH (FORCE) end another's connections mid-load.
PG_DB = f"saferstreets_bench_assess_{os.getpid()}"
THEME_SAMPLE = 20_000


def timed_assessment(
    engine: sa.Engine, settings: Settings, *, assign_themes: bool
) -> tuple[float, list[tuple[str, float]]]:
    """Run the assessment; return its seconds and (stage, seconds) from its progress messages."""
    from saferstreets.assessment.service import run_assessment

    marks: list[tuple[float, str]] = []

    def progress(message: str) -> None:
        if not message.startswith("assigning themes to free text ("):
            marks.append((time.perf_counter(), message))

    started = time.perf_counter()
    run_assessment(engine=engine, settings=settings, progress=progress, assign_themes=assign_themes)
    ended = time.perf_counter()
    stages = []
    for (t, message), nxt in zip(marks, [m[0] for m in marks[1:]] + [ended], strict=True):
        stages.append((message, nxt - t))
    return ended - started, stages


def counts(engine: sa.Engine) -> dict[str, int]:
    names = ("report", "survey_response", "crime", "crime_outcome", "theme_assignment")
    with engine.connect() as conn:
        return {n: int(conn.scalar(sa.text(f"SELECT count(*) FROM {n}")) or 0) for n in names}


def rows_for(stage: str, n: dict[str, int]) -> int:
    """The rows a stage works through (reports, responses or crimes) for the rows/s column."""
    s = stage.lower()
    if "theme" in s:
        return n["theme_assignment"]
    if "report" in s or s.startswith(("concerns", "when", "locating")):
        return n["report"]
    if "crime" in s or "outcome" in s:
        return n["crime"]
    if s.startswith(("feeling", "who", "survey")):
        return n["survey_response"]
    if s.startswith("reading"):
        return sum(n.values())
    return 0


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh database on the local server (dropped afterwards), or None when none answers."""
    try:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {PG_DB}")
    except Exception:
        yield None
        return
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        admin.dispose()


def fill_themes(engine: sa.Engine) -> tuple[int, float]:
    """Zero-shot themes for every report text, scored once per distinct text; (rows, seconds)."""
    from saferstreets.models_common import utcnow
    from saferstreets.themes.service import _Assigner  # the service's own model wrapper

    started = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, free_text FROM report WHERE free_text IS NOT NULL AND free_text != ''"
            )
        ).all()
    distinct = sorted({t for _, t in rows})
    assigner = _Assigner(None)
    themes_of: dict[str, list[tuple[str, float]]] = {}
    for s in range(0, len(distinct), 2000):
        batch = distinct[s : s + 2000]
        conf, present = assigner(batch)
        for i, text in enumerate(batch):
            themes_of[text] = [
                (assigner.themes[j], round(float(conf[i, j]), 4))
                for j in np.flatnonzero(present[i])
            ]
    now = utcnow()
    out = [
        {
            "owner_kind": "report",
            "owner_id": int(i),
            "theme": theme,
            "confidence": c,
            "source": "model",
            "model_version": assigner.version,
            "present": True,
            "created_at": now,
        }
        for i, text in rows
        for theme, c in themes_of[text]
    ]
    from saferstreets.themes.inforce import refresh_themes
    from saferstreets.themes.models import ThemeAssignment

    with session_scope(engine) as session:
        session.execute(sa.delete(ThemeAssignment).where(ThemeAssignment.source == "model"))
        for s in range(0, len(out), 50_000):
            session.execute(sa.insert(ThemeAssignment), out[s : s + 50_000])
        # rows written by hand, as themes.service.assign_all writes them: so is what follows
        refresh_themes(session=session, owner_kind="report")
    return len(out), time.perf_counter() - started


def theme_throughput(engine: sa.Engine, n: int) -> tuple[int, float]:
    """Seconds for the zero-shot model to score ``n`` report texts (as assign_all batches them)."""
    from saferstreets.themes.service import BATCH, _Assigner

    with engine.connect() as conn:
        texts = [
            t
            for (t,) in conn.execute(
                sa.text(
                    "SELECT free_text FROM report WHERE free_text IS NOT NULL AND free_text != '' "
                    "ORDER BY id LIMIT :n"
                ),
                {"n": n},
            )
        ]
    assigner = _Assigner(None)

    def score() -> None:
        for s in range(0, len(texts), BATCH):
            assigner(texts[s : s + BATCH])

    seconds, _ = timed(score)
    return len(texts), seconds


def peers(engine: sa.Engine, settings: Settings) -> list[list[Any]]:
    """Ours beside pandas (tabulations) and esda (Gi*) on the same store."""
    import pandas as pd

    from saferstreets.analysis.hotspots import GiStar, H3Weights, study_cells
    from saferstreets.analysis.people import _ranked_groups
    from saferstreets.analysis.timeprofile import time_profile
    from saferstreets.assessment.service import report_events, report_tallies

    n = counts(engine)["report"]
    rows: list[list[Any]] = []

    def ours_concerns() -> list[dict[str, Any]]:
        with session_scope(engine) as s:
            t = report_tallies(session=s)
        return _ranked_groups(t.reasons, sum(c for _, c in t.reasons))

    def pandas_concerns() -> pd.Series:
        with engine.connect() as conn:
            df = pd.read_sql("SELECT id, reasons FROM report", conn)
        df["reasons"] = df["reasons"].map(lambda v: json.loads(v) if isinstance(v, str) else v)
        df = df[df["reasons"].map(len) > 0]
        long = df.explode("reasons").drop_duplicates()
        return long["reasons"].value_counts() / len(df)

    t_ours, ranked = timed(ours_concerns)
    t_pd, vc = timed(pandas_concerns)
    same = len(ranked) == len(vc) and all(abs(r["share"] - vc[r["code"]]) < 1e-12 for r in ranked)
    rows.append(
        [
            "reasons ranked (read + tabulate)",
            n,
            t_ours,
            n / t_ours,
            t_pd,
            t_pd / t_ours,
            "yes" if same else "NO",
        ]
    )

    def ours_when() -> Any:
        with session_scope(engine) as s:
            t = report_tallies(session=s)
        w = t.when
        return time_profile(
            [d for d, _, _ in w], [h for _, h, _ in w], counts=[c for _, _, c in w]
        ).matrix

    def pandas_when() -> pd.DataFrame:
        with engine.connect() as conn:
            df = pd.read_sql("SELECT occurred_on, occurred_hour FROM report", conn)
        df = df.dropna()
        day = pd.to_datetime(df["occurred_on"])
        return pd.crosstab(day.dt.weekday, df["occurred_hour"].astype(int))

    t_ours, matrix = timed(ours_when)
    t_pd, ct = timed(pandas_when)
    ref = np.zeros((7, 24), dtype=np.int64)
    for wd in ct.index:
        for h in ct.columns:
            ref[int(wd), int(h)] = ct.loc[wd, h]
    rows.append(
        [
            "weekday x hour crosstab (read + tabulate)",
            n,
            t_ours,
            n / t_ours,
            t_pd,
            t_pd / t_ours,
            "yes" if np.array_equal(np.asarray(matrix), ref) else "NO",
        ]
    )

    # Gi* on the report cells, 999 permutations, same weights
    with session_scope(engine) as s:
        t_ev, ev = timed(lambda: report_events(session=s, res=settings.h3_resolution))
    per_cell = np.bincount(ev.cell_of, minlength=len(ev.cells))
    count_of = dict(zip(ev.cells, per_cell.tolist(), strict=True))
    cells = study_cells(count_of)
    weights = H3Weights.from_cells(cells)
    y = np.array([count_of.get(c, 0) for c in cells], dtype=float)
    t_gi, gi = timed(lambda: GiStar(y, weights, permutations=999, seed=1).fit())
    from esda.getisord import G_Local
    from libpysal.weights import W

    lw = W(weights.neighbour_lists(), silence_warnings=True)

    def esda_run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return G_Local(y, lw, transform="B", star=True, permutations=999, seed=1, n_jobs=1)

    t_esda, ref_gi = timed(esda_run)
    zdiff = float(np.nanmax(np.abs(gi.z - ref_gi.Zs)))
    rows.append(
        [f"report cells from points ({len(ev.cells):,} cells)", n, t_ev, n / t_ev, "", "", ""]
    )
    rows.append(
        [
            f"Gi* 999 permutations on {len(cells):,} report cells",
            len(cells),
            t_gi,
            len(cells) / t_gi,
            t_esda,
            t_esda / t_gi,
            f"max z diff {zdiff:.1e}",
        ]
    )
    return rows


def _table(stages: list[tuple[str, float]], n: dict[str, int]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for name, seconds in stages:
        r = rows_for(name, n)
        out.append([name, r or "", seconds, (r / seconds) if r and seconds > 0 else "", "", "", ""])
    return out


def _checkpoint(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def run(*, quick: bool) -> str:
    n_big = 20_000 if quick else 1_000_000
    headers = ["stage", "rows", "seconds", "rows/s", "peer seconds", "peer / ours", "same result"]
    sections: list[str] = []
    say: Callable[[str], None] = lambda m: print(f"   {m}", flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="bench-assess-") as tmp_name:
        tmp = Path(tmp_name)
        demo_dir = tmp / "demo"
        demo_dir.mkdir()
        say("building the demo county store (SQLite)")
        base = build_demo_store(
            out=demo_dir, database_url=f"sqlite:///{demo_dir / 'store.db'}", with_reports=False
        )
        _checkpoint(base.engine)
        big_db = tmp / "big.db"
        shutil.copy(demo_dir / "store.db", big_db)
        from rich.console import Console

        from saferstreets.demo import pipeline

        ctx = pipeline.DemoContext(
            settings=base.settings,
            seed=1,
            out=demo_dir,
            engine=base.engine,
            console=Console(quiet=True),
            files=base.files,
        )
        t_form, _ = timed(lambda: pipeline.stage_reports(ctx))
        n_demo = counts(base.engine)
        build_rows = [[k, "", v, "", "", "", ""] for k, v in base.seconds.items()]
        build_rows.append(
            [
                f"reports through the import path (validate, locate, triage, save): "
                f"{1000 * t_form / max(n_demo['report'], 1):.2f} ms a report",
                n_demo["report"],
                t_form,
                n_demo["report"] / t_form,
                "",
                "",
                "",
            ]
        )
        say("assessing the demo county (SQLite)")
        total, stages = timed_assessment(base.engine, base.settings, assign_themes=True)
        demo_rows = _table(stages, counts(base.engine))
        demo_rows.append(["**run_assessment end to end**", "", total, "", "", "", ""])
        sections.append(
            "## Demo county, SQLite\n\nStore: "
            + ", ".join(f"{v:,} {k}" for k, v in n_demo.items())
            + ".\n\n"
            + markdown_table(headers, build_rows + demo_rows)
        )
        if not quick:
            with postgres_database() as pg_url:
                if pg_url:
                    say("building and assessing the demo county (PostgreSQL)")
                    pg_dir = tmp / "pg"
                    pg_dir.mkdir()
                    pg = build_demo_store(out=pg_dir, database_url=pg_url)
                    total, stages = timed_assessment(pg.engine, pg.settings, assign_themes=True)
                    rows = [[k, "", v, "", "", "", ""] for k, v in pg.seconds.items()]
                    rows += _table(stages, counts(pg.engine))
                    rows.append(["**run_assessment end to end**", "", total, "", "", "", ""])
                    pg.engine.dispose()
                    sections.append(
                        "## Demo county, PostgreSQL\n\n" + markdown_table(headers, rows)
                    )
        base.engine.dispose()

        say(f"loading {n_big:,} generated reports")
        settings = base.settings.model_copy(update={"database_url": f"sqlite:///{big_db}"})
        engine = get_engine(settings)
        big = Built(settings, engine, base.files)
        load_seconds = load_reports(big, n_big, seed=1)
        n = counts(engine)
        load_rows = [
            [k, n["report"] if "generate base" not in k else "", v, n["report"] / v, "", "", ""]
            for k, v in load_seconds.items()
        ]
        texts, t_theme = theme_throughput(engine, THEME_SAMPLE)
        with engine.connect() as conn:
            n_texts = int(
                conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM report WHERE free_text IS NOT NULL "
                        "AND free_text != ''"
                    )
                )
                or 0
            )
        load_rows.append(
            [
                f"zero-shot themes, {texts:,} report texts (measured)",
                texts,
                t_theme,
                texts / t_theme,
                "",
                "",
                "",
            ]
        )
        load_rows.append(
            [
                f"zero-shot themes, all {n_texts:,} texts (extrapolated)",
                n_texts,
                n_texts * t_theme / texts,
                texts / t_theme,
                "",
                "",
                "",
            ]
        )
        say("themes for the generated reports (once per distinct text)")
        n_rows, t_fill = fill_themes(engine)
        load_rows.append(
            [
                f"set-up: {n_rows:,} theme rows, scored once per distinct text",
                n_rows,
                t_fill,
                "",
                "",
                "",
                "",
            ]
        )
        say(f"assessing {n_big:,} reports")
        n = counts(engine)
        total, stages = timed_assessment(engine, settings, assign_themes=False)
        big_rows = _table(stages, n)
        big_rows.append(
            [
                "**run_assessment end to end (themes stored)**",
                n["report"],
                total,
                n["report"] / total,
                "",
                "",
                "",
            ]
        )
        say("peers: pandas and esda")
        peer_rows = peers(engine, settings)
        engine.dispose()
        sections.append(
            f"## {n_big:,} generated reports, SQLite\n\nStore: "
            + ", ".join(f"{v:,} {k}" for k, v in n.items())
            + ".\n\n"
            + markdown_table(headers, load_rows + big_rows)
            + "\n\n### Beside the peers (same store, same run)\n\n"
            + markdown_table(headers, peer_rows)
        )
    sections.append(
        f"Peak RSS of the benchmark process: {peak_rss_mb():,.0f} MB. Stage times come from the "
        "assessment's progress messages (each runs until the next message). rows/s divides the "
        "rows a stage works through (reports, responses, crimes or theme rows) by its seconds. "
        "The machine is shared (2 cores, other work running): compare figures within one run."
    )
    return "\n\n".join(sections) + "\n"
