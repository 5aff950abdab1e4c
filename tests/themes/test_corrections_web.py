"""Theme corrections in the browser: read a quote, tick or untick its themes, save (audited, as
analyst labels), see when the model was last trained; free text for analysts and supervisors."""

from __future__ import annotations

import sqlalchemy as sa
from tests.factories import add_area, add_report

from saferstreets.accounts.models import AuditEvent
from saferstreets.accounts.service import create_user
from saferstreets.db import session_scope
from saferstreets.themes.models import ThemeAssignment
from saferstreets.themes.service import default_model_path


def _store(engine) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district")
        add_area(session, "W1", "Castle", "ward", parent="D1")
        report = add_report(
            session,
            ward="W1",
            district="D1",
            reasons=["poor_lighting"],
            free_text="A man follows me from the station, call me on 07700 900123",
        )
        for theme in ("poor_lighting", "transport"):
            session.add(
                ThemeAssignment(
                    owner_kind="report",
                    owner_id=report.id,
                    theme=theme,
                    source="model",
                    present=True,
                )
            )
        for role in ("analyst", "ward_officer"):
            create_user(
                session=session,
                username=role,
                password="long enough pw",
                role=role,
                wards=["W1"] if role == "ward_officer" else None,
            )
        return report.id


def _login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"username": username, "password": "long enough pw", "csrf_token": token}
    )
    page = client.get("/staff/themes")
    return (
        page.text.split('name="csrf_token" value="')[1].split('"')[0]
        if page.status_code == 200
        else ""
    )


def _labels(engine, report_id: int) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(ThemeAssignment.theme, ThemeAssignment.present).where(
                ThemeAssignment.owner_id == report_id, ThemeAssignment.source == "analyst"
            )
        )
        return {t: bool(p) for t, p in rows}


def test_an_analyst_corrects_a_quotes_themes_and_it_is_audited(client, engine, settings) -> None:  # type: ignore[no-untyped-def]
    report_id = _store(engine)
    token = _login(client, "analyst")
    page = client.get("/staff/themes")
    assert "A man follows me from the station" in page.text
    assert "07700 900123" not in page.text  # scrubbed, as the assessment's quotes are
    assert f'id="t-report-{report_id}"' in page.text
    assert "has not been trained from analysts' labels yet (0 labels so far)" in page.text
    # untick transport, keep lighting, tick being followed
    saved = client.post(
        f"/staff/themes/report/{report_id}",
        data={
            "csrf_token": token,
            "themes": ["poor_lighting", "being_followed"],
            "back": "kind=report&theme=&page=1",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"].startswith("/staff/themes?kind=report&page=1&saved=report-")
    assert _labels(engine, report_id) == {"being_followed": True, "transport": False}
    with session_scope(engine) as session:
        (event,) = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.object_kind == "theme_labels")
        ).all()
        assert event.action == "change" and event.object_id == f"report:{report_id}"
        assert event.detail == {"added": ["being_followed"], "removed": ["transport"]}
    # the workspace counts follow the correction at once (a new data stamp, not a stale cache)
    table = client.get("/staff/assessment/tables/themes.csv").text
    codes = {line.split(",")[1] for line in table.lstrip("\ufeff").splitlines()[1:]}
    assert codes == {"poor_lighting", "being_followed"}
    # a change of mind (the analyst's own yes becomes a no) shows at once too
    client.post(
        f"/staff/themes/report/{report_id}", data={"csrf_token": token, "themes": ["poor_lighting"]}
    )
    table = client.get("/staff/assessment/tables/themes.csv").text
    assert {line.split(",")[1] for line in table.lstrip("\ufeff").splitlines()[1:]} == {
        "poor_lighting"
    }
    client.post(
        f"/staff/themes/report/{report_id}",
        data={"csrf_token": token, "themes": ["poor_lighting", "being_followed"]},
    )
    # the same ticks again change nothing
    client.post(
        f"/staff/themes/report/{report_id}",
        data={"csrf_token": token, "themes": ["poor_lighting", "being_followed"]},
    )
    assert _labels(engine, report_id) == {"being_followed": True, "transport": False}
    # a model written now: the page says when, and counts the labels saved since
    path = default_model_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"model")
    page = client.get("/staff/themes")
    assert "The theme model was last trained from analysts' labels on" in page.text
    assert "0 of the 2 labels were saved since" in page.text


def test_bad_corrections_are_refused_and_save_nothing(client, engine) -> None:  # type: ignore[no-untyped-def]
    report_id = _store(engine)
    token = _login(client, "analyst")
    no_token = client.post(f"/staff/themes/report/{report_id}", data={"themes": ["isolated"]})
    assert no_token.status_code in (400, 403, 422)
    unknown = client.post(
        f"/staff/themes/report/{report_id}", data={"csrf_token": token, "themes": ["<script>"]}
    )
    assert unknown.status_code == 422 and "<script>" not in unknown.text
    missing = client.post("/staff/themes/report/999999", data={"csrf_token": token})
    assert missing.status_code == 404
    wrong_kind = client.post(f"/staff/themes/user_account/{report_id}", data={"csrf_token": token})
    assert wrong_kind.status_code == 404
    assert _labels(engine, report_id) == {}


def test_ward_officers_cannot_read_or_correct_quotes(client, engine) -> None:  # type: ignore[no-untyped-def]
    report_id = _store(engine)
    _login(client, "ward_officer")
    assert client.get("/staff/themes").status_code == 403
    token = client.get("/staff/issues").text.split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post(
        f"/staff/themes/report/{report_id}", data={"csrf_token": token, "themes": ["isolated"]}
    )
    assert refused.status_code == 403
    assert _labels(engine, report_id) == {}
