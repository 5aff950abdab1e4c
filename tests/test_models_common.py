"""``listed``: a JSON list column holds a code, on both stores, as Python's ``in`` says."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from tests.factories import add_report

from saferstreets.db import session_scope
from saferstreets.models_common import listed
from saferstreets.reports.models import Report

LISTS = [
    [],
    ["poor_lighting"],
    ["poor_lighting", "isolated"],
    ["isolated"],
    ["being_followed", "drink_drugs"],
    ["lighting"],  # a code another code ends with: not a match for "poor_lighting"
    ["poorXlighting"],  # what LIKE's "_" wildcard would take for "poor_lighting"
    ["POOR_LIGHTING"],  # what a case-blind LIKE would take
]
CODES = ["poor_lighting", "isolated", "lighting", "being_followed", "drink_drugs", "absent"]


def test_listed_is_membership_on_both_stores(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        ids = [add_report(session, ward=None, district=None, reasons=codes).id for codes in LISTS]
        by_id = dict(zip(ids, LISTS, strict=True))
        for code in CODES:
            found = set(session.scalars(sa.select(Report.id).where(listed(Report.reasons, code))))
            assert found == {i for i, codes in by_id.items() if code in codes}, code
            left = set(session.scalars(sa.select(Report.id).where(~listed(Report.reasons, code))))
            assert left == set(ids) - found, code


def test_a_theme_filter_can_read_its_themes_partial_index(engine: sa.Engine) -> None:
    """The queries hold the partial indexes' condition as written (``listed_condition``), so
    each store can read only the reports with that theme: SQLite answers the query ``INDEXED
    BY`` the index (it refuses one it cannot use); PostgreSQL chooses it with sequential scans
    off (on a small table it would rather read the table)."""
    from saferstreets.assessment.filters import WorkspaceFilter, report_conditions

    flt = WorkspaceFilter(theme="transport", start=date(2022, 1, 1), end=date(2022, 6, 30))
    query = sa.select(Report.ward_code, Report.h3_cell, sa.func.count()).where(
        *report_conditions(flt)
    )
    query = query.group_by(Report.ward_code, Report.h3_cell)
    with engine.begin() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
        else:
            sql = sql.replace("FROM report", "FROM report INDEXED BY ix_report_theme_transport")
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "ix_report_theme_transport" in plan, plan
