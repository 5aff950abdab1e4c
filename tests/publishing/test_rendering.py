"""The stored findings drawn once per assessment run: the page reads the drawing (no matplotlib),
a new run is drawn afresh, the drawing says what a fresh drawing says, and its quotes are checked
against the store on every page."""

from __future__ import annotations

import dataclasses

import markupsafe
import pytest
import sqlalchemy as sa
from tests.publishing.test_report import _login, _store

from saferstreets.assessment import cache
from saferstreets.assessment.models import AnalysisRun, FindingsRendering
from saferstreets.assessment.service import run_assessment
from saferstreets.db import session_scope
from saferstreets.publishing import charts
from saferstreets.publishing.findings import build_sections
from saferstreets.publishing.rendering import store_rendering, stored_findings
from saferstreets.reports.models import Report


def _no_drawing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("matplotlib drew a chart")

    for name in ("bar_intervals", "heatmap", "lines", "area_map"):
        monkeypatch.setattr(charts, name, refuse)


def _drawings(engine) -> list[int]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(FindingsRendering.run_id)))


def test_the_page_reads_the_stored_drawing_and_draws_nothing(
    client, engine, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _store(engine, settings)
    with session_scope(engine) as session:
        store_rendering(session=session)  # as the assessment job does once it has stored
        fresh, _ = build_sections(session=session)
        newest = session.scalar(sa.select(sa.func.max(AnalysisRun.id)))
    assert _drawings(engine) == [newest]
    cache.clear()  # a worker that has never drawn anything
    _no_drawing(monkeypatch)
    _login(client, "an")
    page = client.get("/staff/assessment")
    assert page.status_code == 200
    for section in fresh:
        assert str(markupsafe.escape(section.title)) in page.text
        for figure in section.figures:
            assert figure in page.text  # the same SVG, byte for byte
    with session_scope(engine) as session:
        stored, quoted, latest = stored_findings(session=session)
    assert [dataclasses.asdict(s) for s in stored] == [dataclasses.asdict(s) for s in fresh]
    assert latest is not None and quoted


def test_a_new_run_is_drawn_afresh(client, engine, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _store(engine, settings)
    _login(client, "an")
    assert "Main concerns" in client.get("/staff/assessment").text  # the first page draws it
    with session_scope(engine) as session:
        before = {f for s in build_sections(session=session)[0] for f in s.figures}
    first = _drawings(engine)
    assert len(first) == 1
    with session_scope(engine) as session:  # fewer reports: the reasons chart says so
        session.execute(sa.delete(Report).where(Report.id > 30))
    run_assessment(engine=engine, settings=settings, assign_themes=False)
    text = client.get("/staff/assessment").text
    second = _drawings(engine)
    assert len(second) == 2 and second[0] == first[0] and second[1] > first[0]
    with session_scope(engine) as session:
        after = {f for s in build_sections(session=session)[0] for f in s.figures}
    assert after - before  # the reasons chart now counts 30 reports
    assert all(f in text for f in after) and not any(f in text for f in before - after)
    _no_drawing(monkeypatch)
    cache.clear()
    assert client.get("/staff/assessment").status_code == 200  # read, not drawn


def test_a_stored_quote_is_shown_only_while_its_record_stands(client, engine, settings) -> None:  # type: ignore[no-untyped-def]
    _store(engine, settings)
    _login(client, "an")
    page = client.get("/staff/assessment").text
    assert "In their words" in page and "pitch black" in page
    with session_scope(engine) as session:
        _, quoted, _ = stored_findings(session=session)
        ids = {q["id"] for q in quoted}
        session.execute(sa.delete(Report).where(Report.id.in_(ids)))  # erased since the run
    page = client.get("/staff/assessment").text
    with session_scope(engine) as session:
        _, still, _ = stored_findings(session=session)
        kept = session.scalars(sa.select(FindingsRendering.sections)).one()
    assert not ids & {q["id"] for q in still}
    assert all(q["id"] not in ids for q in still)
    assert any(s["quotes"] for s in kept)  # the drawing keeps them; the page does not show them


def test_every_stored_table_downloads_as_csv_and_xlsx(client, engine, settings) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io
    import re

    from openpyxl import load_workbook

    from saferstreets.accounts.models import AuditEvent

    _store(engine, settings)
    with session_scope(engine) as session:
        store_rendering(session=session)
        sections, _quoted, _latest = stored_findings(session=session)
    _login(client, "an")
    page = client.get("/staff/assessment").text
    links = re.findall(r'href="(/staff/assessment/findings/([a-z_]+)/(\d+)\.csv)"', page)
    expected = [(s.key, n) for s in sections for n in range(1, len(s.tables) + 1)]
    assert [(key, int(n)) for _, key, n in links] == expected and expected
    for section in sections:
        for number, table in enumerate(section.tables, start=1):
            path = f"/staff/assessment/findings/{section.key}/{number}"
            got = client.get(f"{path}.csv")
            assert got.status_code == 200, path
            rows = list(csv.reader(io.StringIO(got.text.lstrip("\ufeff"))))
            assert rows[0] == table.headers
            # the page's "1,234" is the number 1234 in the file; every other cell as shown
            shown = [[str(v).replace(",", "") if re.fullmatch(r"[\d,]+", str(v)) else str(v)
                      for v in row] for row in table.rows]  # fmt: skip
            assert rows[1:] == shown, path
            book = load_workbook(io.BytesIO(client.get(f"{path}.xlsx").content), read_only=True)
            cells = [[c for c in r] for r in book.active.iter_rows(values_only=True)]
            assert [str(c) for c in cells[0]] == table.headers
            assert [[("" if c is None else str(c)) for c in r] for r in cells[1:]] == shown
    first = expected[0][0]
    assert client.get(f"/staff/assessment/findings/{first}/99.csv").status_code == 404
    assert client.get("/staff/assessment/findings/no_such/1.xlsx").status_code == 404
    with session_scope(engine) as session:
        exports = session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "export", AuditEvent.object_kind == "assessment"
            )
        ).all()
        assert {(e.detail["finding"], e.detail["table"]) for e in exports} == set(expected)
