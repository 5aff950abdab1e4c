"""Public updates: checked for anything that identifies a person, approved by a second person,
corrected (shown as updated) and withdrawn (gone from page and feed), every step audited.

Before this, "Thanks to Jane Smith of 4 Mill Lane (07700 900123)... reg AB12 CDE" went
straight to the ward's public page and its Atom feed, with no way back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from tests.factories import add_area

from saferstreets.accounts.models import AuditEvent
from saferstreets.accounts.service import create_user
from saferstreets.actions import updates
from saferstreets.actions.models import PublicUpdate
from saferstreets.config import Settings
from saferstreets.db import session_factory, session_scope
from saferstreets.errors import NotFound, PermissionDenied, ValidationFailed
from saferstreets.themes.scrub import find_personal_details

HEADLINE_CASE = (
    "Thanks to Jane Smith of 4 Mill Lane (07700 900123) who told us about the van, "
    "reg AB12 CDE, parked by the school."
)


# --- the check, both ways ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "words"),
    [
        (HEADLINE_CASE, "name", "Jane Smith"),
        (HEADLINE_CASE, "address", "4 Mill Lane"),
        (HEADLINE_CASE, "phone", "07700 900123"),
        (HEADLINE_CASE, "vehicle", "AB12 CDE"),
        ("Call +44 20 7946 0000 to talk to us", "phone", "+44 20 7946 0000"),
        ("email jo.bloggs@example.org for more", "email", "jo.bloggs@example.org"),
        ("or jo at example dot com", "email", "jo at example dot com"),
        ("an old car, A123 BCD, was moved on", "vehicle", "A123 BCD"),
        ("and the van ABC 123D too", "vehicle", "ABC 123D"),
        ("plate ab12cde seen again", "vehicle", "ab12cde"),
        ("We visited Flat 2, 10 High St after the reports", "address", "Flat 2, 10 High St"),
        ("outside 27b Castle Road at night", "address", "27b Castle Road"),
        ("the girl (born 3 May 2011) is safe", "date_of_birth", "born 3 May 2011"),
        ("DOB: 12/03/1998 was recorded", "date_of_birth", "DOB: 12/03/1998"),
        ("date of birth 1 January 2009", "date_of_birth", "date of birth 1 January 2009"),
        ("Mr Patel at the shop helped us", "name", "Mr Patel"),
        ("a man called Kev is no longer there", "name", "Kev"),
        ("We thank Tracy for telling us", "name", "Tracy"),
        ("We met Lee and the residents", "name", "Lee"),
        ("Miles Davis on the estate was warned", "name", "Miles Davis"),
        ("Matthew said the lights were out", "name", "Matthew"),
        ("she said call me Ngozi if you need", "name", "Ngozi"),
    ],
)
def test_what_identifies_a_person_is_found(text: str, kind: str, words: str) -> None:
    found = [(f.kind, f.text) for f in find_personal_details(text)]
    assert (kind, words) in found, found


@pytest.mark.parametrize(
    "text",
    [
        "New street lights on Castle Road and High Street.",
        "Police patrols in Victoria Park every Friday and Saturday night.",
        "Lee Street is lit again and the Grace Church car park has CCTV.",
        "Door staff trained in Ask for Angela at six venues.",
        "Will Patrols Continue Into May? Yes: Every Weekend Until June",
        "Ward Officer visits with the Young People Project.",
        "In 2024 the council repaired 12 lights; in 2025 another 30.",
        "We did 4 patrols on High Street between 9 pm and 1 am.",
        "The number 42 bus stop by the Co-op has a new shelter (0800 number on the sign).",
        "Hope this helps: call 101 or 999 in an emergency.",
        "On 12/03/2026 the council cut back the hedges on the M25 slip road.",
        "Miles of new lighting along the canal path.",
    ],
)
def test_ordinary_updates_pass(text: str) -> None:
    assert find_personal_details(text) == []


def test_the_message_names_each_problem_and_where() -> None:
    with pytest.raises(ValidationFailed) as caught:
        updates.check_public_text(title="Thanks, Jane Smith", body=HEADLINE_CASE)
    error = caught.value
    assert "could identify someone" in error.message
    assert error.field_errors["title"] == 'has a person\'s name ("Jane Smith")'
    body = error.field_errors["body"]
    for expected in (
        'a person\'s name ("Jane Smith")',
        'a house number with a street ("4 Mill Lane")',
        'a phone number ("07700 900123")',
        'a vehicle registration ("AB12 CDE")',
    ):
        assert expected in body
        assert expected in error.message


# --- the steps, in the service ---------------------------------------------------------------


@pytest.fixture
def people(session):  # type: ignore[no-untyped-def]
    add_area(session, "D1", "Northbury", "district")
    add_area(session, "W1", "Castle", "ward", parent="D1")
    add_area(session, "W2", "Riverside", "ward", parent="D1", lon=-0.29)
    made = {
        name: create_user(
            session=session, username=name, password="long enough pw", role=role, wards=wards
        )
        for name, role, wards in (
            ("officer", "ward_officer", ["W1"]),
            ("other_officer", "ward_officer", ["W2"]),
            ("sup", "supervisor", None),
            ("sup2", "supervisor", None),
            ("admin", "admin", None),
            ("analyst", "analyst", None),
        )
    }
    session.commit()
    return made


def _audit(session: Any, update_id: int) -> list[tuple[str, int | None]]:
    rows = session.execute(
        sa.select(AuditEvent.action, AuditEvent.user_id)
        .where(AuditEvent.object_kind == "public_update", AuditEvent.object_id == str(update_id))
        .order_by(AuditEvent.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _public(session: Any) -> list[str]:
    return [u.title for u in updates.published_updates(session=session, area_codes=["W1", "D1"])]


def test_a_bad_draft_is_refused_and_nothing_is_kept(session, people) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed):
        updates.draft_update(
            session=session,
            user=people["officer"],
            area_code="W1",
            title="Thanks",
            body=HEADLINE_CASE,
        )
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(PublicUpdate.id))) == 0


def test_draft_approve_correct_withdraw(session, people) -> None:  # type: ignore[no-untyped-def]
    officer, sup, sup2 = people["officer"], people["sup"], people["sup2"]
    update = updates.draft_update(
        session=session,
        user=officer,
        area_code="W1",
        title="Path lit",
        body="You told us the path was dark; two lights were repaired.",
    )
    assert update.status == "draft" and _public(session) == []
    # The author cannot approve it, nor can any ward officer or analyst.
    for who in ("officer", "other_officer", "analyst"):
        with pytest.raises((PermissionDenied, NotFound)):
            got = updates.get_update(session=session, update_id=update.id, user=people[who])
            updates.approve_update(session=session, update=got, user=people[who])
    updates.approve_update(
        session=session, update=update, user=sup, published_on=date(2026, 11, 20)
    )
    assert update.status == "published" and update.approved_by_id == sup.id
    assert _public(session) == ["Path lit"]
    # A correction is checked too: a phone number does not get in, the old words stay.
    with pytest.raises(ValidationFailed):
        updates.correct_update(
            session=session, update=update, user=sup, title="Path lit", body="Ring 07700 900123"
        )
    assert update.body.startswith("You told us") and update.corrected_on is None
    with pytest.raises(PermissionDenied):
        updates.correct_update(
            session=session, update=update, user=officer, title="Path lit", body="Three lights."
        )
    updates.correct_update(
        session=session,
        update=update,
        user=sup2,
        title="Path lit",
        body="You told us the path was dark; three lights were repaired.",
        corrected_on=date(2026, 11, 22),
    )
    assert update.corrected_on == date(2026, 11, 22)
    # Another ward's officer cannot see it; its author may take it down.
    with pytest.raises(NotFound):
        updates.get_update(session=session, update_id=update.id, user=people["other_officer"])
    with pytest.raises(ValidationFailed):
        updates.withdraw_update(session=session, update=update, user=officer, reason=" ")
    updates.withdraw_update(session=session, update=update, user=officer, reason="Out of date")
    assert update.status == "withdrawn" and _public(session) == []
    assert _audit(session, update.id) == [
        ("create", officer.id),
        ("approve", sup.id),
        ("correct", sup2.id),
        ("withdraw", officer.id),
    ]


def test_a_supervisor_cannot_approve_her_own(session, people) -> None:  # type: ignore[no-untyped-def]
    for author in ("sup", "admin"):
        update = updates.draft_update(
            session=session,
            user=people[author],
            area_code="D1",
            title="Patrols",
            body="More patrols at night.",
        )
        with pytest.raises(PermissionDenied, match="another supervisor or admin"):
            updates.approve_update(session=session, update=update, user=people[author])
        updates.approve_update(session=session, update=update, user=people["sup2"])
        assert update.status == "published"


def test_only_the_system_publishes_in_one_step(session, people) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        updates.publish_update(
            session=session, user=people["admin"], area_code="W1", title="x", body="y"
        )
    update = updates.publish_update(
        session=session, user=None, area_code="W1", title="Lights", body="Lights fixed."
    )
    assert update.status == "published"
    with pytest.raises(ValidationFailed):
        updates.publish_update(
            session=session, user=None, area_code="W1", title="Lights", body=HEADLINE_CASE
        )


# --- on the web: the staff pages, the public page and the feed -------------------------------


def _login(app: Any, username: str) -> Any:
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post(
        "/login",
        data={"username": username, "password": "long enough pw", "csrf_token": token.group(1)},
    )
    return client


def _csrf(client: Any, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


@pytest.fixture
def web(engine: sa.Engine, settings: Settings) -> Iterator[dict[str, Any]]:
    from saferstreets.actions.service import create_issue
    from saferstreets.web.app import create_app

    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district")
        add_area(session, "W1", "Castle", "ward", parent="D1")
        officer = create_user(
            session=session,
            username="pc",
            password="long enough pw",
            role="ward_officer",
            wards=["W1"],
        )
        create_user(session=session, username="sup", password="long enough pw", role="supervisor")
        issue = create_issue(
            session=session,
            user=officer,
            ward_code="W1",
            title="Dark path",
            description="",
            themes=["poor_lighting"],
            report_ids=[],
        )
        issue_id = issue.id
    app = create_app(settings)
    clients = {"pc": _login(app, "pc"), "sup": _login(app, "sup")}
    yield {"issue": issue_id, **clients}
    for client in clients.values():
        client.close()


def _public_texts(client: Any) -> str:
    return "\n".join(
        client.get(path).text for path in ("/areas/W1", "/areas/W1.json", "/areas/W1/feed.atom")
    )


def test_on_the_web_nothing_goes_out_unchecked_or_unapproved(web, engine) -> None:  # type: ignore[no-untyped-def]
    pc, sup, issue = web["pc"], web["sup"], web["issue"]
    page = f"/staff/issues/{issue}"
    bad = pc.post(
        f"{page}/updates",
        data={"csrf_token": _csrf(pc, page), "title": "Thank you", "body": HEADLINE_CASE},
    )
    assert bad.status_code == 422
    for words in ("Jane Smith", "4 Mill Lane", "07700 900123", "AB12 CDE", "could identify"):
        assert words in bad.text
    assert ">Thanks to Jane Smith of 4 Mill Lane" in bad.text  # her words kept, to rephrase
    with session_factory(engine)() as session:
        assert session.scalar(sa.select(sa.func.count(PublicUpdate.id))) == 0
    assert "Jane Smith" not in _public_texts(pc)

    good = pc.post(
        f"{page}/updates",
        data={
            "csrf_token": _csrf(pc, page),
            "title": "Path lit at night",
            "body": "You told us the path was dark. Two lights were repaired.",
        },
    )
    assert good.status_code == 200 and "Saved as a draft" in good.text
    assert "Approve and publish" not in good.text  # not for its author
    assert "Path lit at night" not in _public_texts(pc)
    with session_factory(engine)() as session:
        update_id = session.scalar(sa.select(PublicUpdate.id))
    refused = pc.post(f"/staff/updates/{update_id}/approve", data={"csrf_token": _csrf(pc, page)})
    assert refused.status_code == 403

    assert "Path lit at night" not in pc.get("/staff/issues").text  # she cannot approve it
    queue = sup.get("/staff/issues").text
    assert "waiting for your approval" in queue and f"#update-{update_id}" in queue
    assert "Approve and publish" in sup.get(page).text
    approved = sup.post(
        f"/staff/updates/{update_id}/approve", data={"csrf_token": _csrf(sup, page)}
    )
    assert approved.status_code == 200 and "The update was approved." in approved.text
    assert _public_texts(pc).count("Path lit at night") == 3  # page, JSON and feed
    area = pc.get("/areas/W1").text
    assert "updated" not in area.split("Path lit at night")[1][:200]

    corrected = sup.post(
        f"/staff/updates/{update_id}/correct",
        data={
            "csrf_token": _csrf(sup, page),
            "title": "Path lit at night",
            "body": "You told us the path was dark. Three lights were repaired.",
        },
    )
    assert corrected.status_code == 200
    today = date.today()
    area = pc.get("/areas/W1").text
    assert "Three lights" in area and f"updated {today:%-d %B %Y}" in area
    assert pc.get("/areas/W1.json").json()["updates"][0]["updated_on"] == today.isoformat()
    feed = pc.get("/areas/W1/feed.atom").text
    assert f"Updated {today:%-d %B %Y}." in feed and f"<updated>{today.isoformat()}" in feed

    withdrawn = sup.post(
        f"/staff/updates/{update_id}/withdraw",
        data={"csrf_token": _csrf(sup, page), "reason": "Superseded"},
    )
    assert withdrawn.status_code == 200
    assert "Path lit at night" not in _public_texts(pc)
    with session_factory(engine)() as session:
        actions = session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.object_kind == "public_update")
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["create", "approve", "correct", "withdraw"]


def test_a_forbidden_or_missing_update_gets_the_same_answer(web) -> None:  # type: ignore[no-untyped-def]
    pc = web["pc"]
    token = _csrf(pc, f"/staff/issues/{web['issue']}")
    for update_id in (999, 99999999, 99999999999999999999999):
        response = pc.post(
            f"/staff/updates/{update_id}/withdraw", data={"csrf_token": token, "reason": "x"}
        )
        assert response.status_code == 404
