"""LSOAs of both vintages: the ONS LSOA 2011 to 2021 lookup imported, each crime's 2021 code, and
``saferstreets status`` saying how many differ. The files are made here in the ONS layout
(LSOA11CD, LSOA11NM, LSOA21CD, LSOA21NM, CHGIND, LAD22CD, LAD22NM, LAD22NMW, ObjectId)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.crime.policeuk_files import crime_id, street_row, write_street
from typer.testing import CliRunner

from saferstreets.areas.lsoa_lookup import import_lsoa_lookup, lsoa_vintages
from saferstreets.areas.models import LsoaLookup
from saferstreets.cli import app as cli
from saferstreets.crime.models import Crime
from saferstreets.crime.service import import_crime
from saferstreets.db import session_scope
from saferstreets.ingest.models import QuarantinedRow

HEADER = ["LSOA11CD", "LSOA11NM", "LSOA21CD", "LSOA21NM", "CHGIND", "LAD22CD", "LAD22NM",
          "LAD22NMW", "ObjectId"]  # fmt: skip
GOOD = [
    ["E01023700", "St Albans 010A", "E01023700", "St Albans 010A", "U"],  # unchanged
    ["E01023701", "St Albans 010B", "E01035001", "St Albans 010F", "S"],  # split in two
    ["E01023701", "St Albans 010B", "E01035002", "St Albans 010G", "S"],
    ["E01023702", "St Albans 010C", "E01035003", "St Albans 010H", "M"],  # merged with 010D
    ["E01023703", "St Albans 010D", "E01035003", "St Albans 010H", "M"],
]


def write_lookup(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as handle:  # the ONS files have a BOM
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, row in enumerate(rows, start=1):
            full = [*row, "E07000240", "St Albans", "", str(i)]
            writer.writerow(full[: len(header)])
    return path


def _crimes(tmp_path: Path, engine: sa.Engine) -> None:
    rows = [
        street_row(1, lsoa="E01023700"),
        street_row(2, lsoa="E01023701"),
        street_row(3, lsoa="E01023702"),
        street_row(4, lsoa="E01023703"),
        street_row(5, lsoa="E01099999"),  # not in the lookup
        street_row(6, lsoa=""),  # no LSOA ('No location')
    ]
    rows[5][4] = rows[5][5] = ""
    import_crime(engine=engine, paths=[write_street(tmp_path / "2021-01-x-street.csv", rows)])


def test_lookup_gives_each_crime_its_2021_code(engine: sa.Engine, tmp_path: Path) -> None:
    _crimes(tmp_path, engine)
    path = write_lookup(tmp_path / "LSOA11_LSOA21_LAD22_EW_LU.csv", GOOD)
    with session_scope(engine) as session:
        summary = import_lsoa_lookup(session=session, path=path)
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (5, 5, 0)
    assert summary.details["changes"] == {"merged": 2, "split": 2, "unchanged": 1}
    with session_scope(engine) as session:
        codes = dict(session.execute(sa.select(Crime.crime_id, Crime.source_lsoa21_code)).all())
        v = lsoa_vintages(session=session)
    assert codes == {
        crime_id(1): "E01023700",  # unchanged: the same code
        crime_id(2): None,  # split: no single 2021 LSOA
        crime_id(3): "E01035003",
        crime_id(4): "E01035003",
        crime_id(5): None,
        crime_id(6): None,
    }
    assert v == {
        "lookup_rows": 5,
        "crimes_with_lsoa": 5,
        "lsoa_same_2021": 1,
        "lsoa_differs_2021": 2,
        "lsoa_split_2021": 1,
        "lsoa_not_in_lookup": 1,
    }
    # Crimes imported after the lookup get their 2021 code as they are stored.
    later = [street_row(7, month="2021-02", lsoa="E01023703")]
    import_crime(engine=engine, paths=[write_street(tmp_path / "2021-02-x-street.csv", later)])
    with session_scope(engine) as session:
        code = session.scalar(
            sa.select(Crime.source_lsoa21_code).where(Crime.crime_id == crime_id(7))
        )
    assert code == "E01035003"


def test_bad_rows_are_quarantined_and_good_ones_kept(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [
        *GOOD[:2],
        ["E0102370", "Short", "E01023700", "x", "U"],  # row 4: a code one digit short
        ["E01023705", "x", "", "x", "U"],  # row 5: no 2021 code
        ["E01023706", "x", "E01023706", "x", "Q"],  # row 6: not a change indicator
        GOOD[0],  # row 7: the same pair again
    ]
    path = write_lookup(tmp_path / "lookup.csv", rows)
    with session_scope(engine) as session:
        summary = import_lsoa_lookup(session=session, path=path)
    assert [str(p) for p in summary.problems] == [
        f"{path}, row 4, field 'LSOA11CD': 'E0102370' is not an LSOA code (E01… or W01…)",
        f"{path}, row 5, field 'LSOA21CD': empty is not an LSOA code (E01… or W01…)",
        f"{path}, row 6, field 'CHGIND': 'Q' is not one of U, S, M, X",
        f"{path}, row 7, field 'LSOA21CD': repeats the pair on row 2",
    ]
    with session_scope(engine) as session:
        kept = session.scalars(sa.select(LsoaLookup.lsoa21_code).order_by(LsoaLookup.id)).all()
        quarantined = session.scalars(sa.select(QuarantinedRow.row_number)).all()
    assert kept == ["E01023700", "E01035001"]
    assert sorted(quarantined) == [4, 5, 6, 7]
    # Importing it again replaces the lookup (no doubling) and quarantines nothing twice.
    with session_scope(engine) as session:
        import_lsoa_lookup(session=session, path=path)
        assert session.scalar(sa.select(sa.func.count()).select_from(LsoaLookup)) == 2
        assert session.scalar(sa.select(sa.func.count()).select_from(QuarantinedRow)) == 4


def test_best_fit_lookup_without_chgind_and_a_file_that_is_not_one(
    app_env: object, engine: sa.Engine, tmp_path: Path
) -> None:
    best_fit = write_lookup(tmp_path / "best.csv", GOOD, header=HEADER[:4])
    with session_scope(engine) as session:
        summary = import_lsoa_lookup(session=session, path=best_fit)
    assert summary.details["changes"] == {"merged": 2, "split": 2, "unchanged": 1}
    wrong = tmp_path / "wards.csv"
    wrong.write_text("WD22CD,WD22NM\nE05000001,Somewhere\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["import", "lsoa-lookup", str(wrong)])
    assert result.exit_code == 1
    assert "is not the ONS LSOA 2011 to 2021 lookup: no LSOA11CD or LSOA21CD column" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_status_says_how_many_differ(app_env: object, engine: sa.Engine, tmp_path: Path) -> None:
    _crimes(tmp_path, engine)
    runner = CliRunner()
    before = runner.invoke(cli, ["status"])
    assert "no 2011 to 2021 lookup is held" in before.output, before.output
    path = write_lookup(tmp_path / "lookup.csv", GOOD)
    imported = runner.invoke(cli, ["import", "lsoa-lookup", str(path)])
    assert imported.exit_code == 0, imported.output
    assert "2 differ from their 2021 code" in imported.output
    result = runner.invoke(cli, ["status"])
    assert result.exit_code == 0, result.output
    assert "of 5 crimes with police.uk's 2011 LSOA code, 2 differ from their 2021 code" in (
        " ".join(result.output.split())
    )
    info = json.loads(runner.invoke(cli, ["status", "--json"]).output)
    assert info["lsoa_vintages"]["lsoa_differs_2021"] == 2


def test_crimes_get_their_2021_codes_in_batches_with_the_write_lock_free_between(
    app_env: object, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store holds millions of crimes: the command gives them their 2021 code a batch at a
    time and commits between, so another writer (a woman's report) gets in (SQLite's one write
    lock), and every crime still ends with the right code."""
    import sqlite3

    from saferstreets.areas import lsoa_lookup

    _crimes(tmp_path, engine)
    monkeypatch.setattr(lsoa_lookup, "FILL_BATCH", 2)
    got_in: list[int] = []
    real_execute = sa.orm.Session.execute

    def another_writer_between_statements(self, statement, *args, **kw):  # type: ignore[no-untyped-def]
        if engine.dialect.name == "sqlite" and isinstance(statement, sa.Update):
            other = sqlite3.connect(engine.url.database, timeout=0)  # locked is locked
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                got_in.append(1)
            finally:
                other.close()
        return real_execute(self, statement, *args, **kw)

    path = write_lookup(tmp_path / "LSOA11_LSOA21_LAD22_EW_LU.csv", GOOD)
    monkeypatch.setattr(sa.orm.Session, "execute", another_writer_between_statements)
    result = CliRunner().invoke(cli, ["import", "lsoa-lookup", str(path)], catch_exceptions=False)
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    with session_scope(engine) as session:
        codes = dict(session.execute(sa.select(Crime.crime_id, Crime.source_lsoa21_code)).all())
    assert codes[crime_id(3)] == codes[crime_id(4)] == "E01035003"
    assert codes[crime_id(1)] == "E01023700" and codes[crime_id(2)] is None
    if engine.dialect.name == "sqlite":
        assert len(got_in) == 3  # before each of the 3 batches of 2 crime ids (6 crimes)
