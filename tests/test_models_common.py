"""``listed``: a JSON list column holds a code, on both stores, as Python's ``in`` says."""

from __future__ import annotations

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
