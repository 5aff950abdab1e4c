"""The analyst's workspace: filtered counts against an independent computation, the filter in the
address, downloads that follow it and are safe against formula injection, and the cache."""

from __future__ import annotations

import io
import json
import random
from datetime import date, timedelta

import h3
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from statsmodels.stats.proportion import proportion_confint
from tests.factories import add_area, add_crime, add_report

from saferstreets.accounts.models import AuditEvent
from saferstreets.accounts.service import create_user
from saferstreets.actions.models import LocalIssue
from saferstreets.assessment import cache
from saferstreets.assessment.filters import WorkspaceFilter, parse_filter
from saferstreets.assessment.workspace import compute_workspace, resolve_filter
from saferstreets.db import session_scope
from saferstreets.errors import ValidationFailed
from saferstreets.reports.models import Report
from saferstreets.retention.service import erase_report
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.themes.inforce import refresh_themes
from saferstreets.themes.models import ThemeAssignment

REASONS = ["poor_lighting", "isolated", "being_followed", "verbal_harassment", "drink_drugs"]
AGES = ["16-17", "18-24", "25-34", "45-54"]
HOSTILE = ['=HYPERLINK("http://evil.example","click")', "+1+2", "-3+4", "@SUM(A1)", "\tTab", "\rCR"]


def _store(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Two districts of two wards, 400 reports (some with free text and themes, a few analyst
    corrections), two survey waves; one ward and one issue carry hostile names."""
    rng = random.Random(13)
    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district", lon=-0.32, lat=51.79, size=0.06)
        add_area(session, "D2", "Southwick", "district", lon=-0.20, lat=51.79, size=0.06)
        add_area(session, "W1", HOSTILE[0], "ward", parent="D1", lon=-0.32, lat=51.79, size=0.03)
        add_area(session, "W2", "Riverside", "ward", parent="D1", lon=-0.29, lat=51.79, size=0.03)
        add_area(session, "W3", HOSTILE[1], "ward", parent="D2", lon=-0.20, lat=51.79, size=0.03)
        add_area(session, "W4", "Hillside", "ward", parent="D2", lon=-0.17, lat=51.79, size=0.03)
        parent = {"W1": "D1", "W2": "D1", "W3": "D2", "W4": "D2"}
        for i in range(400):
            ward = rng.choice(list(parent))
            lat = 51.80 + rng.random() * 0.02 + (0.01 if ward in ("W1", "W3") else 0)
            lon = -0.31 + rng.random() * 0.02 + (0.1 if parent[ward] == "D2" else 0)
            report = add_report(
                session,
                ward=ward,
                district=parent[ward],
                reasons=rng.sample(REASONS, rng.randint(1, 3)),
                lat=lat,
                lon=lon,
                h3_cell=h3.latlng_to_cell(lat, lon, 9),
                occurred_on=date(2022, 1, 1) + timedelta(days=rng.randrange(300)),
                occurred_hour=rng.randrange(24),
                age_band=rng.choice(AGES),
                free_text="dark path" if i % 3 else None,
            )
            if i % 3:
                for theme in rng.sample(REASONS, 2):
                    session.add(
                        ThemeAssignment(
                            owner_kind="report",
                            owner_id=report.id,
                            theme=theme,
                            source="model",
                            present=True,
                        )
                    )
                if i % 10 == 1:  # an analyst says no to one of the model's themes, yes to another
                    rows = session.scalars(
                        sa.select(ThemeAssignment.theme).where(
                            ThemeAssignment.owner_id == report.id
                        )
                    ).all()
                    session.add(
                        ThemeAssignment(
                            owner_kind="report",
                            owner_id=report.id,
                            theme=rows[0],
                            source="analyst",
                            present=False,
                        )
                    )
        # assignments written by hand, as a bulk load would: their themes in force, once
        refresh_themes(session=session, owner_kind="report")
        waves = [SurveyWave(name="Wave one"), SurveyWave(name="Wave two")]
        session.add_all(waves)
        session.flush()
        for i in range(300):
            ward = rng.choice(list(parent))
            session.add(
                SurveyResponse(
                    wave_id=waves[i % 2].id,
                    respondent_ref=str(i),
                    age_band=rng.choice(AGES),
                    ward_code=ward,
                    district_code=parent[ward],
                    answered_on=date(2022, 3, 1) + timedelta(days=rng.randrange(200)),
                    concerns=rng.sample(REASONS, rng.randint(0, 3)),
                )
            )
        session.add(LocalIssue(ward_code="W1", title=HOSTILE[0], latitude=51.81, longitude=-0.30))
        for role in ("analyst", "supervisor", "ward_officer", "partner"):
            wards = ["W1"] if role == "ward_officer" else None
            create_user(
                session=session,
                username=role,
                password="long enough pw",
                role=role,
                wards=wards,
                partner="council_lighting" if role == "partner" else None,
            )
        return {"wave1": waves[0].id, "wave2": waves[1].id}


def _frames(engine) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """Every report, response and theme row, read plainly (the independent side of the check)."""
    with engine.connect() as conn:
        reports = pd.read_sql(sa.select(Report.__table__), conn)
        responses = pd.read_sql(sa.select(SurveyResponse.__table__), conn)
        themes = pd.read_sql(sa.select(ThemeAssignment.__table__), conn)
    for frame, column in ((reports, "reasons"), (responses, "concerns")):
        frame[column] = [json.loads(v) if isinstance(v, str) else v for v in frame[column]]
    return reports, responses, themes


def _effective(themes: pd.DataFrame, kind: str) -> pd.DataFrame:
    """(owner_id, theme) in force: the analyst's row where there is one, else the model's."""
    t = themes[themes.owner_kind == kind].copy()
    t["rank"] = (t.source == "analyst").astype(int)
    best = t.sort_values("rank").groupby(["owner_id", "theme"]).tail(1)
    return best[best.present.astype(bool)][["owner_id", "theme"]]


def _expected_ranked(lists: pd.Series) -> dict[str, tuple[int, int, float, float]]:
    n = len(lists)
    counts = pd.Series([c for codes in lists for c in set(codes)]).value_counts()
    out = {}
    for code, count in counts.items():
        lo, hi = proportion_confint(int(count), n, alpha=0.05, method="wilson")
        out[str(code)] = (int(count), n, float(lo), float(hi))
    return out


FILTERS = [
    {},
    {"area": "D1"},
    {"area": "W2", "age": "18-24"},
    {"reason": "isolated", "from": "2022-03-01", "to": "2022-08-31"},
    {"theme": "being_followed"},
    {"theme": "poor_lighting", "age": "25-34", "area": "D2"},
]


def test_filtered_shares_match_statsmodels_on_the_filtered_rows(engine, settings) -> None:  # type: ignore[no-untyped-def]
    _store(engine)
    reports, responses, themes = _frames(engine)
    for query in FILTERS:
        _check_filter(engine, settings, query, reports, responses, themes)


def _check_filter(engine, settings, query, reports, responses, themes) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        flt = resolve_filter(session=session, flt=parse_filter(query))
        ws = compute_workspace(session=session, flt=flt, settings=settings)
    # the same filter, applied by hand to the plain rows
    keep = pd.Series(True, index=reports.index)
    rkeep = pd.Series(True, index=responses.index)
    if "area" in query:
        col = "district_code" if query["area"].startswith("D") else "ward_code"
        keep &= reports[col] == query["area"]
        rkeep &= responses[col] == query["area"]
    if "age" in query:
        keep &= reports.age_band == query["age"]
        rkeep &= responses.age_band == query["age"]
    if "from" in query:
        keep &= pd.to_datetime(reports.occurred_on) >= pd.Timestamp(query["from"])
        keep &= pd.to_datetime(reports.occurred_on) <= pd.Timestamp(query["to"])
        rkeep &= pd.to_datetime(responses.answered_on) >= pd.Timestamp(query["from"])
        rkeep &= pd.to_datetime(responses.answered_on) <= pd.Timestamp(query["to"])
    if "reason" in query:
        keep &= reports.reasons.map(lambda c: query["reason"] in c)
        rkeep &= responses.concerns.map(lambda c: query["reason"] in c)
    eff = _effective(themes, "report")
    if "theme" in query:
        keep &= reports.id.isin(eff[eff.theme == query["theme"]].owner_id)
        rkeep &= False  # no survey free text in this store, so no survey response has a theme
    chosen = reports[keep]
    assert ws.n_reports == len(chosen) > 0
    expected = _expected_ranked(chosen.reasons)
    got = {r["code"]: (r["count"], r["n"], r["lower"], r["upper"]) for r in ws.reasons}
    assert got.keys() == expected.keys()
    for code, (count, n, lo, hi) in expected.items():
        assert got[code][:2] == (count, n)
        np.testing.assert_allclose(got[code][2:], (lo, hi), atol=1e-12)
    answered = responses[rkeep & responses.concerns.map(bool)]
    assert ws.n_answered == len(answered)
    want = _expected_ranked(answered.concerns) if len(answered) else {}
    assert {r["code"]: (r["count"], r["n"]) for r in ws.concerns} == {
        k: v[:2] for k, v in want.items()
    }
    texted = chosen[chosen.free_text.notna()]
    assert ws.n_texts == len(texted)
    in_force = eff[eff.owner_id.isin(texted.id)].theme.value_counts()
    assert {r["code"]: r["count"] for r in ws.themes} == {
        str(k): int(v) for k, v in in_force.items()
    }
    # by ward, by cell and by weekday and hour: the same rows grouped by hand
    assert {w["code"]: w["reports"] for w in ws.wards if w["reports"]} == (
        chosen.ward_code.value_counts().to_dict()
    )
    assert {c["cell"]: c["reports"] for c in ws.cells} == chosen.h3_cell.value_counts().to_dict()
    grid = np.zeros((7, 24), dtype=int)
    for day, hour in zip(pd.to_datetime(chosen.occurred_on), chosen.occurred_hour, strict=True):
        grid[day.weekday(), int(hour)] += 1
    assert ws.when == grid.tolist()


def test_hot_spots_follow_the_filter_and_match_esda(engine, settings) -> None:  # type: ignore[no-untyped-def]
    from esda.getisord import G_Local
    from libpysal.weights import W

    from saferstreets.analysis.hotspots import H3Weights, study_cells

    _store(engine)
    with session_scope(engine) as session:
        flt = resolve_filter(session=session, flt=parse_filter({"area": "D1"}))
        ws = compute_workspace(session=session, flt=flt, settings=settings)
    counts = {c["cell"]: c["reports"] for c in ws.cells}
    cells = study_cells(counts, k=1)
    weights = H3Weights.from_cells(cells, k=1)
    neighbours = {i: [j for j in js if j != i] for i, js in weights.neighbour_lists().items()}
    y = np.array([counts.get(c, 0) for c in cells], dtype=float)
    esda = G_Local(
        y, W(neighbours, silence_warnings=True), transform="B", star=True, permutations=0
    )
    z = dict(zip(cells, esda.Zs, strict=True))
    assert ws.hotspots, "a clustered store has hot spots"
    for h in ws.hotspots:
        assert h["z"] == pytest.approx(z[h["cell"]], abs=1e-9)
    # every hot spot lies in the filtered district's reports' neighbourhood
    assert {h["cell"] for h in ws.hotspots} <= set(cells)


def test_a_bad_filter_is_refused_field_by_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_filter({"from": "yesterday", "age": "old", "source": "wave-x", "theme": "<b>"})
    assert set(caught.value.field_errors) == {"from", "age", "source", "theme"}
    with pytest.raises(ValidationFailed) as caught:
        parse_filter({"from": "2022-05-01", "to": "2022-04-01"})
    assert caught.value.field_errors == {"to": "the end date is before the start date"}
    flt = parse_filter({"area": "W2", "source": "wave-3", "junk": "x"})
    assert flt == WorkspaceFilter(area="W2", source="wave-3")
    assert flt.query() == "?area=W2&source=wave-3"


# ---------------------------------------------------------------------------------------------
# through the web


def _login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"username": username, "password": "long enough pw", "csrf_token": token}
    )


def test_the_address_carries_the_filter_and_every_part_follows_it(client, engine) -> None:  # type: ignore[no-untyped-def]
    ids = _store(engine)
    _login(client, "analyst")
    whole = client.get("/staff/assessment")
    assert whole.status_code == 200 and "Findings of the latest full run" in whole.text
    page = client.get("/staff/assessment", params={"area": "D2", "source": "reports"})
    assert page.status_code == 200
    query = "?area=D2&amp;source=reports"
    for link in (
        "tables/reasons.csv",
        "tables/wards.xlsx",
        "layers/hotspots.geojson",
        "layers/cells.geojson",
        "charts/reasons.svg",
    ):
        assert f"/staff/assessment/{link}{query}" in page.text, link
    assert '<option value="D2" selected>' in page.text
    assert "Findings of the latest full run" not in page.text  # they do not follow a filter
    with session_scope(engine) as session:
        n_d2 = session.scalar(sa.select(sa.func.count()).where(Report.district_code == "D2"))
    assert f'<span class="stat-value">{n_d2:,}</span><span class="stat-label">public reports' in (
        page.text
    )
    # a survey wave as the source: no reports, that wave's respondents only
    wave = client.get("/staff/assessment", params={"source": f"wave-{ids['wave1']}"})
    assert '<span class="stat-value">150</span><span class="stat-label">survey respondents' in (
        wave.text
    )
    assert '<span class="stat-value">0</span><span class="stat-label">public reports' in wave.text
    # a bad filter: the form again, errors in place, nothing applied
    bad = client.get("/staff/assessment", params={"from": "soon", "area": "NOPE"})
    assert bad.status_code == 422
    assert "The filter was not applied" in bad.text and "from: a date as YYYY-MM-DD" in bad.text


def test_downloads_follow_the_filter_and_are_safe_in_csv_xlsx_and_geojson(client, engine) -> None:  # type: ignore[no-untyped-def]
    _store(engine)
    _login(client, "analyst")
    params = {"area": "D1"}
    csv = client.get("/staff/assessment/tables/wards.csv", params=params)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "ward,code,reports,survey_respondents,crimes"
    codes = {line.rsplit(",", 4)[1] for line in lines[1:]}
    assert codes == {"W1", "W2"}  # only the filtered district's wards
    assert any(line.startswith("\"'=HYPERLINK(") for line in lines[1:]), lines
    wide = client.get("/staff/assessment/tables/wards.xlsx")
    assert wide.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(wide.content)).active
    names = {}
    for row in sheet.iter_rows(min_row=2):
        names[row[1].value] = row[0]
    assert names["W1"].value == "'" + HOSTILE[0] and names["W1"].data_type == "s"
    assert names["W3"].value == "'" + HOSTILE[1] and names["W3"].data_type == "s"
    assert names["W2"].value == "Riverside"
    counts = {row[1].value: row[2].value for row in sheet.iter_rows(min_row=2)}
    assert all(isinstance(v, int) for v in counts.values())  # numbers stay numbers
    layer = client.get("/staff/assessment/layers/issues.geojson", params=params).json()
    assert layer["filter"] == params
    (issue,) = layer["features"]
    assert issue["properties"]["title"] == "'" + HOSTILE[0]
    assert issue["geometry"]["coordinates"] == [-0.30, 51.81]
    cells = client.get("/staff/assessment/layers/cells.geojson", params=params).json()
    with session_scope(engine) as session:
        n_d1 = session.scalar(sa.select(sa.func.count()).where(Report.district_code == "D1"))
    assert sum(f["properties"]["reports"] for f in cells["features"]) == n_d1
    assert all(f["geometry"]["type"] == "Polygon" for f in cells["features"])
    assert client.get("/staff/assessment/tables/secrets.csv").status_code == 404
    assert client.get("/staff/assessment/layers/secrets.geojson").status_code == 404
    svg = client.get("/staff/assessment/charts/reasons.svg", params=params)
    assert svg.status_code == 200 and svg.text.lstrip().startswith("<?xml")
    with session_scope(engine) as session:
        exports = session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "export", AuditEvent.object_kind == "assessment"
            )
        ).all()
        assert [e.detail.get("table") or e.detail.get("layer") for e in exports] == [
            "wards",
            "wards",
            "issues",
            "cells",
        ]
        assert exports[0].detail["filter"] == params


@pytest.mark.parametrize("value", HOSTILE)
def test_every_formula_start_is_neutralised_in_both_formats(value: str) -> None:
    from saferstreets.web.downloads import csv_response, xlsx_response

    csv = csv_response("t.csv", ["a", "n"], [[value, 3]]).body.decode("utf-8-sig")
    first = csv.splitlines()[1] if not value.startswith("\r") else csv.split("\n")[1]
    assert first.lstrip('"').startswith("'"), first
    book = load_workbook(io.BytesIO(xlsx_response("t.xlsx", ["a", "n"], [[value, 3]]).body))
    cell, number = book.active["A2"], book.active["B2"]
    assert cell.data_type == "s" and cell.value.startswith("'")
    assert cell.value[1:] == value.replace("\r", "\n")  # XML reads a carriage return as \n
    assert number.value == 3


def test_ward_officers_and_partners_are_refused(client, engine) -> None:  # type: ignore[no-untyped-def]
    _store(engine)
    for role in ("ward_officer", "partner"):
        _login(client, role)
        for path in (
            "/staff/assessment",
            "/staff/assessment/tables/wards.csv",
            "/staff/assessment/layers/issues.geojson",
            "/staff/assessment/charts/when.svg",
        ):
            assert client.get(path).status_code == 403, (role, path)
        client.cookies.clear()


def test_the_cache_holds_until_a_record_or_a_run_changes(client, engine, settings) -> None:  # type: ignore[no-untyped-def]
    _store(engine)
    cache.clear()
    _login(client, "supervisor")
    params = {"area": "W2"}

    def reports_shown() -> int:
        rows = client.get("/staff/assessment/tables/wards.csv", params=params).text.splitlines()
        return int(rows[1].split(",")[2])

    before = reports_shown()
    misses = cache.stats()["misses"]
    assert reports_shown() == before and cache.stats()["misses"] == misses  # a hit
    with session_scope(engine) as session:
        add_report(session, ward="W2", district="D1", reasons=["isolated"])
    assert reports_shown() == before + 1  # a new report is a new key, never a stale answer
    with session_scope(engine) as session:  # deleted by its receipt code's path
        newest = session.scalar(sa.select(sa.func.max(Report.id)))
        erase_report(session=session, report=session.get_one(Report, newest))
    assert reports_shown() == before
    from saferstreets.assessment.service import run_assessment

    run_assessment(engine=engine, settings=settings, assign_themes=False)
    misses = cache.stats()["misses"]
    assert reports_shown() == before and cache.stats()["misses"] > misses  # a new run, new keys


def test_months_without_a_police_uk_figure_are_not_drawn_as_no_crime(
    client, engine, settings
) -> None:  # type: ignore[no-untyped-def]
    """police.uk publishes a month some weeks after it ends: a month after the last one the
    store holds is "not yet published" (and one before the first "not imported"), never 0."""
    from saferstreets.publishing.workspace import chart_alts, chart_svg, tables

    _store(engine)  # reports from January to October 2022
    with session_scope(engine) as session:
        add_report(
            session, ward="W2", district="D1", reasons=["isolated"], occurred_on=date(2021, 12, 5)
        )
        for i, month in enumerate([date(2022, m, 1) for m in (1, 2, 2, 3, 4, 5, 6)]):
            add_crime(
                session, i, month=month, crime_type=settings.womens_safety_crime_types[0],
                ward_code="W2", district_code="D1",
            )  # fmt: skip
    with session_scope(engine) as session:
        ws = compute_workspace(session=session, flt=WorkspaceFilter(), settings=settings)
    crimes = {m["month"]: m["crimes"] for m in ws.months}
    assert crimes[date(2022, 2, 1)] == 2 and crimes[date(2022, 6, 1)] == 1
    assert crimes[date(2022, 7, 1)] is None and crimes[date(2022, 10, 1)] is None
    assert crimes[date(2021, 12, 1)] is None
    assert ws.n_crimes == 7 and ws.crime_published == (date(2022, 1, 1), date(2022, 6, 1))

    shown = {row[0]: row[2] for row in tables(ws, {})["months"].shown}
    assert shown["Jun 2022"] == "1"
    assert shown["Jul 2022"] == "not yet published" and shown["Dec 2021"] == "not imported"
    assert "Gaps: no police.uk figure" in (chart_svg(ws, "months") or "")
    assert "recorded crime Jan 2022 to Jun 2022" in chart_alts(ws)["months"]

    _login(client, "analyst")
    rows = dict(
        line.split(",", 1)
        for line in client.get("/staff/assessment/tables/months.csv").text.splitlines()
    )
    assert rows["2022-06"].endswith(",1") and rows["2022-07"].endswith(",")  # no figure: empty
