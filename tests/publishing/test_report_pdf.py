"""The chief officer's report, read back from the PDF's own text: what to do on page 1, no H3 id,
no empty placeholder, no repository path, and the same counts everywhere."""

from __future__ import annotations

import io
import random
import re
from datetime import date

import h3
import pytest
from tests.factories import add_area, add_crime, add_report

from saferstreets.assessment.service import run_assessment
from saferstreets.crime.models import Outcome
from saferstreets.crime.policeuk import crime_key
from saferstreets.db import session_scope
from saferstreets.publishing.findings import build_sections
from saferstreets.publishing.report import report_pdf
from saferstreets.surveys.models import SurveyResponse, SurveyWave

pypdf = pytest.importorskip("pypdf")

UNSAFE, SAFE = "Fairly unsafe", "Fairly safe"
N_PER_WAVE = 400
N_REPORTS = 80
N_CRIMES = 60  # violence and sexual offences over six months, each with one outcome
WARDS = [("W1", "Castle", -0.32), ("W2", "Riverside", -0.29), ("W3", "Abbey", -0.26)]


def _wave(session, name: str, start: date, rng: random.Random, park_day: float, quiet: float):  # type: ignore[no-untyped-def]
    wave = SurveyWave(name=name, period_start=start)
    session.add(wave)
    session.flush()
    for i in range(N_PER_WAVE):
        session.add(
            SurveyResponse(
                wave_id=wave.id,
                respondent_ref=f"{name}-{i}",
                age_band=rng.choice(["16-17", "25-34", "45-54"]),
                gender="Woman",
                ward_code=rng.choice([w[0] for w in WARDS]),
                district_code="D1",
                concerns=["poor_lighting"] + (["drink_drugs"] if rng.random() < 0.4 else []),
                feel_safe={
                    "after_dark.quiet_street": UNSAFE if rng.random() < quiet else SAFE,
                    "day.quiet_street": SAFE,
                    "after_dark.park": UNSAFE if rng.random() < 0.7 else SAFE,
                    "day.park": UNSAFE if rng.random() < park_day else SAFE,
                    "after_dark.night_time_economy": UNSAFE if rng.random() < 0.5 else SAFE,
                },
            )
        )


def _crimes(session, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    for i in range(N_CRIMES):
        lat, lon = 51.80 + rng.random() * 0.004, -0.31 + rng.random() * 0.004
        month = date(2021, 10 + i % 3, 1) if i % 6 < 3 else date(2022, 1 + i % 3, 1)
        located = dict(
            latitude=lat,
            longitude=lon,
            h3_cell=h3.latlng_to_cell(lat, lon, 9),
            ward_code="W1",
            district_code="D1",
        )
        add_crime(
            session,
            i,
            month=month,
            crime_type="Violence and sexual offences",
            last_outcome="Under investigation",
            **located,
        )
        session.add(
            Outcome(
                row_key=f"o{i}".encode(),
                crime_id=f"id{i}",
                crime_key=crime_key(f"id{i}"),
                month=month,
                reported_by="X",
                falls_within="X",
                outcome_type="Suspect charged" if i % 3 == 0 else "Unable to prosecute suspect",
                **located,
            )
        )


def _store(engine, settings) -> None:  # type: ignore[no-untyped-def]
    """Two survey waves (unsafe in parks by day rises from about 8% to 18%, quiet streets after
    dark improve), a cluster of night-time reports in one ward, violence and sexual offences
    with their outcomes; assessed, then 3 more reports."""
    rng = random.Random(14)
    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district", lon=-0.33, lat=51.78, size=0.1)
        for code, name, lon in WARDS:
            add_area(session, code, name, "ward", parent="D1", lon=lon, lat=51.79, size=0.03)
        _wave(session, "Autumn 2021", date(2021, 9, 1), rng, park_day=0.08, quiet=0.60)
        _wave(session, "Autumn 2022", date(2022, 9, 1), rng, park_day=0.18, quiet=0.45)
        for i in range(N_REPORTS):
            lat, lon = 51.80 + rng.random() * 0.004, -0.31 + rng.random() * 0.004
            add_report(
                session,
                ward="W1",
                district="D1",
                reasons=["poor_lighting", "verbal_harassment"],
                lat=lat,
                lon=lon,
                h3_cell=h3.latlng_to_cell(lat, lon, 9),
                occurred_on=date(2021, 10, 1 + i % 28),
                occurred_hour=rng.choice([21, 22, 23, 1]),
                free_text="The path is pitch black at night",
            )
        _crimes(session, rng)
    run_assessment(engine=engine, settings=settings)
    with session_scope(engine) as session:
        for _ in range(3):  # arrive after the assessment: not in its figures
            add_report(session, ward="W2", district="D1", reasons=["isolated"])


def _pages(engine, settings) -> list[str]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        pdf = report_pdf(session=session, settings=settings)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [" ".join((page.extract_text() or "").split()) for page in reader.pages]


def test_report_pdf_reads_true(engine, settings) -> None:  # type: ignore[no-untyped-def]
    _store(engine, settings)
    pages = _pages(engine, settings)
    text = " ".join(pages)
    # no H3 id, no empty placeholder, no repository path
    assert not re.findall(r"\b8[0-9a-f]{14}\b", text)
    for bad in ("()", "resolution )", "docs/", ".md", "src/", "{", "}"):
        assert bad not in text, bad
    for word in ("None", "nan", "NaN"):
        assert not re.search(rf"\b{word}\b", text), word
    # no page is left nearly blank (a heading stranded above a page break, an empty page)
    for number, page in enumerate(pages[:-1], start=1):
        assert len(page) >= 300, (number, page)
    # page 1 says what to do: three to five actions, each with who acts and how sure, and the
    # significant rise is among them
    first = pages[0]
    todo = first.split("What to do", 1)[1]
    steps = re.findall(r"(?:^| )([1-9])\. [A-Z]", todo)
    assert 3 <= len(steps) <= 5 and steps == [str(i) for i in range(1, len(steps) + 1)], steps
    assert todo.count("Who acts:") == todo.count("How sure:") == len(steps)
    # a category is named only with its definition printed beside it
    assert "feared" in first and "“feared, little recorded crime” means concern" in first
    assert "Feeling unsafe in parks and open spaces by day rose from" in first
    # one source for every number: the cover counts what the findings counted
    assert f"{2 * N_PER_WAVE:,} survey responses in 2 waves" in first
    assert f"{N_REPORTS} public reports" in first
    assert "3 reports arrived after the assessment and are not in these figures" in first
    assert f"of the {N_REPORTS} reports with a day and hour" in text
    assert f"of the {2 * N_PER_WAVE:,} respondents who answered" in text
    assert f"{N_CRIMES} recorded women's-safety crimes" in first
    assert f"{N_CRIMES} women's-safety crimes were recorded over 6 months" in text
    assert f"{N_CRIMES} violence and sexual offences with an outcome" in first
    assert f"Of {N_CRIMES} violence and sexual offences with an outcome" in text
    # outcomes named in words (a third charged, the rest unable to prosecute)
    assert f"Charged or summonsed {N_CRIMES // 3 * 100 // N_CRIMES}%" in text
    assert "Unable to prosecute the suspect" in text and "unable_to" not in text
    # charts read truly: each names its denominator, and counts and shares start at zero
    assert f"% of the {2 * N_PER_WAVE:,} respondents who answered" in text
    assert f"% of the {N_REPORTS} reports" in text
    assert "% of respondents " not in text + " "
    # the methods name the grid's resolution and cite in full
    assert "the H3 grid at resolution 9" in text
    assert "Journal of the Royal Statistical Society, Series B 57(1), 289–300" in text


def test_every_finding_states_size_interval_and_test(engine, settings) -> None:  # type: ignore[no-untyped-def]
    _store(engine, settings)
    with session_scope(engine) as session:
        sections, _ = build_sections(session=session, with_quotes=False)
    stated = [s for s in sections if s.finding is not None]
    assert {s.key for s in stated} >= {"concerns", "feel_safe", "waves", "when_reports"}
    for s in stated:
        f = s.finding
        assert f.size and f.interval and f.test, s.key
        assert s.sentence == f.text
        if f.significant is not True:
            assert "significant" not in f.text.lower().replace("not significant", ""), s.key
    waves = next(s for s in sections if s.key == "waves")
    # chosen by size in both directions: the larger improvement and the rise are both told
    assert "quiet streets after dark fell from 60% to 49%" in waves.sentence
    assert "parks and open spaces by day rose from" in waves.sentence
