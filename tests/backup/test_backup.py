"""``export-all`` and ``restore``: the whole store round-trips, SQLite -> PostgreSQL -> SQLite.

Every row of every table is read back from each store and compared with the store it came from;
tables the demo leaves empty get a row each (with awkward values: accents, quotes, new lines,
floats that are not short decimals, binary), so no table is compared empty.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console
from typer.testing import CliRunner

from saferstreets.backup.service import export_all, restore, store_tables
from saferstreets.config import Settings
from saferstreets.db import dispose_engines, make_engine
from saferstreets.errors import AppError, InputFileError
from saferstreets.migrate import upgrade

AWKWARD_TEXT = 'Café "quoted", a\nnew line; =SUM(A1) ✓'


def _value(column: sa.Column[Any], n: int) -> Any:
    ty = column.type
    if isinstance(ty, sa.JSON):
        return {"k": [1, 0.1 + 0.2, None, "é"], "n": n}
    if isinstance(ty, sa.LargeBinary):
        return bytes([0, 255, n % 256, 10])
    if isinstance(ty, sa.DateTime):
        return datetime(2021, 10, 9, 22, 5, 7, 123456)
    if isinstance(ty, sa.Date):
        return date(2021, 10, 8)
    if isinstance(ty, sa.Boolean):
        return True
    if isinstance(ty, sa.Float):
        return 51.80512345678901 + n
    if isinstance(ty, sa.Integer):
        return 1_000 + n
    length = getattr(ty, "length", None) or 200
    return (f"{n}-" + AWKWARD_TEXT)[:length]


def fill_empty_tables(engine: sa.Engine) -> None:
    """Give every empty table one row (foreign keys point at an existing parent row)."""
    with engine.begin() as conn:
        for table in store_tables():
            if conn.scalar(sa.select(sa.func.count()).select_from(table)):
                continue
            row: dict[str, Any] = {}
            for n, column in enumerate(table.columns):
                fks = list(column.foreign_keys)
                if column.computed is not None:
                    continue  # the store computes it (had_text)
                if fks:
                    parent = fks[0].column
                    row[column.name] = conn.scalar(sa.select(parent).limit(1))
                else:
                    row[column.name] = _value(column, n)
            conn.execute(sa.insert(table), [row])


def rows_of(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for table in store_tables():
            order = list(table.primary_key.columns)
            out[table.name] = [
                dict(r) for r in conn.execute(sa.select(table).order_by(*order)).mappings()
            ]
    return out


def assert_same_store(
    source: dict[str, list[dict[str, Any]]], restored: dict[str, list[dict[str, Any]]]
) -> None:
    """Every row equal, except one more audit event in the restored store: the restore's."""
    assert set(source) == set(restored)
    for name, rows in source.items():
        got = restored[name]
        if name == "audit_event":
            assert got[-1]["action"] == "restore" and got[-1]["detail"]["rows"] == sum(
                len(r) for r in source.values()
            )
            got = got[:-1]
        assert len(got) == len(rows), name
        for a, b in zip(rows, got, strict=True):
            assert a == b, f"{name}: {a} != {b}"


def _fresh_pg(url: str) -> str:
    from tests.conftest import _truncate_all

    _truncate_all(url)
    return url


@pytest.mark.slow
@pytest.mark.postgres
def test_the_demo_store_round_trips_sqlite_postgres_sqlite(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from saferstreets.demo.pipeline import run_demo

    settings = Settings(env="test", data_dir=tmp_path / "var", secret_key="x" * 40)
    _, used = run_demo(settings=settings, seed=7, out=None, console=Console(quiet=True))
    dispose_engines()
    first = make_engine(used.sqlalchemy_url)
    fill_empty_tables(first)
    export_all(engine=first, path=tmp_path / "one.zip")
    source = rows_of(first)
    assert all(source.values()), [name for name, rows in source.items() if not rows]
    assert len(source["report"]) == 2_000 and len(source["crime"]) > 10_000

    pg = make_engine(_fresh_pg(request.getfixturevalue("_pg_database")))
    restore(engine=pg, path=tmp_path / "one.zip")
    in_pg = rows_of(pg)
    assert_same_store(source, in_pg)
    export_all(engine=pg, path=tmp_path / "two.zip")
    in_pg = rows_of(pg)  # with the second backup's event

    last = make_engine(f"sqlite:///{tmp_path / 'last.db'}")
    upgrade(last)
    restore(engine=last, path=tmp_path / "two.zip")
    assert_same_store(in_pg, rows_of(last))
    # The PostgreSQL store goes on working: new rows get ids after the restored ones.
    with pg.begin() as conn:
        new_id = conn.execute(
            sa.text(
                "INSERT INTO report (public_id, source, received_hour, reasons,"
                " happens_regularly, status, urgent, text_removed)"
                " VALUES ('x', 'web', now(), '[]', false, 'new', false, false) RETURNING id"
            )
        ).scalar()
    assert new_id == max(r["id"] for r in source["report"]) + 1
    for engine in (first, pg, last):
        engine.dispose()


def _small_store(engine: sa.Engine) -> None:
    from tests.factories import add_area, add_report

    from saferstreets.db import session_scope

    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district")
        add_area(session, "W1", "Castle", "ward", parent="D1")
        for i in range(5):
            add_report(
                session, ward="W1", district="D1", reasons=["isolated"], free_text=f"words {i}"
            )
    fill_empty_tables(engine)


def test_round_trip_on_each_engine(engine: sa.Engine, tmp_path: Path) -> None:
    _small_store(engine)
    summary = export_all(engine=engine, path=tmp_path / "b.zip")
    source = rows_of(engine)
    assert summary.total == sum(len(r) for r in source.values())
    target = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    upgrade(target)
    restore(engine=target, path=tmp_path / "b.zip")
    assert_same_store(source, rows_of(target))
    target.dispose()


def test_restore_refuses_a_store_that_holds_anything_unless_replace(
    engine: sa.Engine, tmp_path: Path
) -> None:
    _small_store(engine)
    export_all(engine=engine, path=tmp_path / "b.zip")
    source = rows_of(engine)
    with pytest.raises(AppError, match=r"already holds .* rows: restoring would mix"):
        restore(engine=engine, path=tmp_path / "b.zip")
    assert rows_of(engine) == source  # nothing changed
    restore(engine=engine, path=tmp_path / "b.zip", replace=True)
    after = rows_of(engine)
    assert_same_store(source, after)
    assert after["audit_event"][-1]["detail"]["replaced_rows"] == sum(map(len, source.values()))


def _rewrite(src: Path, dst: Path, change: Any) -> None:
    """Copy a backup, letting ``change(name, data)`` return new bytes (or None to drop it)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = change(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)


def _manifest_with(**changes: Any) -> Any:
    def change(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), **changes}).encode()

    return change


def test_restore_refuses_bad_backups_with_a_clear_error_and_changes_nothing(
    db_url: str, tmp_path: Path
) -> None:
    source = make_engine(f"sqlite:///{tmp_path / 'src.db'}")
    upgrade(source)
    _small_store(source)
    good = tmp_path / "good.zip"
    export_all(engine=source, path=good)
    target = make_engine(db_url)

    def edit_report(name: str, data: bytes) -> bytes:
        return data.replace(b"words 1", b"words 9") if name == "tables/report.jsonl" else data

    cases = {
        "revision": (_manifest_with(schema_revision="0000"), "schema revision 0000"),
        "format": (_manifest_with(format_version=99), "backup format 99"),
        "edited": (edit_report, "table report: 5 rows do not match"),
        "no manifest": (lambda n, d: None if n == "manifest.json" else d, "no manifest.json"),
        "traversal": (
            lambda n, d: d if n != "tables/plan.jsonl" else None,
            "unexpected or missing member 'tables/plan.jsonl'",
        ),
    }
    for label, (change, message) in cases.items():
        bad = tmp_path / f"{label}.zip"
        _rewrite(good, bad, change)
        with pytest.raises(InputFileError, match=message):
            restore(engine=target, path=bad)
    evil = tmp_path / "evil.zip"
    shutil.copy(good, evil)
    with zipfile.ZipFile(evil, "a") as zf:
        zf.writestr("../../etc/evil.jsonl", b"{}\n")
    with pytest.raises(InputFileError, match=r"unexpected or missing member '../../etc/evil"):
        restore(engine=target, path=evil)
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputFileError, match="is not a backup zip file"):
        restore(engine=target, path=tmp_path / "not.zip")
    assert not any(rows_of(target).values())  # every refusal left the store empty
    source.dispose()
    target.dispose()


def test_a_row_that_does_not_fit_its_column_is_refused_whole(db_url: str, tmp_path: Path) -> None:
    """A manifest rewritten to match an edited row (checksum and all) still cannot smuggle in a
    wrong type: the row is refused with its table, row and column, and nothing is kept."""
    import hashlib

    source = make_engine(f"sqlite:///{tmp_path / 'src.db'}")
    upgrade(source)
    _small_store(source)
    good = tmp_path / "good.zip"
    export_all(engine=source, path=good)
    with zipfile.ZipFile(good) as zf:
        lines = zf.read("tables/report.jsonl").splitlines(keepends=True)
        manifest = json.loads(zf.read("manifest.json"))
    row = json.loads(lines[2])
    row["urgent"] = "yes"
    lines[2] = (json.dumps(row, sort_keys=True) + "\n").encode()
    body = b"".join(lines)
    manifest["tables"]["report"]["sha256"] = hashlib.sha256(body).hexdigest()

    def change(name: str, data: bytes) -> bytes:
        if name == "tables/report.jsonl":
            return body
        return json.dumps(manifest).encode() if name == "manifest.json" else data

    bad = tmp_path / "bad.zip"
    _rewrite(good, bad, change)
    target = make_engine(db_url)
    with pytest.raises(InputFileError, match=r"table report, row 3: column 'urgent'"):
        restore(engine=target, path=bad)
    assert not any(rows_of(target).values())
    source.dispose()
    target.dispose()


def test_the_commands(app_env: Settings, tmp_path: Path) -> None:
    from saferstreets.cli import app

    engine = make_engine(app_env.sqlalchemy_url)
    _small_store(engine)
    runner = CliRunner()
    out = tmp_path / "backups" / "store.zip"
    made = runner.invoke(app, ["export-all", str(out)])
    assert made.exit_code == 0, made.output
    assert "Backed up" in made.output and "(schema revision 0001)" in made.output
    assert out.is_file() and not out.with_name("store.zip.partial").exists()
    refused = runner.invoke(app, ["restore", str(out)])
    assert refused.exit_code == 1 and "already holds" in refused.output
    assert "--replace" in refused.output and "Traceback" not in refused.output
    missing = runner.invoke(app, ["restore", str(tmp_path / "nope.zip")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    replaced = runner.invoke(app, ["restore", "--replace", str(out)])
    assert replaced.exit_code == 0 and "Restored" in replaced.output
    with engine.connect() as conn:
        actions = list(
            conn.scalars(
                sa.text("SELECT action FROM audit_event WHERE object_kind = 'store' ORDER BY id")
            )
        )
    assert actions == ["backup", "restore"]  # the backup's own event came back with it
    engine.dispose()
