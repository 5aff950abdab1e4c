"""A long import running as a background job does not lock women out of the public form.

On SQLite the store has one write lock. A real ``saferstreets serve`` (with the job worker it
supervises) imports a large police.uk upload as an ``import.crime`` job from the real queue,
while reports are posted over HTTP, one after another from a few clients, until the job is
done: every report gets its receipt (no 503 "could not save"), each receipt names exactly one
stored report, and the import stores every row, counted by its own summary and by the store.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tests.crime.policeuk_files import street_row, write_street
from tests.reports.county import INSIDE, import_tiny_county
from tests.web.servers import serving

from saferstreets.crime.models import Crime
from saferstreets.db import session_scope
from saferstreets.ingest.uploads import save_upload
from saferstreets.jobs import service as jobs
from saferstreets.jobs.models import Job
from saferstreets.reports.models import Report
from saferstreets.reports.service import report_for_receipt

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

FILES = 12
ROWS_PER_FILE = 30_000  # 360,000 rows: about 12 s of writing on this machine
SENDERS = 3
DAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def _upload(settings, folder: Path) -> str:  # type: ignore[no-untyped-def]
    folder.mkdir()
    paths = []
    for month in range(FILES):
        rows = [  # points spread over the county's wards (250 by 90 of them)
            street_row(month * ROWS_PER_FILE + n, month=f"2021-{month + 1:02d}",
                       lat=f"{51.61 + n % 250 / 1000:.6f}", lon=f"{n // 250 % 90 / 200 - 0.49:.6f}")
            for n in range(ROWS_PER_FILE)
        ]  # fmt: skip
        paths.append(write_street(folder / f"2021-{month + 1:02d}-demo-street.csv", rows))
    handles = [p.open("rb") for p in paths]
    try:
        upload = save_upload(
            settings=settings, kind="crime", files=[(p.name, h) for p, h in zip(paths, handles)]
        )
    finally:
        for handle in handles:
            handle.close()
    return upload.token


def _job(engine, job_id: int) -> Job:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _send(base: str, answers: list[tuple[int, str | None, bool]], running: threading.Event,
          stop: threading.Event) -> None:  # fmt: skip
    lat, lon = INSIDE["E05009001"]
    with httpx.Client(base_url=base, timeout=120) as client:
        while not stop.is_set():
            page = client.get("/report").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
            key = re.search(r'name="submission_key" value="([^"]+)"', page)
            assert csrf
            fields = {"csrf_token": csrf.group(1), "action": "send", "latitude": str(lat),
                      "longitude": str(lon), "occurred_on": DAY, "time_band": "evening",
                      "reasons": "poor_lighting"}  # fmt: skip
            if key:
                fields["submission_key"] = key.group(1)
            during = running.is_set()
            sent = client.post("/report", data=fields)
            code = None
            if sent.status_code == 303:
                thanks = client.get("/report/thanks").text
                found = re.search(r'id="receipt-code">([^<]+)<', thanks)
                code = found.group(1).strip() if found else None
            answers.append((sent.status_code, code, during))


def test_reports_are_stored_at_once_while_a_large_import_runs(engine, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import_tiny_county(engine, tmp_path / "county")
    token = _upload(settings, tmp_path / "upload")
    answers: list[tuple[int, str | None, bool]] = []
    running, stop = threading.Event(), threading.Event()
    with serving(settings, SAFERSTREETS_REPORT_RATE_LIMIT="100000") as (base, _):
        with session_scope(engine) as session:
            job_id = jobs.enqueue(session=session, kind="import.crime", params={"upload": token},
                                  user=None, settings=settings).id  # fmt: skip
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            senders = [pool.submit(_send, base, answers, running, stop) for _ in range(SENDERS)]
            deadline = time.monotonic() + 600
            while (job := _job(engine, job_id)).status not in ("done", "failed"):
                if job.status == "running":
                    running.set()
                assert time.monotonic() < deadline, "the import did not finish"
                assert not any(s.done() for s in senders), senders[0].exception()
                time.sleep(0.2)
            running.clear()
            stop.set()
            for sender in senders:
                sender.result()

    assert job.status == "done", job.error
    during = [a for a in answers if a[2]]
    assert len(during) >= 20, "too few reports were sent while the import ran"
    assert [status for status, _, _ in answers if status != 303] == []  # no 503, no 500
    codes = [code for _, code, _ in answers]
    assert None not in codes and len(set(codes)) == len(codes)
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count(Report.id))) == len(codes)
        for code in codes:
            report_for_receipt(session=session, code=code)  # each receipt: its one report
        assert session.scalar(sa.select(sa.func.count(Crime.id))) == FILES * ROWS_PER_FILE
    files = job.result["files"]
    assert [(f["status"], f["read"], f["stored"]) for f in files if f["kind"] != "areas"] == [
        ("ok", ROWS_PER_FILE, ROWS_PER_FILE)
    ] * FILES
