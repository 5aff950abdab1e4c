"""Intake: validate → locate → triage → save, receipt codes, the reporter's view, deletion."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import h3
import pytest
import sqlalchemy as sa
from tests.reports.county import INSIDE, OUTSIDE

from saferstreets.accounts.models import AuditEvent
from saferstreets.accounts.service import create_user
from saferstreets.actions.models import PublicUpdate
from saferstreets.db import session_factory
from saferstreets.errors import NotFound, ValidationFailed
from saferstreets.ingest.models import QuarantinedRow
from saferstreets.reports import safeguarding, service
from saferstreets.reports.models import Report
from saferstreets.reports.schemas import ReportSubmission, parse_submission
from saferstreets.themes.models import ThemeAssignment

TODAY = datetime.now(UTC).date()


def sub(**change) -> ReportSubmission:  # type: ignore[no-untyped-def]
    lat, lon = INSIDE["E05009001"]
    data = {
        "latitude": lat,
        "longitude": lon,
        "occurred_on": TODAY - timedelta(days=2),
        "time_band": "night",
        "reasons": ["poor_lighting"],
    }
    data.update(change)
    return ReportSubmission.model_validate(data)


def test_receipt_codes_have_80_bits_and_read_back_forgivingly() -> None:
    codes = [service.new_receipt_code() for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    for code in codes[:50]:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", code)
    assert service.RECEIPT_BITS >= 80
    assert len(service.RECEIPT_ALPHABET) ** 16 >= 2**80
    # Every character of the alphabet turns up at a similar rate (no modulo bias).
    counts = Counter("".join(c.replace("-", "") for c in codes))
    assert set(counts) == set(service.RECEIPT_ALPHABET)
    expected = 2000 * 16 / 32
    assert all(abs(n - expected) < 6 * math.sqrt(expected) for n in counts.values())
    code = "7K2M-QX9D-4HTR-B8WN"
    assert service.normalise_receipt(" 7k2m qx9d 4htr b8wn ") == "7K2MQX9D4HTRB8WN"
    assert service.normalise_receipt("7K2M-QX9D-4HTR-B8W") is None
    assert service.normalise_receipt("7K2M-QX9D-4HTR-B8WNN") is None
    assert service.receipt_hash(code) == hashlib.sha256(b"7K2MQX9D4HTRB8WN").hexdigest()
    # Letters people confuse with digits read as the digits.
    assert service.normalise_receipt("OOOO-IIII-LLLL-0000") == "0000111111110000"


def test_a_report_is_saved_located_and_keeps_only_a_hash(county: sa.Engine) -> None:
    lat, lon = INSIDE["E05009003"]
    received = datetime(2026, 11, 24, 22, 47, 13, 123456, tzinfo=UTC)
    with session_factory(county)() as session:
        report, code = service.create_report(
            session=session,
            submission=sub(
                latitude=lat,
                longitude=lon,
                free_text="no lights",
                occurred_on=received.date() - timedelta(days=2),
            ),
            received_at=received,
        )
        session.commit()
        row = session.get(Report, report.id)
        assert row.received_hour == datetime(2026, 11, 24, 22, 0)
        assert row.ward_code == "E05009003" and row.district_code == "E07000902"
        assert row.h3_cell == h3.latlng_to_cell(lat, lon, 9)
        assert row.receipt_hash == hashlib.sha256(code.replace("-", "").encode()).hexdigest()
        assert code.replace("-", "") not in json.dumps([str(v) for v in row.__dict__.values()])
        assert row.status == "new" and not row.urgent


def test_a_saved_report_is_the_sessions_own_object_and_what_the_store_holds(
    county: sa.Engine,
) -> None:
    """``create_report`` writes the row in one Core statement and hands back the session's
    persistent object: the same values as a fresh read of the store, nothing left to flush."""
    with session_factory(county)() as session:
        report, _ = service.create_report(
            session=session, submission=sub(free_text="no lights", place_text="the underpass")
        )
        state = sa.inspect(report)
        assert state.persistent and not session.new and not session.dirty
        assert session.get(Report, report.id) is report
        session.commit()
        kept = {c.key: getattr(report, c.key) for c in Report.__table__.columns}
    with session_factory(county)() as fresh:
        stored = fresh.execute(sa.select(Report.__table__).where(Report.id == kept["id"])).one()
    assert dict(stored._mapping) == kept
    assert kept["had_text"] is True and kept["public_id"] and kept["tallied"] is False


def test_a_report_stored_again_after_a_rollback_is_stored_once(county: sa.Engine) -> None:
    """A retry after a rollback (``db.with_retries``) stores the report anew; on SQLite the store
    gives the rolled-back id again, which the session must not still hold for the first try."""
    with session_factory(county)() as session:
        first, _ = service.create_report(session=session, submission=sub(free_text="first try"))
        first_id = first.id
        session.rollback()
        second, _ = service.create_report(session=session, submission=sub(free_text="again"))
        session.commit()
        assert session.get(Report, second.id) is second
    with session_factory(county)() as fresh:
        texts = fresh.scalars(sa.select(Report.free_text)).all()
    assert texts == ["again"]
    if county.dialect.name == "sqlite":
        assert second.id == first_id  # the case this guards: the id given again


def test_a_report_outside_the_force_area_is_refused_and_nothing_kept(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        with pytest.raises(ValidationFailed) as info:
            service.create_report(
                session=session,
                submission=sub(latitude=OUTSIDE[0], longitude=OUTSIDE[1]),
                force_name="Demo County Police",
            )
        assert "outside the area Demo County Police covers" in info.value.field_errors["location"]
        session.rollback()
        assert session.scalar(sa.select(sa.func.count(Report.id))) == 0


def test_a_place_chosen_by_name_fills_its_area_and_parents(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        report, _ = service.create_report(
            session=session,
            submission=sub(
                latitude=None, longitude=None, area_code="E05009004", place_text="Riverside"
            ),
        )
        assert (report.ward_code, report.district_code) == ("E05009004", "E07000902")
        assert report.latitude is None and report.h3_cell is None
        with pytest.raises(ValidationFailed) as info:
            service.create_report(
                session=session,
                submission=sub(latitude=None, longitude=None, area_code="E05999999"),
            )
        assert "location" in info.value.field_errors


def test_dates_in_the_future_or_long_ago_are_refused(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        for when, words in (
            (TODAY + timedelta(days=5), "future"),
            (date(2015, 1, 1), "five years"),
        ):
            with pytest.raises(ValidationFailed) as info:
                service.create_report(session=session, submission=sub(occurred_on=when))
            assert words in info.value.field_errors["occurred_on"]
        with pytest.raises(ValidationFailed) as info:
            parse_submission({**sub().model_dump(), "occurred_on": None})
        assert "It happens regularly" in info.value.field_errors["occurred_on"]
        report, _ = service.create_report(
            session=session, submission=sub(occurred_on=None, happens_regularly=True)
        )
        assert report.happens_regularly and report.occurred_on is None


def test_an_hour_gives_the_time_band_when_none_is_given(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        report, _ = service.create_report(
            session=session, submission=sub(time_band=None), occurred_hour=23
        )
        assert (report.occurred_hour, report.time_band) == (23, "night")
        with pytest.raises(ValidationFailed):
            service.create_report(session=session, submission=sub(), occurred_hour=24)


def test_urgent_words_go_to_the_safeguarding_queue(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        calm, _ = service.create_report(session=session, submission=sub(free_text="dark underpass"))
        danger, _ = service.create_report(
            session=session,
            submission=sub(free_text="He is outside my house right now, 07700 900123"),
        )
        assert not calm.urgent
        assert danger.urgent and "danger now" in danger.urgent_reason
        queue = safeguarding.queue_page(session=session)
        assert [r.id for g in queue.groups for r in g.reports] == [danger.id]
        assert safeguarding.count_safeguarding(session=session) == 1
        user = create_user(
            session=session, username="sup", password="a long password", role="supervisor"
        )
        safeguarding.record_review(
            session=session, public_ids=[danger.public_id], outcome="control_room", note=None,
            user=user,
        )  # fmt: skip
        assert safeguarding.queue_page(session=session).groups == []
        everything = safeguarding.queue_page(
            session=session, filters=safeguarding.QueueFilters(include_reviewed=True)
        )
        assert [r.id for g in everything.groups for r in g.reports] == [danger.id]
        event = session.scalar(
            sa.select(AuditEvent).where(AuditEvent.object_id == danger.public_id)
        )
        assert event.user_id == user.id and event.action == "update"
        # Safeguarding keeps what she wrote; her own view hides the phone number.
        assert "07700 900123" in danger.free_text
        view = service.public_view(session=session, report=danger)
        assert "07700" not in view["free_text"] and "[phone number removed]" in view["free_text"]


def test_her_view_shows_status_place_and_area_updates(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        _, code = service.create_report(session=session, submission=sub(free_text="mail a@b.co.uk"))
        session.add(
            PublicUpdate(
                area_code="E05009001",
                title="New lights on Mill Lane",
                body="The council replaced 12 lamps. Questions: 01632 960000",
                published_on=date(2026, 11, 1),
                status="published",
            )
        )
        session.add(
            PublicUpdate(
                area_code="E05009004",
                title="Elsewhere",
                body="Not hers",
                published_on=date(2026, 11, 2),
                status="published",
            )
        )
        session.flush()
        found = service.report_for_receipt(session=session, code=code.lower().replace("-", " "))
        view = service.public_view(session=session, report=found)
        assert view["place"] == "Northgate"
        assert view["status_text"].startswith("Received")
        assert [u["title"] for u in view["updates"]] == ["New lights on Mill Lane"]
        assert "01632" not in view["updates"][0]["body"]
        assert view["free_text"] == "mail [email removed]"


def test_deleting_removes_the_report_and_what_was_derived(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        report, code = service.create_report(session=session, submission=sub())
        other, _ = service.create_report(session=session, submission=sub())
        session.add(
            ThemeAssignment(
                owner_kind="report", owner_id=report.id, theme="poor_lighting", source="model"
            )
        )
        session.add(
            ThemeAssignment(
                owner_kind="report", owner_id=other.id, theme="poor_lighting", source="model"
            )
        )
        session.commit()
        service.delete_report(session=session, code=code)
        session.commit()
        assert session.scalar(sa.select(sa.func.count(Report.id))) == 1
        assert session.scalars(sa.select(ThemeAssignment.owner_id)).all() == [other.id]
        with pytest.raises(NotFound):
            service.report_for_receipt(session=session, code=code)
        with pytest.raises(NotFound):
            service.report_for_receipt(session=session, code="not a code")


def test_import_keeps_good_lines_and_quarantines_bad_ones(
    county: sa.Engine, tmp_path: Path
) -> None:
    lat, lon = INSIDE["E05009004"]
    good = {
        "latitude": lat,
        "longitude": lon,
        "occurred_on": "2021-06-04",
        "time_band": None,
        "reasons": ["drink_drugs"],
        "free_text": "rowdy",
        "received_at": "2021-06-05T01:37:12",
        "occurred_hour": 23,
    }
    lines = [
        json.dumps(good),
        json.dumps({**good, "reasons": ["nonsense"]}),
        "not json",
        json.dumps({**good, "latitude": OUTSIDE[0], "longitude": OUTSIDE[1]}),
        json.dumps({**good, "received_at": "last tuesday"}),
        json.dumps({**good, "free_text": "my ex is outside now"}),
    ]
    path = tmp_path / "reports.jsonl"
    path.write_text("\n".join(lines) + "\n")
    summary = service.import_reports(engine=county, path=path, source="demo")
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (6, 2, 4)
    assert "2 stored" in summary.line() and "4 quarantined" in summary.line()
    with session_factory(county)() as session:
        rows = session.scalars(sa.select(Report).order_by(Report.id)).all()
        assert [(r.source, r.received_hour, r.time_band, r.ward_code) for r in rows] == [
            ("demo", datetime(2021, 6, 5, 1), "night", "E05009004")
        ] * 2
        assert [r.urgent for r in rows] == [False, True]
        problems = session.execute(
            sa.select(
                QuarantinedRow.row_number, QuarantinedRow.field, QuarantinedRow.reason
            ).order_by(QuarantinedRow.row_number)
        ).all()
        assert [(p[0], p[1]) for p in problems] == [
            (2, "reasons"),
            (3, None),
            (4, "location"),
            (5, "received_at"),
        ]
        assert "outside the area" in problems[2][2]
