"""Themes in the store: assign_all, analysts' labels, training from them, quotes, the CLI."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from saferstreets.cli import app
from saferstreets.db import session_scope
from saferstreets.errors import NotFound, ValidationFailed
from saferstreets.reports.models import Report
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.themes import service
from saferstreets.themes.models import ThemeAssignment

runner = CliRunner()

REPORT_TEXTS = [
    "The street lights on Mill Lane have been out for weeks and it's pitch black.",
    "A man called Dave followed me from the station, call me on 07700 900123.",
    "A man called Dave followed me from the station, call me on 07700 900123.",  # a duplicate
    "Group of lads shouting abuse at girls outside the chippy every Friday.",
    "Bushes are so overgrown you can't see who is on the path.",
    "",
    None,
    "I love this park.",
]
SURVEY_TEXTS = ["Drunk men outside the pubs at closing time.", "No CCTV and nobody about."]


def _fill(session: sa.orm.Session) -> None:
    for text in REPORT_TEXTS:
        session.add(
            Report(
                received_hour=datetime(2021, 10, 1, 22), free_text=text, reasons=["poor_lighting"]
            )
        )
    wave = SurveyWave(name="Autumn 2021")
    session.add(wave)
    session.flush()
    for text in SURVEY_TEXTS:
        session.add(SurveyResponse(wave_id=wave.id, free_text=text))
    session.commit()


def _rows(session: sa.orm.Session, source: str) -> list[tuple]:
    return sorted(
        session.execute(
            sa.select(
                ThemeAssignment.owner_kind, ThemeAssignment.owner_id, ThemeAssignment.theme
            ).where(ThemeAssignment.source == source)
        ).all()
    )


def test_assign_all_is_idempotent_and_keeps_analysts(engine, session, settings) -> None:
    _fill(session)
    calls: list[tuple[int, int]] = []
    run = service.assign_all(
        engine=engine, settings=settings, progress=lambda what, d=None, t=None: calls.append((d, t))
    )
    assert calls[0] == (0, 8) and calls[-1] == (8, 8)  # 6 report texts with words + 2 survey
    first = _rows(session, "model")
    assert (run.texts, run.scored) == (8, 8)
    written = run.assignments
    assert written == len(first) > 0
    themes_of = {(k, i): set() for k, i, _ in first}
    for k, i, t in first:
        themes_of[(k, i)].add(t)
    assert {"poor_lighting"} <= themes_of[("report", 1)]
    assert "being_followed" in themes_of[("report", 2)]
    assert "drink_drugs" in themes_of[("survey_response", 1)]
    assert {"no_cctv", "isolated"} <= themes_of[("survey_response", 2)]
    versions = set(session.scalars(sa.select(ThemeAssignment.model_version)))
    assert len(versions) == 1 and next(iter(versions)).startswith("zeroshot-")

    service.label(
        session=session, owner_kind="report", owner_id=1, theme="poor_lighting", present=False
    )
    service.label(session=session, owner_kind="report", owner_id=8, theme="isolated")
    session.commit()
    again = service.assign_all(engine=engine, settings=settings)
    assert (again.texts, again.scored, again.assignments) == (8, 0, 0)  # nothing new to score
    session.expire_all()
    assert _rows(session, "model") == first  # the same rows again
    assert service.assign_all(engine=engine, settings=settings, everything=True).assignments == (
        written
    )
    session.expire_all()
    assert _rows(session, "model") == first  # scored again from scratch: the same rows
    assert len(_rows(session, "analyst")) == 2  # analysts' rows untouched

    counts = service.theme_counts(session=session)
    model_lighting = sum(1 for _, _, t in first if t == "poor_lighting")
    assert counts["poor_lighting"] == model_lighting - 1  # the analyst's "no" overrides
    assert counts["isolated"] == sum(1 for _, _, t in first if t == "isolated") + 1


def test_assign_all_scores_only_new_changed_or_differently_modelled_texts(
    engine, session, settings, monkeypatch
) -> None:
    _fill(session)
    service.assign_all(engine=engine, settings=settings)
    before = _rows(session, "model")
    scored: list[str] = []
    real_call = service._Assigner.__call__

    def watching(self, texts):  # type: ignore[no-untyped-def]
        scored.extend(texts)
        return real_call(self, texts)

    monkeypatch.setattr(service._Assigner, "__call__", watching)
    # A new report, an edited one (report 8), and one whose text was emptied (report 5).
    session.add(Report(received_hour=datetime(2021, 10, 2, 23), free_text="Someone flashed at me."))
    session.get(Report, 8).free_text = "Nobody about and no CCTV on the path."
    session.get(Report, 5).free_text = "  "
    session.commit()
    run = service.assign_all(engine=engine, settings=settings)
    assert sorted(scored) == ["Nobody about and no CCTV on the path.", "Someone flashed at me."]
    assert (run.texts, run.scored) == (8, 2)
    session.expire_all()
    after = _rows(session, "model")
    assert ("report", 9, "indecent_exposure") in after
    assert {t for k, i, t in after if (k, i) == ("report", 8)} >= {"no_cctv", "isolated"}
    assert not [r for r in after if r[:2] == ("report", 5)]  # its old themes are gone
    unchanged = [r for r in before if r[:2] not in {("report", 5), ("report", 8)}]
    assert [r for r in after if r[:2] not in {("report", 5), ("report", 8), ("report", 9)}] == (
        unchanged
    )
    # Another model scores everything again.
    scored.clear()
    real_init = service._Assigner.__init__

    def another_model(self, model):  # type: ignore[no-untyped-def]
        real_init(self, model)
        self.version = "zeroshot-another"

    monkeypatch.setattr(service._Assigner, "__init__", another_model)
    run = service.assign_all(engine=engine, settings=settings)
    assert run.scored == run.texts == 8 and len(scored) == 8


def test_quotes_are_scrubbed_distinct_and_confident_first(engine, session, settings) -> None:
    _fill(session)
    service.assign_all(engine=engine, settings=settings)
    quotes = service.quotes_for_theme(session=session, theme="being_followed")
    assert quotes == ["A man called [name] followed me from the station, call me on [phone]."]
    lighting = service.quotes_for_theme(session=session, theme="poor_lighting", limit=1)
    assert len(lighting) == 1 and "pitch black" in lighting[0]
    assert service.quotes_for_theme(session=session, theme="indecent_exposure") == []
    with pytest.raises(ValidationFailed):
        service.quotes_for_theme(session=session, theme="nonsense")


def test_label_refuses_what_is_not_there(session) -> None:
    _fill(session)
    with pytest.raises(NotFound, match="no report 999"):
        service.label(session=session, owner_kind="report", owner_id=999, theme="staring")
    with pytest.raises(ValidationFailed, match="is not a theme"):
        service.label(session=session, owner_kind="report", owner_id=1, theme="stairs")
    with pytest.raises(ValidationFailed, match="is not a kind of text"):
        service.label(session=session, owner_kind="crime", owner_id=1, theme="staring")
    with pytest.raises(ValidationFailed, match="no free text"):
        service.label(session=session, owner_kind="report", owner_id=6, theme="staring")
    assert service.analyst_label_count(session=session) == 0


def test_enough_analyst_labels_train_a_model_that_is_used(engine, session, settings) -> None:
    _fill(session)
    settings.themes_min_labels = 4
    with pytest.raises(ValidationFailed, match="training needs at least 4"):
        service.train_from_store(session=session, settings=settings)
    for owner_id, theme, present in [
        (1, "poor_lighting", True),
        (2, "being_followed", True),
        (4, "verbal_harassment", True),
        (5, "overgrown", True),
        (8, "poor_lighting", False),
    ]:
        service.label(
            session=session, owner_kind="report", owner_id=owner_id, theme=theme, present=present
        )
    session.commit()
    run = service.assign_all(engine=engine, settings=settings)
    assert run.assignments > 0 and run.scored == run.texts  # a new model scores every text
    assert service.default_model_path(settings).exists()
    versions = set(
        session.scalars(
            sa.select(ThemeAssignment.model_version).where(ThemeAssignment.source == "model")
        )
    )
    assert len(versions) == 1 and next(iter(versions)).startswith("trained-")
    assert (
        service.load_theme_model(service.default_model_path(settings)).labels_[0] == "poor_lighting"
    )


def test_cli_label_assign_show(app_env, engine) -> None:
    with session_scope(engine) as session:
        _fill(session)
    result = runner.invoke(app, ["themes", "assign"])
    assert result.exit_code == 0, result.output
    assert "themes assigned to free text" in result.output
    result = runner.invoke(app, ["themes", "label", "report", "8", "isolated"])
    assert result.exit_code == 0, result.output
    assert "report 8 speaks of isolated" in result.output
    result = runner.invoke(app, ["themes", "label", "report", "1", "poor_lighting", "--absent"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["themes", "label", "report", "99", "isolated"])
    assert result.exit_code == 1
    assert "There is no report 99" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["themes", "show", "--json"])
    assert result.exit_code == 0, result.output
    import json

    shown = {row["code"]: row for row in json.loads(result.output)}
    assert shown["isolated"]["texts"] >= 1
    assert all("07700" not in q for row in shown.values() for q in row["quotes"])
    result = runner.invoke(app, ["themes", "evaluate"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["labels"] == 2
