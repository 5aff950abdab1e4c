"""police.uk import, end to end: saferstreets (SQLite and PostgreSQL) against pandas and polars.

Inputs: (a) the Hertfordshire 2021 street and outcomes files (13 months, shared data), and
(b) a generated national-scale year of street files (43 forces x 12 months, bench/policeuk_gen).
Contenders, on the same files in the same run, each in its own process so that peak RSS
(``ru_maxrss``) is its own:

- saferstreets ``import_crime`` into a fresh SQLite store and a fresh PostgreSQL database
  (validation, row keys, quarantine, unique-key idempotency and the table's indexes included);
- pandas ``read_csv`` + ``to_sql`` into SQLite and into PostgreSQL (no validation, no keys, no
  indexes: a plain table). On the national year pandas into PostgreSQL runs on a stated subset
  of files, because ``to_sql`` there would take most of the time budget; its rate is rows/s;
- polars ``read_csv`` of every file and nothing else (the floor: merely parsing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from bench.common import ROOT, markdown_table, shared_data

FLOOR_SQLITE = "store floor: executemany of parsed rows, plain table (SQLite)"
FLOOR_POSTGRES = "store floor: file bytes COPYed, plain table (PostgreSQL)"
# The aims: at least this many times pandas' rate, within this many times polars' parse.
AIM_VS_PANDAS = 10
AIM_VS_PARSE = 3

PG_ADMIN = os.environ.get(
    "SAFERSTREETS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

_RUNNER = r"""
import json, resource, sys, time, glob
from pathlib import Path
mode, target, files_json = sys.argv[1], sys.argv[2], sys.argv[3]
files = json.loads(Path(files_json).read_text())
rows = 0
if mode.startswith("saferstreets"):
    from saferstreets.db import make_engine
    from saferstreets.migrate import upgrade
    from saferstreets.crime.service import import_crime
    from saferstreets.ingest.service import total
    engine = make_engine(target)
    upgrade(engine)
    started = time.perf_counter()
    summaries = import_crime(engine=engine, paths=[Path(f) for f in files], assign_areas=False)
    took = time.perf_counter() - started
    t = total([s for s in summaries if s.kind.startswith("crime_")])
    rows = t.rows_read
    extra = {"stored": t.rows_stored, "quarantined": t.rows_quarantined, "failed": t.status}
    engine.dispose()
elif mode.startswith("pandas"):
    import pandas as pd
    import sqlalchemy as sa
    engine = sa.create_engine(target)
    started = time.perf_counter()
    with engine.begin() as conn:
        for f in files:
            frame = pd.read_csv(f, dtype=str)
            table = "outcomes" if f.endswith("-outcomes.csv") else "street"
            frame.to_sql(table, conn, if_exists="append", index=False)
            rows += len(frame)
    took = time.perf_counter() - started
    extra = {}
    engine.dispose()
elif mode == "floor":
    # What storing the rows costs at the least: no validation, keys or indexes, and only the
    # store's own work timed. SQLite: executemany of rows parsed beforehand (untimed), as text,
    # into a plain table. PostgreSQL: the file's bytes COPYed into a plain table (the server
    # parses them; the client does nothing).
    import polars as pl
    import sqlalchemy as sa
    engine = sa.create_engine(target)
    took = 0.0
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        cur = raw.cursor()
        for f in files:
            table = "outcomes" if f.endswith("-outcomes.csv") else "street"
            frame = pl.read_csv(f, infer_schema=False)
            cols = ", ".join(f"c{i} text" for i in range(frame.width))
            cur.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")
            if target.startswith("sqlite"):
                args = list(zip(*(c.to_list() for c in frame.get_columns())))
                sql = f"INSERT INTO {table} VALUES ({', '.join('?' * frame.width)})"
                started = time.perf_counter()
                cur.executemany(sql, args)
            else:
                data = Path(f).read_bytes()
                started = time.perf_counter()
                with cur.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)") as copy:
                    copy.write(data)
            took += time.perf_counter() - started
            rows += frame.height
    extra = {}
    engine.dispose()
else:
    import polars as pl
    started = time.perf_counter()
    for f in files:
        rows += pl.read_csv(f).height
    took = time.perf_counter() - started
    extra = {}
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": rows, "seconds": took, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  **extra}))
"""


def _run(mode: str, target: str, files: list[Path], work: Path) -> dict:
    listing = work / f"files-{uuid.uuid4().hex[:6]}.json"
    listing.write_text(json.dumps([str(f) for f in files]))
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER, mode, target, str(listing)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{mode} failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class _PgDatabase:
    """A fresh PostgreSQL database for one contender, dropped afterwards."""

    def __init__(self) -> None:
        import sqlalchemy as sa

        self.sa = sa
        self.admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        self.name = f"saferstreets_bench_{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> str:
        with self.admin.connect() as conn:
            conn.execute(self.sa.text(f'CREATE DATABASE "{self.name}"'))
        return (
            self.sa.engine.make_url(PG_ADMIN)
            .set(database=self.name)
            .render_as_string(hide_password=False)
        )

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as conn:
            conn.execute(self.sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _pg_available() -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_ADMIN)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


def _contenders(
    label: str, files: list[Path], work: Path, *, pandas_pg_files: list[Path] | None, pg: bool
) -> list[list]:
    results: dict[str, dict] = {}

    def sqlite_url(name: str) -> str:
        path = work / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"

    print(f"   {label}: polars parse only", flush=True)
    results["polars read_csv only (parse)"] = _run("polars", "", files, work)
    print(f"   {label}: saferstreets -> SQLite", flush=True)
    results["saferstreets -> SQLite"] = _run("saferstreets", sqlite_url("ss"), files, work)
    print(f"   {label}: pandas -> SQLite", flush=True)
    results["pandas read_csv + to_sql -> SQLite"] = _run("pandas", sqlite_url("pd"), files, work)
    print(f"   {label}: store floor, SQLite", flush=True)
    results[FLOOR_SQLITE] = _run("floor", sqlite_url("floor"), files, work)
    if pg:
        print(f"   {label}: saferstreets -> PostgreSQL", flush=True)
        with _PgDatabase() as url:
            results["saferstreets -> PostgreSQL (COPY)"] = _run("saferstreets", url, files, work)
        subset = pandas_pg_files if pandas_pg_files is not None else files
        name = "pandas read_csv + to_sql -> PostgreSQL"
        if len(subset) < len(files):
            name += f" (subset: {len(subset)} of {len(files)} files)"
        print(f"   {label}: {name}", flush=True)
        with _PgDatabase() as url:
            results[name] = _run("pandas", url, subset, work)
        print(f"   {label}: store floor, PostgreSQL", flush=True)
        with _PgDatabase() as url:
            results[FLOOR_POSTGRES] = _run("floor", url, files, work)
    for path in work.glob("*.db*"):
        path.unlink()

    parse = results["polars read_csv only (parse)"]
    pandas_rate = {
        "SQLite": results["pandas read_csv + to_sql -> SQLite"],
        "PostgreSQL": next(
            (v for k, v in results.items() if k.startswith("pandas") and "PostgreSQL" in k), None
        ),
    }
    rows = []
    for name, r in results.items():
        rate = r["rows"] / r["seconds"]
        vs_pandas = vs_parse = ""
        if name.startswith("saferstreets"):
            backend = "PostgreSQL" if "PostgreSQL" in name else "SQLite"
            peer = pandas_rate[backend]
            if peer:
                vs_pandas = f"{rate / (peer['rows'] / peer['seconds']):.2f}x"
            vs_parse = f"{r['seconds'] / parse['seconds']:.1f}x"
        note = ""
        if "stored" in r:
            note = f"stored {r['stored']:,}, quarantined {r['quarantined']:,}"
        if name.startswith("store floor"):
            note = _aim_note(
                r, pandas_rate["PostgreSQL" if "PostgreSQL" in name else "SQLite"], parse
            )
        rows.append(
            [
                label,
                name,
                r["rows"],
                round(r["seconds"], 2),
                round(r["cpu_seconds"], 1),
                round(rate),
                round(r["peak_rss_mb"]),
                vs_pandas,
                vs_parse,
                note,
            ]
        )
    return rows


def _aim_note(floor: dict, pandas: dict | None, parse: dict) -> str:
    """The time the aims allow for these rows, beside what merely storing them takes."""
    allowed = [f"{AIM_VS_PARSE}x polars parse allows {AIM_VS_PARSE * parse['seconds']:.2f} s"]
    if pandas:
        seconds = floor["rows"] / (AIM_VS_PANDAS * pandas["rows"] / pandas["seconds"])
        allowed.insert(0, f"{AIM_VS_PANDAS}x pandas allows {seconds:.2f} s")
    return "only the store's work timed; " + "; ".join(allowed)


def run(*, quick: bool) -> str:
    from bench.policeuk_gen import generate_year

    pg = _pg_available()
    table_rows: list[list] = []
    work = Path(tempfile.mkdtemp(prefix="bench-crime-"))
    try:
        data = shared_data()
        herts = data / "police-uk-hertfordshire-2021" if data else None
        if herts and herts.is_dir():
            files = sorted(herts.glob("street/*.csv")) + sorted(herts.glob("outcomes/*.csv"))
            if quick:
                files = files[:2] + files[13:15]
            table_rows += _contenders(
                "Hertfordshire 2021 (street + outcomes)", files, work, pandas_pg_files=None, pg=pg
            )
        # SAFERSTREETS_BENCH_NATIONAL_ROWS scales the generated year down on a busy machine.
        total_rows = (
            100_000 if quick else int(os.environ.get("SAFERSTREETS_BENCH_NATIONAL_ROWS", 6_000_000))
        )
        forces, months = (6, 2) if quick else (43, 12)
        gen = work / "national"
        print(f"   generating {total_rows:,} rows ({forces} forces x {months} months)", flush=True)
        files = generate_year(gen, rows=total_rows, seed=2021, forces=forces, months=months)
        # pandas -> PostgreSQL on one month of every force (1/12 of the rows) in a full run.
        subset = [f for f in files if f.parent.name.endswith("-01")] if not quick else None
        table_rows += _contenders(
            f"generated national year ({total_rows:,} street rows, {len(files)} files)",
            files,
            work,
            pandas_pg_files=subset,
            pg=pg,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    headers = [
        "input",
        "contender",
        "rows",
        "seconds",
        "CPU s (process, incl. start-up)",
        "rows/s",
        "peak RSS MB",
        "saferstreets rate / pandas rate",
        "time / polars parse",
        "notes",
    ]
    text = markdown_table(headers, table_rows)
    text += (
        "\n\nsaferstreets validates every row, keys it for idempotent re-import, quarantines bad"
        " rows and maintains the tables' unique and secondary indexes; pandas writes a plain"
        " table with none of these. Peak RSS is each contender's own process. The store floors"
        " time nothing but the store taking the rows (parsing is outside the clock): an importer"
        " of any design that stores the rows through the same driver cannot be faster, so where a"
        " floor exceeds the time an aim allows, that aim cannot be met with that store here."
    )
    if not pg:
        text += "\n\nPostgreSQL was not reachable: its rows are missing."
    return text
