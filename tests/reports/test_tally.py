"""What the writers keep for the workspace: each text's themes in force (``themes`` column) and
the report tally (``report_tally``), checked after every kind of write against what they stand
for, computed afresh:

- the ``themes`` column against ``themes.service.effective_themes`` (the rule in Python: an
  analyst's yes or no over the model's);
- the tally against a count from scratch of the reports it holds (those marked ``tallied``) as
  stored now;
- the workspace answered from the tally plus the reports not yet folded in (whole force, each
  district, each ward) against the same workspace answered by ``GROUP BY`` over the reports.

The writes: an import, a report from the form, folds of the new reports into the tally (part and
all), the model's themes, an analyst's corrections, retention, deletion by receipt code (of a
tallied report and of one not yet tallied), and the areas placed again: each with some reports
tallied and some not, as a live store has between two folds.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.reports.county import INSIDE

from saferstreets.areas.models import Area
from saferstreets.areas.service import assign_points
from saferstreets.assessment import cache
from saferstreets.assessment.filters import WorkspaceFilter, report_conditions
from saferstreets.assessment.workspace import _from_tally, _live, resolve_filter, tallied
from saferstreets.config import Settings
from saferstreets.db import session_factory, session_scope
from saferstreets.reports import tally
from saferstreets.reports.models import Report, ReportTally
from saferstreets.reports.schemas import ReportSubmission
from saferstreets.reports.service import create_report, delete_report, import_reports
from saferstreets.retention.service import apply_retention
from saferstreets.surveys.models import SurveyResponse, SurveyWave
from saferstreets.themes.corrections import save_corrections, text_themes
from saferstreets.themes.inforce import OWNER_MODELS
from saferstreets.themes.service import assign_all, effective_themes

REASONS = ["poor_lighting", "isolated", "being_followed", "drink_drugs"]
OLD = datetime(2023, 3, 4, 21)  # beyond the default 730 days of retention
RECENT = datetime(2026, 5, 1, 21)
TEXTS = [
    "the street lights by the canal are broken and it is pitch dark",
    "a group of men shout at women outside the bar every friday",
    "he followed me from the station to the bus stop",
    "the underpass is isolated and nobody is around after 8",
    "drunk men hang around the taxi rank and grab at women",
]


def _import(engine: sa.Engine, settings: Settings, folder: Path) -> None:
    rng = random.Random(31)
    lines = []
    for i in range(60):
        lat, lon = INSIDE[rng.choice(sorted(INSIDE))]
        received = OLD if i < 40 else RECENT
        line = {
            "latitude": round(lat + rng.uniform(-0.02, 0.02), 6),
            "longitude": round(lon + rng.uniform(-0.02, 0.02), 6),
            "occurred_on": (received - timedelta(days=rng.randrange(1, 40))).date().isoformat(),
            "reasons": rng.sample(REASONS, 2),
            "received_at": received.isoformat(),
        }
        if i % 4:
            line["free_text"] = f"{rng.choice(TEXTS)} ({i})"
        if i % 5:
            line["occurred_hour"] = rng.randrange(24)
        lines.append(line)
    path = folder / "reports.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    assert import_reports(engine=engine, path=path, settings=settings).rows_stored == 60
    with session_scope(engine) as session:
        wave = SurveyWave(name="Autumn 2025", period_end=date(2025, 11, 30))
        session.add(wave)
        session.flush()
        for i, text in enumerate(TEXTS):
            session.add(
                SurveyResponse(
                    wave_id=wave.id,
                    answered_on=date(2025, 10, 1),
                    ward_code="E05009001",
                    concerns=["poor_lighting"],
                    free_text=text,
                )
            )


def _filters(session: sa.orm.Session) -> list[WorkspaceFilter]:
    areas = session.scalars(sa.select(Area.code).where(Area.kind.in_(("district", "ward"))))
    flts = [WorkspaceFilter()] + [WorkspaceFilter(area=str(code)) for code in areas]
    return [resolve_filter(session=session, flt=f) for f in flts]


def _check(engine: sa.Engine, after: str) -> None:
    """The themes column, the tally and the tallied workspace are what they stand for."""
    with session_factory(engine)() as session:
        expected: dict[tuple[str, int], set[str]] = defaultdict(set)
        for item in effective_themes(session=session):
            expected[(item.owner_kind, item.owner_id)].add(item.theme)
        for kind, model in OWNER_MODELS.items():
            for oid, themes in session.execute(sa.select(model.id, model.themes)):
                assert sorted(themes) == themes, (after, kind, oid)
                assert set(themes) == expected.get((kind, oid), set()), (after, kind, oid)
        t = ReportTally
        stored = {
            (r.ward_code, r.district_code, r.kind, r.code): r.n
            for r in session.execute(sa.select(t).where(t.kind != "changes")).scalars()
        }
        held = sa.select(*tally._COLUMNS).where(Report.tallied.is_(True))
        fresh = tally.contributions(session.execute(held))
        assert stored == dict(fresh), after
        for flt in _filters(session):
            assert tallied(flt)
            live = _live(session, report_conditions(flt))
            assert _from_tally(session, flt) == live, (after, flt.area)
        _check_themed(session, after)


def _check_themed(session: sa.orm.Session, after: str) -> None:
    """Only a report with (or once with) words holds themes in force, so a theme filter's counts
    from the index alone (``themed``) are those grouped by ``had_text`` from the rows; and the
    theme filter keeps exactly the reports whose themes in force hold the theme."""
    held = session.execute(sa.select(Report.id, Report.themes, Report.had_text)).all()
    assert all(texted for _, themes, texted in held if themes), after
    for code in sorted({c for _, themes, _ in held for c in themes}):
        where = report_conditions(WorkspaceFilter(theme=code))
        themed = _live(session, where, themed=True)
        assert themed == _live(session, where), (after, code)
        assert themed.n == sum(code in themes for _, themes, _ in held) > 0, (after, code)


def _counted_changes(engine: sa.Engine) -> int:
    with session_factory(engine)() as session:
        return tally.changes(session)


def _waiting(engine: sa.Engine) -> int:
    with session_factory(engine)() as session:
        return tally.pending(session)[0]


def _fold(engine: sa.Engine, limit: int) -> int:
    with session_scope(engine) as session:
        return tally.fold(session, limit=limit)


def _form_report(engine: sa.Engine, ward: str) -> tuple[int, str]:
    with session_factory(engine)() as session:
        lat, lon = INSIDE[ward]
        submission = ReportSubmission.model_validate(
            {
                "latitude": lat,
                "longitude": lon,
                "occurred_on": date.today() - timedelta(days=3),
                "time_band": "night",
                "reasons": ["isolated", "poor_lighting"],
                "free_text": "nobody about and the path is dark",
            }
        )
        report, code = create_report(session=session, submission=submission)
        session.commit()
        return report.id, code


def test_every_writer_keeps_the_themes_in_force_and_the_tally(
    county: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    engine = county
    _import(engine, settings, tmp_path)
    _check(engine, "import")
    assert _waiting(engine) == 60  # an import writes no tally row: the reports wait to be folded
    before = _counted_changes(engine)
    newest, code = _form_report(engine, "E05009003")
    assert _counted_changes(engine) == before  # the form writes no tally row either
    assert _waiting(engine) == 61
    _check(engine, "a report from the form")
    assert _fold(engine, limit=25) == 25  # oldest first, some of the reports still waiting
    assert _waiting(engine) == 36 and _counted_changes(engine) == before + 1
    _check(engine, "part of the reports folded")
    before = _counted_changes(engine)
    run = assign_all(engine=engine, settings=settings)
    assert run.assignments > 0
    assert _counted_changes(engine) > before  # the workspace cache's data stamp moves
    _check(engine, "the model's themes")
    with session_factory(engine)() as session:
        texts = session.scalars(
            sa.select(Report.id).where(Report.had_text.is_(True)).order_by(Report.id)
        ).all()
        for oid in texts[:6]:
            now = set(text_themes(session=session, owner_kind="report", owner_id=oid).themes)
            flipped = now ^ {"transport", "isolated"}  # one theme added, one removed, or both
            save_corrections(session=session, owner_kind="report", owner_id=oid, ticked=flipped)
        survey = session.scalar(sa.select(SurveyResponse.id).order_by(SurveyResponse.id))
        assert survey is not None
        save_corrections(
            session=session, owner_kind="survey_response", owner_id=survey, ticked={"transport"}
        )
        session.commit()
    _check(engine, "an analyst's corrections")
    waiting = _waiting(engine)  # the model's first pass counted every report afresh
    assert _fold(engine, limit=1000) == waiting and _waiting(engine) == 0
    _check(engine, "every report folded")
    assert _fold(engine, limit=1000) == 0
    _form_report(engine, "E05009001")
    _check(engine, "a report from the form after the fold")
    assign_all(engine=engine, settings=settings, everything=True)  # corrections still win
    _check(engine, "the model's themes again, every text")
    with session_factory(engine)() as session:
        removed = apply_retention(session=session, settings=settings, now=RECENT)
        session.commit()
        assert removed.report_free_texts > 0
    _check(engine, "retention")
    with session_factory(engine)() as session:
        assert session.scalar(sa.select(Report.free_text).where(Report.id == newest))
        delete_report(session=session, code=code)
        session.commit()
        assert session.get(Report, newest) is None
    _check(engine, "deletion by receipt code")
    _, other_code = _form_report(engine, "E05009004")
    with session_factory(engine)() as session:  # one not yet tallied: nothing to take away
        delete_report(session=session, code=other_code)
        session.commit()
    _check(engine, "deletion by receipt code of a report not yet tallied")
    with session_scope(engine) as session:  # every report placed again, as after a boundary import
        session.execute(sa.update(Report).values(h3_cell=None))
        tally.rebuild(session)
    _form_report(engine, "E05009004")  # and one not yet tallied beside them
    assign_points(engine=engine, tables=["report"], only_missing=True, h3_resolution=9)
    _check(engine, "the areas and cells placed again")


def test_the_tally_answers_only_what_it_holds() -> None:
    assert tallied(WorkspaceFilter()) and tallied(WorkspaceFilter(area="W1", area_kind="ward"))
    assert not tallied(WorkspaceFilter(age="18-24"))
    assert not tallied(WorkspaceFilter(theme="transport"))
    assert not tallied(WorkspaceFilter(reason="isolated"))
    assert not tallied(WorkspaceFilter(start=date(2022, 1, 1)))
    assert not tallied(WorkspaceFilter(source="wave-1"))


def test_a_report_from_the_form_changes_the_workspace_cache_key(
    county: sa.Engine, settings: Settings
) -> None:
    with session_factory(county)() as session:
        first = cache.data_stamp(session=session)
        lat, lon = INSIDE["E05009001"]
        submission = ReportSubmission.model_validate(
            {
                "latitude": lat,
                "longitude": lon,
                "occurred_on": date.today() - timedelta(days=1),
                "time_band": "night",
                "reasons": ["isolated"],
            }
        )
        _, code = create_report(session=session, submission=submission)
        session.commit()
        second = cache.data_stamp(session=session)
        assert second != first
        delete_report(session=session, code=code)
        session.commit()
        assert cache.data_stamp(session=session) not in (first, second)


def test_a_report_committed_after_a_fold_began_is_folded_by_the_next(
    county: sa.Engine, settings: Settings
) -> None:
    """Reports commit out of id order on PostgreSQL: the fold keys on the ``tallied`` mark, not
    on an id watermark, so the lower id that commits late is not skipped for ever."""
    if county.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: no report can commit around another's transaction")
    slow = session_factory(county)()
    lat, lon = INSIDE["E05009001"]
    submission = ReportSubmission.model_validate(
        {
            "latitude": lat,
            "longitude": lon,
            "happens_regularly": True,
            "time_band": "night",
            "reasons": ["isolated"],
        }
    )
    early, _ = create_report(session=slow, submission=submission)  # the lower id, not committed
    late, _ = _form_report(county, "E05009003")
    assert late > early.id
    assert _fold(county, limit=1000) == 1  # only what is committed
    slow.commit()
    slow.close()
    assert _waiting(county) == 1
    assert tally.fold_pending(settings=settings) == 1
    assert _waiting(county) == 0
    _check(county, "a report committed after a fold")


def test_the_periodic_fold_runs_every_minute_and_writes_nothing_when_quiet(
    county: sa.Engine, settings: Settings
) -> None:
    from saferstreets.jobs.periodic import PERIODIC, run_periodic

    entry = next(p for p in PERIODIC if p.call == "saferstreets.reports.tally:fold_pending")
    assert entry.crontab == {"minute": "*"}
    for ward in INSIDE:
        _form_report(county, ward)
    before = _counted_changes(county)
    run_periodic(settings=settings, name=entry.name)
    assert _waiting(county) == 0 and _counted_changes(county) == before + 1
    run_periodic(settings=settings, name=entry.name)
    assert _counted_changes(county) == before + 1  # nothing waited: no write, caches stay warm
    _check(county, "the periodic fold")


@pytest.mark.parametrize(
    "flt",
    [WorkspaceFilter(), WorkspaceFilter(area="D1", area_kind="district")],
    ids=["force", "district"],
)
def test_the_untallied_reports_are_read_through_their_own_index(
    tmp_path: Path, flt: WorkspaceFilter
) -> None:
    """The few reports not yet tallied are counted live: SQLite must read them through
    ``ix_report_untallied``, never by scanning the reports through another index (which it did
    for the grouping by day and hour: 1.8 s of a whole-force page at 1,000,000 reports). The
    plans of every statement ``_from_tally`` sends are checked on an empty store, as SQLite
    plans without statistics whatever the store holds."""
    from saferstreets.db import make_engine
    from saferstreets.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    upgrade(engine)
    sent: list[tuple[str, tuple]] = []  # type: ignore[type-arg]
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, params, _ctx, _many: sent.append((statement, params)),
    )
    with session_factory(engine)() as session:
        _from_tally(session, flt)
    live = [(s, p) for s, p in sent if "tallied" in s and "report_tally" not in s]
    assert len(live) == 3  # reasons and themes; day and hour; ward and cell
    with engine.connect() as conn:
        for statement, params in live:
            plan = [
                row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            ]
            reads = [step for step in plan if " report " in f"{step} "]
            # the partial index, or one report at a time by its id (its key, or an index on
            # the area code whose entries end with the id)
            assert reads and all(
                "ix_report_untallied" in step or "rowid=?" in step for step in reads
            ), (statement, plan)
