"""Deleting a report by its receipt code removes it everywhere: every table, every export after.

The report is given everything that can be derived from it first (themes found in its words, a
safeguarding review, a link to a local issue, a danger-now alert, a place in a published batch),
then deleted through the public page; then every row of every table, every staff page and export
with no parameter, and a fresh backup of the whole store are scanned for her words, her point,
her receipt code and its hash.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from tests.reports.conftest import csrf_of, receipt_of

from saferstreets.accounts.models import AuditEvent
from saferstreets.accounts.service import create_user
from saferstreets.actions.service import create_issue
from saferstreets.alerts.models import Alert
from saferstreets.backup.service import export_all, store_tables
from saferstreets.config import Settings
from saferstreets.db import session_factory, session_scope
from saferstreets.publishing.batch import publish
from saferstreets.publishing.models import PublishedUnit
from saferstreets.reports.models import Report
from saferstreets.reports.safeguarding import record_review
from saferstreets.reports.service import receipt_hash
from saferstreets.themes.models import ThemeAssignment, ThemeScored
from saferstreets.themes.service import assign_all

WORDS = "Zorblax"  # in nothing else the tests store
LAT, LON = 51.8123457, -0.4012345  # inside Northgate (E05009001)
DAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
PASSWORD = "a long password for the admin"


def _send(web: Any, text: str, lat: float, lon: float) -> str:
    page = web.get("/report")
    data = {
        "csrf_token": csrf_of(page.text),
        "action": "send",
        "latitude": str(lat),
        "longitude": str(lon),
        "occurred_on": DAY,
        "time_band": "evening",
        "reasons": ["poor_lighting", "isolated"],
        "free_text": text,
    }
    return receipt_of(web.post("/report", data=data).text)


def _derive_everything(county: sa.Engine, settings: Settings, public_id: str) -> int:
    """Review, theme, link to an issue and publish: everything a report can lead to."""
    assign_all(engine=county, settings=settings)
    with session_scope(county) as session:
        admin = create_user(session=session, username="admin", password=PASSWORD, role="admin")
        report = session.scalar(sa.select(Report).where(Report.public_id == public_id))
        assert report is not None and report.urgent
        record_review(
            session=session,
            public_ids=[public_id],
            outcome="control_room",
            note="passed on",
            user=admin,
        )
        create_issue(
            session=session,
            user=admin,
            ward_code="E05009001",
            title="Dark path by the station",
            report_ids=[report.id],
        )
        publish(session=session, settings=settings, now=datetime.now(UTC).replace(tzinfo=None))
        return report.id


def _rows(county: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    with county.connect() as conn:
        return {
            t.name: [dict(r) for r in conn.execute(sa.select(t)).mappings()] for t in store_tables()
        }


def _text(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def test_deleting_by_receipt_removes_the_report_everywhere(
    web: Any, county: sa.Engine, settings: Settings, tmp_path: Path
) -> None:
    for i in range(3):  # others in the same ward: they must survive
        _send(web, f"the underpass lights have been out for weeks {i}", 51.80 + i / 1000, -0.40)
    code = _send(
        web,
        "the street lights are broken and it is so dark; a man followed me and he is "
        f"outside my house right now by the {WORDS} arch",
        LAT,
        LON,
    )
    with session_factory(county)() as session:
        public_id = session.scalar(
            sa.select(Report.public_id).where(Report.free_text.contains(WORDS))
        )
    report_id = _derive_everything(county, settings, public_id)
    before = _rows(county)
    assert any(r["report_id"] == report_id for r in before["issue_report"])
    assert any(r["report_public_id"] == public_id for r in before["alert"])
    assert any(r["owner_id"] == report_id for r in before["theme_assignment"])
    assert any(r["owner_id"] == report_id for r in before["theme_scored"])
    assert any(report_id in r["report_ids"] for r in before["published_unit"])
    assert before["safeguarding_review"]

    token = csrf_of(web.get("/report/status").text)
    gone = web.post(
        "/report/delete",
        data={"csrf_token": token, "code": code, "confirm": "yes"},
        follow_redirects=False,
    )
    assert gone.status_code == 303

    after = _rows(county)
    secrets = [WORDS, code, code.replace("-", ""), receipt_hash(code), repr(LAT), repr(LON)]
    for table, rows in after.items():
        for row in rows:
            text = _text(row)
            for secret in secrets:
                assert secret not in text, f"{secret!r} is still in {table}: {row}"
            if table != "audit_event":  # the trail that staff reviewed it stays, wordless
                assert public_id not in text, f"the report's id is still in {table}: {row}"
    assert len(after["report"]) == 3  # the others are kept
    assert not after["issue_report"] and not after["safeguarding_review"]
    # The danger-now alert still goes (a deletion must not silence it), naming nothing of hers.
    (alert,) = after["alert"]
    assert alert["status"] == "pending" and alert["report_public_id"] != public_id
    assert all(r["owner_id"] != report_id for r in after["theme_assignment"])
    assert all(r["owner_id"] != report_id for r in after["theme_scored"])
    assert all(report_id not in r["report_ids"] for r in after["published_unit"])
    assert len(after["local_issue"]) == 1  # the issue itself stays, without her report
    with session_factory(county)() as session:
        event = session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.action == "delete", AuditEvent.object_kind == "report"
            )
        )
        assert event is not None
        assert event.detail == {
            "by": "receipt code",
            "safeguarding_reviews": 1,
            "themes": sum(1 for r in before["theme_assignment"] if r["owner_id"] == report_id),
            "text_markers": 1,
            "issue_links": 1,
            "alerts_unlinked": 1,
            "published_units": 1,
        }
        assert session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(PublishedUnit)) > 0
        assert session.scalar(sa.select(sa.func.count()).select_from(ThemeAssignment)) > 0
        assert session.scalar(sa.select(sa.func.count()).select_from(ThemeScored)) == 3

    _fresh_exports_hold_nothing(web, county, tmp_path, [*secrets, public_id])


def _fresh_exports_hold_nothing(
    web: Any, county: sa.Engine, tmp_path: Path, secrets: list[str]
) -> None:
    """Every page and export that takes no parameter, as the admin, and a fresh backup."""
    token = csrf_of(web.get("/login").text)
    signed = web.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    fetched = 0
    for route in iter_route_contexts(web.app.routes):
        if "GET" not in (route.methods or set()) or "{" in route.path:
            continue
        if route.path in ("/logout",):
            continue
        answer = web.get(route.path)
        fetched += 1
        for secret in secrets:
            if route.path.startswith("/staff/audit") and secret == secrets[-1]:
                continue  # the admin's view of the trail, which keeps the id wordless (as above)
            assert secret not in answer.text, f"{secret!r} in {route.path}"
    assert fetched > 20
    backup = tmp_path / "after-delete.zip"
    export_all(engine=county, path=backup)
    with zipfile.ZipFile(backup) as zf:
        for name in zf.namelist():
            body = zf.read(name).decode("utf-8")
            for secret in secrets:
                if secret in body:
                    assert name == "tables/audit_event.jsonl" and secret == secrets[-1], (
                        f"{secret!r} in the backup's {name}"
                    )
