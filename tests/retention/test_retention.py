"""``retention apply``: old words and exact points go; every count made from them stays.

The store is the tiny county with reports imported through the ordinary import (so each has its
areas and H3 cell), themes found by the ordinary classifier, a published batch, and a survey
wave. Counts are compared by computing them again from the store after retention, with the same
code the assessment and the publishing use, and by publishing from scratch.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.reports.county import INSIDE, import_tiny_county
from typer.testing import CliRunner

from saferstreets.accounts.models import AuditEvent
from saferstreets.assessment.filters import parse_filter
from saferstreets.assessment.service import load, report_events, report_tallies
from saferstreets.assessment.workspace import compute_workspace, resolve_filter
from saferstreets.config import Settings
from saferstreets.db import session_factory, session_scope
from saferstreets.publishing.batch import Geography, current_units, publish
from saferstreets.publishing.models import PublishBatch, PublishedFigure, PublishedUnit
from saferstreets.reports.models import Report
from saferstreets.reports.service import import_reports
from saferstreets.retention.service import apply_retention, postcode_sector
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.themes.models import ThemeAssignment, ThemeScored
from saferstreets.themes.service import assign_all

NOW = datetime(2026, 6, 1, 12)
OLD = datetime(2023, 3, 4, 21)  # beyond the default 730 days
RECENT = datetime(2026, 5, 1, 21)
TEXTS = [
    "the street lights by the canal are broken and it is pitch dark",
    "a group of men shout at women outside the bar every friday",
    "he followed me from the station to the bus stop",
    "the underpass is isolated and nobody is around after 8",
    "drunk men hang around the taxi rank and grab at women",
]


def _store(engine: sa.Engine, settings: Settings, tmp_path: Path) -> None:
    import_tiny_county(engine, tmp_path / "county")
    rng = random.Random(15)
    lines = []
    for i in range(80):
        lat, lon = INSIDE[rng.choice(sorted(INSIDE))]
        received = OLD if i < 60 else RECENT
        lines.append(
            {
                "latitude": round(lat + rng.uniform(-0.02, 0.02), 6),
                "longitude": round(lon + rng.uniform(-0.02, 0.02), 6),
                "occurred_on": (received - timedelta(days=1)).date().isoformat(),
                "occurred_hour": rng.randrange(24),
                "reasons": rng.sample(["poor_lighting", "isolated", "being_followed"], 2),
                "free_text": f"{rng.choice(TEXTS)} ({i})",
                "place_text": f"Canal Walk {i}",
                "received_at": received.isoformat(),
            }
        )
    path = tmp_path / "reports.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    assert import_reports(engine=engine, path=path, settings=settings).rows_stored == 80
    assign_all(engine=engine, settings=settings)
    with session_scope(engine) as session:
        wave = SurveyWave(name="Autumn 2022", period_end=date(2022, 11, 30))
        session.add(wave)
        session.flush()
        for i, (answered, postcode) in enumerate(
            [(date(2022, 10, 1), "AL1 3AB"), (None, "AL1 3"), (date(2026, 4, 1), "AL2 4CD")]
        ):
            session.add(
                SurveyResponse(
                    wave_id=wave.id,
                    answered_on=answered,
                    postcode=postcode,
                    concerns=["poor_lighting"],
                    feel_safe={"after_dark.park": "very unsafe"},
                    free_text=f"my own words about Hollyhock Lane {i}",
                    raw={"Q9": f"my own words about Hollyhock Lane {i}", "Postcode": postcode},
                    latitude=51.80,
                    longitude=-0.40,
                    h3_cell="89195da49b3ffff",
                    ward_code="E05009001",
                )
            )
        publish(session=session, settings=settings, now=NOW)


def _counts(engine: sa.Engine, settings: Settings) -> dict[str, Any]:
    """Every count the assessment and the publishing make from reports, computed afresh."""
    with session_factory(engine)() as session:
        units = current_units(session=session, geo=Geography.load(session))
        events = report_events(session=session, res=settings.h3_resolution)
        tallies = report_tallies(session=session)
        themes = session.execute(
            sa.select(
                ThemeAssignment.owner_kind, ThemeAssignment.owner_id, ThemeAssignment.theme
            ).order_by(ThemeAssignment.owner_kind, ThemeAssignment.owner_id, ThemeAssignment.theme)
        ).all()
        flt = resolve_filter(session=session, flt=parse_filter({}))
        ws = compute_workspace(session=session, flt=flt, settings=settings)
        store = load(session=session)
        return {
            # the analyst's page and the assessment count the same texts and themes
            "workspace": (ws.n_texts, ws.themes),
            "assessment texts": {kind: len(ids) for kind, ids in store.texts.items()},
            "units": {key: unit.as_json() for key, unit in units.items()},
            "cells": sorted(events.cells[i] for i in events.cell_of.tolist()),
            "tallies": (tallies.n, sorted(map(str, tallies.reasons)), tallies.wards),
            "themes": [tuple(t) for t in themes],
        }


def _figures(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with session_factory(engine)() as session:
        latest = session.scalar(sa.select(sa.func.max(PublishBatch.id)))
        return sorted(
            session.execute(
                sa.select(
                    PublishedFigure.area_code,
                    PublishedFigure.figure,
                    PublishedFigure.key,
                    PublishedFigure.value,
                    PublishedFigure.suppressed,
                ).where(PublishedFigure.batch_id == latest)
            ).all()
        )


def _republish_from_scratch(engine: sa.Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        session.execute(sa.delete(PublishedUnit))
        publish(session=session, settings=settings, now=NOW + timedelta(days=1))


def test_retention_removes_old_words_and_points_and_keeps_every_count(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    _store(engine, settings, tmp_path)
    before = _counts(engine, settings)
    figures_before = _figures(engine)
    with session_scope(engine) as session:
        dry = apply_retention(session=session, settings=settings, now=NOW, dry_run=True)
    assert _counts(engine, settings) == before
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0
        done = apply_retention(session=session, settings=settings, now=NOW)
    assert (dry.reports, dry.report_free_texts, dry.report_points) == (60, 60, 60)
    assert (done.reports, done.report_free_texts, done.report_place_texts) == (60, 60, 60)
    assert (done.survey_responses, done.survey_free_texts, done.survey_postcodes) == (2, 2, 1)
    assert done.text_markers == 60

    with session_factory(engine)() as session:
        old = session.scalars(sa.select(Report).where(Report.received_hour < NOW.replace(2025)))
        for report in old:
            assert report.free_text is None and report.place_text is None
            assert report.latitude is None and report.longitude is None
            assert report.h3_cell and report.ward_code and report.reasons
        recent = session.scalars(sa.select(Report).where(Report.received_hour >= RECENT)).all()
        assert len(recent) == 20 and all(r.free_text and r.latitude for r in recent)
        responses = session.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.id)).all()
        assert [r.postcode for r in responses] == ["AL1 3", "AL1 3", "AL2 4CD"]
        assert [r.free_text is None for r in responses] == [True, True, False]
        assert [r.raw is None for r in responses] == [True, True, False]
        assert [r.latitude is None for r in responses] == [True, True, False]
        assert all(r.feel_safe and r.concerns and r.h3_cell for r in responses)
        event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "retention"))
        assert event is not None and event.detail["reports"] == 60
        assert "Hollyhock" not in json.dumps(event.detail) and "Canal" not in json.dumps(
            event.detail
        )

    # Every count is the same, computed again from the store; and after themes are scored
    # again in full (a new model), the themes found before the words went are still there.
    assert _counts(engine, settings) == before
    assign_all(engine=engine, settings=settings, everything=True)
    assert _counts(engine, settings) == before
    with session_factory(engine)() as session:
        markers = session.scalar(sa.select(sa.func.count()).select_from(ThemeScored))
        assert markers == 20 + 1  # the recent reports and the recent survey answer
    _republish_from_scratch(engine, settings)
    assert _figures(engine) == figures_before

    with session_scope(engine) as session:  # idempotent: nothing more to remove, no new event
        again = apply_retention(session=session, settings=settings, now=NOW)
        assert (again.reports, again.survey_responses) == (0, 0)
        events = session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "retention")
        )
        assert events == 1


def test_an_urgent_report_waiting_for_review_is_held(
    engine: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    import_tiny_county(engine, tmp_path / "county")
    lat, lon = INSIDE["E05009001"]
    path = tmp_path / "r.jsonl"
    line = {"latitude": lat, "longitude": lon, "reasons": ["isolated"], "occurred_on": "2023-03-03"}
    path.write_text(
        "\n".join(
            json.dumps({**line, "free_text": text, "received_at": OLD.isoformat()})
            for text in ("a man with a knife waits here", "it is dark")
        )
    )
    summary = import_reports(engine=engine, path=path, settings=settings)
    assert summary.rows_stored == 2, summary.problems
    with session_scope(engine) as session:
        result = apply_retention(session=session, settings=settings, now=NOW)
        assert (result.reports, result.reports_held) == (1, 1)
        kept = session.scalar(sa.select(Report.free_text).where(Report.urgent.is_(True)))
        assert kept == "a man with a knife waits here"


def test_the_period_is_the_setting(engine: sa.Engine, settings: Settings, tmp_path: Path) -> None:
    _store(engine, settings, tmp_path)
    short = settings.model_copy(update={"report_retention_days": 20, "survey_retention_days": 1})
    with session_scope(engine) as session:
        result = apply_retention(session=session, settings=short, now=NOW, dry_run=True)
    assert result.reports == 80 and result.survey_responses == 3
    assert result.report_cutoff == NOW - timedelta(days=20)
    aware = datetime(2026, 6, 1, 14, tzinfo=timezone(timedelta(hours=2)))  # 12:00 UTC
    with session_scope(engine) as session:
        again = apply_retention(session=session, settings=short, now=aware, dry_run=True)
    assert again.report_cutoff == result.report_cutoff


def test_postcode_sectors() -> None:
    assert postcode_sector("AL1 3AB") == "AL1 3"
    assert postcode_sector("al1  3ab") == "AL1 3"
    assert postcode_sector("WY5 6") == "WY5 6"
    assert postcode_sector("AL1") == "AL1"
    assert postcode_sector(None) is None and postcode_sector("") == ""


def test_the_command_says_what_it_would_remove(app_env: Settings, tmp_path: Path) -> None:
    from saferstreets.cli import app
    from saferstreets.db import make_engine

    engine = make_engine(app_env.sqlalchemy_url)
    _store(engine, app_env, tmp_path)
    runner = CliRunner()
    dry = runner.invoke(app, ["retention", "apply", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would remove, from 60 reports" in dry.output and "Dry run" in dry.output
    done = runner.invoke(app, ["retention", "apply"])
    assert done.exit_code == 0 and "Removed, from 60 reports" in done.output
    again = runner.invoke(app, ["retention", "apply"])
    assert "Removed, from 0 reports" in again.output
    with session_factory(engine)() as session:
        texts = sa.select(sa.func.count()).where(Report.free_text.is_not(None))
        assert session.scalar(texts) == 20  # the recent ones
    engine.dispose()


def test_survey_exports_left_at_the_mapping_form_are_removed_after_a_day(
    engine: sa.Engine, settings: Settings
) -> None:
    """An export uploaded and never imported holds every IP address, email and name: retention
    removes it after a day; a fresh one (the analyst may still be checking it) and other kinds
    of upload stay."""
    import io
    import os

    from saferstreets.ingest.uploads import save_upload

    def upload(kind: str, name: str, age: timedelta) -> Path:
        saved = save_upload(
            settings=settings, kind=kind, files=[(name, io.BytesIO(b"IP Address\n203.0.113.7\n"))]
        )
        stamp = (NOW - age).replace(tzinfo=UTC).timestamp()
        os.utime(saved.folder, (stamp, stamp))
        return saved.folder

    old = upload("survey", "old.csv", timedelta(days=1, minutes=1))
    fresh = upload("survey", "fresh.csv", timedelta(hours=23))
    crime = upload("crime", "2021-01-street.csv", timedelta(days=30))
    with session_scope(engine) as session:
        dry = apply_retention(session=session, settings=settings, now=NOW, dry_run=True)
    assert dry.survey_uploads == 1 and old.is_dir()
    with session_scope(engine) as session:
        done = apply_retention(session=session, settings=settings, now=NOW)
    assert done.survey_uploads == 1
    assert (old.exists(), fresh.is_dir(), crime.is_dir()) == (False, True, True)
    with session_scope(engine) as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "retention")).one()
        assert event.detail["survey_uploads"] == 1


def test_a_run_cut_short_has_audited_what_it_committed(
    engine: sa.Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retention commits chunk by chunk; a run killed between chunks leaves an audit event for
    what it removed (not finished), and the next run completes it and says so."""
    from saferstreets.db import committing
    from saferstreets.retention import service

    _store(engine, settings, tmp_path)
    monkeypatch.setattr(service, "_CHUNK", 25)  # the 60 old reports in chunks of 25, 25, 10
    commits: list[int] = []

    with session_factory(engine)() as session:
        settle = committing(session)

        def die_after_the_first_chunk() -> None:
            settle()
            commits.append(1)
            raise KeyboardInterrupt  # the worker is killed here

        with pytest.raises(KeyboardInterrupt):
            apply_retention(session=session, settings=settings, now=NOW,
                            settle=die_after_the_first_chunk)  # fmt: skip
    assert commits == [1]
    with session_factory(engine)() as session:
        emptied = session.scalar(
            sa.select(sa.func.count()).select_from(Report).where(Report.text_removed.is_(True))
        )
        events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "retention"))
        details = [e.detail for e in events]
    assert emptied == 25
    assert [(d["records_generalised"], d["finished"], d["reports"]) for d in details] == [
        (25, False, 60)
    ]
    with session_scope(engine) as session:
        again = apply_retention(session=session, settings=settings, now=NOW)
    assert again.reports == 35  # the rest
    with session_factory(engine)() as session:
        details = [
            e.detail
            for e in session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action == "retention")
                .order_by(AuditEvent.id)
            )
        ]
    assert [(d["records_generalised"], d["finished"]) for d in details] == [
        (25, False),
        (35 + 2, True),  # and the 2 old survey responses
    ]
