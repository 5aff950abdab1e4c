"""Server-side sessions, the receipt code kept out of cookies, throttled sign-in, the secret key.

Every test injects the app's clock (``create_app(clock=)``), so none depends on the day it runs.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from saferstreets.accounts.models import AuditEvent, SigninFailure, WebSession
from saferstreets.accounts.service import create_user
from saferstreets.cli import app as cli
from saferstreets.config import DEV_SECRET, Settings
from saferstreets.db import session_scope
from saferstreets.errors import ConfigError
from saferstreets.web.app import create_app

PASSWORD = "correct horse battery"
runner = CliRunner()


class Clock:
    """A clock the test moves by hand (naive UTC, like the app's)."""

    def __init__(self) -> None:
        self.now = datetime(2030, 3, 4, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_client(settings: Settings, clock: Clock) -> Iterator[Any]:
    """Clients of one app (``app=`` another for a second worker), each with its own cookies."""
    opened: list[TestClient] = []
    apps: dict[str, Any] = {}

    def make(address: str = "203.0.113.9", *, worker: str = "a", **overrides: Any) -> TestClient:
        if worker not in apps or overrides:
            apps[worker] = create_app(settings.model_copy(update=overrides), clock=clock)
        client = TestClient(apps[worker], raise_server_exceptions=False, client=(address, 5000))
        opened.append(client.__enter__())
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def ann(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        create_user(session=session, username="ann", password=PASSWORD, role="admin")
        create_user(session=session, username="bob", password=PASSWORD, role="analyst")


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _sign_in(client: TestClient, username: str = "ann", password: str = PASSWORD) -> Any:
    token = _csrf(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def _signed_in(client: TestClient) -> bool:
    response = client.get("/staff/overview", follow_redirects=False)
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


def _copy_cookies(source: TestClient, target: TestClient) -> None:
    for name, value in source.cookies.items():
        target.cookies.set(name, value)


# --- sessions in the store -------------------------------------------------------------------


def test_the_cookie_holds_only_a_random_token_whose_hash_is_stored(
    make_client, engine, ann
) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    response = _sign_in(client)
    assert response.status_code == 303
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header and "samesite=lax" in header.lower()
    token = client.cookies["ss_session"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 256 random bits, nothing else
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(WebSession)).all()
        assert [r.id_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
        assert token not in json.dumps([r.id_hash for r in rows])
    assert _signed_in(client)


def test_a_cookie_forged_with_the_source_key_is_not_a_session(make_client, ann) -> None:  # type: ignore[no-untyped-def]
    # Old code: a cookie signed with the key in the source (as Starlette's SessionMiddleware
    # signs) and naming user 1 made its bearer that admin. Now a cookie names nobody.
    import base64

    from itsdangerous import TimestampSigner

    forged = TimestampSigner(DEV_SECRET).sign(base64.b64encode(json.dumps({"user_id": 1}).encode()))
    client = make_client(env="development", host="127.0.0.1", secret_key=DEV_SECRET)
    client.cookies.set("ss_session", forged.decode())
    response = client.get("/staff/overview", follow_redirects=False)
    assert response.status_code == 303
    assert 'ss_session=""' in response.headers["set-cookie"]  # and the cookie is removed


def test_production_cookies_are_secure_and_host_only(settings, clock, ann) -> None:  # type: ignore[no-untyped-def]
    production = settings.model_copy(update={"env": "production", "secret_key": "p" * 40})
    with TestClient(create_app(production, clock=clock), base_url="https://testserver") as client:
        page = client.get("/login")
        assert page.headers["set-cookie"].startswith("__Host-ss_csrf=")
        assert "Secure" in page.headers["set-cookie"]
        response = client.post(
            "/login",
            data={"username": "ann", "password": PASSWORD, "csrf_token": _csrf(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303
        header = response.headers["set-cookie"]
        assert header.startswith("__Host-ss_session=")
        assert "Secure" in header and "HttpOnly" in header and "Path=/" in header
        assert client.get("/staff/overview", follow_redirects=False).status_code == 200


def test_an_old_cookie_is_refused_after_signing_out(make_client, ann) -> None:  # type: ignore[no-untyped-def]
    client, thief = make_client(), make_client()
    _sign_in(client)
    _copy_cookies(client, thief)  # a cookie saved before sign-out
    assert _signed_in(thief)
    token = _csrf(client.get("/staff/overview").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).is_redirect
    assert not _signed_in(client)
    assert not _signed_in(thief)


def test_signing_in_again_ends_the_session_it_replaces(make_client, ann) -> None:  # type: ignore[no-untyped-def]
    client, copy = make_client(), make_client()
    first = _sign_in(client)
    _copy_cookies(client, copy)
    assert _sign_in(client, "bob").status_code == 303  # the same browser, as someone else
    assert client.cookies["ss_session"] != first.cookies["ss_session"]  # a new token
    assert _signed_in(client)
    assert not _signed_in(copy)


def test_an_old_cookie_is_refused_after_a_password_change(make_client, app_env, ann) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    _sign_in(client)
    result = runner.invoke(cli, ["users", "set-password", "ann", "--password", "a new long one"])
    assert result.exit_code == 0, result.output
    assert "1 session ended" in result.output
    assert not _signed_in(client)
    assert _sign_in(client, password="a new long one").status_code == 303


def test_deactivation_ends_sessions_for_good(make_client, app_env, ann) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    _sign_in(client)
    assert runner.invoke(cli, ["users", "deactivate", "ann"]).exit_code == 0
    assert not _signed_in(client)
    assert runner.invoke(cli, ["users", "activate", "ann"]).exit_code == 0
    assert not _signed_in(client)  # reactivating does not bring the old session back


def test_sign_out_everywhere(make_client, app_env, ann) -> None:  # type: ignore[no-untyped-def]
    phone, desk, other = make_client(), make_client(worker="b"), make_client()
    _sign_in(phone)
    _sign_in(desk)
    _sign_in(other, "bob")
    result = runner.invoke(cli, ["users", "sign-out", "ann"])
    assert result.exit_code == 0, result.output
    assert "2 sessions ended" in result.output
    assert not _signed_in(phone) and not _signed_in(desk)
    assert _signed_in(other)
    assert runner.invoke(cli, ["users", "sign-out", "--everyone"]).exit_code == 0
    assert not _signed_in(other)
    bad = runner.invoke(cli, ["users", "sign-out"])
    assert bad.exit_code != 0 and "Name one account, or give --everyone" in bad.output
    assert "Traceback" not in bad.output


def test_idle_timeout(make_client, clock, ann) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    _sign_in(client)
    for _ in range(3):  # use keeps it alive
        clock.advance(minutes=29)
        assert _signed_in(client)
    clock.advance(minutes=30)
    assert not _signed_in(client)


def test_absolute_lifetime_does_not_slide(make_client, clock, ann) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    _sign_in(client)
    for _ in range(23):  # busy all day, a request every 20 minutes: 7 h 40 min
        clock.advance(minutes=20)
        assert _signed_in(client)
    clock.advance(minutes=20)  # 8 hours after sign-in
    assert not _signed_in(client)


def test_session_lengths_are_settings(make_client, clock, ann) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session_idle_minutes=5, session_lifetime_hours=1)
    _sign_in(client)
    clock.advance(minutes=4)
    assert _signed_in(client)
    clock.advance(minutes=6)
    assert not _signed_in(client)


# --- CSRF without a session row, and the receipt code --------------------------------------------


def test_anonymous_forms_need_no_session_row(make_client, engine) -> None:  # type: ignore[no-untyped-def]
    visitor, other = make_client(), make_client()
    for _ in range(3):
        page = visitor.get("/report/status")
    assert page.status_code == 200
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 0
    token = _csrf(page.text)
    assert token not in visitor.cookies.get("ss_csrf", "")
    assert (
        visitor.post("/report/status", data={"code": "x", "csrf_token": token}).status_code != 403
    )
    # Another browser cannot use her token: it is bound to her own cookie.
    _csrf(other.get("/report/status").text)
    forged = other.post("/report/status", data={"code": "x", "csrf_token": token})
    assert forged.status_code == 403


def test_an_unshown_receipt_code_is_dropped_after_ten_minutes(clock, engine) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.accounts.sessions import seal_receipt, take_receipt

    with session_scope(engine) as session:
        token = seal_receipt(session=session, settings=Settings(), now=clock.now,
                             code="ABCD-EFGH-JKMN-PQRS", urgent=True)  # fmt: skip
        late = seal_receipt(session=session, settings=Settings(), now=clock.now,
                            code="ABCD-EFGH-JKMN-PQRT", urgent=False)  # fmt: skip
    with session_scope(engine) as session:
        assert take_receipt(session=session, now=clock.now, token=token) == (
            "ABCD-EFGH-JKMN-PQRS",
            True,
        )
        assert take_receipt(session=session, now=clock.now, token=token) == (None, False)
        gone = take_receipt(session=session, now=clock.now + timedelta(minutes=11), token=late)
        assert gone == (None, False)


# --- throttled sign-in ---------------------------------------------------------------------------


def _attempt(client: TestClient, username: str, password: str) -> int:
    token = _csrf(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code


def test_forty_wrong_passwords_in_thirteen_seconds_then_the_right_one_is_refused(
    make_client, clock, engine, ann
) -> None:  # type: ignore[no-untyped-def]
    # Old code: all 40 were answered 401 (each a full Argon2 check) and the right one then worked.
    client = make_client()
    answers = []
    for i in range(40):
        answers.append(_attempt(client, "ann", f"guess number {i:02d}"))
        clock.advance(seconds=13 / 40)
    assert answers[:5] == [401] * 5
    assert answers.count(401) <= 7 and answers.count(429) >= 33, answers
    assert _attempt(client, "ann", PASSWORD) == 429  # the right one is not even checked
    form = {"username": "ann", "password": PASSWORD, "csrf_token": _csrf(client.get("/login").text)}
    refused = client.post("/login", data=form)
    assert "Too many failed sign-ins" in refused.text and int(refused.headers["retry-after"]) >= 1
    with session_scope(engine) as session:
        events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "signin_failed"))
        details = [json.dumps(e.detail) for e in events]
    assert len(details) == 42  # every failure audited, refused ones included
    assert not any("guess" in d or "203.0.113" in d or "horse" in d for d in details)
    clock.advance(seconds=60)  # the delay has passed: the real user gets in
    assert _attempt(client, "ann", PASSWORD) == 303


def test_lockout_notifies_the_admin_and_ends_on_its_own(make_client, clock, engine, ann) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.accounts.throttle import delay_after

    settings = Settings()
    attacker = make_client("198.51.100.1")
    for n in range(1, 11):  # ten failures, each once the delay the last one set has passed
        assert _attempt(attacker, "bob", f"wrong guess {n:02d}") == 401
        if n < 10:
            clock.advance(seconds=delay_after(n, settings).total_seconds() + 1)
    with session_scope(engine) as session:
        locks = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "signin_lockout"))
        found = sorted((e.object_id or "", e.detail["scope"]) for e in locks)
    assert found == [("", "client"), ("2", "account")]
    bob = make_client("192.0.2.50")  # the real bob, from elsewhere: the account is locked
    assert _attempt(bob, "bob", PASSWORD) == 429
    admin = make_client("192.0.2.60")
    assert _attempt(admin, "ann", PASSWORD) == 303  # another account is not locked
    overview = admin.get("/staff/overview").text
    assert "Sign-in locks in the last 24 hours" in overview and "<strong>bob</strong>" in overview
    landing = admin.get("/staff").text  # the admin's landing, the accounts, says so too
    assert "Sign-in locks in the last 24 hours" in landing and "<strong>bob</strong>" in landing
    clock.advance(minutes=14)
    assert _attempt(bob, "bob", PASSWORD) == 429
    clock.advance(minutes=2)  # 15 minutes after the last failure
    assert _attempt(bob, "bob", PASSWORD) == 303


def test_unlock_lifts_a_lock_at_once(make_client, clock, app_env, ann) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.accounts.throttle import delay_after

    for n in range(1, 11):  # from ten addresses: the account's count locks it
        assert _attempt(make_client(f"198.51.100.{n}"), "bob", "wrong guess!!") == 401
        if n < 10:
            clock.advance(seconds=delay_after(n, Settings()).total_seconds() + 1)
    bob = make_client("192.0.2.50")
    assert _attempt(bob, "bob", PASSWORD) == 429
    result = runner.invoke(cli, ["users", "unlock", "bob"])
    assert result.exit_code == 0, result.output
    assert _attempt(bob, "bob", PASSWORD) == 303


def test_counts_are_shared_by_workers_and_kept_per_client(make_client, engine, ann) -> None:  # type: ignore[no-untyped-def]
    # Five failures on worker a; worker b (another app over the same store) refuses the sixth.
    first = make_client("198.51.100.7", worker="a")
    for i in range(5):
        assert _attempt(first, f"nobody{i}", "wrong guess!!") == 401  # five accounts, one client
    second = make_client("198.51.100.7", worker="b")
    assert _attempt(second, "bob", PASSWORD) == 429  # the client is throttled, on any account
    assert _attempt(make_client("198.51.100.8", worker="b"), "bob", PASSWORD) == 303
    with session_scope(engine) as session:
        keys = session.scalars(sa.select(SigninFailure.key)).all()
    assert keys and all(re.fullmatch(r"[ac]:[0-9a-f]{64}", k) for k in keys)
    assert not any("198.51" in k or "nobody" in k for k in keys)


def test_password_checks_are_bounded_per_process(engine, ann, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Each Argon2 check takes 64 MiB: a flood of sign-ins must not run them all at once.
    from saferstreets.accounts import service

    running, peak, lock = 0, 0, threading.Lock()
    real_verify = service._hasher.verify

    def verify(hash_: str, password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.05)
            return real_verify(hash_, password)
        finally:
            with lock:
                running -= 1

    class Counting:
        hash = service._hasher.hash

    Counting.verify = staticmethod(verify)  # type: ignore[attr-defined]
    monkeypatch.setattr(service, "_hasher", Counting())

    def attempt() -> None:
        with session_scope(engine) as session:
            service.check_password(session=session, username="ann", password="x" * 12,
                                   concurrency=2, wait=120)  # fmt: skip

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 <= peak <= 2
    # A check that cannot get a turn in time is refused, not queued for ever.
    slots = service._hash_slots(2)
    assert slots.acquire() and slots.acquire()
    try:
        with session_scope(engine) as session, pytest.raises(service.SigninBusy):
            service.check_password(session=session, username="ann", password=PASSWORD,
                                   concurrency=2, wait=0.1)  # fmt: skip
    finally:
        slots.release()
        slots.release()


# --- the development secret key ------------------------------------------------------------------


def test_the_development_key_is_refused_outside_development_on_loopback(settings) -> None:  # type: ignore[no-untyped-def]
    # Old code: create_app accepted it, and a cookie signed with it became admin.
    for env, host in (("test", "127.0.0.1"), ("development", "0.0.0.0"),
                      ("development", "192.0.2.1"), ("development", "::")):  # fmt: skip
        bad = settings.model_copy(update={"secret_key": DEV_SECRET, "env": env, "host": host})
        with pytest.raises(ConfigError, match="development key"):
            create_app(bad)
    for host in ("127.0.0.1", "localhost", "::1"):
        ok = settings.model_copy(update={"secret_key": DEV_SECRET, "env": "development",
                                         "host": host})  # fmt: skip
        assert create_app(ok).state.settings.host == host


def test_serve_refuses_the_development_key_on_a_public_address(app_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.web import serving

    monkeypatch.setenv("SAFERSTREETS_HOST", "127.0.0.1")  # serve sets it: restored after
    monkeypatch.setenv("SAFERSTREETS_SECRET_KEY", DEV_SECRET)
    monkeypatch.setenv("SAFERSTREETS_ENV", "development")
    monkeypatch.setattr(serving, "run", lambda *a, **k: pytest.fail("the server started"))
    from saferstreets.config import get_settings

    get_settings.cache_clear()
    result = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8799"])
    assert result.exit_code != 0
    assert "development key" in result.output and "Traceback" not in result.output
    started: list[dict] = []
    monkeypatch.setattr(serving, "run", lambda *a, **k: started.append(k))
    get_settings.cache_clear()
    result = runner.invoke(cli, ["serve", "--host", "127.0.0.1", "--port", "8799"])
    assert result.exit_code == 0, result.output
    assert started and started[0]["host"] == "127.0.0.1"
