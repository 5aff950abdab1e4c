"""The assessment end to end on a small store built here (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import h3
import numpy as np
import pytest
import sqlalchemy as sa
from tests.factories import add_area, add_crime
from typer.testing import CliRunner

from saferstreets.analysis.people import age_order, age_range, life_stage
from saferstreets.assessment.models import AnalysisRun, HotspotCell
from saferstreets.assessment.service import latest_results, run_assessment
from saferstreets.crime.models import Crime, Outcome
from saferstreets.crime.policeuk import crime_key
from saferstreets.db import session_scope
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.themes.models import ThemeAssignment

CENTRE = (51.752, -0.336)
SCALE = ["Very safe", "Fairly safe", "Neither safe nor unsafe", "Fairly unsafe", "Very unsafe"]


def build_store(engine: sa.Engine) -> None:
    rng = np.random.default_rng(7)
    hot = h3.latlng_to_cell(*CENTRE, 9)
    ring = list(h3.grid_disk(hot, 8))
    with session_scope(engine) as s:
        w1 = SurveyWave(name="Autumn 2021", period_start=date(2021, 9, 1))
        w2 = SurveyWave(name="Autumn 2022", period_start=date(2022, 9, 1))
        s.add_all([w1, w2])
        s.flush()
        for wave, p_dark in ((w1, 0.6), (w2, 0.45)):
            for i in range(150):
                age = ["under16", "16-17", "18-24", "25-34", "35-44"][i % 5]
                dark = SCALE[3] if rng.random() < p_dark else SCALE[1]
                day = SCALE[3] if rng.random() < 0.1 else SCALE[0]
                concerns = ["poor_lighting"] if rng.random() < 0.5 else []
                if rng.random() < 0.3:
                    concerns.append("verbal_harassment")
                s.add(
                    SurveyResponse(
                        wave_id=wave.id,
                        age_band=age,
                        gender="Female",
                        ward_code="W1" if i % 2 else "W2",
                        district_code="D1",
                        concerns=concerns,
                        settings=["park"] if i % 3 else ["quiet_street"],
                        feel_safe={
                            "after_dark.park": dark,
                            "day.park": day,
                            "after_dark.quiet_street": "Don't know",
                        },
                        free_text="dark path" if i < 20 else None,
                    )
                )
        reports = []
        for i in range(120):
            cell = hot if i < 40 else ring[int(rng.integers(len(ring)))]
            lat, lon = h3.cell_to_latlng(cell)
            when = date(2021, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
            reports.append(
                Report(
                    received_hour=datetime(2022, 1, 1),
                    occurred_on=when,
                    occurred_hour=int(rng.integers(0, 24)),
                    latitude=lat,
                    longitude=lon,
                    h3_cell=cell,
                    reasons=["poor_lighting"],
                    ward_code="W1",
                    free_text="no lights" if i < 15 else None,
                )
            )
        s.add_all(reports)
        s.flush()
        for r in reports[:15]:
            s.add(
                ThemeAssignment(
                    owner_kind="report",
                    owner_id=r.id,
                    theme="poor_lighting",
                    confidence=0.9,
                    source="model",
                )
            )
        s.add(
            ThemeAssignment(
                owner_kind="report",
                owner_id=reports[0].id,
                theme="poor_lighting",
                source="analyst",
                present=False,
            )
        )
        for i in range(400):
            cell = hot if i < 120 else ring[int(rng.integers(len(ring)))]
            lat, lon = h3.cell_to_latlng(cell)
            month = date(2021, 1 + i % 12, 1)
            ctype = "Violence and sexual offences" if i % 2 else "Public order"
            add_crime(
                s,
                i,
                month=month,
                crime_type=ctype,
                latitude=lat,
                longitude=lon,
                h3_cell=cell,
                ward_code="W1",
                district_code="D1" if i % 4 else "D2",
                last_outcome="Under investigation",
            )
            if ctype.startswith("Violence"):
                outcome = [
                    "Suspect charged",
                    "Investigation complete; no suspect identified",
                    "Unable to prosecute suspect",
                ][i % 3]
                s.add(
                    Outcome(
                        row_key=f"o{i}".encode(),
                        crime_id=f"id{i}",
                        crime_key=crime_key(f"id{i}"),
                        month=month,
                        reported_by="X",
                        falls_within="X",
                        outcome_type="Under investigation",
                    )
                )
                s.add(
                    Outcome(
                        row_key=f"p{i}".encode(),
                        crime_id=f"id{i}",
                        crime_key=crime_key(f"id{i}"),
                        month=month.replace(day=28) + timedelta(days=5),
                        reported_by="X",
                        falls_within="X",
                        outcome_type=outcome,
                    )
                )


def test_assessment_end_to_end(engine: sa.Engine, settings) -> None:  # type: ignore[no-untyped-def]
    build_store(engine)
    messages: list[str] = []
    runs = run_assessment(
        engine=engine,
        settings=settings,
        progress=messages.append,
        permutations=199,
        seed=3,
        assign_themes=False,
    )
    kinds = {r.kind for r in runs}
    assert {
        "concerns",
        "feel_safe",
        "who",
        "when_reports",
        "when_crime",
        "themes",
        "outcomes",
        "waves",
        "hotspots_reports",
        "hotspots_crime",
        "emerging_reports",
        "emerging_crime",
        "fusion",
    } <= kinds
    assert any("hot spots" in m for m in messages)
    with session_scope(engine) as s:
        latest = latest_results(session=s)
        assert set(latest) == kinds
        for run in latest.values():
            json.dumps(run.result)  # stored JSON is plain JSON
            assert run.summary
        concerns = latest["concerns"].result
        top = concerns["ranked"][0]
        assert top["code"] == "poor_lighting"
        n_ans = concerns["n_answered"]
        assert top["n"] == n_ans and top["lower"] < top["share"] < top["upper"]
        assert "Poor lighting was the most common concern" in latest["concerns"].summary
        assert concerns["by"]["age_band"]["poor_lighting"]["test"]["test"] in (
            "chi-square",
            "fisher-freeman-halton (monte carlo)",
        )
        assert concerns["by"]["setting"]["poor_lighting"]["test"]["test"] == "none"
        groups = [g["group"] for g in concerns["by"]["age_band"]["poor_lighting"]["groups"]]
        assert groups == ["under16", "16-17", "18-24", "25-34", "35-44"]  # youngest first
        feel = {q["key"]: q for q in latest["feel_safe"].result["questions"]}
        assert feel["after_dark.quiet_street"]["n"] == 0  # "don't know" is not an answer
        assert feel["after_dark.park"]["n"] == 300
        pair = latest["feel_safe"].result["day_vs_dark"][0]
        assert pair["p_value"] < 0.001
        waves = latest["waves"].result
        dark = next(c for c in waves["comparisons"] if c["key"] == "after_dark.park")
        assert dark["n1"] == 150 and dark["lower"] < dark["difference"] < dark["upper"]
        # the hot cell is a hot spot of reports and of crime, and fusion says patrol
        hot = h3.latlng_to_cell(*CENTRE, 9)
        rep = latest["hotspots_reports"]
        cell = s.scalars(
            sa.select(HotspotCell).where(HotspotCell.run_id == rep.id, HotspotCell.cell == hot)
        ).one()
        assert cell.klass == 3 and cell.count == 40
        fused = {r["code"]: r for r in latest["fusion"].result["cells"]["areas"]}
        assert fused[hot]["response"] == "patrol_enforcement"
        # outcomes: the latest event wins over "Under investigation"
        out = latest["outcomes"].result["overall"]
        assert out["n"] == 200
        assert (
            out["charged"]["count"]
            + out["no_suspect"]["count"]
            + out["unable_to_prosecute"]["count"]
            == 200
        )
        # themes: the analyst's "no" overrides the model's "yes"
        themes = latest["themes"].result["report"]
        assert themes["n_texts"] == 15 and themes["ranked"][0]["count"] == 14
        when = latest["when_reports"].result
        assert when["n_timed"] == 120 and len(when["counts"]) == 7
        assert "month" in latest["when_crime"].summary


def test_assessment_of_an_empty_store_says_so(engine: sa.Engine, settings) -> None:  # type: ignore[no-untyped-def]
    runs = {r.kind: r for r in run_assessment(engine=engine, settings=settings, permutations=99)}
    assert runs["concerns"].summary.startswith("No survey responses")
    assert runs["feel_safe"].summary.startswith("No survey responses")
    assert runs["waves"].summary == "No survey waves yet."
    assert runs["hotspots_crime"].summary == "No located crime yet."
    assert runs["outcomes"].summary.startswith("No violence")
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AnalysisRun)) == len(runs)


def test_assess_command(app_env) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.cli import app
    from saferstreets.db import make_engine

    engine = make_engine(app_env.sqlalchemy_url)
    build_store(engine)
    engine.dispose()
    result = CliRunner().invoke(app, ["assess", "--permutations", "99", "--no-themes"])
    assert result.exit_code == 0, result.output
    assert "Poor lighting was the most common concern" in result.output
    assert "Stored" in result.output
    bad = CliRunner().invoke(app, ["assess", "--inference", "magic"])
    assert bad.exit_code == 1
    assert "--inference must be analytic or permutation" in bad.output


@pytest.mark.parametrize(
    ("band", "stage"),
    [
        ("13-15", "girls"),
        ("16-17", "girls"),
        ("under16", "girls"),
        ("16-24", "mixed"),
        ("18-24", "women"),
        ("65+", "women"),
        ("16 to 17", "girls"),
        ("Under 18", "girls"),
        ("Under 19", "mixed"),
        ("65 or over", "women"),
        (None, None),
        ("teen", None),
        ("Prefer not to say", None),
    ],
)
def test_life_stage(band: str | None, stage: str | None) -> None:
    assert life_stage(band) == stage


def test_age_bands_sort_youngest_first() -> None:
    bands = ["65+", "under16", "25-34", "Prefer not to say", "16-17", "18-24", "55 to 64"]
    assert sorted(bands, key=age_order) == [
        "under16", "16-17", "18-24", "25-34", "55 to 64", "65+", "Prefer not to say",
    ]  # fmt: skip
    assert age_range("under16") == (0, 15)
    assert age_range("35 to 44") == (35, 44)
    assert age_range("65 or over") == (65, 150)


def test_no_fear_data_is_not_little_fear(engine, settings) -> None:  # type: ignore[no-untyped-def]
    # Crime in two wards and nothing from the public: no ward may be called "crime with little
    # fear" (awareness) for want of reports; the finding says what is missing.
    with session_scope(engine) as s:
        for i, code in enumerate(("W1", "W2")):
            add_area(s, code, f"Ward {i}", "ward", lon=-0.3 + 0.02 * i)
            for j in range(5 + 10 * i):
                s.add(
                    Crime(
                        row_key=f"{code}-{j}".encode(),
                        crime_id=f"{code}-{j}",
                        month=date(2021, 1 + j % 12, 1),
                        reported_by="X",
                        falls_within="X",
                        crime_type="Violence and sexual offences",
                        latitude=51.805,
                        longitude=-0.295 + 0.02 * i,
                        ward_code=code,
                    )
                )
    runs = {r.kind: r for r in run_assessment(engine=engine, settings=settings, permutations=99)}
    fusion = runs["fusion"]
    assert fusion.result["wards"] is None
    assert fusion.summary == (
        "Not enough data to compare fear with recorded crime yet: there are no reports or "
        "survey answers placed in wards."
    )
