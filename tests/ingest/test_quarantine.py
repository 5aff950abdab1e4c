"""The quarantine: CLI commands, the staff page and its CSV twin, and the shared ingest helpers."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.crime.policeuk_files import street_row, write_street
from typer.testing import CliRunner

from saferstreets.accounts.service import create_user
from saferstreets.cli import app
from saferstreets.config import Settings
from saferstreets.crime.models import Crime
from saferstreets.db import make_engine, session_scope
from saferstreets.errors import InputFileError
from saferstreets.exports import safe_cell
from saferstreets.ingest.models import QuarantinedRow
from saferstreets.ingest.service import Problem, quarantine, to_utf8

runner = CliRunner()


def _bad_file(tmp_path: Path) -> Path:
    formula = street_row(3, location='=HYPERLINK("http://evil")')
    formula[1] = "2021-13"
    return write_street(
        tmp_path / "2021-01-x-street.csv", [street_row(1), street_row(2, lat="40.0"), formula]
    )


def _seed(tmp_path: Path, settings: Settings) -> None:
    from saferstreets.crime.service import import_crime

    engine = make_engine(settings.sqlalchemy_url)
    import_crime(engine=engine, paths=[_bad_file(tmp_path)])
    with session_scope(engine) as session:
        quarantine(
            session=session,
            run=None,
            kind="survey_response",
            problems=[Problem("wave1.xlsx", 7, "Age", "Age band '200' is not one of the bands")],
        )
    engine.dispose()


def test_import_crime_command_prints_the_summary(app_env: Settings, tmp_path: Path) -> None:
    path = _bad_file(tmp_path)
    result = runner.invoke(app, ["import", "crime", str(path)])
    assert result.exit_code == 0, result.output
    assert "police.uk import" in result.output and "total" in result.output
    assert (
        f"quarantined {path}, row 3, field 'Latitude': Latitude 40.0 is outside the UK"
        in result.output
    )
    assert "field 'Month': Month '2021-13' is not a month in YYYY-MM form" in result.output
    engine = make_engine(app_env.sqlalchemy_url)
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Crime)) == 1
    engine.dispose()
    again = runner.invoke(app, ["import", "crime", str(path)])
    assert "skipped" in again.output


def test_import_crime_command_fails_with_one_line(app_env: Settings, tmp_path: Path) -> None:
    other = tmp_path / "people.csv"
    other.write_text("name,phone\nA,1\n")
    result = runner.invoke(app, ["import", "crime", str(other)])
    assert result.exit_code == 1
    assert "is not a police.uk street, outcomes or stop-and-search file" in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(app, ["import", "crime", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_quarantine_list_show_resolve_discard(app_env: Settings, tmp_path: Path) -> None:
    _seed(tmp_path, app_env)
    listed = runner.invoke(app, ["quarantine", "list"])
    assert listed.exit_code == 0, listed.output
    assert "3 of 3 shown" in listed.output
    only_crime = runner.invoke(app, ["quarantine", "list", "--kind", "survey_response"])
    assert "1 of 1 shown" in only_crime.output and "wave1.xlsx" in only_crime.output
    shown = runner.invoke(app, ["quarantine", "show", "1"])
    assert "row number: 3" in shown.output and "field: Latitude" in shown.output
    assert "Latitude: 40.0" in shown.output
    assert runner.invoke(app, ["quarantine", "discard", "1", "2"]).exit_code == 0
    assert runner.invoke(app, ["quarantine", "resolve", "3"]).exit_code == 0
    assert "No quarantined rows match" in runner.invoke(app, ["quarantine", "list"]).output
    fixed = runner.invoke(app, ["quarantine", "list", "--status", "fixed"])
    assert "1 of 1 shown" in fixed.output
    unknown = runner.invoke(app, ["quarantine", "discard", "99"])
    assert unknown.exit_code == 1 and "There is no quarantined row 99" in unknown.output
    bad_status = runner.invoke(app, ["quarantine", "resolve", "1", "--as", "gone"])
    assert bad_status.exit_code == 1 and "Unknown quarantine status 'gone'" in bad_status.output
    engine = make_engine(app_env.sqlalchemy_url)
    with session_scope(engine) as session:
        statuses = dict(session.execute(sa.select(QuarantinedRow.id, QuarantinedRow.status)).all())
    engine.dispose()
    assert statuses == {1: "discarded", 2: "discarded", 3: "fixed"}


def test_quarantine_export_csv_guards_formulas_and_json(app_env: Settings, tmp_path: Path) -> None:
    _seed(tmp_path, app_env)
    out = tmp_path / "q.csv"
    result = runner.invoke(
        app, ["quarantine", "export", "--kind", "crime_street", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["row_number"], r["field"]) for r in rows] == [("3", "Latitude"), ("4", "Month")]
    raw = json.loads(rows[1]["raw"])
    assert raw["Location"] == '=HYPERLINK("http://evil")'  # inside JSON, not a cell of its own
    as_json = runner.invoke(app, ["quarantine", "export", "--format", "json", "--status", "open"])
    data = json.loads(as_json.output)
    assert {d["kind"] for d in data} == {"crime_street", "survey_response"}
    assert runner.invoke(app, ["quarantine", "export", "--format", "xml"]).exit_code == 1


def test_csv_safe_quotes_every_formula_prefix() -> None:
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(cell) == "'" + cell
    assert safe_cell("On or near Park") == "On or near Park"
    assert safe_cell(5) == 5


def test_to_utf8_handles_bom_cp1252_mixed_and_binary() -> None:
    assert to_utf8(b"\xef\xbb\xbfa,b\n", "f") == (
        b"a,b\n",
        ["UTF-8 with a byte-order mark (read as UTF-8)"],
    )
    data, notes = to_utf8("a\nCafé\n".encode() + "Señor\n".encode("cp1252"), "f")
    assert data.decode() == "a\nCafé\nSeñor\n"
    assert notes == ["not UTF-8: 1 line(s) read as Windows-1252 (first at row 3)"]
    with pytest.raises(InputFileError, match="f: is not a text file"):
        to_utf8(b"PK\x03\x04\x00\x00", "f")


def _login(client, engine, role: str) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        create_user(session=session, username=role, password="correct horse battery", role=role)
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"username": role, "password": "correct horse battery", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_staff_quarantine_page_and_csv(client, engine, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _seed(tmp_path, settings)
    assert (
        client.get("/staff/quarantine", follow_redirects=False)
        .headers["location"]
        .startswith("/login")
    )
    assert client.get("/staff/quarantine.csv", follow_redirects=False).status_code == 303
    assert client.get("/staff/quarantine.json").status_code == 401
    _login(client, engine, "analyst")
    page = client.get("/staff/quarantine")
    assert page.status_code == 200
    assert "3 rows match" in page.text
    assert "Latitude 40.0 is outside the UK (49.8 to 60.9)" in page.text
    assert "=HYPERLINK(&#34;http://evil&#34;)" in page.text  # escaped in the page
    filtered = client.get("/staff/quarantine?kind=survey_response&status=open")
    assert "1 row match" in filtered.text and "wave1.xlsx" in filtered.text
    exported = client.get("/staff/quarantine.csv?kind=crime_street")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["field"] for r in rows] == ["Latitude", "Month"]
    as_json = client.get("/staff/quarantine.json?status=all").json()
    assert len(as_json) == 3
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    ids = [r["id"] for r in as_json if r["kind"] == "crime_street"]
    refused = client.post("/staff/quarantine", data={"id": ids, "status": "discarded"})
    assert refused.status_code == 403  # no CSRF token
    done = client.post(
        "/staff/quarantine",
        data={"id": ids, "status": "discarded", "csrf_token": token, "back": "status=open"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/staff/quarantine?status=open"
    assert "1 row match" in client.get("/staff/quarantine").text


def test_ward_officers_cannot_see_the_quarantine(client, engine) -> None:  # type: ignore[no-untyped-def]
    _login(client, engine, "ward_officer")
    assert client.get("/staff/quarantine").status_code == 403
    assert client.get("/staff/quarantine.csv").status_code == 403


def test_import_crime_command_says_shared_crime_ids_are_kept(
    app_env: Settings, tmp_path: Path
) -> None:
    moved = street_row(1, location="On or near Mill Lane")
    path = write_street(tmp_path / "2021-01-x-street.csv", [street_row(1), moved, street_row(2)])
    result = runner.invoke(app, ["import", "crime", str(path)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "Kept, counted and flagged: 2 rows that share 1 Crime IDs with another row" in said
    engine = make_engine(app_env.sqlalchemy_url)
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Crime)) == 3
        assert session.scalar(sa.select(sa.func.count()).select_from(QuarantinedRow)) == 0
    engine.dispose()
