"""The public pages: the form with and without a map, receipts, look-up, deletion, protections."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.reports.conftest import csrf_of, receipt_of
from tests.reports.county import INSIDE, OUTSIDE

from saferstreets.accounts.models import AuditEvent
from saferstreets.accounts.service import create_user
from saferstreets.db import session_factory, session_scope
from saferstreets.reports.models import Report

CLIENT_IP = "203.0.113.77"
CLIENT_UA = "PrivacyProbe-UA-5c1e"
DAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def _form(web, **fields):  # type: ignore[no-untyped-def]
    page = web.get("/report")
    assert page.status_code == 200
    lat, lon = INSIDE["E05009001"]
    data = {
        "csrf_token": csrf_of(page.text),
        "action": "send",
        "latitude": str(lat),
        "longitude": str(lon),
        "occurred_on": DAY,
        "time_band": "evening",
        "reasons": ["poor_lighting", "isolated"],
    }
    data.update(fields)
    return data


def _count(engine: sa.Engine) -> int:
    with session_factory(engine)() as session:
        return int(session.scalar(sa.select(sa.func.count(Report.id))))


def test_every_public_page_has_the_safety_bar(web) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/report", "/report/status", "/report/thanks", "/report/deleted"):
        page = web.get(path)
        assert page.status_code == 200, path
        assert "In an emergency call 999" in page.text
        assert 'id="quick-exit" href="https://www.bbc.co.uk/weather"' in page.text
        assert "What happens to what you tell us" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text  # no inline script: the CSP forbids it


def test_submit_saves_first_and_shows_the_code_once(web, county) -> None:  # type: ignore[no-untyped-def]
    response = web.post(
        "/report", data=_form(web, free_text="No lights at all"), follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/report/thanks"
    assert _count(county) == 1  # committed before the thank-you page is asked for
    thanks = web.get("/report/thanks")
    code = receipt_of(thanks.text)
    assert code not in str(thanks.url) and code not in response.headers["location"]
    assert "If you are in danger now" not in thanks.text
    again = web.get("/report/thanks")
    assert code not in again.text
    assert "shown only once" in again.text


def test_the_empty_form_is_the_page_its_template_renders(web, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """GET /report fills a page rendered once a day (``_empty_form``): it must be, byte for
    byte, the page the template renders for this visitor's token and this form's key, and a
    new day's page must carry the new day's date."""
    from starlette.requests import Request

    from saferstreets.reports import routes, service

    def key(page: str) -> str:
        found = re.search(r'name="submission_key" value="([^"]+)"', page)
        assert found
        return found.group(1)

    first, second = web.get("/report"), web.get("/report")
    assert key(first.text) != key(second.text)  # each form its own one-time key
    assert csrf_of(first.text) == csrf_of(second.text)  # the same visitor's token
    cookie = "; ".join(f"{name}={value}" for name, value in web.cookies.items())
    request = Request({"type": "http", "app": web.app, "method": "GET", "path": "/report",
                       "headers": [(b"cookie", cookie.encode())], "state": {}})  # fmt: skip
    today = service.received_today().isoformat()
    values = {"reasons": [], "occurred_on": today, "submission_key": key(second.text)}
    rendered = routes._form_page(request, web.app.state.settings, values)
    assert bytes(rendered.body).decode() == second.text
    assert second.headers["content-type"] == rendered.headers["content-type"]

    tomorrow = service.received_today() + timedelta(days=1)
    monkeypatch.setattr(service, "received_today", lambda: tomorrow)
    assert f'value="{tomorrow.isoformat()}"' in web.get("/report").text


@pytest.mark.parametrize("words", ["the lights are out", "he is outside my house right now"])
def test_the_thank_you_page_is_the_page_its_template_renders(web, county, words) -> None:  # type: ignore[no-untyped-def]
    """The thank-you page fills its receipt code into a page rendered once (urgent or not): it
    must be the template's page for that code, shown once."""
    from starlette.requests import Request

    from saferstreets.web.deps import templates

    pages = []
    for _ in range(2):  # the second is filled into the page the first rendered
        pages.append(web.post("/report", data=_form(web, free_text=words)).text)
    request = Request({"type": "http", "app": web.app, "method": "GET", "path": "/report/thanks",
                       "headers": [], "state": {}})  # fmt: skip
    urgent = "If you are in danger now, call 999" in pages[1]
    for page in pages:
        context = {"code": receipt_of(page), "urgent": urgent,
                   "support_services": web.app.state.settings.support_services}  # fmt: skip
        rendered = templates.TemplateResponse(request, "public/report_thanks.html", context)
        assert bytes(rendered.body).decode() == page
    assert receipt_of(pages[0]) != receipt_of(pages[1])
    assert urgent == (words != "the lights are out")
    assert "Your receipt code is" not in web.get("/report/thanks").text  # shown once


def test_the_thank_you_page_gives_its_connection_back_on_the_routes_thread(
    web, county, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The receipt is taken in one autocommitted DELETE and the route gives the connection back
    itself, so the request's session has no transaction left to settle on another thread."""
    from saferstreets.web import deps

    settled: list[bool] = []
    real = deps._settle

    async def spy(session, step, settlers):  # type: ignore[no-untyped-def]
        settled.append(session.in_transaction())
        await real(session, step, settlers)

    assert web.post("/report", data=_form(web), follow_redirects=False).status_code == 303
    monkeypatch.setattr(deps, "_settle", spy)
    assert receipt_of(web.get("/report/thanks").text)  # the receipt, shown
    assert settled and not any(settled)


def test_the_form_works_without_a_map_in_two_steps(web, county) -> None:  # type: ignore[no-untyped-def]
    data = _form(
        web, latitude="", longitude="", place_text="river", action="find", free_text="kept <b>"
    )
    step = web.post("/report", data=data)
    assert step.status_code == 200
    assert re.findall(r'name="area_code" value="([^"]+)" checked', step.text) == ["E05009004"]
    assert "kept &lt;b&gt;" in step.text  # what she typed is kept, escaped
    assert 'value="isolated" checked' in step.text
    assert _count(county) == 0
    sent = web.post("/report", data={**data, "action": "send", "area_code": "E05009004"})
    assert sent.status_code == 200 and receipt_of(sent.text)
    with session_factory(county)() as session:
        report = session.scalar(sa.select(Report))
        assert (report.ward_code, report.latitude, report.place_text) == (
            "E05009004",
            None,
            "river",
        )


def test_a_search_with_several_or_no_matches(web) -> None:  # type: ignore[no-untyped-def]
    many = web.post("/report", data=_form(web, place_text="e", action="find"))
    assert "Type a street" not in many.text  # one letter is too short to search: no list
    data = _form(web, place_text="north", action="find")
    found = web.post("/report", data=data)
    assert "Northgate" in found.text
    none = web.post("/report", data=_form(web, place_text="Atlantis", action="find"))
    assert "We could not find" in none.text and "Atlantis" in none.text


def test_errors_are_shown_in_place_and_nothing_is_kept(web, county) -> None:  # type: ignore[no-untyped-def]
    page = web.post("/report", data=_form(web, reasons=[], latitude="", longitude=""))
    assert page.status_code == 422
    assert "There is a problem" in page.text
    assert 'aria-invalid="true"' in page.text
    assert "choose the place on the map" in page.text.lower()
    outside = web.post(
        "/report", data=_form(web, latitude=str(OUTSIDE[0]), longitude=str(OUTSIDE[1]))
    )
    assert outside.status_code == 422
    assert "outside the area" in outside.text
    too_long = web.post("/report", data=_form(web, free_text="x" * 2001))
    assert too_long.status_code == 422 and "under 2,000 characters" in too_long.text
    assert _count(county) == 0


def test_hand_typed_dates_are_understood(web, county) -> None:  # type: ignore[no-untyped-def]
    day = datetime.now(UTC).date() - timedelta(days=3)
    response = web.post("/report", data=_form(web, occurred_on=day.strftime("%d/%m/%Y")))
    assert response.status_code == 200
    with session_factory(county)() as session:
        assert session.scalar(sa.select(Report.occurred_on)) == day


def test_csrf_honeypot_and_oversized_posts_are_refused(web, county) -> None:  # type: ignore[no-untyped-def]
    data = _form(web)
    assert web.post("/report", data={**data, "csrf_token": "forged"}).status_code == 403
    bot = web.post("/report", data={**data, "website": "http://spam.example"})
    assert bot.status_code == 400 and "could not be sent" in bot.text
    huge = web.post("/report", data={**data, "free_text": "x" * 40_000})
    assert huge.status_code == 413
    assert _count(county) == 0


def test_free_text_is_escaped_everywhere(web, county) -> None:  # type: ignore[no-untyped-def]
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    code = receipt_of(
        web.post("/report", data=_form(web, free_text=evil, other_reason=evil[:100])).text
    )
    view = web.post(
        "/report/status", data={"csrf_token": csrf_of(web.get("/report/status").text), "code": code}
    )
    assert "<script>alert" not in view.text and "&lt;script&gt;alert(1)" in view.text
    assert "<img src=x" not in view.text


def test_look_up_and_delete_by_code(web, county) -> None:  # type: ignore[no-untyped-def]
    code = receipt_of(web.post("/report", data=_form(web, free_text="call me 07700 900123")).text)
    token = csrf_of(web.get("/report/status").text)
    view = web.post(
        "/report/status", data={"csrf_token": token, "code": code.lower().replace("-", "")}
    )
    assert view.status_code == 200
    assert "Northgate" in view.text and "Received" in view.text
    assert "07700" not in view.text and "[phone number removed]" in view.text
    wrong = web.post("/report/status", data={"csrf_token": token, "code": "AAAA-BBBB-CCCC-DDDD"})
    assert wrong.status_code == 404 and "No report has that receipt code" in wrong.text
    unconfirmed = web.post("/report/delete", data={"csrf_token": token, "code": code})
    assert unconfirmed.status_code == 422 and _count(county) == 1
    gone = web.post(
        "/report/delete",
        data={"csrf_token": token, "code": code, "confirm": "yes"},
        follow_redirects=False,
    )
    assert gone.status_code == 303 and gone.headers["location"] == "/report/deleted"
    assert _count(county) == 0
    assert web.post("/report/status", data={"csrf_token": token, "code": code}).status_code == 404


def test_urgent_words_show_the_999_message(web) -> None:  # type: ignore[no-untyped-def]
    thanks = web.post("/report", data=_form(web, free_text="he is outside my house right now"))
    assert "If you are in danger now, call 999" in thanks.text


def test_reports_are_rate_limited_per_client(county, settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    app = create_app(settings.model_copy(update={"report_rate_limit": 2, "lookup_rate_limit": 3}))
    with (
        TestClient(app, client=("198.51.100.9", 4000)) as one,
        TestClient(app, client=("198.51.100.10", 4000)) as two,
    ):
        assert [one.post("/report", data=_form(one)).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        limited = one.post("/report", data=_form(one))
        assert limited.status_code == 429
        assert "Too many requests" in limited.text and "call 999" in limited.text
        assert int(limited.headers["retry-after"]) > 0
        assert (
            two.post("/report", data=_form(two)).status_code == 200
        )  # another client is not held back
        token = csrf_of(one.get("/report/status").text)
        codes = [
            one.post("/report/status", data={"csrf_token": token, "code": "x"}).status_code
            for _ in range(4)
        ]
        assert codes == [404, 404, 404, 429]
    assert _count(county) == 3


def test_a_report_and_its_count_are_one_transaction(county, settings) -> None:  # type: ignore[no-untyped-def]
    """The count is made in the report's own transaction: a form with mistakes (rolled back)
    is counted all the same, a refused report stores nothing, and the same form sent again
    after its receipt is shown is not refused (nothing new is stored or counted)."""
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    app = create_app(settings.model_copy(update={"report_rate_limit": 2}))
    with TestClient(app, client=("198.51.100.11", 4000)) as one:
        assert one.post("/report", data=_form(one, occurred_on="")).status_code == 422
        page = one.get("/report").text
        key = re.search(r'name="submission_key" value="([^"]+)"', page)
        assert key
        sent = _form(one, submission_key=key.group(1))
        assert one.post("/report", data=sent).status_code == 200
        assert one.post("/report", data=_form(one)).status_code == 429  # the 422 counted
        assert one.post("/report", data=sent).status_code == 200  # sent again: its receipt
    assert _count(county) == 1


def test_safeguarding_queue_is_for_some_roles_and_audited(web, county) -> None:  # type: ignore[no-untyped-def]
    web.post("/report", data=_form(web, free_text="a man with a knife was waiting"))
    web.post("/report", data=_form(web, free_text="just dark"))
    with session_scope(county) as session:
        for name, role in (("sup", "supervisor"), ("ward", "ward_officer")):
            create_user(session=session, username=name, password="a long password", role=role)

    def login(name: str) -> None:
        web.post("/logout", data={"csrf_token": csrf_of(web.get("/login").text)})
        token = csrf_of(web.get("/login").text)
        assert (
            web.post(
                "/login",
                data={"username": name, "password": "a long password", "csrf_token": token},
            ).status_code
            == 200
        )

    assert web.get("/staff/safeguarding", follow_redirects=False).status_code == 303
    login("ward")
    assert web.get("/staff/safeguarding").status_code == 403
    login("sup")
    page = web.get("/staff/safeguarding")
    assert page.status_code == 200
    assert "a man with a knife was waiting" in page.text and "just dark" not in page.text
    with session_factory(county)() as session:
        event = session.scalar(
            sa.select(AuditEvent).where(AuditEvent.object_kind == "safeguarding_queue")
        )
        report = session.scalar(sa.select(Report).where(Report.urgent.is_(True)))
        assert event.action == "view" and event.detail["reports"] == [report.public_id]
    reviewed = web.post(
        "/staff/safeguarding/review",
        data={
            "csrf_token": csrf_of(page.text),
            "report": report.public_id,
            "outcome": "control_room",
        },
    )
    assert reviewed.status_code == 200 and "Nothing is waiting" in reviewed.text


def _store_text(engine: sa.Engine, db_url: str) -> bytes:
    """Everything the store holds: the SQLite file's bytes (after a checkpoint), or every PG row."""
    if db_url.startswith("sqlite"):
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(sa.engine.make_url(db_url).database or "")
        data = path.read_bytes()
        for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")):
            if extra.exists():
                data += extra.read_bytes()
        return data
    from saferstreets.db import Base

    chunks = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks).encode()


def test_no_client_address_user_agent_or_exact_time_is_kept(web, county, db_url, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    before = datetime.now(UTC).replace(tzinfo=None)
    code = receipt_of(web.post("/report", data=_form(web, free_text="dark path by the canal")).text)
    token = csrf_of(web.get("/report/status").text)
    web.post("/report/status", data={"csrf_token": token, "code": code})
    web.post("/report", data=_form(web, free_text="a man with a knife here"))
    web.post("/report", data=_form(web, latitude="52.2", longitude="-1.2"))  # refused
    dump = _store_text(county, db_url)
    assert _count(county) == 2
    for secret in (CLIENT_IP, CLIENT_UA, "203.0.113", code, code.replace("-", "")):
        assert secret.encode() not in dump, f"{secret} found in the store"
        assert secret not in caplog.text, f"{secret} found in the logs"
    with session_factory(county)() as session:
        hours = session.scalars(sa.select(Report.received_hour)).all()
    assert all(h.minute == 0 and h.second == 0 and h.microsecond == 0 for h in hours)
    assert all(
        abs((h - before.replace(minute=0, second=0, microsecond=0)).total_seconds()) <= 3600
        for h in hours
    )


def test_the_urgent_thank_you_page_leads_with_safety_then_support_then_the_code(web) -> None:  # type: ignore[no-untyped-def]
    page = web.post("/report", data=_form(web, free_text="he is outside my house right now")).text
    danger = page.index("If you are in danger now, call 999")
    support = page.index("National Domestic Abuse Helpline")
    code = page.index('id="receipt-code"')
    assert danger < support < code
    assert danger < page.index("<h1") + 40  # the page's heading is the safety message
    assert 'href="tel:999"' in page and 'href="tel:101"' in page
    for number in ("08082000247", "08085002222", "08081689111"):
        assert f'href="tel:{number}"' in page
    calm = web.post("/report", data=_form(web, free_text="no lights on the path")).text
    assert (
        "National Domestic Abuse Helpline" not in calm and "Thank you. Your report was sent" in calm
    )


def test_the_support_services_are_a_setting(county, settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from saferstreets.config import SupportService
    from saferstreets.web.app import create_app

    local = SupportService(
        name="Northbury Women's Aid <b>", phone="01234 567890", detail="Weekdays"
    )
    app = create_app(settings.model_copy(update={"support_services": [local]}))
    with TestClient(app) as client:
        page = client.post(
            "/report", data=_form(client, free_text="my ex is outside right now")
        ).text
    assert 'href="tel:01234567890"' in page and "Northbury Women&#39;s Aid &lt;b&gt;" in page
    assert "National Domestic Abuse Helpline" not in page
    with pytest.raises(ValueError, match="phone"):
        SupportService(name="x", phone="javascript:alert(1)")
