"""Every staff write is committed before its answer is sent: a commit that fails gives an error
page that says nothing was saved, never the redirect that tells an officer it worked."""

from __future__ import annotations

import sqlalchemy as sa
from tests.factories import add_area

from saferstreets.accounts.service import create_user
from saferstreets.actions.models import LocalIssue
from saferstreets.db import session_scope


def _sign_in(client, engine) -> str:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_area(session, "D1", "Northbury", "district")
        add_area(session, "W1", "Castle", "ward", parent="D1")
        create_user(session=session, username="sup", password="a long password", role="supervisor")
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    signed_in = client.post(
        "/login",
        data={"username": "sup", "password": "a long password", "csrf_token": token},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    return client.get("/staff/issues").text.split('name="csrf_token" value="')[1].split('"')[0]


def _new_issue(client, token: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/staff/issues",
        data={"csrf_token": token, "ward_code": "W1", "title": "Dark path by the canal"},
        follow_redirects=False,
    )


def test_a_write_is_in_the_store_when_its_redirect_arrives(client, engine) -> None:  # type: ignore[no-untyped-def]
    token = _sign_in(client, engine)
    answer = _new_issue(client, token)
    assert answer.status_code == 303
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count(LocalIssue.id))) == 1


def test_a_commit_that_fails_is_an_error_page_not_a_redirect(client, engine) -> None:  # type: ignore[no-untyped-def]
    token = _sign_in(client, engine)

    def refuse(session) -> None:  # type: ignore[no-untyped-def]
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))

    maker = client.app.state.sessionmaker
    sa.event.listen(maker, "before_commit", refuse)
    try:
        answer = _new_issue(client, token)
    finally:
        sa.event.remove(maker, "before_commit", refuse)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "30"
    assert "was not saved" in answer.text and "call 999" in answer.text
    assert answer.headers["X-Frame-Options"] == "DENY"
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count(LocalIssue.id))) == 0
