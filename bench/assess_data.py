"""Stores for the assessment benchmark: the demo county, and the demo county with N reports.

The demo county comes from ``saferstreets.demo`` (generate_county, then the pipeline's own
stages: boundaries, police.uk crime, survey waves, public reports through the import path).

Many reports: the demo's report generator (``demo.reports.write_reports``, its scenarios, places,
hour and weekday profiles and free text) writes a base of ``BASE_REPORTS`` reports; larger sets
are drawn from that base with replacement, each draw moved by a small spatial jitter (sd 40 m)
and by whole weeks within the reporting period (so weekday and hour keep the scenario's profile).
The demo generator costs about 1 ms a report, so drawing 1 million directly would take 17
minutes; the draw keeps its clustering at a tiny fraction of the cost. Reports are then bulk
inserted (executemany on SQLite, COPY on PostgreSQL) and placed in areas and H3 cells by
``areas.service.assign_points``, as an import of many rows would be.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from sqlalchemy.engine import Engine

from saferstreets.config import Settings
from saferstreets.db import get_engine, is_postgres

BASE_REPORTS = 20_000
JITTER_M = 40.0
REPORT_COLUMNS = (
    "public_id",
    "source",
    "received_hour",
    "occurred_on",
    "time_band",
    "occurred_hour",
    "happens_regularly",
    "place_text",
    "reasons",
    "other_reason",
    "free_text",
    "age_band",
    "for_self",
    "status",
    "urgent",
    "text_removed",
    "latitude",
    "longitude",
)


@dataclass
class Built:
    settings: Settings
    engine: Engine
    files: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    form_reports: int = 0


def _timed(seconds: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    out = fn()
    seconds[name] = time.perf_counter() - started
    return out


def build_demo_store(
    *, out: Path, database_url: str, seed: int = 1, with_reports: bool = True
) -> Built:
    """The demo county in a fresh store; ``with_reports`` imports its reports (the form path)."""
    from saferstreets.demo import pipeline

    settings = Settings(database_url=database_url, data_dir=out)
    engine = get_engine(settings)
    ctx = pipeline.DemoContext(
        settings=settings, seed=seed, out=out, engine=engine, console=Console(quiet=True)
    )
    built = Built(settings, engine, {})
    stages = [
        ("generate", pipeline.stage_generate),
        ("migrate", pipeline.stage_store),
        ("boundaries", pipeline.stage_boundaries),
        ("crime", pipeline.stage_crime),
        ("surveys", pipeline.stage_surveys),
    ]
    if with_reports:
        stages.append(("reports (form path)", pipeline.stage_reports))
    for name, stage in stages:
        _timed(built.seconds, name, lambda stage=stage: stage(ctx))
    built.files = ctx.files
    if with_reports:
        with Path(ctx.files["reports"]).open(encoding="utf-8") as fh:
            built.form_reports = sum(1 for _ in fh)
    return built


def base_reports(*, seed: int, n: int = BASE_REPORTS) -> list[dict[str, Any]]:
    """``n`` reports from the demo's own generator (its scenarios, places and text)."""
    import tempfile

    from saferstreets.demo import params
    from saferstreets.demo.geography import build_county
    from saferstreets.demo.reports import write_reports

    county = build_county(np.random.default_rng([seed, 0]))
    saved = params.REPORTS
    params.REPORTS = n  # the generator reads its count from params
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = write_reports(county, np.random.default_rng([seed, 3]), Path(tmp))
            return [json.loads(line) for line in path.open(encoding="utf-8")]
    finally:
        params.REPORTS = saved


def many_reports(base: list[dict[str, Any]], n: int, *, seed: int) -> dict[str, list[Any]]:
    """``n`` reports as columns: draws from ``base`` with jitter in space and whole weeks."""
    from saferstreets.demo import params

    rng = np.random.default_rng([seed, 99])
    pick = rng.integers(len(base), size=n) if n > len(base) else np.arange(n)
    lat0 = np.array([r["latitude"] for r in base])[pick]
    lon0 = np.array([r["longitude"] for r in base])[pick]
    moved = n > len(base)
    if moved:
        lat = lat0 + rng.normal(0, JITTER_M / 111_320, n)
        lon = lon0 + rng.normal(0, JITTER_M / (111_320 * np.cos(np.radians(lat0))), n)
    else:
        lat, lon = lat0, lon0
    start = date.fromisoformat(params.REPORTS_START)
    end = date.fromisoformat(params.REPORTS_END)
    day0 = np.array([(date.fromisoformat(r["occurred_on"]) - start).days for r in base])[pick]
    weeks = rng.integers(-8, 9, size=n) if moved else np.zeros(n, dtype=int)
    span = (end - start).days
    shifted = day0 + 7 * weeks
    shifted = np.where((shifted < 0) | (shifted > span), day0, shifted)
    delta = (shifted - day0).tolist()
    cols: dict[str, list[Any]] = {c: [] for c in REPORT_COLUMNS}
    cols["latitude"] = np.round(lat, 6).tolist()
    cols["longitude"] = np.round(lon, 6).tolist()
    for i, (j, d) in enumerate(zip(pick.tolist(), delta, strict=True)):
        r = base[j]
        occurred = date.fromisoformat(r["occurred_on"]) + timedelta(days=d)
        received = datetime.fromisoformat(r["received_at"]) + timedelta(days=d)
        cols["public_id"].append(str(uuid.UUID(int=int(rng.integers(2**62)) << 64 | i)))
        cols["source"].append("bench")
        cols["received_hour"].append(received.replace(minute=0))
        cols["occurred_on"].append(occurred)
        cols["time_band"].append(r["time_band"])
        cols["occurred_hour"].append(r["occurred_hour"])
        cols["happens_regularly"].append(bool(r["happens_regularly"]))
        cols["place_text"].append(r["place_text"])
        cols["reasons"].append(r["reasons"])
        cols["other_reason"].append(r["other_reason"])
        cols["free_text"].append(r["free_text"])
        cols["age_band"].append(r["age_band"])
        cols["for_self"].append(r["for_self"])
        cols["status"].append("new")
        cols["urgent"].append(False)
        cols["text_removed"].append(False)
    return cols


def insert_reports(engine: Engine, cols: dict[str, list[Any]], chunk: int = 50_000) -> int:
    """Bulk insert report columns (executemany on SQLite, COPY on PostgreSQL); return rows."""
    names = list(REPORT_COLUMNS)
    n = len(cols["public_id"])
    reasons = [json.dumps(r) for r in cols["reasons"]]
    data = {**cols, "reasons": reasons}
    raw = engine.raw_connection()
    try:
        if is_postgres(engine):
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY report ({', '.join(names)}) FROM STDIN") as copy,
            ):
                for row in zip(*(data[c] for c in names), strict=True):
                    copy.write_row(row)
        else:
            sql = (
                f"INSERT INTO report ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
            )
            cur = raw.cursor()
            for s in range(0, n, chunk):
                rows = zip(*(data[c][s : s + chunk] for c in names), strict=True)
                cur.executemany(
                    sql,
                    [(*r[:2], r[2].isoformat(sep=" "), r[3].isoformat(), *r[4:]) for r in rows],
                )
            cur.close()
        raw.commit()
    finally:
        raw.close()
    return n


def _rebuild_tally(engine: Engine) -> None:
    """Rows inserted by hand bypass the writers that keep ``report_tally``: count it again."""
    from saferstreets.db import session_scope
    from saferstreets.reports import tally

    with session_scope(engine) as session:
        tally.rebuild(session)


def load_reports(
    built: Built, n: int, *, seed: int, base: list[dict[str, Any]] | None = None
) -> dict[str, float]:
    """Add ``n`` generated reports to a built store and place them; return the stage seconds."""
    from saferstreets.areas.service import assign_points

    seconds: dict[str, float] = {}
    if base is None:
        base = _timed(
            seconds,
            f"generate base ({min(n, BASE_REPORTS):,} demo reports)",
            lambda: base_reports(seed=seed, n=min(n, BASE_REPORTS)),
        )
    cols = _timed(seconds, f"draw {n:,} reports", lambda: many_reports(base, n, seed=seed))
    _timed(seconds, "bulk insert", lambda: insert_reports(built.engine, cols))
    _timed(seconds, "count the report tally", lambda: _rebuild_tally(built.engine))
    _timed(
        seconds,
        "assign areas and H3 cells",
        lambda: assign_points(
            engine=built.engine,
            tables=["report"],
            only_missing=True,
            h3_resolution=built.settings.h3_resolution,
        ),
    )
    return seconds
