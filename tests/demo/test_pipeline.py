"""The whole demo pipeline, as `make demo` runs it (without serving): every stage, one store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from saferstreets.accounts.models import User
from saferstreets.actions import workload
from saferstreets.config import Settings
from saferstreets.db import dispose_engines, make_engine, session_scope
from saferstreets.demo.pipeline import STAGES, run_demo
from saferstreets.status import store_status


@pytest.mark.slow
def test_demo_runs_every_stage_into_its_own_store(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "var", secret_key="x" * 40)
    console = Console(record=True, width=200)
    accounts, used = run_demo(settings=settings, seed=7, out=None, console=console)
    dispose_engines()
    output = console.export_text()
    for title, _ in STAGES:
        assert f"✓ {title}:" in output, title
    assert used.database_url == f"sqlite:///{(tmp_path / 'var' / 'demo' / 'demo.db').resolve()}"
    assert used.force_name == "Wyvernshire Constabulary"  # the stored force, as the report has it
    assert {role for _, role in accounts} == {
        "admin",
        "analyst",
        "supervisor",
        "ward_officer",
        "partner",
    }
    engine = make_engine(used.sqlalchemy_url)
    with session_scope(engine) as session:
        info = store_status(session=session)
        kinds = set(session.scalars(sa.text("SELECT DISTINCT kind FROM analysis_run")))
        issues = session.scalar(sa.text("SELECT count(*) FROM local_issue"))
        plans = session.scalar(sa.text("SELECT count(*) FROM plan"))
        officer_wards = session.scalar(
            sa.text("SELECT wards FROM user_account WHERE role = 'ward_officer'")
        )
        open_in_her_wards = session.scalar(
            sa.text("SELECT count(*) FROM local_issue WHERE stage != 'closed' AND ward_code = :w"),
            {"w": json.loads(officer_wards)[0]},
        )
        linked_unreviewed = session.scalar(
            sa.text(
                "SELECT count(*) FROM issue_report"
                " JOIN report ON report.id = issue_report.report_id"
                " WHERE report.urgent AND NOT EXISTS (SELECT 1 FROM safeguarding_review v"
                " WHERE v.report_id = report.id)"
            )
        )
        reviewed = session.scalar(sa.text("SELECT count(*) FROM safeguarding_review"))
        officer = session.scalar(sa.select(User).where(User.role == "ward_officer"))
        levels = [p.level for _, p in workload.queue(session=session, user=officer)]
        session.rollback()  # the queue brings stored priorities up to date; leave the store as is
        partner = session.scalar(sa.text("SELECT partner FROM user_account WHERE role = 'partner'"))
        partner_open = session.scalar(
            sa.text("SELECT count(*) FROM referral WHERE partner = :p AND closed_on IS NULL"),
            {"p": partner},
        )
    engine.dispose()
    counts = info["counts"]
    assert counts["crimes"] > 10_000 and counts["outcomes"] > 5_000
    assert counts["reports"] == 2_000 and counts["survey_waves"] == 2
    assert info["areas"]["ward"] >= 100 and info["areas"]["district"] == 10
    assert {"concerns", "feel_safe", "hotspots_crime", "hotspots_reports", "waves"} <= kinds
    assert issues > 0 and plans == 1
    assert open_in_her_wards > 0  # the demo ward officer's queue is not empty
    # Priorities spread (issue 13: 14 of her 15 issues were priority 1), highest first.
    assert len(set(levels)) == 3 and levels.count(1) <= len(levels) // 2, levels
    assert levels == sorted(levels)
    assert partner_open > 0  # nor is the demo council partner's
    assert linked_unreviewed == 0 and reviewed > 0  # urgent reports are reviewed before linking
    # A second run starts again from a fresh store: nothing doubles.
    _, used2 = run_demo(settings=settings, seed=7, out=None, console=Console(file=None, quiet=True))
    dispose_engines()
    engine = make_engine(used2.sqlalchemy_url)
    with session_scope(engine) as session:
        assert store_status(session=session)["counts"] == counts
    engine.dispose()
