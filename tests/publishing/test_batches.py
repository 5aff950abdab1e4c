"""Public figures move in published batches, never live, and a ward moves only with enough
changed reports. The clock is injected: nothing here depends on the day it runs."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
from tests.factories import add_report
from tests.publishing.attack import fetch
from tests.publishing.test_no_subtraction import NOW, publish_now, seed_county
from tests.reports.conftest import county, csrf_of, receipt_of, web  # noqa: F401 - fixtures
from typer.testing import CliRunner

from saferstreets.cli import app
from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.publishing.batch import is_due
from saferstreets.reports.service import delete_report, new_receipt_code, receipt_hash

CELL = "8919546a4a3ffff"  # a fine cell; any will do for these wards


def bodies(client, codes: list[str]) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """Every public output that carries a figure, byte for byte."""
    paths = ["/areas", "/open-data/you-said-we-did.csv"]
    for code in codes:
        paths += [
            f"/areas/{code}",
            f"/areas/{code}.json",
            f"/areas/{code}.csv",
            f"/api/public/areas/{code}/cells.geojson",
        ]
    return {p: client.get(p).content for p in paths}


def _send(engine, ward: str, district: str, n: int = 1) -> list[str]:  # type: ignore[no-untyped-def]
    """n reports, as a reporter sends them (each with a receipt code she can delete it by)."""
    codes = [new_receipt_code() for _ in range(n)]
    with session_scope(engine) as session:
        for code in codes:
            add_report(
                session,
                ward=ward,
                district=district,
                reasons=["being_followed"],
                h3_cell=CELL,
                receipt_hash=receipt_hash(code),
            )
    return codes


def _delete(engine, code: str) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        delete_report(session=session, code=code)


def test_one_report_sent_or_deleted_changes_nothing_public_until_a_batch(client, engine) -> None:  # type: ignore[no-untyped-def]
    seed_county(engine)
    [published] = _send(engine, "W21", "D2")  # a report that is in the first batch
    publish_now(engine)
    codes = ["D1", "D2", "W11", "W21", "W12"]
    before = bodies(client, codes)
    assert client.get("/areas/W21.json").json()["reports"]["value"] == 26
    [sent] = _send(engine, "W21", "D2")
    assert bodies(client, codes) == before  # sent: nothing public moved
    _delete(engine, sent)
    _delete(engine, published)
    assert bodies(client, codes) == before  # deleted: nothing public moved back either
    # The next batch: W21 has 1 report fewer than it published, under the threshold of 10.
    figures = fetch(client).figures
    publish_now(engine, now=NOW + timedelta(days=1))
    assert fetch(client).figures == figures
    assert client.get("/areas/W21.json").json()["published_at"] == "2022-03-02T06:00:00"


def test_a_ward_moves_only_with_enough_new_reports(client, engine) -> None:  # type: ignore[no-untyped-def]
    seed_county(engine)
    publish_now(engine)
    first = fetch(client).figures
    _send(engine, "W21", "D2", n=9)
    publish_now(engine, now=NOW + timedelta(days=1))
    assert fetch(client).figures == first  # 9 new reports < 10: W21 and D2 stay as they were
    _send(engine, "W21", "D2", n=1)
    publish_now(engine, now=NOW + timedelta(days=2))
    moved = fetch(client).figures
    assert moved[("n", "W21")] == 35 and moved[("n", "D2")] == 64  # 25 + 10, 54 + 10
    assert moved[("n", "W11")] == first[("n", "W11")] == 41  # other wards as they were
    # A smaller threshold (a setting) lets a single report through: the threshold is what holds.
    _send(engine, "W22", "D2", n=1)
    publish_now(engine, now=NOW + timedelta(days=3), publish_min_new_reports=1)
    assert fetch(client).figures[("n", "W22")] == 23


def test_pages_say_when_nothing_is_published_yet(client, engine) -> None:  # type: ignore[no-untyped-def]
    seed_county(engine)
    data = client.get("/areas/W11.json").json()
    assert data["published_at"] is None and data["reports"] == {"value": 0, "suppressed": False}
    assert (
        data["themes"] == []
        and client.get("/api/public/areas/W11/cells.geojson").json()["features"] == []
    )
    assert "Figures have not been published yet." in client.get("/areas/W11").text


def test_a_batch_is_due_once_a_day_from_the_publish_hour(session) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.publishing.batch import publish

    settings = Settings(env="test", publish_hour=6)
    assert is_due(session=session, settings=settings, now=NOW)  # nothing published yet
    publish(session=session, settings=settings, now=datetime(2022, 3, 1, 6, 5))
    for now, due in (
        (datetime(2022, 3, 1, 23, 0), False),
        (datetime(2022, 3, 2, 5, 59), False),
        (datetime(2022, 3, 2, 6, 0), True),
        (datetime(2022, 3, 4, 1, 0), True),  # days missed: the next run catches up
    ):
        assert is_due(session=session, settings=settings, now=now) is due, now


def test_publish_command(app_env, engine) -> None:  # type: ignore[no-untyped-def]
    seed_county(engine)
    runner = CliRunner()
    result = runner.invoke(app, ["publish"])
    assert result.exit_code == 0, result.output
    assert "Published batch 1:" in result.output and "suppressed" in result.output
    again = runner.invoke(app, ["publish", "--if-due"])
    assert again.exit_code == 0 and "Not due" in again.output


def test_the_public_form_sending_and_deleting_moves_no_public_figure(web, county) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The finding as it was found: a report sent through the form, then deleted by its code."""
    from tests.reports.test_routes import _form

    from saferstreets.publishing.batch import publish

    ward = "E05009001"
    with session_scope(county) as session:
        for _ in range(12):
            add_report(session, ward=ward, district="E07000901", reasons=["poor_lighting"])
        publish(session=session, settings=Settings(env="test"), now=NOW)
    before = bodies(web, [ward, "E07000902"])
    assert web.get(f"/areas/{ward}.json").json()["reports"]["value"] == 12
    code = receipt_of(web.post("/report", data=_form(web, reasons=["being_followed"])).text)
    assert bodies(web, [ward, "E07000902"]) == before
    token = csrf_of(web.get("/report/status").text)
    gone = web.post("/report/delete", data={"csrf_token": token, "code": code, "confirm": "yes"})
    assert gone.status_code == 200 and "deleted" in gone.text.lower()
    assert bodies(web, [ward, "E07000902"]) == before


def test_the_suppression_runs_before_anything_is_written(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The suppression takes seconds on a county: while it runs, the embedded store's one write
    lock must be free, so a report sent meanwhile is stored at once."""
    from saferstreets.publishing import batch

    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock: PostgreSQL locks rows")
    seed_county(engine)
    fit = batch.CellSuppression.fit
    tried: list[bool] = []

    def fit_while_another_writes(self):  # type: ignore[no-untyped-def]
        other = sqlite3.connect(engine.url.database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # takes the write lock, or fails at once
            other.execute("ROLLBACK")
            tried.append(True)
        finally:
            other.close()
        return fit(self)

    monkeypatch.setattr(batch.CellSuppression, "fit", fit_while_another_writes)
    publish_now(engine)
    assert tried == [True]
    publish_now(engine, now=NOW + timedelta(days=1))  # a second batch, units already stored
    assert tried == [True, True]
