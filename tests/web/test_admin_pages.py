"""The admin's pages: accounts (create, change, deactivate, one-time password links, sign out
everywhere, never the last admin) and the audit trail (search, pages, CSV, failed sign-ins).

Every test injects the app's clock, so expiry is tested without waiting.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.factories import add_area

from saferstreets.accounts.models import AuditEvent, PasswordReset, User, WebSession
from saferstreets.accounts.service import audit, create_user
from saferstreets.config import Settings
from saferstreets.db import session_scope
from saferstreets.planning.models import Plan
from saferstreets.web.app import create_app

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 3, 4, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(engine: sa.Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        add_area(session, "WX1", "Northgate", "ward")
        add_area(session, "WX2", "Southgate", "ward")
        ids = {}
        for name, role, extra in [
            ("ann", "admin", {}),
            ("bob", "analyst", {}),
            ("cat", "ward_officer", {"wards": ["WX1"]}),
            ("sue", "supervisor", {}),
            ("pat", "partner", {"partner": "council_lighting"}),
        ]:
            user = create_user(
                session=session, username=name, password=PASSWORD, role=role, **extra
            )
            ids[name] = user.id
    return ids


@pytest.fixture
def make_client(settings: Settings, clock: Clock) -> Iterator[Any]:
    app = create_app(settings, clock=clock)
    opened: list[TestClient] = []

    def make(username: str | None = None) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False).__enter__()
        opened.append(client)
        if username:
            page = client.get("/login")
            response = client.post(
                "/login",
                data={"username": username, "password": PASSWORD, "csrf_token": _csrf(page.text)},
                follow_redirects=False,
            )
            assert response.status_code == 303, response.text[:300]
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _post(client: TestClient, path: str, data: dict[str, Any], page: str = "/staff/users") -> Any:
    token = _csrf(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _link(html: str) -> str:
    match = re.search(r'id="reset-link" readonly value="[^"]*(/password-reset/[^"]+)"', html)
    assert match, "no one-time link on the page"
    return match.group(1)


def _events(engine: sa.Engine, **where: Any) -> list[AuditEvent]:
    with session_scope(engine) as session:
        query = sa.select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
        events = list(session.scalars(query))
        session.expunge_all()
    return events


def test_each_role_lands_on_its_work(
    make_client: Any, world: dict[str, int], engine: sa.Engine
) -> None:
    with session_scope(engine) as session:
        for n in range(5):  # five plans: the supervisor's landing lists the newest three
            session.add(Plan(name=f"Plan {n}", params={}, coverage=0.1 * n, status="solved"))
    for name, home in [
        ("ann", "/staff/users"),
        ("bob", "/staff/assessment"),
        ("cat", "/staff/issues"),
        ("sue", "/staff/safeguarding"),
        ("pat", "/staff/referrals"),
    ]:
        client = make_client(name)
        assert client.get("/staff", follow_redirects=False).headers["location"] == home
        assert client.get(home).status_code == 200
    supervisor = make_client("sue").get("/staff/safeguarding").text
    listed = re.findall(r'<a href="/staff/plans/\d+">(Plan \d)</a>', supervisor)
    assert listed == ["Plan 4", "Plan 3", "Plan 2"]  # newest first
    assert "40.0% of weighted demand covered" in supervisor
    analyst = make_client("bob").get("/staff/safeguarding").text
    assert "Deployment plans" not in analyst  # the plans box is the supervisor's landing
    admin = make_client("ann")
    assert admin.get("/staff/overview").status_code == 200  # the store's figures stay reachable
    page = admin.get("/staff/users").text
    assert 'href="/staff/overview"' in page and 'href="/staff/audit"' in page


def test_admin_creates_an_account_and_the_user_sets_her_own_password(
    make_client: Any, world: dict[str, int], engine: sa.Engine, clock: Clock
) -> None:
    admin = make_client("ann")
    response = _post(
        admin,
        "/staff/users",
        {
            "username": "dee",
            "display_name": "PC Dee Day",
            "role": "ward_officer",
            "wards": ["WX1", "WX2"],
        },
    )
    assert response.status_code == 200
    link = _link(response.text)
    assert "PC Dee Day" in response.text
    with session_scope(engine) as session:
        dee = session.scalar(sa.select(User).where(User.username == "dee"))
        assert dee is not None and dee.role == "ward_officer" and dee.wards == ["WX1", "WX2"]
        stored = session.scalars(sa.select(PasswordReset.token_hash)).all()
    token = link.rsplit("/", 1)[1]
    assert token not in "".join(stored)  # only its hash is kept
    created = _events(engine, action="create", object_kind="user", object_id=str(dee.id))
    assert created and created[0].user_id == world["ann"]
    assert "password" not in str(created[0].detail)

    # She cannot sign in before she sets a password: nobody knows the one it was made with.
    user = make_client()
    form = user.get(link)
    assert form.status_code == 200 and "dee" in form.text
    short = user.post(
        link, data={"password": "short", "confirm": "short", "csrf_token": _csrf(form.text)}
    )
    assert short.status_code == 422 and "at least 10 characters" in short.text
    mismatch = user.post(
        link,
        data={
            "password": "a long new password",
            "confirm": "another one",
            "csrf_token": _csrf(form.text),
        },
    )
    assert mismatch.status_code == 422 and "does not match" in mismatch.text
    done = user.post(
        link,
        data={
            "password": "a long new password",
            "confirm": "a long new password",
            "csrf_token": _csrf(form.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
    # The link works once.
    assert user.get(link).status_code == 404
    again = user.post(
        link,
        data={
            "password": "yet another password",
            "confirm": "yet another password",
            "csrf_token": _csrf(form.text),
        },
    )
    assert again.status_code == 404
    page = user.get("/login")
    signed_in = user.post(
        "/login",
        data={"username": "dee", "password": "a long new password", "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert signed_in.headers["location"] == "/staff"
    assert _events(engine, action="password_set", object_id=str(dee.id))


def test_a_password_link_expires_and_a_new_one_ends_the_old(
    make_client: Any, world: dict[str, int], engine: sa.Engine, clock: Clock
) -> None:
    admin = make_client("ann")
    bob = world["bob"]
    first = _link(_post(admin, f"/staff/users/{bob}/password-link", {}).text)
    second = _link(_post(admin, f"/staff/users/{bob}/password-link", {}).text)
    user = make_client()
    assert user.get(first).status_code == 404  # replaced
    assert user.get(second).status_code == 200
    clock.now += timedelta(hours=24)
    gone = user.get(second)
    assert gone.status_code == 404 and "expired or has already been used" in gone.text
    # The old password still works: a link changes nothing until it is used.
    make_client("bob")
    assert len(_events(engine, action="password_link", object_id=str(bob))) == 2


def test_forms_refuse_without_csrf_and_other_roles(
    make_client: Any, world: dict[str, int], engine: sa.Engine
) -> None:
    admin = make_client("ann")
    response = admin.post("/staff/users", data={"username": "eve", "role": "analyst"})
    assert response.status_code == 403
    analyst = make_client("bob")
    for path in (
        "/staff/users",
        "/staff/audit",
        "/staff/audit.csv",
        f"/staff/users/{world['cat']}",
    ):
        assert analyst.get(path).status_code == 403, path
    refused = _post(
        analyst, f"/staff/users/{world['cat']}/active", {"active": "no"}, page="/staff/assessment"
    )
    assert refused.status_code == 403
    with session_scope(engine) as session:
        assert session.scalar(sa.select(User.id).where(User.username == "eve")) is None
        assert session.get(User, world["cat"]).active  # type: ignore[union-attr]


def test_bad_input_is_named_and_nothing_is_kept(
    make_client: Any, world: dict[str, int], engine: sa.Engine
) -> None:
    admin = make_client("ann")
    cases = [
        ({"username": "fay", "role": "ward_officer"}, "a ward officer needs at least one ward"),
        ({"username": "fay", "role": "ward_officer", "wards": ["E05999999"]}, "not imported"),
        ({"username": "fay", "role": "partner"}, "a partner account needs its partner"),
        ({"username": "fay", "role": "partner", "partner": "nope"}, "must be one of"),
        ({"username": "fay", "role": "superuser"}, "must be one of"),
        ({"username": "bob", "role": "analyst"}, "is already taken"),
        ({"username": "", "role": "analyst"}, "1 to 64 characters"),
        ({"username": "fay", "role": ""}, "must be one of"),  # no role chosen: none assumed
    ]
    for data, message in cases:
        response = _post(admin, "/staff/users", data)
        assert response.status_code == 422, data
        assert message in response.text, (data, response.text[-2000:])
        assert 'value="fay"' in response.text or data["username"] != "fay"  # what she typed stays
    hostile = '<script>alert("x")</script>'
    response = _post(
        admin, "/staff/users", {"username": "gus", "role": "analyst", "display_name": hostile}
    )
    assert hostile not in response.text and "&lt;script&gt;" in response.text
    with session_scope(engine) as session:
        assert session.scalar(sa.select(User.id).where(User.username == "fay")) is None


def test_change_role_and_wards_deactivate_reactivate_sign_out(
    make_client: Any, world: dict[str, int], engine: sa.Engine
) -> None:
    admin = make_client("ann")
    cat_client = make_client("cat")
    cat = world["cat"]
    moved = _post(
        admin,
        f"/staff/users/{cat}",
        {"display_name": "PC Cat", "role": "ward_officer", "wards": ["WX2"]},
    )
    assert moved.status_code == 303
    with session_scope(engine) as session:
        assert session.get(User, cat).wards == ["WX2"]  # type: ignore[union-attr]
    change = _events(engine, action="update", object_id=str(cat))[-1]
    assert change.detail == {
        "wards": {"from": ["WX1"], "to": ["WX2"]},
        "display_name": {"from": "cat", "to": "PC Cat"},
    }
    # Her scope changed, so her sessions ended.
    assert cat_client.get("/staff/issues", follow_redirects=False).status_code in (303, 401)
    cat_client = make_client("cat")
    assert _post(admin, f"/staff/users/{cat}/active", {"active": "no"}).status_code == 303
    assert cat_client.get("/staff/issues", follow_redirects=False).status_code in (303, 401)
    stranger = make_client()
    page = stranger.get("/login").text
    refused = stranger.post(
        "/login", data={"username": "cat", "password": PASSWORD, "csrf_token": _csrf(page)}
    )
    assert refused.status_code == 401
    assert _post(admin, f"/staff/users/{cat}/active", {"active": "yes"}).status_code == 303
    cat_client = make_client("cat")
    with session_scope(engine) as session:
        before = session.scalar(sa.select(sa.func.count()).where(WebSession.user_id == cat))
    assert before == 1
    assert _post(admin, f"/staff/users/{cat}/sign-out", {}).status_code == 303
    assert cat_client.get("/staff/issues", follow_redirects=False).status_code in (303, 401)
    actions = [e.action for e in _events(engine, object_kind="user", object_id=str(cat))]
    wanted = ("deactivate", "activate", "sign_out_everywhere")
    assert [a for a in actions if a in wanted] == list(wanted)
    assert make_client("ann").get("/staff/users").status_code == 200  # hers are untouched


def test_no_admin_can_lock_out_the_last_admin(
    make_client: Any, world: dict[str, int], engine: sa.Engine
) -> None:
    admin = make_client("ann")
    ann = world["ann"]
    refused = _post(admin, f"/staff/users/{ann}/active", {"active": "no"})
    assert refused.status_code == 422 and "only active admin" in refused.text
    demoted = _post(admin, f"/staff/users/{ann}", {"display_name": "ann", "role": "analyst"})
    assert demoted.status_code == 422 and "only active admin" in demoted.text
    with session_scope(engine) as session:
        me = session.get(User, ann)
        assert me is not None and me.active and me.role == "admin"
    # With a second admin, the first may step down.
    promoted = _post(
        admin, f"/staff/users/{world['bob']}", {"display_name": "bob", "role": "admin"}
    )
    assert promoted.status_code == 303
    assert _post(admin, f"/staff/users/{ann}/active", {"active": "no"}).status_code == 303


def _seed_audit(engine: sa.Engine, ids: dict[str, int], n: int) -> None:
    with session_scope(engine) as session:
        ann = session.get(User, ids["ann"])
        for i in range(n):
            audit(
                session=session,
                user=ann,
                action="view",
                object_kind="local_issue",
                object_id=i % 7,
                at=datetime(2030, 1, 1 + i % 28, 12),
            )
        audit(
            session=session,
            user=None,
            action="signin_failed",
            object_kind="user",
            object_id=ids["bob"],
            detail={"reason": "wrong_password"},
            at=datetime(2030, 2, 1),
        )
        audit(
            session=session,
            user=ann,
            action="update",
            object_kind="user",
            object_id=ids["cat"],
            detail={"note": '=HYPERLINK("http://x")'},
            at=datetime(2030, 2, 2),
        )


def _count(html: str) -> int:
    match = re.search(r'class="audit-count" role="status">([\d,]+) event', html)
    assert match, html[-1500:]
    return int(match.group(1).replace(",", ""))


def test_audit_search_pages_and_csv(
    make_client: Any, world: dict[str, int], engine: sa.Engine
) -> None:
    _seed_audit(engine, world, 120)
    admin = make_client("ann")
    with session_scope(engine) as session:
        everything = session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    page = admin.get("/staff/audit").text
    assert _count(page) == everything and "page 1 of" in page
    # Who, what, record and date, each checked against the rows seeded.
    views = admin.get("/staff/audit", params={"who": "AN", "action": "view"}).text
    assert _count(views) == 120
    record = admin.get("/staff/audit", params={"kind": "local_issue", "record": "3"}).text
    assert _count(record) == len([i for i in range(120) if i % 7 == 3])
    dated = admin.get("/staff/audit", params={"since": "2030-01-05", "until": "2030-01-06"}).text
    assert _count(dated) == len([i for i in range(120) if 1 + i % 28 in (5, 6)])
    nobody = admin.get("/staff/audit", params={"who": "(nobody)"}).text
    assert _count(nobody) == 1 and "signin failed" in nobody  # the seeded failed sign-in
    # Pages: 50 a page, newest first, the last page holds the rest.
    last = admin.get("/staff/audit", params={"action": "view", "page": 3}).text
    assert last.count('data-label="When"') == 120 - 100
    bad = admin.get("/staff/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and "is not a date" in bad.text
    # The CSV holds every match, and a formula in a detail is made inert.
    response = admin.get("/staff/audit.csv", params={"kind": "user"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == ["at_utc", "who", "action", "record_kind", "record_id", "detail"]
    kinds = {r[3] for r in rows[1:]}
    assert kinds == {"user"} and len(rows) - 1 == _count(
        admin.get("/staff/audit", params={"kind": "user"}).text
    )
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows[1:] for cell in r)
    assert _events(engine, action="export", object_kind="audit")


def test_failed_sign_ins_are_audited_without_the_password(
    make_client: Any, world: dict[str, int], engine: sa.Engine
) -> None:
    client = make_client()
    for username in ("bob", "no-such-person"):
        page = client.get("/login").text
        client.post(
            "/login",
            data={"username": username, "password": "typed secret 123", "csrf_token": _csrf(page)},
        )
    failed = _events(engine, action="signin_failed")
    assert [e.object_id for e in failed] == [str(world["bob"]), None]
    for event in failed:
        assert "typed secret" not in str(event.detail) and "no-such-person" not in str(event.detail)
    admin = make_client("ann")
    page = admin.get("/staff/audit", params={"action": "signin_failed"}).text
    assert _count(page) == 2 and "no-such-person" not in page


def test_the_public_reset_page_refuses_forgery_and_guesses(
    make_client: Any, world: dict[str, int], engine: sa.Engine
) -> None:
    admin = make_client("ann")
    link = _link(_post(admin, f"/staff/users/{world['bob']}/password-link", {}).text)
    stranger = make_client()
    # No CSRF token (a form on another site): refused, and the link still works.
    forged = stranger.post(
        link, data={"password": "a forged password", "confirm": "a forged password"}
    )
    assert forged.status_code == 403
    assert stranger.get(link).status_code == 200
    # Guessed, absurd or hostile tokens: the same "expired or used" page, never a 500.
    for token in ("A" * 43, "x" * 300, "<script>alert(1)</script>", "%00", "..%2F..%2Fetc"):
        response = stranger.get(f"/password-reset/{token}")
        assert response.status_code == 404, token
        assert "<script>alert(1)</script>" not in response.text
    # A deactivated account's link stops working.
    assert _post(admin, f"/staff/users/{world['bob']}/active", {"active": "no"}).status_code == 303
    assert stranger.get(link).status_code == 404
    with session_scope(engine) as session:
        bob = session.get(User, world["bob"])
        assert bob is not None and not bob.active
