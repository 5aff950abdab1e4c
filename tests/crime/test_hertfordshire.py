"""The real police.uk files: Hertfordshire Constabulary, 2021-01 to 2022-01 (../shared/data)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from saferstreets.crime.models import Crime, Outcome
from saferstreets.crime.offences import OUTCOME_GROUPS, outcome_group
from saferstreets.crime.service import counted, crime_history, import_crime
from saferstreets.db import session_scope
from saferstreets.ingest.models import QuarantinedRow
from saferstreets.ingest.service import total

pytestmark = pytest.mark.shared_data


def _rows(folder: Path) -> list[dict[str, str]]:
    out = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            out += [row | {"_file": path.name} for row in csv.DictReader(handle)]
    return out


@pytest.mark.slow
def test_import_all_of_hertfordshire(engine: sa.Engine, shared_data: Path) -> None:
    herts = shared_data / "police-uk-hertfordshire-2021"
    street, outcomes = _rows(herts / "street"), _rows(herts / "outcomes")
    assert (len(street), len(outcomes)) == (108_465, 85_099)  # SOURCES.md
    # Counted independently with csv: Crime IDs that police.uk publishes on more than one row.
    per_id = Counter(row["Crime ID"] for row in street if row["Crime ID"])
    shared = {crime_id: n for crime_id, n in per_id.items() if n > 1}
    assert (len(shared), sum(shared.values())) == (4, 8)
    repeats = sum(shared.values()) - len(shared)  # the later rows, quarantined before issue 13

    summaries = import_crime(engine=engine, paths=[herts])
    files = [s for s in summaries if s.kind.startswith("crime_")]
    assert len(files) == 26 and {s.status for s in files} == {"ok"}
    street_total = total([s for s in files if s.kind == "crime_street"])
    outcome_total = total([s for s in files if s.kind == "crime_outcomes"])
    assert (street_total.rows_read, street_total.rows_quarantined) == (108_465, 0)
    assert street_total.rows_stored == 108_465  # every published row, as police.uk counts them
    street_files = [s for s in files if s.kind == "crime_street"]
    assert sum(s.details.get("shared_crime_ids", 0) for s in street_files) == len(shared)
    assert sum(s.details.get("rows_sharing_a_crime_id", 0) for s in street_files) == 8
    assert (outcome_total.rows_read, outcome_total.rows_stored) == (85_099, 85_099)
    assert sum(s.details["no_location"] for s in files if s.kind == "crime_street") == sum(
        1 for r in street if not r["Latitude"]
    )
    assert sum(s.details["no_crime_id"] for s in files if s.kind == "crime_street") == 27_858
    assert next(s for s in summaries if s.status == "ignored").source.endswith("SOURCES.md")
    with session_scope(engine) as session:

        def n(q):  # type: ignore[no-untyped-def]
            return session.scalar(sa.select(sa.func.count()).select_from(Crime).where(q))

        assert session.scalar(sa.select(sa.func.count()).select_from(Crime)) == 108_465
        assert n(Crime.latitude.is_(None)) == 1_789
        assert n(Crime.crime_id.is_(None)) == 27_858
        assert n(Crime.crime_id_shared) == sum(shared.values())
        assert set(session.scalars(sa.select(Crime.crime_id).where(Crime.crime_id_shared))) == set(
            shared
        )
        assert n(counted("distinct_ids")) == 108_465 - repeats
        assert session.scalar(sa.select(sa.func.count()).select_from(Outcome)) == 85_099
        assert session.scalar(sa.select(sa.func.count()).select_from(QuarantinedRow)) == 0
        # A crime of January 2021 whose outcomes arrive in later months.
        crime_id = next(
            r["Crime ID"]
            for r in outcomes
            if r["Month"] == "2021-06"
            and any(s["Crime ID"] == r["Crime ID"] for s in street[:6914])
        )
        expected = sorted(
            (r["Month"], r["Outcome type"]) for r in outcomes if r["Crime ID"] == crime_id
        )
        history = crime_history(session=session, crime_id=crime_id)
        assert history[0].event == "recorded" and history[0].month.isoformat() == "2021-01-01"
        assert [(f"{e.month:%Y-%m}", e.description) for e in history[1:]] == expected

    again = import_crime(engine=engine, paths=[herts])
    assert {s.status for s in again if s.kind.startswith("crime_")} == {"skipped"}
    recheck = import_crime(
        engine=engine, paths=[herts / "street" / "2021-12-hertfordshire-street.csv"], recheck=True
    )
    december = sum(1 for r in street if r["_file"] == "2021-12-hertfordshire-street.csv")
    assert recheck[0].rows_stored == 0 and recheck[0].rows_duplicate == december
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Crime)) == 108_465
        assert session.scalar(sa.select(sa.func.count()).select_from(QuarantinedRow)) == 0


def test_every_real_outcome_has_a_group(shared_data: Path) -> None:
    herts = shared_data / "police-uk-hertfordshire-2021"
    values = {r["Last outcome category"] for r in _rows(herts / "street")} | {
        r["Outcome type"] for r in _rows(herts / "outcomes")
    }
    values.discard("")
    assert len(values) == 15  # 13 street wordings and 11 outcome types, 9 shared
    assert {v: outcome_group(v) for v in values if outcome_group(v) == "other"} == {}
    assert outcome_group("Offender given a caution") == "out_of_court"  # not 'charged'
    assert outcome_group("Awaiting court outcome") == "charged"
    assert outcome_group("Unable to prosecute suspect") == "unable_to_prosecute"
    every = [o for group in OUTCOME_GROUPS.values() for o in group]
    assert len(every) == len(set(every)), "an outcome is in two groups"
