"""Nothing lost under faults, on both stores.

- The same form sent twice (at the same moment, or again after the receipt) stores one report
  and shows the same receipt both times.
- A store that does not answer in time (a held lock) gives a 503 with ``Retry-After`` and her
  form as she filled it in, with the same one-time key: sending it again stores it once. Nothing
  she wrote is logged.
- A slow store holds up only the submissions that wait on it: static files and other pages are
  answered while a submission waits on a lock (the route runs in the thread pool).
- SQLite with several writer processes at once: every report acknowledged, each stored once.
"""

from __future__ import annotations

import html
import io
import logging
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from tests.reports.conftest import csrf_of, receipt_of
from tests.reports.county import INSIDE
from tests.web.servers import free_port, serving

from saferstreets.config import Settings
from saferstreets.db import dispose_engines, session_factory
from saferstreets.reports.models import Report, SubmissionKey

DAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
WORDS = "Heron-4417 someone followed me past the boarded up shops"
LAT, LON = INSIDE["E05009001"]


def _count(engine: sa.Engine) -> int:
    with session_factory(engine)() as session:
        return int(session.scalar(sa.select(sa.func.count(Report.id))))


def _key_of(page: str) -> str:
    match = re.search(r'name="submission_key" value="([^"]+)"', page)
    assert match, "no submission key on the page"
    return match.group(1)


def _fields(page: str, **extra: str) -> dict[str, str]:
    fields = {"csrf_token": csrf_of(page), "submission_key": _key_of(page), "action": "send",
              "latitude": str(LAT), "longitude": str(LON), "occurred_on": DAY,
              "time_band": "evening", "reasons": "poor_lighting", "free_text": WORDS}  # fmt: skip
    fields.update(extra)
    return fields


@contextmanager
def live(settings: Settings) -> Iterator[str]:
    """The app under uvicorn in a thread (one process, its real event loop and thread pool)."""
    import uvicorn

    from saferstreets.web.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


# --- the same form twice ---------------------------------------------------------------------


def test_the_same_form_sent_twice_at_once_stores_one_report(county, settings) -> None:  # type: ignore[no-untyped-def]
    with live(settings) as base:
        for round_ in range(4):
            first = httpx.Client(base_url=base, timeout=60)
            page = first.get("/report").text
            second = httpx.Client(base_url=base, timeout=60, cookies=first.cookies)
            fields = _fields(page)
            start = threading.Barrier(2)

            def send(client: httpx.Client, fields: dict[str, str] = fields) -> str:
                start.wait()  # both sendings leave together, as a double tap's do
                answer = client.post("/report", data=fields, follow_redirects=True)
                assert answer.status_code == 200, answer.text[:500]
                return receipt_of(answer.text)

            with ThreadPoolExecutor(2) as pool:
                codes = list(pool.map(send, [first, second]))
            first.close()
            second.close()
            assert codes[0] == codes[1]
            assert _count(county) == round_ + 1


def test_sending_again_after_the_receipt_shows_the_same_receipt(web, county) -> None:  # type: ignore[no-untyped-def]
    page = web.get("/report").text
    fields = _fields(page)
    first = web.post("/report", data=fields)
    again = web.post("/report", data=fields)  # the back button, then Send again
    assert receipt_of(first.text) == receipt_of(again.text)
    assert _count(county) == 1
    other = web.post("/report", data=_fields(web.get("/report").text))  # a new form: a new report
    assert receipt_of(other.text) != receipt_of(first.text)
    assert _count(county) == 2
    with session_factory(county)() as session:
        rows = session.scalars(sa.select(SubmissionKey)).all()
    kept = repr([(r.id_hash, r.receipt) for r in rows])
    assert len(rows) == 2
    assert receipt_of(first.text) not in kept and fields["submission_key"] not in kept


def test_a_form_sent_again_at_the_rate_limit_still_gets_its_receipt(county, settings) -> None:  # type: ignore[no-untyped-def]
    """Her last report within the limit is stored; its re-sending (a double tap, the back
    button) is over the limit, and must show her that receipt, not a 429 that loses it."""
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    app = create_app(settings.model_copy(update={"report_rate_limit": 2}))
    with TestClient(app, raise_server_exceptions=False, client=("203.0.113.9", 4000)) as web:
        web.post("/report", data=_fields(web.get("/report").text))
        last = _fields(web.get("/report").text)
        first = web.post("/report", data=last)
        again = web.post("/report", data=last)
        refused = web.post("/report", data=_fields(web.get("/report").text))  # a new form
    assert first.status_code == again.status_code == 200
    assert receipt_of(again.text) == receipt_of(first.text)
    assert refused.status_code == 429 and "Too many requests" in refused.text
    assert _count(county) == 2


def test_a_form_with_mistakes_keeps_its_key(web, county) -> None:  # type: ignore[no-untyped-def]
    page = web.get("/report").text
    refused = web.post("/report", data=_fields(page, reasons=""))
    assert refused.status_code == 422
    assert _key_of(refused.text) == _key_of(page)
    fixed = web.post("/report", data=_fields(refused.text))
    assert fixed.status_code == 200 and receipt_of(fixed.text)
    assert _count(county) == 1


# --- a store that does not answer ------------------------------------------------------------


@pytest.fixture
def impatient(county, settings, monkeypatch):  # type: ignore[no-untyped-def]
    """Settings whose store gives up waiting for a lock after about 0.3 s."""
    from saferstreets.reports import routes

    monkeypatch.setattr("saferstreets.db.SQLITE_BUSY_MS", 300)
    monkeypatch.setattr(routes, "LOCK_WAIT", "300ms")
    dispose_engines()  # new connections take the shorter wait
    yield settings
    dispose_engines()


@contextmanager
def held_lock(engine: sa.Engine) -> Iterator[None]:
    """The report table locked by another connection: on PostgreSQL an ACCESS EXCLUSIVE lock on
    ``report``; on SQLite the database's write lock (BEGIN IMMEDIATE)."""
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE report IN ACCESS EXCLUSIVE MODE")
        else:
            conn.driver_connection.isolation_level = None  # type: ignore[union-attr]
            cursor.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.rollback()
        conn.close()


def test_a_locked_store_gives_a_503_that_keeps_her_form(impatient, county, caplog) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logging.getLogger().addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        with TestClient(create_app(impatient), raise_server_exceptions=False) as web:
            page = web.get("/report").text
            fields = _fields(page, place_text="Behind the leisure centre")
            with held_lock(county):
                answer = web.post("/report", data=fields, follow_redirects=False)
            assert answer.status_code == 503
            assert int(answer.headers["Retry-After"]) > 0
            text = answer.text
            assert "We could not save this, please try again" in text
            assert "nothing was lost" not in text.lower()  # no false comfort
            assert "has been lost" not in text.lower()
            assert html.escape(WORDS) in text  # what she wrote, back in the form
            assert 'value="Behind the leisure centre"' in text
            assert f'value="{LAT}"' in text and f'value="{LON}"' in text
            assert _key_of(text) == fields["submission_key"]
            assert _count(county) == 0
            again = web.post("/report", data=_fields(text))  # she sends it again: stored once
            assert again.status_code == 200 and receipt_of(again.text)
            assert _count(county) == 1
    finally:
        logging.getLogger().removeHandler(handler)
    logged = log.getvalue() + caplog.text
    assert "Heron-4417" not in logged and str(LAT) not in logged and str(LON) not in logged


def test_a_slow_store_does_not_hold_up_other_requests(county, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.reports import routes

    monkeypatch.setattr("saferstreets.db.SQLITE_BUSY_MS", 60_000)
    monkeypatch.setattr(routes, "LOCK_WAIT", "60s")
    dispose_engines()
    with live(settings) as base, httpx.Client(base_url=base, timeout=90) as her:
        fields = _fields(her.get("/report").text)
        result: dict[str, httpx.Response] = {}
        with held_lock(county):
            sender = threading.Thread(
                target=lambda: result.update(sent=her.post("/report", data=fields))
            )
            sender.start()
            _until_waiting(county, sender)
            with httpx.Client(base_url=base, timeout=30) as other:
                assert other.get("/static/css/app.css").status_code == 200
                assert other.get("/report/status").status_code == 200
            still_waiting = sender.is_alive()
        sender.join(timeout=90)
    dispose_engines()
    assert still_waiting  # both answered while her submission waited on the lock
    assert result["sent"].status_code == 303  # and then it was stored
    assert _count(county) == 1


def _until_waiting(engine: sa.Engine, sender: threading.Thread) -> None:
    """Until the submission waits on the lock (seen in pg_locks), or a moment on SQLite."""
    if engine.dialect.name != "postgresql":
        time.sleep(1.0)  # SQLite shows no waiters; the check below holds either way
        return
    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        while sender.is_alive() and time.monotonic() < deadline:
            waiting = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks "
                    "WHERE NOT granted AND relation = 'report'::regclass"
                )
            ).scalar()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the submission never waited on the lock")


# --- SQLite, several writer processes --------------------------------------------------------


def test_sqlite_with_several_writer_processes_loses_nothing(db_url, county, settings) -> None:  # type: ignore[no-untyped-def]
    if not db_url.startswith("sqlite"):
        pytest.skip("the embedded store's writers")
    with serving(settings, workers=3, SAFERSTREETS_REPORT_RATE_LIMIT="1000") as (base, _):

        def send(n: int) -> tuple[int, str]:
            with httpx.Client(base_url=base, timeout=120) as client:
                page = client.get("/report").text
                answer = client.post("/report", data=_fields(page, free_text=f"report {n}"),
                                     follow_redirects=True)  # fmt: skip
                ok = answer.status_code == 200
                return answer.status_code, receipt_of(answer.text) if ok else answer.text[:300]

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(send, range(60)))
    assert [status for status, _ in results] == [200] * 60, results
    assert len({code for _, code in results}) == 60
    with session_factory(county)() as session:
        texts = session.scalars(sa.select(Report.free_text)).all()
    assert sorted(texts) == sorted(f"report {n}" for n in range(60))


def test_a_request_needs_one_pooled_connection_not_two(web, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """With a pool of one connection, a report and a name look-up still go through. When the
    rate limit counted in a session of its own while the request's session held a connection,
    each of a worker's 40 threads could hold one connection and wait for a second: under 50
    clients the pool (15) ran dry and requests waited out the pool timeout for a 503."""
    from saferstreets.db import make_engine

    one = make_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=2)
    web.app.state.sessionmaker = session_factory(one)
    try:
        page = web.get("/report").text
        sent = web.post("/report", data=_fields(page), follow_redirects=False)
        assert sent.status_code == 303
        assert receipt_of(web.get("/report/thanks").text)
        assert web.get("/areas", params={"q": "Northgate"}).status_code == 200
        assert _count(one) == 1
    finally:
        one.dispose()
