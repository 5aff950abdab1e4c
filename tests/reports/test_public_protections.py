"""What protects a reporter at the edges: autofill, body size, IPv6 limits, and the logs.

Each test here failed on the code before its protection: the form offered the last woman's
words to the next, a chunked body of any size was read and stored, each IPv6 address was its
own client, and a failed INSERT put the report's words, point and receipt hash in the log.
"""

from __future__ import annotations

import io
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.reports.conftest import csrf_of

from saferstreets.config import Settings
from saferstreets.db import session_factory
from saferstreets.log_privacy import RedactSqlParameters, redact_sql_parameters
from saferstreets.reports.models import Report
from saferstreets.web.security import client_key

DAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
# A point inside the tiny county's Northgate ward, with digits no other number on a page has.
LAT, LON = "51.813579", "-0.402468"
WORDS = "Canary-7731 a man waited by the bins behind the leisure centre"


def _count(engine: sa.Engine) -> int:
    with session_factory(engine)() as session:
        return int(session.scalar(sa.select(sa.func.count(Report.id))))


def _form_fields(csrf: str, free_text: str = WORDS) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "action": "send",
        "latitude": LAT,
        "longitude": LON,
        "occurred_on": DAY,
        "time_band": "evening",
        "reasons": "poor_lighting",
        "free_text": free_text,
    }


# --- 1. autofill -------------------------------------------------------------------------------


def test_the_form_keeps_nothing_for_the_next_person(web) -> None:  # type: ignore[no-untyped-def]
    html = web.get("/report").text
    for name in ("free_text", "other_reason", "place_text"):
        tag = re.search(rf'<(?:input|textarea)[^>]*\bname="{name}"[^>]*>', html)
        assert tag, f"no {name} field on the form"
        assert 'autocomplete="off"' in tag.group(0), f"{name} lets the browser remember it"


# --- 2. rate limits and IPv6 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:198.51.100.9", "198.51.100.9"),
        ("fe80::1%eth0", "fe80::/64"),
        ("testclient", "testclient"),
    ],
)
def test_a_client_is_an_ipv4_address_or_an_ipv6_64(host: str, key: str) -> None:
    assert client_key(host) == key


def test_every_address_in_one_ipv6_64_shares_one_limit(county, settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    app = create_app(settings.model_copy(update={"report_rate_limit": 2}))
    clients = [
        TestClient(app, client=(f"2001:db8:4:5::{n:x}", 4000), raise_server_exceptions=False)
        for n in (1, 2, 0xBEEF)
    ]
    other = TestClient(app, client=("2001:db8:4:6::1", 4000), raise_server_exceptions=False)
    mapped = TestClient(app, client=("::ffff:198.51.100.20", 4000))
    plain = TestClient(app, client=("198.51.100.20", 4000))
    try:
        codes = []
        for client in clients:
            csrf = csrf_of(client.get("/report").text)
            codes.append(client.post("/report", data=_form_fields(csrf)).status_code)
        assert codes == [200, 200, 429]  # three addresses, one /64, one limit
        csrf = csrf_of(other.get("/report").text)
        assert other.post("/report", data=_form_fields(csrf)).status_code == 200
        for client in (mapped, plain, plain):
            csrf = csrf_of(client.get("/report").text)
            last = client.post("/report", data=_form_fields(csrf)).status_code
        assert last == 429  # the IPv4-mapped address and the IPv4 address are one client
    finally:
        for client in (*clients, other, mapped, plain):
            client.close()
    assert _count(county) == 5  # two from the /64, one from its neighbour, two from the IPv4


# --- a live server, for what only a real connection shows -----------------------------------


class LiveApp:
    def __init__(self, base_url: str, log: io.StringIO) -> None:
        self.base_url = base_url
        self.log = log


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_app(county: sa.Engine, settings: Settings) -> Iterator[LiveApp]:
    """The app under uvicorn in a thread, every log line (ours and uvicorn's) captured."""
    import uvicorn

    from saferstreets.web.app import create_app

    app = create_app(settings)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="debug")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", log)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        root.removeHandler(handler)
        root.setLevel(old_level)


def _chunks(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _open_form(client: httpx.Client) -> str:
    page = client.get("/report")
    assert page.status_code == 200
    return csrf_of(page.text)


# --- 3. bounded bodies -------------------------------------------------------------------------


def test_a_chunked_body_over_the_limit_is_refused_and_nothing_is_kept(live_app, county) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=live_app.base_url, timeout=30, follow_redirects=True) as client:
        csrf = _open_form(client)
        small = httpx.QueryParams(_form_fields(csrf)).__str__().encode()
        # a chunked body under the limit still goes through: the limit is on size only
        ok = client.post(
            "/report",
            content=_chunks(small),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert ok.status_code == 200 and "receipt-code" in ok.text
        assert _count(county) == 1

        csrf = _open_form(client)
        big = (
            httpx.QueryParams(_form_fields(csrf)).__str__() + "&padding=" + "x" * 1_000_000
        ).encode()
        refused = client.post(
            "/report",
            content=_chunks(big),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        sent = (refused.history[0] if refused.history else refused).request
        assert sent.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in sent.headers
    assert refused.status_code == 413
    assert "Too much was sent" in refused.text and "64 kB" in refused.text
    assert "In an emergency call 999" in refused.text  # the one error page, not a bare answer
    assert refused.headers["content-security-policy"]
    assert _count(county) == 1


def test_a_declared_length_over_the_limit_is_refused_before_reading(live_app, county) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=live_app.base_url, timeout=30, follow_redirects=True) as client:
        csrf = _open_form(client)
        data = _form_fields(csrf, free_text="x" * 40_000)
        data["padding"] = "y" * 40_000  # 80 kB, over the 64 kB public limit
        refused = client.post("/report", data=data)
        assert refused.status_code == 413
        reply = client.get("/api/public/areas/E05009001/cells.geojson")
        assert reply.status_code in (200, 404)  # the server still answers
    assert _count(county) == 0


def test_staff_pages_have_their_own_larger_limit() -> None:
    from saferstreets.web.limits import BodyLimitMiddleware

    limits = BodyLimitMiddleware(lambda *a: None, limit=65536, staff_limit=1 << 20)  # type: ignore[arg-type]
    assert limits.limit_for({"path": "/report"}) == 65536
    assert limits.limit_for({"path": "/staff/issues/3"}) == 1 << 20


# --- 4. logs -----------------------------------------------------------------------------------


def _refuse_report_inserts(engine: sa.Engine) -> None:
    """Make every INSERT into report fail in the store itself, as a broken disk or a bug would."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION refuse_report() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'forced failure'; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_report BEFORE INSERT ON report "
                "FOR EACH ROW EXECUTE FUNCTION refuse_report()"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_report BEFORE INSERT ON report "
                "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
            )


def _drop_refusal(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_report ON report")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_report")


def test_a_failed_insert_leaves_no_words_point_or_receipt_in_any_log(  # type: ignore[no-untyped-def]
    live_app, county, caplog, monkeypatch
) -> None:
    from saferstreets.reports import service
    from saferstreets.reports.service import new_receipt_code, receipt_hash

    code = new_receipt_code()
    monkeypatch.setattr(service, "new_receipt_code", lambda: code)
    caplog.set_level(logging.DEBUG)
    _refuse_report_inserts(county)
    try:
        with httpx.Client(base_url=live_app.base_url, timeout=30, follow_redirects=True) as client:
            csrf = _open_form(client)
            failed = client.post("/report", data=_form_fields(csrf))
    finally:
        _drop_refusal(county)
    assert failed.status_code == 500
    assert "Something went wrong" in failed.text
    logs = live_app.log.getvalue() + "\n" + caplog.text
    assert "forced failure" in logs, "the failure itself should be logged"
    assert "INSERT INTO report" in logs  # the statement is named, its values are not
    for secret in (WORDS, "Canary-7731", LAT, LON, "51.81357", "-0.40246", receipt_hash(code)):
        assert secret not in logs, f"{secret!r} reached the log"
    assert _count(county) == 0


def test_a_postgres_failing_row_detail_is_hidden() -> None:
    text = (
        'psycopg.errors.NotNullViolation: null value in column "source" violates not-null\n'
        "DETAIL:  Failing row contains (1, abc123, null, he followed me home, 51.81, -0.40).\n"
        "[SQL: INSERT INTO report (free_text) VALUES (%(free_text)s::VARCHAR)]\n"
        "[parameters: {'free_text': 'he followed me home', 'latitude': 51.81}]\n"
        "(Background on this error at: https://sqlalche.me/e/20/gkpj)"
    )
    hidden = redact_sql_parameters(text)
    assert "followed" not in hidden and "51.81" not in hidden and "abc123" not in hidden
    assert "NotNullViolation" in hidden and "INSERT INTO report" in hidden


def test_the_filter_redacts_arguments_and_exceptions_of_any_record() -> None:
    try:
        raise RuntimeError("boom\n[parameters: ('my words', 51.8)]")
    except RuntimeError as exc:
        record: Any = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed: %s", (exc,), exc_info=(type(exc), exc, None)
        )
    RedactSqlParameters().filter(record)
    text = logging.Formatter().format(record)
    assert "my words" not in text and "51.8" not in text
    assert "failed: boom" in text and "RuntimeError" in text


def test_records_with_nothing_to_hide_keep_their_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("-", "GET", "/areas", "1.1", 200), None,
    )  # fmt: skip
    RedactSqlParameters().filter(record)
    assert record.args == ("-", "GET", "/areas", "1.1", 200)
    assert record.getMessage() == '- - "GET /areas HTTP/1.1" 200'
