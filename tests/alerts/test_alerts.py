"""Danger now alerts a person at once: outbox, email, signed webhook, retries, failures shown."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from itertools import pairwise

import pytest
import sqlalchemy as sa
from tests.alerts.conftest import DUTY, SECRET, Receiver, SmtpServer, webhook_json
from tests.conftest import JobWorker
from tests.reports.county import INSIDE

from saferstreets.alerts import service as alerts
from saferstreets.alerts.channels import sign, verify
from saferstreets.alerts.models import Alert
from saferstreets.config import Settings
from saferstreets.db import session_factory, session_scope
from saferstreets.errors import ValidationFailed
from saferstreets.jobs.models import Job
from saferstreets.models_common import utcnow
from saferstreets.reports import service as reports
from saferstreets.reports.models import Report
from saferstreets.reports.schemas import ReportSubmission
from saferstreets.reports.triage import triage

LAT, LON = INSIDE["E05009003"]  # Eastbrook ward, Brookhaven district
WORDS = "He is outside my house right now, the blue door on Quarry Lane, please help"


def _submission(text: str = WORDS) -> ReportSubmission:
    return ReportSubmission.model_validate(
        {
            "latitude": LAT,
            "longitude": LON,
            "occurred_on": utcnow().date() - timedelta(days=5),
            "time_band": "night",
            "reasons": ["being_followed"],
            "free_text": text,
        }
    )


def _report(engine: sa.Engine, text: str = WORDS, received_at: datetime | None = None) -> Report:
    with session_factory(engine)() as session:
        report, _ = reports.create_report(
            session=session, submission=_submission(text), received_at=received_at
        )
        session.commit()
        return report


def _alerts(engine: sa.Engine) -> list[Alert]:
    with session_factory(engine)() as session:
        return list(session.scalars(sa.select(Alert).order_by(Alert.id)))


def _coordinates() -> list[str]:
    """Every way the point could be written into a message."""
    return [f"{v:.{n}f}" for v in (LAT, LON) for n in (2, 3, 4, 5)] + [str(LAT), str(LON)]


# --- which reports alert, and the outbox --------------------------------------------------------


def test_each_alerting_reason_is_one_triage_gives() -> None:
    samples = {
        "danger now": "he is following me right now",
        "asks for help": "please help",
        "threat to life": "he said he would kill me",
        "risk to herself": "I want to end my life",
        "abduction": "he tried to drag her into a van and kidnap her",
    }
    assert set(samples) == set(alerts.ALERT_REASONS)
    for reason, text in samples.items():
        assert reason in (triage(free_text=text).reason or ""), reason


def test_the_alert_is_written_with_the_report_or_not_at_all(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        report, _ = reports.create_report(session=session, submission=_submission())
        assert report.urgent and "danger now" in (report.urgent_reason or "")
        session.rollback()  # the report is not saved: nor is its alert
    assert _alerts(county) == []
    report = _report(county)
    [alert] = _alerts(county)
    assert (alert.report_public_id, alert.status, alert.urgency) == (
        report.public_id,
        "pending",
        "danger now",
    )
    assert (alert.ward_code, alert.district_code) == ("E05009003", "E07000902")
    assert not {"free_text", "latitude", "longitude", "place_text"} & set(
        Alert.__table__.columns.keys()
    )


def test_only_danger_now_and_fresh_reports_alert(county: sa.Engine) -> None:
    named = _report(county, "A man called Lee Smith at the takeaway keeps staring")
    weapon = _report(county, "there was a man with a knife here last summer")
    assert named.urgent and weapon.urgent  # both wait in the safeguarding queue...
    old = _report(county, received_at=datetime.now(UTC) - timedelta(days=3))
    assert old.urgent
    assert _alerts(county) == []  # ...but page no one; nor does an old report imported late
    with pytest.raises(ValidationFailed), session_factory(county)() as session:
        reports.create_report(
            session=session,
            submission=ReportSubmission.model_validate(
                {**_submission().model_dump(), "latitude": 10.0, "longitude": 10.0}
            ),
        )
    assert _alerts(county) == []


# --- both channels, against real receivers ------------------------------------------------------


def test_email_and_webhook_carry_urgency_area_and_link_never_words_or_point(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver
) -> None:
    report = _report(county)
    run = alerts.deliver_due(engine=county, settings=alert_settings)
    assert (run.sent, run.retrying, run.failed) == (1, 0, 0)
    link = f"https://saferstreets.force.example/staff/safeguarding?report={report.public_id}#report-{report.public_id}"

    [mail] = smtp.inbox.messages
    assert mail["to"] == [DUTY] and mail["from"] == "alerts@force.example"
    email = message_from_string(mail["data"], policy=policy.default)
    text = email.get_content()
    assert email["Subject"] == "Urgent report: danger now, Eastbrook ward, Brookhaven district"
    assert link in text and "Area: Eastbrook ward, Brookhaven district" in text
    assert "Urgency: danger now" in text

    [hook] = receiver.received
    assert hook["signed"] and hook["status"] == 200
    body = webhook_json(hook)
    assert body["urgency"] == "danger now" and body["link"] == link
    assert body["area"] == {"ward": "Eastbrook", "district": "Brookhaven"}
    assert hook["headers"]["X-Saferstreets-Alert-Id"] == body["alert_id"]

    for sent in (mail["data"], text, email["Subject"], hook["body"].decode()):
        for fragment in ("outside my house", "Quarry Lane", "blue door", WORDS, *_coordinates()):
            assert fragment not in sent
    [alert] = _alerts(county)
    assert alert.status == "sent" and alert.attempts == 1
    assert {name: d["status"] for name, d in alert.deliveries.items()} == {
        "email": "sent",
        "webhook": "sent",
    }


def test_a_webhook_that_fails_is_retried_with_backoff_and_email_is_not_sent_twice(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver
) -> None:
    receiver.answers = [500, 503, 200]
    _report(county)
    t0 = utcnow()
    first = alerts.deliver_due(engine=county, settings=alert_settings, now=t0)
    assert (first.sent, first.retrying) == (0, 1)
    [alert] = _alerts(county)
    assert alert.attempts == 1 and alert.next_attempt_at == t0 + timedelta(seconds=30)
    assert alert.last_error == "webhook: HTTP 500"
    # Not due yet: nothing is sent.
    early = alerts.deliver_due(
        engine=county, settings=alert_settings, now=t0 + timedelta(seconds=29)
    )
    assert (early.sent, early.retrying, len(receiver.received)) == (0, 0, 1)
    second = alerts.deliver_due(
        engine=county, settings=alert_settings, now=t0 + timedelta(seconds=31)
    )
    assert second.retrying == 1
    [alert] = _alerts(county)
    assert alert.next_attempt_at == t0 + timedelta(seconds=31 + 60)  # the delay doubles
    third = alerts.deliver_due(
        engine=county, settings=alert_settings, now=t0 + timedelta(seconds=92)
    )
    assert third.sent == 1
    assert [r["status"] for r in receiver.received] == [500, 503, 200]
    assert all(r["signed"] for r in receiver.received)
    assert len({r["headers"]["X-Saferstreets-Timestamp"] for r in receiver.received}) >= 1
    assert len(smtp.inbox.messages) == 1  # the email went at once and only once


def test_an_smtp_server_down_then_up_gets_the_alert(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver
) -> None:
    smtp.stop()
    _report(county)
    t0 = utcnow()
    down = alerts.deliver_due(engine=county, settings=alert_settings, now=t0)
    assert down.retrying == 1 and len(receiver.accepted) == 1
    [alert] = _alerts(county)
    assert alert.deliveries["email"]["status"] == "failed"
    assert alert.last_error and alert.last_error.startswith("email: ConnectionRefusedError")
    smtp.start()
    up = alerts.deliver_due(engine=county, settings=alert_settings, now=t0 + timedelta(minutes=1))
    assert up.sent == 1 and len(smtp.inbox.messages) == 1
    assert len(receiver.received) == 1  # the webhook had already gone


def test_several_workers_never_send_an_alert_twice(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver
) -> None:
    for _ in range(6):
        _report(county)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work() -> None:
        try:
            start.wait()
            for _ in range(3):
                alerts.deliver_due(engine=county, settings=alert_settings)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    ids = [webhook_json(r)["alert_id"] for r in receiver.received]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert len(smtp.inbox.messages) == 6
    assert {a.status for a in _alerts(county)} == {"sent"}


# --- a permanent failure is seen -----------------------------------------------------------------


def test_a_failed_alert_shows_on_the_queue_and_in_status(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver, app_env
) -> None:
    from fastapi.testclient import TestClient
    from tests.reports.conftest import csrf_of
    from typer.testing import CliRunner

    from saferstreets.accounts.service import create_user
    from saferstreets.cli import app as cli
    from saferstreets.db import session_scope
    from saferstreets.web.app import create_app

    receiver.answers = [500]
    report = _report(county)
    t0 = utcnow()
    for minutes in (0, 1, 5):
        alerts.deliver_due(
            engine=county, settings=alert_settings, now=t0 + timedelta(minutes=minutes)
        )
    [alert] = _alerts(county)
    assert (alert.status, alert.attempts) == ("failed", 3)
    assert len(receiver.received) == 3 and len(smtp.inbox.messages) == 1

    with session_scope(county) as session:
        create_user(session=session, username="sup", password="a long password", role="supervisor")
    with TestClient(create_app(alert_settings), raise_server_exceptions=False) as web:
        token = csrf_of(web.get("/login").text)
        web.post(
            "/login", data={"username": "sup", "password": "a long password", "csrf_token": token}
        )
        page = web.get("/staff/safeguarding")
        assert page.status_code == 200
        assert "1 danger-now alert could not be delivered" in page.text
        assert (
            f'href="/staff/safeguarding?report={report.public_id}#report-{report.public_id}"'
            in page.text
        )
        assert "webhook: HTTP 500" in page.text
        status_json = web.get("/staff/status.json").json()
        assert status_json["alerts"]["failed"] == 1

    runner = CliRunner()
    shown = runner.invoke(cli, ["status"])
    assert shown.exit_code == 0, shown.output
    assert "1 failed" in shown.output and "webhook: HTTP 500" in shown.output
    as_json = json.loads(runner.invoke(cli, ["status", "--json"]).output)
    assert as_json["alerts"]["failed"] == 1
    assert as_json["alerts"]["failed_alerts"][0]["alert_id"] == alert.public_id
    assert WORDS not in shown.output

    # Once the channel is fixed, `alerts retry` puts it back and it goes.
    retried = runner.invoke(cli, ["alerts", "retry"])
    assert "1 failed alert put back" in retried.output
    receiver.answers = [200]
    assert alerts.deliver_due(engine=county, settings=alert_settings).sent == 1
    assert len(smtp.inbox.messages) == 1  # email had gone; only the webhook is sent again


def test_a_quiet_queue_has_no_banner_and_an_alert_with_nowhere_to_go_is_overdue(
    county: sa.Engine, settings: Settings
) -> None:
    _report(county)
    assert alerts.deliver_due(engine=county, settings=settings).channels == []  # none set
    with session_factory(county)() as session:
        now = utcnow()
        assert alerts.alert_trouble(session=session, now=now)["overdue"] == 0
        later = alerts.alert_trouble(session=session, now=now + timedelta(minutes=6))
        assert (later["pending"], later["overdue"], later["failed"]) == (1, 1, 0)


# --- the worker inside the app, and the CLI worker ----------------------------------------------


def _worker_env(settings: Settings) -> dict[str, str]:
    """The alert settings as a worker process reads them (from its environment)."""
    names = ("public_base_url", "alert_smtp_host", "alert_smtp_port", "alert_smtp_starttls",
             "alert_email_from", "alert_email_to", "alert_webhook_url", "alert_webhook_secret",
             "alert_retry_seconds", "alert_max_attempts", "alert_timeout_seconds")  # fmt: skip
    env = {}
    for name in names:
        value = getattr(settings, name)
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[f"SAFERSTREETS_{name.upper()}"] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    return env


def _send_through_the_form(web) -> None:  # type: ignore[no-untyped-def]
    from tests.reports.conftest import csrf_of

    token = csrf_of(web.get("/report").text)
    sent = web.post(
        "/report",
        data={
            "csrf_token": token,
            "action": "send",
            "latitude": str(LAT),
            "longitude": str(LON),
            "occurred_on": utcnow().date().isoformat(),
            "time_band": "night",
            "reasons": ["being_followed"],
            "free_text": WORDS,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303


def _deliveries(engine: sa.Engine) -> list[Job]:
    with session_factory(engine)() as session:
        jobs = list(
            session.scalars(sa.select(Job).where(Job.kind == "alerts.deliver").order_by(Job.id))
        )
        session.expunge_all()
        return jobs


def test_a_danger_now_report_sent_through_the_form_is_delivered_by_the_job_worker(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver
) -> None:
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    worker = JobWorker(alert_settings, env=_worker_env(alert_settings)).start()
    try:
        with TestClient(create_app(alert_settings), raise_server_exceptions=False) as web:
            _send_through_the_form(web)
        [job] = _deliveries(county)
        job_id, params = job.id, job.params
        row = worker.wait_for(job_id, timeout=60)
    finally:
        worker.stop()
    [alert] = _alerts(county)
    assert params == {"alert": alert.public_id}  # the job carries the alert's id, no words
    assert row["status"] == "done" and row["result"] == {"status": "sent", "attempts": 1}
    assert len(receiver.accepted) == 1 and len(smtp.inbox.messages) == 1
    assert "outside my house" not in smtp.inbox.messages[0]["data"]
    assert alert.status == "sent"


def test_a_failing_webhook_is_retried_by_follow_up_jobs_with_backoff(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver
) -> None:
    from fastapi.testclient import TestClient

    from saferstreets.web.app import create_app

    receiver.answers = [500, 503, 200]
    settings = alert_settings.model_copy(update={"alert_retry_seconds": 1.0})
    worker = JobWorker(settings, env=_worker_env(settings)).start()
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as web:
            _send_through_the_form(web)
        deadline = time.monotonic() + 60
        while not receiver.accepted:
            assert time.monotonic() < deadline, worker.log.read_text()[-2000:]
            time.sleep(0.1)
        deadline = time.monotonic() + 30
        while len(jobs := _deliveries(county)) < 3 or jobs[-1].status != "done":
            assert time.monotonic() < deadline, worker.log.read_text()[-2000:]
            time.sleep(0.1)
        rows = [worker.wait_for(j.id, timeout=30) for j in jobs]
    finally:
        worker.stop()
    assert [r["status"] for r in rows] == ["done", "done", "done"]  # a pass, and two follow-ups
    assert [r["result"]["status"] for r in rows] == ["retrying", "retrying", "sent"]
    # each follow-up waited for the alert's backoff: 1 s, then 2 s
    # (a job is claimed only once due, so each follow-up starts after the alert's retry time)
    gaps = [(b["started_at"] - a["started_at"]).total_seconds() for a, b in pairwise(rows)]
    assert gaps[0] >= 1.0 and gaps[1] >= 2.0
    assert [r["status"] for r in receiver.received] == [500, 503, 200]
    assert len(smtp.inbox.messages) == 1  # the email went once, with the first pass
    assert {a.status for a in _alerts(county)} == {"sent"}


def test_an_alert_that_failed_for_good_shows_on_its_job_and_try_again_sends_it(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver
) -> None:
    from fastapi.testclient import TestClient

    from saferstreets.accounts.service import create_user
    from saferstreets.web.app import create_app

    receiver.answers = [500, 500, 200]
    settings = alert_settings.model_copy(
        update={"alert_retry_seconds": 0.2, "alert_max_attempts": 2}
    )
    with session_scope(county) as session:
        create_user(
            session=session, username="root", password="correct horse battery", role="admin"
        )
    worker = JobWorker(settings, env=_worker_env(settings)).start()
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as web:
            _send_through_the_form(web)
            deadline = time.monotonic() + 60
            while not (failed := [j for j in _deliveries(county) if j.status == "failed"]):
                assert time.monotonic() < deadline, worker.log.read_text()[-2000:]
                time.sleep(0.1)
            [job] = failed
            assert job.error == (
                "The alert could not be delivered after 2 attempts (webhook: HTTP 500). "
                "Fix the channel, then try again."
            )
            token = csrf_of_login(web)
            web.post("/login", data={"username": "root", "password": "correct horse battery",
                                     "csrf_token": token})  # fmt: skip
            page = web.get(f"/staff/jobs/{job.id}")
            assert "webhook: HTTP 500" in page.text and "Try again" in page.text
            assert WORDS not in page.text
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            again = web.post(f"/staff/jobs/{job.id}/retry", data={"csrf_token": token},
                             follow_redirects=False)  # fmt: skip
            assert again.status_code == 303
            row = worker.wait_for(job.id, timeout=30)
    finally:
        worker.stop()
    assert row["status"] == "done" and row["result"]["status"] == "sent"
    assert [r["status"] for r in receiver.received] == [500, 500, 200]
    assert {a.status for a in _alerts(county)} == {"sent"}


def csrf_of_login(web) -> str:  # type: ignore[no-untyped-def]
    return str(web.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0])


def test_the_cli_worker_delivers_and_refuses_to_run_with_no_channel(
    county: sa.Engine,
    alert_settings: Settings,
    smtp: SmtpServer,
    receiver: Receiver,
    app_env,
    monkeypatch,
) -> None:
    from typer.testing import CliRunner

    from saferstreets.cli import app as cli
    from saferstreets.config import get_settings

    runner = CliRunner()
    nothing = runner.invoke(cli, ["alerts", "deliver"])
    assert nothing.exit_code == 1 and "No alert channel is configured" in nothing.output
    _report(county)
    for name, value in {
        "ALERT_SMTP_HOST": "127.0.0.1", "ALERT_SMTP_PORT": str(smtp.port),
        "ALERT_SMTP_STARTTLS": "false", "ALERT_EMAIL_TO": DUTY,
        "ALERT_WEBHOOK_URL": receiver.url, "ALERT_WEBHOOK_SECRET": SECRET,
    }.items():  # fmt: skip
        monkeypatch.setenv(f"SAFERSTREETS_{name}", value)
    get_settings.cache_clear()
    done = runner.invoke(cli, ["alerts", "deliver"])
    assert done.exit_code == 0, done.output
    assert "1 sent" in done.output and "email, webhook" in done.output
    assert len(smtp.inbox.messages) == 1 and len(receiver.accepted) == 1


# --- the signature, and settings ------------------------------------------------------------------


def test_the_signature_fails_on_a_changed_body_a_wrong_secret_or_an_old_timestamp() -> None:
    body = b'{"alert_id":"a","urgency":"danger now"}'
    now = 1_800_000_000
    good = sign(SECRET, str(now), body)
    assert verify(SECRET, str(now), body, good, now=now + 299)
    assert not verify(SECRET, str(now), body.replace(b"danger", b"no"), good, now=now)
    assert not verify("another-secret-0123456789", str(now), body, good, now=now)
    assert not verify(SECRET, str(now), body, good, now=now + 301)  # a replay, later
    assert not verify(SECRET, "soon", body, good, now=now)


def test_settings_refuse_a_webhook_without_a_secret_or_email_without_a_duty_inbox() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="ALERT_WEBHOOK_SECRET"):
        Settings(alert_webhook_url="https://control.example/alerts")
    with pytest.raises(ValidationError, match="ALERT_WEBHOOK_SECRET"):
        Settings(alert_webhook_url="https://control.example/alerts", alert_webhook_secret="short")
    with pytest.raises(ValidationError, match="ALERT_EMAIL_TO"):
        Settings(alert_smtp_host="smtp.example")
    with pytest.raises(ValidationError):
        Settings(alert_webhook_url="ftp://control.example", alert_webhook_secret=SECRET)


def test_an_alert_held_by_a_worker_that_died_goes_when_its_lease_runs_out(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver
) -> None:
    _report(county)
    t0 = utcnow()
    with session_factory(county)() as session:
        [taken] = alerts.claim_due(session=session, now=t0)  # ...and the worker dies here
    held = alerts.deliver_due(engine=county, settings=alert_settings, now=t0 + timedelta(minutes=1))
    assert (held.sent, len(receiver.received)) == (0, 0)
    later = t0 + alerts.LEASE + timedelta(seconds=1)
    assert alerts.deliver_due(engine=county, settings=alert_settings, now=later).sent == 1
    assert len(receiver.accepted) == 1 and len(smtp.inbox.messages) == 1
    # The dead worker's late outcome, were it to come back, is not recorded over this one.
    [alert] = _alerts(county)
    with session_factory(county)() as session:
        outcome = alerts._record(
            session=session, alert=taken, deliveries={}, settings=alert_settings,
            channels=[], now=later,
        )  # fmt: skip
    assert outcome == "lost"
    assert _alerts(county)[0].status == "sent" and _alerts(county)[0].attempts == alert.attempts


def test_a_redirect_is_not_followed_but_counted_as_a_failure(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver
) -> None:
    receiver.answers = [302]
    _report(county)
    run = alerts.deliver_due(engine=county, settings=alert_settings)
    assert run.retrying == 1 and _alerts(county)[0].last_error == "webhook: HTTP 302"
    assert len(receiver.received) == 1


def test_email_is_not_sent_in_clear_when_the_server_cannot_starttls(
    county: sa.Engine, alert_settings: Settings, smtp: SmtpServer, receiver: Receiver
) -> None:
    strict = alert_settings.model_copy(update={"alert_smtp_starttls": True})
    _report(county)
    run = alerts.deliver_due(engine=county, settings=strict)
    assert run.retrying == 1 and smtp.inbox.messages == []
    assert "STARTTLS extension not supported" in (_alerts(county)[0].last_error or "")
