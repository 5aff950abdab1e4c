"""The assessment as staff see it and as a chief officer receives it (HTML and PDF)."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import h3
import pytest
from tests.factories import add_area, add_report

from saferstreets.accounts.service import create_user
from saferstreets.assessment.service import run_assessment
from saferstreets.db import session_scope
from saferstreets.publishing.findings import Table, build_sections
from saferstreets.publishing.formatting import p_cell, pct, points
from saferstreets.surveys.models import SurveyResponse, SurveyWave

SCALE = ["Very unsafe", "Fairly unsafe", "Neither safe nor unsafe", "Fairly safe", "Very safe"]


def _store(engine, settings) -> int:  # type: ignore[no-untyped-def]
    """Build a small store, run the assessment; return how many felt unsafe after dark."""
    rng = random.Random(7)
    n_unsafe = 0
    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district", lon=-0.32, lat=51.79, size=0.06)
        add_area(session, "W1", "Castle", "ward", parent="D1", lon=-0.32, lat=51.79, size=0.03)
        add_area(session, "W2", "Riverside", "ward", parent="D1", lon=-0.29, lat=51.79, size=0.03)
        wave = SurveyWave(name="Autumn 2021", period_start=date(2021, 9, 1))
        session.add(wave)
        session.flush()
        for i in range(300):
            unsafe = rng.random() < 0.5
            n_unsafe += unsafe
            session.add(
                SurveyResponse(
                    wave_id=wave.id,
                    respondent_ref=str(i),
                    age_band=rng.choice(["16-17", "25-34", "45-54"]),
                    gender="Woman",
                    ward_code=rng.choice(["W1", "W2"]),
                    district_code="D1",
                    concerns=["poor_lighting"] + (["isolated"] if rng.random() < 0.4 else []),
                    feel_safe={
                        "after_dark.quiet_street": SCALE[1] if unsafe else SCALE[3],
                        "day.quiet_street": SCALE[3],
                    },
                )
            )
        for i in range(60):
            lat, lon = 51.80 + rng.random() * 0.01, -0.31 + rng.random() * 0.01
            add_report(
                session,
                ward="W1",
                district="D1",
                reasons=["poor_lighting"],
                lat=lat,
                lon=lon,
                h3_cell=h3.latlng_to_cell(lat, lon, 9),
                occurred_on=date(2021, 10, 1 + i % 28),
                occurred_hour=rng.choice([21, 22, 23, 1]),
                free_text="The path is pitch black at night",
            )
        create_user(session=session, username="an", password="long enough pw", role="analyst")
        create_user(
            session=session,
            username="pc",
            password="long enough pw",
            role="ward_officer",
            wards=["W1"],
        )
    run_assessment(engine=engine, settings=settings)
    return n_unsafe


def _login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"username": username, "password": "long enough pw", "csrf_token": token}
    )


def test_sections_state_findings_with_charts(engine, settings) -> None:  # type: ignore[no-untyped-def]
    n_unsafe = _store(engine, settings)
    with session_scope(engine) as session:
        sections, _results = build_sections(session=session, with_quotes=False)
    keys = [s.key for s in sections]
    assert keys[:2] == ["concerns", "feel_safe"]
    concerns = sections[0]
    assert concerns.sentence.startswith("Poor lighting was the most common concern: 100%")
    assert concerns.figures and concerns.figures[0].startswith(
        '<img class="chart-img" alt="Share of respondents'
    )
    feel = sections[1]
    share = round(100 * n_unsafe / 300)
    assert f"After dark, {share}% (" in feel.sentence
    assert "of 300 felt very or fairly unsafe in quiet streets" in feel.sentence
    assert "after_dark." not in " ".join(s.sentence for s in sections)


def test_figures_in_tables_read_as_people_write_them() -> None:
    # Small shares keep a decimal rather than reading as nothing.
    assert pct(0.0017) == "0.2%"
    assert pct(0.0) == "0%"
    assert pct(0.4812) == "48%"
    assert pct(None) == "–"
    # Tiny p-values are "< 0.001", not 9.8e-11.
    assert p_cell(9.8e-11) == "< 0.001"
    assert p_cell(0.0048) == "0.0048"
    assert p_cell(0.97) == "0.97"
    # Differences in points are signed, and a rounded zero has no sign.
    assert points(-0.004) == "0"
    assert points(0.004) == "0"
    assert points(0.031) == "+3"
    assert points(-0.05) == "-5"
    # Counts get thousands separators; text and flags stay as they are.
    table = Table("t", ["a", "b", "c", "d"], [[7383, "7383", 1.5, True]])
    assert table.rows == [["7,383", "7383", 1.5, True]]


def test_assessment_page_and_pdf_for_analysts_only(client, engine, settings, job_worker) -> None:  # type: ignore[no-untyped-def]
    _store(engine, settings)
    _login(client, "pc")
    assert client.get("/staff/assessment").status_code == 403
    _login(client, "an")
    page = client.get("/staff/assessment")
    assert page.status_code == 200
    assert "Main concerns" in page.text and "data:image/svg+xml;base64," in page.text
    data = client.get("/staff/assessment.json").json()
    assert data["concerns"]["result"]["ranked"][0]["code"] == "poor_lighting"
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    # The PDF is made by a worker in the background, then downloaded from its job's page.
    queued = client.post("/staff/report.pdf", data={"csrf_token": token}, follow_redirects=False)
    assert queued.status_code == 303 and queued.headers["location"].startswith("/staff/jobs/")
    job_id = int(queued.headers["location"].rsplit("/", 1)[1])
    assert client.get(f"/staff/jobs/{job_id}/download").status_code == 404  # not made yet
    job_worker.start()
    assert job_worker.wait_for(job_id)["status"] == "done"
    job = client.get(f"/staff/jobs/{job_id}.json").json()
    assert job["download_url"] == f"/staff/jobs/{job_id}/download"
    shown = client.get(f"/staff/jobs/{job_id}").text
    assert job["download_url"] in shown
    size = job["result"]["size_kb"]
    assert f"<dt>Size</dt><dd>{size:,} KB</dd>" in shown and "size kb" not in shown
    pdf = client.get(job["download_url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert len(pdf.content) > 20_000
    assert job["result"]["size_kb"] == round(len(pdf.content) / 1024)


def test_pdf_keeps_a_table_caption_with_its_table() -> None:
    # A table starting near the foot of a page moves whole to the next one, caption included,
    # rather than leaving its caption behind (as the report did before report.css said so).
    from weasyprint import HTML

    from saferstreets.publishing.report import report_css

    rows = "".join(f"<tr><td>row {i}</td><td>{i}</td></tr>" for i in range(12))
    html = (
        f"<html><head><style>{report_css()}</style></head><body>"
        '<div style="height: 232mm"></div>'
        '<div class="table-scroll"><table class="data"><caption>Cells by class</caption>'
        f"<thead><tr><th>Class</th><th>Cells</th></tr></thead><tbody>{rows}</tbody></table></div>"
        "</body></html>"
    )
    pages = HTML(string=html).render().pages
    assert len(pages) == 2

    def page_of(tag: str) -> set[int]:
        found = set()
        for number, page in enumerate(pages):
            stack = [page._page_box]
            while stack:
                box = stack.pop()
                if getattr(box, "element_tag", None) == tag:
                    found.add(number)
                stack.extend(getattr(box, "children", []))
        return found

    assert page_of("caption") == page_of("tbody") == {1}


def test_report_opens_with_every_finding_in_a_sentence(engine, settings) -> None:  # type: ignore[no-untyped-def]
    from markupsafe import escape

    from saferstreets.publishing.report import report_html

    _store(engine, settings)
    with session_scope(engine) as session:
        sections, _ = build_sections(session=session, with_quotes=False)
        page = report_html(session=session, settings=settings)
    key = page.split('<section class="key-findings"')[1].split("</section>")[0]
    for s in sections:
        assert f'<a href="#{s.key}">{escape(s.title)}</a>' in key
        assert str(escape(s.sentence)) in key
    # ... and before the first finding's own section.
    assert page.index("What we found") < page.index(f'id="{sections[0].key}"')
    # ... after what to do, which comes first
    assert page.index("What to do") < page.index("What we found")


def test_report_command_names_the_stored_force_unless_one_is_configured(  # type: ignore[no-untyped-def]
    app_env, engine, monkeypatch, tmp_path
) -> None:
    """``saferstreets report`` run on its own (not through the demo) once titled every report
    with the setting's default, "Demo County Police"."""
    from typer.testing import CliRunner

    from saferstreets.cli import app
    from saferstreets.config import get_settings

    monkeypatch.delenv("SAFERSTREETS_FORCE_NAME", raising=False)
    _store(engine, app_env)
    with session_scope(engine) as session:
        add_area(session, "E23000099", "Northshire Constabulary", "force", lon=-0.4, size=0.2)

    def title(out) -> str:  # type: ignore[no-untyped-def]
        result = CliRunner().invoke(app, ["report", "--out", str(out)])
        assert result.exit_code == 0, result.output
        return out.read_text().split("<title>")[1].split("</title>")[0]

    assert title(tmp_path / "stored.html").endswith("– Northshire Constabulary")
    monkeypatch.setenv("SAFERSTREETS_FORCE_NAME", "Wyvern Police Service")
    get_settings.cache_clear()
    assert title(tmp_path / "configured.html").endswith("– Wyvern Police Service")


def test_pages_name_the_stored_force_unless_one_is_configured(engine, settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    with session_scope(engine) as session:
        add_area(session, "E23000099", "Northshire Constabulary", "force", size=0.2)
    for configured, shown in (
        (settings, "Northshire Constabulary"),
        (settings.model_copy(update={"force_name": "Wyvern Police"}), "Wyvern Police"),
    ):
        with TestClient(create_app(configured)) as client:
            page = client.get("/report").text
        assert f'<span class="force">{shown}</span>' in page
        assert "Demo County Police" not in page


def _pdf_pages(sections, spacer_mm: float) -> list[list[tuple[str, Any]]]:  # type: ignore[no-untyped-def]
    """The report's sections after ``spacer_mm`` of nothing, laid out by WeasyPrint as the PDF
    is: per page, the (tag or text, box) of every box with a tag or text, in reading order."""
    from weasyprint import HTML

    from saferstreets.documents import documents
    from saferstreets.publishing.report import report_css

    body = documents.get_template("report/_sections.html").render(sections=sections)
    html = (
        f"<html><head><style>{report_css()}</style></head><body>"
        f'<div style="height: {spacer_mm}mm"></div>{body}</body></html>'
    )
    pages = []
    for page in HTML(string=html).render().pages:
        found, stack = [], [page._page_box]
        while stack:
            box = stack.pop()
            if getattr(box, "text", None):
                found.append((box.text, box))
            elif getattr(box, "element_tag", None):
                found.append((box.element_tag, box))
            stack.extend(reversed(getattr(box, "children", [])))
        pages.append(found)
    return pages


def _tall_figure() -> str:
    from saferstreets.publishing.charts import as_img

    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400pt" height="600pt" '
        'viewBox="0 0 400 600"><rect width="400" height="600" fill="#3d3a6b"/></svg>'
    )
    return as_img(svg, "A tall chart")


def test_pdf_figures_fit_under_text_and_headings_stay_with_them() -> None:
    """A figure as tall as a page once pushed itself and everything after it to the next page
    and left the rest of the page blank; a section's heading could end a page on its own."""
    from saferstreets.publishing.findings import Section

    tall = Section(
        key="k", title="Where it happens", sentence="A sentence.", figures=[_tall_figure()]
    )
    pages = _pdf_pages([tall], spacer_mm=120)
    assert len(pages) == 1  # 80 mm of figure fits in the ~135 mm left under the spacer
    (img,) = [box for tag, box in pages[0] if tag == "img"]
    assert img.height <= 80 * 96 / 25.4 + 0.5 and img.width == pytest.approx(img.height * 400 / 600)
    late = _pdf_pages([tall], spacer_mm=235)  # no room for the figure: the heading goes with it
    heading_pages = [
        n for n, page in enumerate(late) if any(t == "Where it happens" for t, _ in page)
    ]
    img_pages = [n for n, page in enumerate(late) if any(t == "img" for t, _ in page)]
    assert heading_pages == img_pages == [1]


def test_pdf_long_tables_run_on_with_their_header_repeated() -> None:
    """A 20-row table near a page's foot once moved whole to the next page, leaving the foot
    blank; now it starts under the text, at least three rows with its caption."""
    from saferstreets.publishing.findings import Section, Table

    rows = [[f"place {i}", i] for i in range(20)]
    table = Table("The strongest hot spots", ["Where", "Count"], rows)
    pages = _pdf_pages([Section(key="k", title="Hot spots", sentence="", tables=[table])], 190)
    texts = [[t for t, _ in page] for page in pages]
    assert len(texts) == 2 and "The strongest hot spots" in texts[0]
    first, second = ({t for t in page if t.startswith("place ")} for page in texts)
    assert len(first) >= 3 and len(second) >= 3 and len(first | second) == 20
    first_row_there = next(t for t in texts[1] if t.startswith("place "))
    assert texts[1].count("Where") == 1  # the header row, repeated
    assert texts[1].index("Where") < texts[1].index(first_row_there)
